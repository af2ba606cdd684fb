-- The wrk script of tests/system/run. The mix is chosen by the WRK_MIX
-- environment variable:
--
--   get    GET /plaintext, /json, /users/N in turn (idempotent only: the
--          rolling restart, where nginx may retry them on another instance)
--   soak   the GET mix plus POST /echo (512 bytes) and POST /users (JSON)
--   panic  GET /plaintext, and every 10th request GET /panic; each answer
--          is classified (a 500 must come from /panic and must not carry the
--          panic message)
--   plain  GET /plaintext only
--
-- done() prints ONE line `SYSTEM_WRK {json}`: totals, wrk's socket errors
-- by kind, non-2xx/3xx answers ("status"), latency percentiles in
-- microseconds, and the per-thread counters summed.

local mode = os.getenv("WRK_MIX") or "get"
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- Counters: globals of each thread's Lua state, read back in done().
sent = 0
sent_panic = 0
got_200 = 0
got_500 = 0
got_other = 0
leaked = 0

local reqs
local n = 0

function init(args)
  local echo_body = string.rep("e", 512)
  reqs = {}
  if mode == "plain" or mode == "panic" then
    reqs[1] = wrk.format("GET", "/plaintext")
  else
    reqs[#reqs + 1] = wrk.format("GET", "/plaintext")
    reqs[#reqs + 1] = wrk.format("GET", "/json")
    for id = 1, 8 do
      reqs[#reqs + 1] = wrk.format("GET", "/users/" .. (id * 37))
    end
    if mode == "soak" then
      reqs[#reqs + 1] = wrk.format("POST", "/echo",
        { ["Content-Type"] = "application/octet-stream" }, echo_body)
      reqs[#reqs + 1] = wrk.format("POST", "/users",
        { ["Content-Type"] = "application/json" }, '{"name":"soak"}')
      reqs[#reqs + 1] = wrk.format("GET", "/search?q=soak&limit=3")
    end
  end
  panic_req = wrk.format("GET", "/panic")
end

function request()
  n = n + 1
  sent = sent + 1
  if mode == "panic" and n % 10 == 0 then
    sent_panic = sent_panic + 1
    return panic_req
  end
  return reqs[(n % #reqs) + 1]
end

if mode == "panic" then
  function response(status, headers, body)
    if status == 500 then
      got_500 = got_500 + 1
      if body and string.find(body, "panicked on purpose", 1, true) then
        leaked = leaked + 1
      end
    elseif status == 200 and body == "Hello, World!" then
      got_200 = got_200 + 1
    else
      got_other = got_other + 1
    end
  end
end

function done(summary, latency, requests)
  local c = { sent = 0, sent_panic = 0, got_200 = 0, got_500 = 0, got_other = 0, leaked = 0 }
  for _, t in ipairs(threads) do
    for k, _ in pairs(c) do
      c[k] = c[k] + (tonumber(t:get(k)) or 0)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'SYSTEM_WRK {"mix":"%s","requests":%d,"duration_us":%d,"rps":%.1f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p99":%d,"max":%d},' ..
    '"counts":{"sent":%d,"sent_panic":%d,"got_200":%d,"got_500":%d,"got_other":%d,"leaked":%d}}\n',
    mode, summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max,
    c.sent, c.sent_panic, c.got_200, c.got_500, c.got_other, c.leaked))
end
