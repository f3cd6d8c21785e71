// Live registration progress. Without this file the Register form posts normally and the
// next page shows the result; with it, the rows update while LiveChat answers.
(() => {
  const card = document.querySelector("[data-registration-status]");
  if (!card || !window.fetch) return;
  const statusUrl = card.dataset.registrationStatus;
  let timer = null;

  function render(status) {
    const bar = card.querySelector("[data-progress] progress");
    const text = card.querySelector("[data-progress-text]");
    if (bar) { bar.max = status.total; bar.value = status.registered; }
    if (text) text.textContent = `${status.registered} of ${status.total} registered`;
    for (const row of status.rows) {
      const cell = card.querySelector(`tr[data-action="${CSS.escape(row.action)}"] [data-status]`);
      if (!cell) continue;
      const pill = document.createElement("span");
      pill.className = `pill pill-${row.pill}`;
      pill.textContent = row.label;
      cell.replaceChildren(pill);
    }
  }

  function poll() {
    return fetch(statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => {
        if (response.status === 401) {
          clearInterval(timer);
          window.consoleSignedOut();
        }
        return response.ok ? response.json() : null;
      })
      .then((status) => { if (status) render(status); })
      .catch(() => {});
  }

  const form = card.querySelector("form[data-registration-form]");
  if (!form) return;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; button.textContent = "Registering…"; }
    timer = setInterval(poll, 700);
    // "manual": the redirect is not followed here, so its flash message waits for the page.
    const options = { method: "POST", body: new FormData(form), credentials: "same-origin", redirect: "manual" };
    fetch(form.action, options)
      .then(() => { window.location.assign(card.dataset.registrationPage); })
      .catch(() => { form.submit(); })
      .finally(() => clearInterval(timer));
  });
})();
