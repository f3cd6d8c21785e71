// Install & test: the primary button moves on as facts are verified, the banner after a test
// event follows its trigger's row, and once every fact is verified the page reloads to show
// how long it took and what to do next. It watches the rows testing.js updates; without
// either file, reloading the page shows the same.
(() => {
  // One primary button: the setup facts first; once they are all verified, the buttons of
  // the triggers not yet verified.
  const checklist = document.getElementById("test-checklist");
  const triggerRows = [...document.querySelectorAll('li[data-check^="trigger:"]')];
  const verified = (item) => Boolean(item.querySelector("[data-pill] .pill-ok"));
  const arrange = () => {
    const setUp = [...checklist.querySelectorAll("li[data-check]")].every(verified);
    if (!setUp) return;
    for (const button of checklist.querySelectorAll(".button-primary")) {
      button.classList.remove("button-primary");
    }
    for (const item of triggerRows) {
      for (const button of item.querySelectorAll("button")) {
        button.classList.toggle("button-primary", !verified(item));
      }
    }
  };
  if (checklist) {
    const watched = [checklist, ...triggerRows];
    const observer = new MutationObserver(arrange);
    for (const node of watched) {
      observer.observe(node, { subtree: true, childList: true, attributes: true, attributeFilter: ["class"] });
    }
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
