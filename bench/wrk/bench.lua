-- The one wrk script of the benchmark (bench/wrk/bench.lua).
--
-- Arguments after `--`: METHOD [BODY_BYTES]. With a body it sends
-- BODY_BYTES of 'x' as application/octet-stream (the POST /echo scenarios);
-- wrk.format adds the Content-Length. The request is built once per
-- thread in init, so no Lua runs per request.
--
-- done() prints ONE line starting with `SUTEGI_WRK ` followed by JSON, which
-- the harness parses instead of wrk's human-oriented text: totals, socket
-- errors by kind, non-2xx/3xx responses ("status"), and latency percentiles
-- in microseconds from wrk's own histogram.

function init(args)
  local method = args[1] or "GET"
  local size = tonumber(args[2] or "0")
  wrk.method = method
  if size > 0 then
    wrk.body = string.rep("x", size)
    wrk.headers["Content-Type"] = "application/octet-stream"
  end
  req = wrk.format()
end

function request()
  return req
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'SUTEGI_WRK {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
