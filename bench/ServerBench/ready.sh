#!/usr/bin/env bash
# Time to /readyz from process start, and what the JIT did by then, for one server build (a build output or a publish):
#   bench/ServerBench/ready.sh SERVER_DLL [ART=/tmp/messbench/v1_model_ann] [RUNS=5]
# e.g. the ReadyToRun publish: dotnet publish src/MessTools.Server -c Release -r linux-x64 --self-contained false \
#        -p:PublishReadyToRun=true -o /tmp/mess-server-r2r && bench/ServerBench/ready.sh /tmp/mess-server-r2r/MessTools.Server.dll
# Prints per run: readyz_ms (process start to the first 200), methods JIT-compiled and JIT time by then (from /metrics,
# the runtime's counters), RSS; then the medians. Speed figures: take them on a quiet machine (uptime is printed).
set -euo pipefail
DLL=${1:?server dll}; ART=${2:-/tmp/messbench/v1_model_ann}; RUNS=${3:-5}
echo "uptime: $(uptime)"
out=$(mktemp -d)
for run in $(seq 1 "$RUNS"); do
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  t0=$(date +%s%N)
  dotnet "$DLL" --artifact-path "$ART" --urls "http://127.0.0.1:$port" --rate-limit 0 --Logging:LogLevel:Default Warning >"$out/server.log" 2>&1 &
  pid=$!
  until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { cat "$out/server.log" >&2; exit 1; }
    sleep 0.005
  done
  t1=$(date +%s%N)
  rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
  curl -fs "http://127.0.0.1:$port/metrics" >"$out/metrics" || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  jitted=$(awk '/^system_runtime_dotnet_jit_compiled_methods / {print $2}' "$out/metrics")
  jitms=$(awk '/^system_runtime_dotnet_jit_compilation_time / {print $2}' "$out/metrics")
  echo "{\"run\":$run,\"readyz_ms\":$(( (t1 - t0) / 1000000 )),\"jit_methods\":\"${jitted:-n/a}\",\"jit_s\":\"${jitms:-n/a}\",\"rss_kb\":$rss}" | tee -a "$out/runs.jsonl"
done
/usr/bin/python3 - "$out/runs.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(json.dumps({"median_readyz_ms": statistics.median(r["readyz_ms"] for r in rows),
                  "median_rss_kb": statistics.median(r["rss_kb"] for r in rows), "runs": len(rows)}))
PY
echo "uptime: $(uptime)"
