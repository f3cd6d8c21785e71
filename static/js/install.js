// Private installation: open LiveChat's sign-in in a popup, close it when done, and refresh
// the page behind it when the installation changes, or go on to the page named by
// data-install-next (after registering, Install & test). Every page works without this file.
(() => {
  const POPUP = "livechat-install";

  if (document.querySelector("[data-install-done]")) {
    // Only a window a script opened may close itself; otherwise the page's link remains.
    if (window.opener || window.name === POPUP) window.close();
    return;
  }

  // A form this window posts (Disconnect, Check webhooks) changes the installation itself, and
  // its answer shows the change with a message; a reload before that answer would discard it.
  let posting = false;
  window.addEventListener("pageshow", () => { posting = false; });

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-install-popup]");
    if (form) {
      // No wider or taller than the screen: on a phone the sign-in fills it instead.
      const width = Math.min(560, window.screen.availWidth || 560);
      const height = Math.min(760, window.screen.availHeight || 760);
      const popup = window.open("", POPUP, `popup,width=${width},height=${height}`);
      if (popup) {
        form.target = POPUP;
        return;
      }
      form.removeAttribute("target");  // popups blocked: sign in in this window instead
    }
    posting = true;
  });

  const panel = document.querySelector("[data-install-status]");
  if (!panel || !window.fetch) return;
  let seen = null;
  window.consolePoll(panel.dataset.installStatus, {
    interval: 2000,
    immediately: true,
    errorInterval: 5000,
    maxPolls: 300,  // stop after ten minutes
    onData: (body) => {
      const now = JSON.stringify(body.installations);
      // A page that leads on once the app is installed (it was not when the page was made)
      // goes as soon as it is; any other page reloads when the installations change.
      const next = panel.dataset.installNext;
      const changed = next ? body.installed : seen !== null && now !== seen;
      if (changed && !posting) {
        if (next) window.location.assign(next);
        else window.location.reload();
        return false;
      }
      if (!changed) seen = now;
      return true;
    },
    onRefused: () => false,
  });
})();
