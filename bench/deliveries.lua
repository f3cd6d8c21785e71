-- wrk script: POST distinct LiveChat deliveries to PATH_TO, at most QUOTA per thread, as fast
-- as the connections allow or at a steady RATE. Once every thread has sent its quota the
-- connections idle, and whoever runs wrk stops it (SIGINT) when the work is seen done.
-- Environment: PATH_TO (the path), SECRET (the set's secret key), QUOTA (per thread),
-- RATE (requests a second per thread; 0 for as fast as possible).

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *now);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("bench_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local threads = {}
local thread_number = 0

function setup(thread)
  thread_number = thread_number + 1
  thread:set("id", thread_number)
  table.insert(threads, thread)
end

local path = os.getenv("PATH_TO")
local secret = os.getenv("SECRET")
local quota = tonumber(os.getenv("QUOTA"))
local rate = tonumber(os.getenv("RATE") or "0")
-- wrk asks delay() before every request it sends, so requests are counted there; request()
-- is also called once more than that, to check the script.
sent, built, answered, ok = 0, 0, 0, 0
-- At a steady rate each request has its own moment, one interval after the one before,
-- whenever the answers to earlier ones came: the rate does not sag when answers slow.
local interval = rate > 0 and 1000 / rate or 0
local next_at = nil

function request()
  built = built + 1
  local body = '{"webhook_id":"a0c22fdd1ed0b0fbbdd4cfd89a1e4ab3","secret_key":"' .. secret ..
    '","action":"incoming_event","organization_id":"390e44e6-f1e6-0368c-z6ddb-74g14508c2ex",' ..
    '"payload":{"chat_id":"PJ0MRSHTDG","thread_id":"K600PKZON8","event":{"id":"' .. id .. '-' ..
    built .. '","type":"message","text":"hello there","created_at":"2026-11-30T12:00:00.000000Z",' ..
    '"visibility":"all","author_id":"b7eff798-f8df-4364-8059-649c35c9ed0c"}},' ..
    '"additional_data":{}}'
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end

function delay()
  if sent >= quota then
    return 3600000 -- this connection is done
  end
  sent = sent + 1
  if interval == 0 then
    return 0
  end
  local now = now_ms()
  local slot = next_at or now
  next_at = slot + interval
  return math.max(0, math.floor(slot - now))
end

function response(status, headers, body)
  answered = answered + 1
  if status == 200 then
    ok = ok + 1
  end
end

function done(summary, latency, requests)
  local total_sent, total_answered, total_ok = 0, 0, 0
  for _, thread in ipairs(threads) do
    total_sent = total_sent + thread:get("sent")
    total_answered = total_answered + thread:get("answered")
    total_ok = total_ok + thread:get("ok")
  end
  io.write(string.format(
    'RESULT {"sent": %d, "answered": %d, "ok": %d, "seconds": %.3f, "p50_ms": %.2f, ' ..
    '"p99_ms": %.2f}\n', total_sent, total_answered, total_ok, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
