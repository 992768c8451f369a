#!/usr/bin/env bash
# The HTTP benchmark of MessTools.Server (issue 11): 100,000 x 256, M 16, efSearch 80, wrk at 16 connections,
# GET /tracks/{random id}/nearest?k=10 against /_bench/constant (the same server returning a constant response of the
# same size), alternating in the same run; /readyz time from process start; RSS against the index file size; the
# single-query in-process figure beside it. Medians of RUNS rounds.
#   bench/ServerBench/run.sh [ART=/tmp/messbench/v1_model_ann] [RUNS=3] [SECONDS=10]
set -euo pipefail
export DOTNET_CLI_TELEMETRY_OPTOUT=1 MSBUILDDISABLENODEREUSE=1
here=$(cd "$(dirname "$0")" && pwd); repo=$(cd "$here/../.." && pwd)
ART=${1:-/tmp/messbench/v1_model_ann}; RUNS=${2:-3}; SECS=${3:-10}
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 1; }
dotnet build -c Release "$repo/src/MessTools.Server" -v q -nologo >/dev/null
dotnet build -c Release "$here" -v q -nologo >/dev/null
if [ ! -f "$ART/index/hnsw.index" ]; then
  [ -f /tmp/ann_100000_256.f32 ] || /usr/bin/python3 "$here/make_vectors.py" 100000 256
  dotnet "$here/bin/Release/net10.0/ServerBench.dll" prepare "$ART"
fi
index_bytes=$(stat -c %s "$ART/index/hnsw.index")
out=$(mktemp -d)
for run in $(seq 1 "$RUNS"); do
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  t0=$(date +%s.%N)
  dotnet "$repo/src/MessTools.Server/bin/Release/net10.0/MessTools.Server.dll" --artifact-path "$ART" --urls "http://127.0.0.1:$port" \
    --rate-limit 0 --bench-constant-route true --Logging:LogLevel:Default Warning >"$out/server.log" 2>&1 &
  pid=$!
  until curl -fs "http://127.0.0.1:$port/readyz" >"$out/readyz.json" 2>/dev/null; do sleep 0.01; done
  t1=$(date +%s.%N)
  rss_ready=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
  wrk -t2 -c16 -d3s -s "$here/nearest.lua" "http://127.0.0.1:$port" >/dev/null   # warm-up (JIT, filter columns)
  wrk -t2 -c16 -d3s -s "$here/constant.lua" "http://127.0.0.1:$port/_bench/constant" >/dev/null
  wrk -t2 -c16 -d"${SECS}s" -s "$here/nearest.lua" "http://127.0.0.1:$port" | tail -1 >"$out/nearest.$run.json"
  wrk -t2 -c16 -d"${SECS}s" -s "$here/constant.lua" "http://127.0.0.1:$port/_bench/constant" | tail -1 >"$out/constant.$run.json"
  rss_load=$(awk '/VmRSS/ {print $2}' /proc/$pid/status); hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "{\"readyz_s\":$(echo "$t1 - $t0" | bc),\"server_time_to_ready_ms\":$(/usr/bin/python3 -c "import json;print(json.load(open('$out/readyz.json'))['time_to_ready_ms'])"),\"rss_ready_kb\":$rss_ready,\"rss_after_load_kb\":$rss_load,\"rss_peak_kb\":$hwm}" >"$out/start.$run.json"
  echo "run $run: $(cat "$out/start.$run.json") nearest $(cat "$out/nearest.$run.json") constant $(cat "$out/constant.$run.json")"
done
inproc=$(dotnet "$here/bin/Release/net10.0/ServerBench.dll" inproc "$ART")
echo "in-process: $inproc"
/usr/bin/python3 - "$out" "$RUNS" "$index_bytes" "$inproc" <<'PY'
import json, sys, statistics as st
out, runs, index_bytes, inproc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
L = lambda kind: [json.loads(open(f"{out}/{kind}.{r}.json").read()) for r in range(1, runs + 1)]
near, const, start = L("nearest"), L("constant"), L("start")
med = lambda rows, k: st.median(r[k] for r in rows)
ratios = [n["rps"] / c["rps"] for n, c in zip(near, const)]
print(json.dumps({
  "runs": runs, "index_file_mib": round(index_bytes / 2**20, 1),
  "nearest_rps_median": med(near, "rps"), "constant_rps_median": med(const, "rps"),
  "throughput_ratio_median": round(st.median(ratios), 3), "throughput_ratios": [round(x, 3) for x in ratios],
  "nearest_p99_ms_median": med(near, "p99_ms"), "constant_p99_ms_median": med(const, "p99_ms"),
  "nearest_p50_ms_median": med(near, "p50_ms"), "bytes_per_request": [med(near, "bytes_per_request"), med(const, "bytes_per_request")],
  "errors": sum(r["errors"] for r in near + const),
  "readyz_s_median": round(med(start, "readyz_s"), 3), "server_time_to_ready_ms_median": round(med(start, "server_time_to_ready_ms"), 1),
  "rss_ready_mib_median": round(med(start, "rss_ready_kb") / 1024, 1), "rss_after_load_mib_median": round(med(start, "rss_after_load_kb") / 1024, 1),
  "rss_peak_mib_median": round(med(start, "rss_peak_kb") / 1024, 1),
  "rss_after_load_over_index": round(med(start, "rss_after_load_kb") * 1024 / index_bytes, 3),
  "inproc": inproc}, indent=1))
PY
rm -rf "$out"
