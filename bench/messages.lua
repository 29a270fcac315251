-- wrk script for /router/messages: the log pages an operator or a client reads, in turn.
-- BENCH_PATHS (space-separated) names them; bench/receive.py sets it.
local paths = {}
for path in string.gmatch(os.getenv("BENCH_PATHS") or "/router/messages", "%S+") do
  table.insert(paths, path)
end
local counter = 0

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
