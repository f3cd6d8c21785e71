// Live registration progress. The page is complete without this file (reload to see how a run
// goes); with it, the rows update every half second while a run is active, and the page
// reloads when the run ends, to show its outcome and the next buttons.
(() => {
  const card = document.querySelector("[data-registration-status]");
  if (!card || !window.fetch || !card.hasAttribute("data-registration-running")) return;
  const statusUrl = card.dataset.registrationStatus;

  const note = card.querySelector("[data-run-note]");

  function render(status) {
    const said = note && note.getAttribute(`data-note-${status.run.state}`);
    if (said) note.textContent = said;
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

  window.consolePoll(statusUrl, {
    interval: 500,
    onData: (status) => {
      render(status);
      if (status.run.active) return true;
      window.location.reload();
      return false;
    },
  });
})();
