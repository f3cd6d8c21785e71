// How page scripts follow a JSON endpoint: one request at a time; If-None-Match with the last
// ETag, so an unchanged answer is a 304; waits that double after each failure in a row; an end
// on a 401 (the session ended) or when the page script says it is done.
//
//   const polling = window.consolePoll(url, {
//     interval: 1000,        // ms between polls, or a function that says how long
//     hiddenInterval: null,  // ms between polls while the tab is hidden; it polls when shown again
//     immediately: false,    // first poll at once rather than after one interval
//     etag: false,           // true, or the ETag the page was drawn from: send If-None-Match
//     errorInterval: null,   // the first wait after a failure (default: the interval), then doubled
//     maxErrorInterval: 30000,
//     maxPolls: Infinity,
//     onData(body, response) {},  // a JSON answer; return false when done
//     onNotModified() {},         // a 304
//     onRefused(response) {},     // another answer (not JSON, 404, 500); return false to stop
//     onError(error) {},          // no answer (or a page script error); polling goes on, slower
//     onSignedOut() {},           // a 401; polling stops and the page says so (console.js)
//   });
//   polling.stop();
window.consolePoll = (url, options = {}) => {
  const {
    interval = 1000,
    hiddenInterval = null,
    immediately = false,
    etag = false,
    errorInterval = null,
    maxErrorInterval = 30000,
    maxPolls = Infinity,
    onData = () => {},
    onNotModified = () => {},
    onRefused = () => {},
    onError = () => {},
    onSignedOut = () => {},
  } = options;
  const conditional = etag !== false && etag !== null && etag !== undefined;
  let tag = typeof etag === "string" && etag ? etag : null;
  let timer = null;
  let busy = false;
  let stopped = false;
  let polls = 0;
  let failures = 0;

  const pace = () => {
    if (hiddenInterval !== null && document.hidden) return hiddenInterval;
    return typeof interval === "function" ? interval() : interval;
  };

  const stop = () => {
    stopped = true;
    window.clearTimeout(timer);
  };

  const schedule = () => {
    if (stopped) return;
    let wait = pace();
    if (failures) {
      const first = errorInterval === null ? wait : errorInterval;
      wait = Math.min(first * 2 ** (failures - 1), Math.max(maxErrorInterval, wait));
    }
    timer = window.setTimeout(run, wait);
  };

  const run = async () => {
    if (busy || stopped) return;
    if (polls >= maxPolls) {
      stop();
      return;
    }
    polls += 1;
    busy = true;
    window.clearTimeout(timer);
    const headers = { Accept: "application/json" };
    if (tag) headers["If-None-Match"] = tag;
    let more = true;
    try {
      const target = typeof url === "function" ? url() : url;
      const response = await fetch(target, { headers, cache: "no-store", credentials: "same-origin" });
      const type = response.headers.get("Content-Type") || "";
      if (response.status === 401) {
        more = false;
        onSignedOut();
        window.consoleSignedOut();
      } else if (response.status === 304) {
        onNotModified();
      } else if (response.ok && type.includes("application/json")) {
        const body = await response.json();
        if (conditional) tag = response.headers.get("ETag");
        more = onData(body, response) !== false;
      } else {
        more = onRefused(response) !== false;
      }
      failures = 0;
    } catch (error) {
      failures += 1;
      more = onError(error) !== false;
    }
    busy = false;
    if (more) schedule();
    else stop();
  };

  if (hiddenInterval !== null) {
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) run();
    });
  }
  if (immediately) run();
  else schedule();
  return { stop, now: run };
};
