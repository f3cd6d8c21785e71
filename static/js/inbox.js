// Inbox: show new deliveries as they arrive. The page works without this file (reload it).
(() => {
  const live = document.getElementById("inbox-live");
  if (!live || live.dataset.live !== "on") return;
  const table = document.getElementById("inbox-table");
  const body = table.querySelector("tbody");
  const status = document.getElementById("inbox-live-status");
  const empty = document.getElementById("inbox-empty");
  const pollMs = Number(live.dataset.pollSeconds || 3) * 1000;
  const watching = status.textContent;
  let newest = Number(live.dataset.newestId || 0);

  const cell = (content) => {
    const td = document.createElement("td");
    if (content) td.append(content);
    return td;
  };

  const repeatsText = (times) => (times > 1 ? `received ${times}×` : "");

  const row = (delivery) => {
    const tr = document.createElement("tr");
    tr.className = "row-new";
    tr.dataset.eventId = delivery.event_id || "";
    const link = document.createElement("a");
    link.href = delivery.url;
    link.textContent = delivery.received_at;
    const code = document.createElement("code");
    code.textContent = delivery.action;
    const pill = document.createElement("span");
    pill.className = delivery.verified ? "pill pill-ok" : "pill pill-bad";
    pill.textContent = delivery.status;
    const repeats = cell(repeatsText(delivery.times_received));
    repeats.className = "repeats";
    tr.append(cell(link), cell(code), cell(pill), repeats);
    return tr;
  };

  const show = (deliveries) => {
    // Oldest first, each inserted at the top, so the newest ends up first.
    for (const delivery of deliveries.slice().reverse()) {
      if (delivery.event_id) {
        for (const other of body.querySelectorAll(`tr[data-event-id="${delivery.event_id}"]`)) {
          other.querySelector(".repeats").textContent = repeatsText(delivery.times_received);
        }
      }
      body.prepend(row(delivery));
      newest = Math.max(newest, delivery.id);
    }
    if (deliveries.length) {
      table.hidden = false;
      if (empty) empty.hidden = true;
    }
  };

  const poll = async () => {
    const url = live.dataset.feedUrl.replace(/\/after\/\d+/, `/after/${newest}`);
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const type = response.headers.get("Content-Type") || "";
      if (response.status === 401) {
        status.textContent = "Live updates stopped: you were signed out.";
        window.consoleSignedOut();
        return;
      }
      if (!response.ok || !type.includes("application/json")) {
        // Signed out or gone: stop quietly; a reload shows why.
        status.textContent = "Live updates stopped. Reload the page to see new deliveries.";
        return;
      }
      show((await response.json()).deliveries);
      status.textContent = watching;
    } catch (error) {
      status.textContent = "Live updates paused: the console is not answering. Retrying…";
    }
    setTimeout(poll, pollMs);
  };

  status.hidden = false;
  setTimeout(poll, pollMs);
})();
