-- GET /tracks/{random id}/nearest?k=10 (ids trk000000 .. trk099999), seeded per thread.
local counter = 0
function setup(thread) counter = counter + 1; thread:set("seed", counter) end
function init(args) math.randomseed(seed * 7919) end
function request()
  return wrk.format("GET", string.format("/tracks/trk%06d/nearest?k=10", math.random(0, 99999)))
end
function done(summary, latency, requests)
  io.write(string.format('{"requests":%d,"errors":%d,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"bytes_per_request":%.0f}\n',
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.bytes / math.max(1, summary.requests)))
end
