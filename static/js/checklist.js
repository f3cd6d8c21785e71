// Install & test: turn checklist rows green as facts are verified. Without this file the page
// shows the same facts; reloading it updates them.
(() => {
  const root = document.getElementById("test-checklist");
  if (!root) return;
  const pollMs = Number(root.dataset.pollSeconds || 1) * 1000;
  // The page mostly loads just after a trigger's button was pressed, with its delivery a
  // fraction of a second away: while a trigger still waits, the first seconds poll faster.
  const SOON_MS = 250;
  const SOON_FOR_MS = 3000;
  const loadedAt = Date.now();
  const nextPoll = () => {
    const waiting = document.querySelector('li[data-check^="trigger:"] .pill-wait');
    return waiting && Date.now() - loadedAt < SOON_FOR_MS ? SOON_MS : pollMs;
  };
  const progress = root.querySelector("[data-progress]");
  const progressText = root.querySelector("[data-progress-text]");

  const show = (status) => {
    for (const row of status.rows) {
      const item = document.querySelector(`li[data-check="${CSS.escape(row.key)}"]`);
      if (!item) continue;
      const pill = item.querySelector("[data-pill] .pill");
      pill.className = `pill pill-${row.pill}`;
      pill.textContent = row.label;
      const title = item.querySelector("[data-title]");
      if (title) title.textContent = row.title;
      const detail = item.querySelector("[data-detail]");
      if (detail) detail.textContent = row.detail;
      // A trigger's button stands out until its row is verified, as on a fresh page.
      const button = item.querySelector(".check-action button");
      if (button && row.key.startsWith("trigger:")) {
        button.classList.toggle("button-primary", row.pill !== "ok");
      }
    }
    progress.max = status.total;
    progress.value = status.verified;
    progress.textContent = `${status.verified} of ${status.total}`;
    progressText.textContent = `${status.verified} of ${status.total} verified`;
  };

  // The version of the checklist shown; the server answers 304 while it is still current.
  // A missed poll is retried, a little later each time; the page itself stays correct.
  window.consolePoll(root.dataset.statusUrl, {
    interval: nextPoll,
    etag: root.dataset.statusVersion || true,
    onData: show,
  });
})();
