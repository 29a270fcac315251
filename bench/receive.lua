-- wrk script for /router/receive: every request has its own gateway id, a sender drawn from a
-- pool (BENCH_SENDERS, default 5000) and its own text, as Kannel's get-url would send them.
local run = os.getenv("BENCH_RUN") or "run"
local pool = tonumber(os.getenv("BENCH_SENDERS") or "5000")
local next_thread = 0
thread_no = 0
local counter = 0

function setup(thread)
  thread:set("thread_no", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  math.randomseed(os.time() * 1000 + thread_no * 7919)
end

function request()
  counter = counter + 1
  local path = string.format(
    "/router/receive?backend=kannel&sender=%%2B2507%08d&message=hello+number+%d+from+%d"
      .. "&id=%s-%d-%d&to=8500&coding=0",
    math.random(pool), counter, thread_no, run, thread_no, counter)
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
