// Install & test: the banner after a test event follows its trigger's row, a verified row's
// button stops being a primary one, and once every fact is verified the page reloads to show
// how long it took and what to do next. It watches the rows testing.js updates; without
// either file, reloading the page shows the same.
(() => {
  for (const item of document.querySelectorAll('li[data-check^="trigger:"]')) {
    const quieten = () => {
      if (!item.querySelector("[data-pill] .pill-ok")) return;
      for (const button of item.querySelectorAll(".button-primary")) {
        button.classList.remove("button-primary");
      }
    };
    new MutationObserver(quieten).observe(item, { subtree: true, childList: true, attributes: true });
  }

  const banner = document.querySelector("[data-test-banner]");
  const row = banner && document.querySelector(`li[data-check="${CSS.escape(banner.dataset.testBanner)}"]`);
  if (row) {
    const follow = () => {
      const pill = row.querySelector("[data-pill] .pill");
      const detail = row.querySelector("[data-detail]");
      if (!pill) return;
      const state = ["ok", "bad"].find((name) => pill.classList.contains(`pill-${name}`));
      if (!state) return;
      const opening = state === "ok" ? banner.dataset.textOk : banner.dataset.textBad;
      banner.textContent = `${opening} ${detail ? detail.textContent : ""}`.trim();
      banner.className = `flash flash-${state === "ok" ? "success" : "error"}`;
    };
    new MutationObserver(follow).observe(row, {
      subtree: true, childList: true, characterData: true, attributes: true,
    });
  }

  const progress = document.querySelector("#test-checklist [data-progress]");
  const hasTriggers = document.querySelector('li[data-check^="trigger:"]');
  const complete = () => progress.max > 0 && progress.value >= progress.max;
  // Only a change seen here reloads, so a page that loads complete never reloads itself.
  if (progress && hasTriggers && !document.getElementById("test-done") && !complete()) {
    const observer = new MutationObserver(() => {
      if (!complete()) return;
      observer.disconnect();
      window.location.reload();
    });
    observer.observe(progress, { attributes: true });
  }
})();
