-- wrk script for /router/messages: the log pages an operator or a client reads.
local paths = {
  "/router/messages",
  "/router/messages?direction=I",
  "/router/messages?status=Q",
  "/router/messages?contact=%2B250700000042",
  "/router/messages?backend=kannel&direction=O",
}
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
