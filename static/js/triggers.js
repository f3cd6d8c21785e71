// The trigger picker. Without this file every trigger's filters show under it and the quick
// picks submit the form; with it, a search box filters the list as you type, a trigger's
// filters show once it is ticked, the quick picks tick at once, and the counts and each
// trigger's one-line summary follow the ticks. The summary's words come from the page
// (data-effect); consoleapp/web/trigger_words.py makes the same line on the server.
(() => {
  const form = document.querySelector("[data-trigger-picker]");
  if (!form) return;
  const triggers = [...form.querySelectorAll("[data-trigger]")];
  const groups = [...form.querySelectorAll("[data-group]")];
  const result = form.querySelector("[data-search-result]");
  const total = form.querySelector("[data-chosen-total]");
  const IDS_SHOWN = 3;

  const box = (trigger) => trigger.querySelector("[data-chosen]");

  function idList(raw) {
    const ids = (raw || "").split(/[\s,]+/).filter(Boolean);
    const shown = ids.slice(0, IDS_SHOWN).join(", ");
    return ids.length > IDS_SHOWN ? `${shown} and ${ids.length - IDS_SHOWN} more` : shown;
  }

  function effectOf(filters) {
    const line = filters.querySelector("[data-effect-line]");
    if (!line) return;
    const checked = (role) => [...filters.querySelectorAll(`[data-role="${role}"]:checked`)];
    const pick = (role) => { const found = checked(role)[0]; return found ? found.dataset.effect || "" : ""; };
    const text = (role) => { const input = filters.querySelector(`[data-role="${role}"]`); return input ? input.value : ""; };
    const pieces = [];
    if (pick("author")) pieces.push(pick("author"));
    const mode = checked("presence-mode")[0];
    const bots = checked("my-bots").length > 0;
    const people = idList(text("presence-ids"));
    if (mode && mode.value === "values") pieces.push(`${mode.dataset.effect} ${people}${bots ? " or this app's bots" : ""}`);
    else if (bots) pieces.push("in chats with this app's bots");
    if (mode && mode.value === "exclude_values") pieces.push(`${mode.dataset.effect} ${people}`);
    if (checked("only-mine").length) pieces.push(checked("only-mine")[0].dataset.effect);
    const agents = checked("agent-mode")[0];
    if (agents && agents.value) pieces.push(`${agents.dataset.effect} ${idList(text("agent-ids"))}`);
    const sources = checked("source").map((input) => input.dataset.effect);
    if (sources.length) pieces.push(`done by ${sources.join(" or ")}`);
    const noun = line.dataset.noun;
    let said = pieces.length ? `Only ${noun} ${pieces.join(", ")}` : `All ${noun}`;
    const data = checked("data").map((input) => input.dataset.effect);
    if (data.length) said += `; also sends ${data.join(" and ")}`;
    line.querySelector("[data-effect-text]").textContent = said;
  }

  function showFilters(trigger) {
    const ticked = box(trigger).checked;
    trigger.classList.toggle("trigger-chosen", ticked);
    const filters = trigger.querySelector("[data-filters]");
    if (filters) filters.hidden = !ticked;
  }

  function showIds(trigger) {
    // The IDs box matters only once "only / not these people" is chosen.
    for (const field of trigger.querySelectorAll("[data-ids-field]")) {
      const input = field.querySelector("input");
      const mode = trigger.querySelector(`[data-role="${input.dataset.role === "agent-ids" ? "agent-mode" : "presence-mode"}"]:checked`);
      field.hidden = !(mode && mode.value) && !input.value && !field.classList.contains("field-error");
    }
  }

  function count() {
    let chosen = 0;
    for (const group of groups) {
      const ticked = [...group.querySelectorAll("[data-chosen]")].filter((input) => input.checked).length;
      const counter = group.querySelector("[data-group-count]");
      counter.textContent = `${ticked} of ${counter.dataset.total} chosen`;
      group.classList.toggle("group-has-chosen", ticked > 0);
      chosen += ticked;
    }
    if (total) total.textContent = `${chosen} chosen`;
  }

  for (const trigger of triggers) {
    showFilters(trigger);
    showIds(trigger);
    const filters = trigger.querySelector("[data-filters]");
    if (filters) effectOf(filters);
    trigger.addEventListener("change", (event) => {
      if (event.target.matches("[data-chosen]")) { showFilters(trigger); count(); }
      showIds(trigger);
      if (filters) effectOf(filters);
    });
    trigger.addEventListener("input", () => { if (filters) effectOf(filters); });
  }
  count();

  // Quick picks: tick their triggers here instead of sending the form.
  for (const button of form.querySelectorAll("[data-preset]")) {
    button.addEventListener("click", (event) => {
      event.preventDefault();
      const titles = [];
      for (const action of button.dataset.preset.split(" ")) {
        const input = form.querySelector(`[name="t_${CSS.escape(action)}-chosen"]`);
        if (!input) continue;
        input.checked = true;
        input.dispatchEvent(new Event("change", { bubbles: true }));
        input.closest("[data-group]").open = true;
        titles.push(`“${input.closest("label").querySelector("strong").textContent}”`);
      }
      result.textContent = `Ticked ${titles.join(", ")}. Nothing is saved until you press “Save triggers and review”.`;
    });
  }

  // Search: hide what does not match, open the groups that hold a match.
  const search = form.querySelector("[data-search]");
  const input = search.querySelector("input");
  search.hidden = false;
  const wasOpen = new Map(groups.map((group) => [group, group.open]));
  input.addEventListener("keydown", (event) => { if (event.key === "Enter") event.preventDefault(); });
  input.addEventListener("input", () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const trigger of triggers) {
      const hit = words.every((word) => trigger.dataset.searchText.includes(word));
      trigger.hidden = !hit;
      if (hit) shown += 1;
    }
    for (const group of groups) {
      const hits = group.querySelectorAll("[data-trigger]:not([hidden])").length;
      group.hidden = hits === 0;
      group.open = words.length ? hits > 0 : wasOpen.get(group);
    }
    if (!words.length) result.textContent = "";
    else if (shown === 0) result.textContent = `No trigger matches “${input.value.trim()}”.`;
    else result.textContent = `${shown} trigger${shown === 1 ? "" : "s"} match.`;
  });
  for (const group of groups) {
    group.addEventListener("toggle", () => { if (!input.value.trim()) wasOpen.set(group, group.open); });
  }
})();
