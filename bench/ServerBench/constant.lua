-- GET /_bench/constant: a nearest-list response computed once (same size, same middleware): the peer.
function done(summary, latency, requests)
  io.write(string.format('{"requests":%d,"errors":%d,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"bytes_per_request":%.0f}\n',
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.bytes / math.max(1, summary.requests)))
end
