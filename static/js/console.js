// Small progressive enhancements; every page works without this file.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button || !navigator.clipboard) return;
  navigator.clipboard.writeText(button.dataset.copy).then(() => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});

// The page scripts that poll call this on a 401: the session ended (signed out, expired, or the
// account was removed). They stop polling, and the page says so once.
window.consoleSignedOut = () => {
  if (document.getElementById("signed-out-notice")) return;
  const notice = document.createElement("p");
  notice.id = "signed-out-notice";
  notice.className = "flash flash-warning";
  notice.setAttribute("role", "alert");
  const reload = document.createElement("a");
  reload.href = window.location.href;
  reload.textContent = "Reload the page";
  notice.append("You were signed out. ", reload, " to sign in again.");
  (document.getElementById("main") || document.body).prepend(notice);
};
