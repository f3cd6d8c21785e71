// Inbox: show new deliveries as they arrive. The page works without this file (reload it).
(() => {
  const live = document.getElementById("inbox-live");
  if (!live || live.dataset.live !== "on") return;
  const table = document.getElementById("inbox-table");
  const body = table.querySelector("tbody");
  const status = document.getElementById("inbox-live-status");
  const empty = document.getElementById("inbox-empty");
  const pager = document.getElementById("inbox-pager");
  const older = document.getElementById("inbox-older");
  const pollMs = Number(live.dataset.pollSeconds || 1) * 1000;
  // A tab nobody looks at asks less often, and at once when it is looked at again.
  const hiddenPollMs = 15000;
  // Rows kept on the page; older ones are one "Older" click away.
  const mostRows = 100;
  const watching = status.textContent;
  const feed = new URL(live.dataset.feedUrl, window.location.href);
  let cursor = Number(live.dataset.cursor || 0);

  const cell = (content) => {
    const td = document.createElement("td");
    if (content) td.append(content);
    return td;
  };

  const repeatsText = (times) => (times > 1 ? `received ${times}×` : "");

  const row = (delivery) => {
    const tr = document.createElement("tr");
    tr.className = "row-new";
    tr.dataset.deliveryId = delivery.id;
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

  // Keep the page short; the "Older" link then starts after the last row still shown.
  const trim = () => {
    const rows = body.querySelectorAll("tr");
    if (rows.length <= mostRows) return;
    for (const extra of Array.from(rows).slice(mostRows)) extra.remove();
    const last = body.lastElementChild.dataset.deliveryId;
    const link = new URL(older.href, window.location.href);
    link.searchParams.set("before", last);
    older.href = link.pathname + link.search;
    older.hidden = false;
    pager.hidden = false;
  };

  const show = (deliveries) => {
    // Oldest first, each inserted at the top, so the newest ends up first. A delivery shown
    // before it was folded comes again once its repeats are counted: update its row.
    for (const delivery of deliveries.slice().reverse()) {
      const shown = body.querySelector(`tr[data-delivery-id="${delivery.id}"]`);
      if (shown) {
        shown.dataset.eventId = delivery.event_id || "";
        shown.querySelector(".repeats").textContent = repeatsText(delivery.times_received);
      } else {
        body.prepend(row(delivery));
      }
      if (delivery.event_id) {
        for (const other of body.querySelectorAll(`tr[data-event-id="${delivery.event_id}"]`)) {
          other.querySelector(".repeats").textContent = repeatsText(delivery.times_received);
        }
      }
    }
    if (deliveries.length) {
      table.hidden = false;
      if (empty) empty.hidden = true;
      trim();
    }
  };

  const feedUrl = () => {
    feed.searchParams.set("after", cursor);
    return feed;
  };

  status.hidden = false;
  window.consolePoll(feedUrl, {
    interval: pollMs,
    hiddenInterval: hiddenPollMs,
    // The answer names its cursor, so an ETag never matches an answer to another question.
    etag: true,
    onData: (answer) => {
      show(answer.deliveries);
      cursor = answer.cursor;
      status.textContent = watching;
    },
    onNotModified: () => { status.textContent = watching; },  // nothing new
    onRefused: () => {
      // Gone, or an answer this script does not understand: a reload shows why.
      status.textContent = "Live updates stopped. Reload the page to see new deliveries.";
      return false;
    },
    onError: () => {
      status.textContent = "Live updates paused: the console is not answering. Retrying…";
    },
    onSignedOut: () => { status.textContent = "Live updates stopped: you were signed out."; },
  });
})();
