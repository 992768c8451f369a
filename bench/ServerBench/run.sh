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
# The server as the container ships it: published for linux-x64, ReadyToRun (see the Dockerfile).
server_dir=${SERVER_DIR:-/tmp/messbench/server-r2r}
dotnet publish -c Release -r linux-x64 --self-contained false "$repo/src/MessTools.Server" -o "$server_dir" -v q -nologo >/dev/null
dotnet build -c Release "$here" -v q -nologo >/dev/null
if [ ! -f "$ART/index/hnsw.index" ] || [ ! -f "$ART/index/track_table.bin" ]; then
  [ -f /tmp/ann_100000_256.f32 ] || /usr/bin/python3 "$here/make_vectors.py" 100000 256
  dotnet "$here/bin/Release/net10.0/ServerBench.dll" prepare "$ART"
fi
index_bytes=$(stat -c %s "$ART/index/hnsw.index")
out=$(mktemp -d)
for run in $(seq 1 "$RUNS"); do
  echo "run $run starts; uptime: $(uptime)"
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  t0=$(date +%s.%N)
  dotnet "$server_dir/MessTools.Server.dll" --artifact-path "$ART" --urls "http://127.0.0.1:$port" \
    --rate-limit 0 --bench-constant-route true --Logging:LogLevel:Default Warning >"$out/server.log" 2>&1 &
  pid=$!
  until curl -fs "http://127.0.0.1:$port/readyz" >"$out/readyz.json" 2>/dev/null; do sleep 0.01; done
  t1=$(date +%s.%N)
  rss_ready=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
  wrk -t2 -c16 -d3s -s "$here/nearest.lua" "http://127.0.0.1:$port" >/dev/null   # warm-up (JIT, filter columns)
  wrk -t2 -c16 -d3s -s "$here/constant.lua" "http://127.0.0.1:$port/_bench/constant" >/dev/null
  wrk -t2 -c16 -d"${SECS}s" -s "$here/nearest.lua" "http://127.0.0.1:$port" | tail -1 >"$out/nearest.$run.json"
  # The constant route's CPU per request, wrk included (the bound's second term): server and wrk CPU seconds over the run.
  cpu0=$(awk '{print $14 + $15}' /proc/$pid/stat)
  TIMEFORMAT='%U %S'
  { time wrk -t2 -c16 -d"${SECS}s" -s "$here/constant.lua" "http://127.0.0.1:$port/_bench/constant" | tail -1 >"$out/constant.$run.json"; } 2>"$out/wrkcpu.$run"
  cpu1=$(awk '{print $14 + $15}' /proc/$pid/stat)
  rss_load=$(awk '/VmRSS/ {print $2}' /proc/$pid/status); hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
  rss_anon=$(awk '/RssAnon/ {print $2}' /proc/$pid/status); rss_file=$(awk '/RssFile/ {print $2}' /proc/$pid/status); rss_shmem=$(awk '/RssShmem/ {print $2}' /proc/$pid/status)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  /usr/bin/python3 - "$out" "$run" "$(echo "$t1 - $t0" | bc)" "$rss_ready" "$rss_load" "$hwm" "$rss_anon" "$rss_file" "$rss_shmem" "$cpu0" "$cpu1" "$(getconf CLK_TCK)" <<'PY'
import json, sys
out, run, readyz_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
rss_ready, rss_load, hwm, anon, file_, shmem, cpu0, cpu1, tck = (float(x) for x in sys.argv[4:13])
try: ttr = json.load(open(f"{out}/readyz.json")).get("time_to_ready_ms")
except (OSError, ValueError): ttr = None
user, sys_ = (float(x) for x in open(f"{out}/wrkcpu.{run}").read().split()[-2:])
const = json.load(open(f"{out}/constant.{run}.json"))
cpu_per_req = ((cpu1 - cpu0) / tck + user + sys_) / max(1, const["requests"])
json.dump({"readyz_s": readyz_s, "server_time_to_ready_ms": ttr, "rss_ready_kb": rss_ready, "rss_after_load_kb": rss_load,
           "rss_peak_kb": hwm, "rss_anon_kb": anon, "rss_file_kb": file_, "rss_shmem_kb": shmem,
           "constant_cpu_ms_per_request": round(1000 * cpu_per_req, 4)}, open(f"{out}/start.{run}.json", "w"))
PY
  echo "run $run: $(cat "$out/start.$run.json") nearest $(cat "$out/nearest.$run.json") constant $(cat "$out/constant.$run.json")"
done
inproc=$(dotnet "$here/bin/Release/net10.0/ServerBench.dll" inproc "$ART")
echo "in-process: $inproc"
echo "uptime: $(uptime)"
/usr/bin/python3 - "$out" "$RUNS" "$index_bytes" "$inproc" <<'PY'
# The summary never fails on a missing field: it prints null for a figure it cannot compute and says which.
import json, sys, statistics as st
out, runs, index_bytes, inproc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
def L(kind):
    rows = []
    for r in range(1, runs + 1):
        try: rows.append(json.loads(open(f"{out}/{kind}.{r}.json").read()))
        except (OSError, ValueError): pass
    return rows
near, const, start = L("nearest"), L("constant"), L("start")
missing = set()
def med(rows, k, scale=1.0, nd=3):
    v = [r[k] for r in rows if isinstance(r.get(k), (int, float))]
    if not v: missing.add(k); return None
    return round(st.median(v) * scale, nd)
ratios = [n["rps"] / c["rps"] for n, c in zip(near, const) if n.get("rps") and c.get("rps")]
# The bound (issue 19): 2 cores / (CPU of one query in-process + CPU of one constant-route request, wrk included).
q_ms, c_ms = inproc.get("median_ms"), med(start, "constant_cpu_ms_per_request", nd=4)
bound = round(2000.0 / (q_ms + c_ms), 1) if q_ms and c_ms else None
rps = med(near, "rps", nd=1)
rss_load = med(start, "rss_after_load_kb", 1024.0, 1)
print(json.dumps({
  "runs": runs, "index_file_mib": round(index_bytes / 2**20, 1),
  "nearest_rps_median": rps, "constant_rps_median": med(const, "rps", nd=1),
  "throughput_ratio_median": round(st.median(ratios), 3) if ratios else None, "throughput_ratios": [round(x, 3) for x in ratios],
  "inproc_query_ms_median": q_ms, "constant_cpu_ms_per_request_median": c_ms,
  "bound_rps": bound, "nearest_over_bound": round(rps / bound, 3) if rps and bound else None, "goal_over_bound": 0.8,
  "nearest_p99_ms_median": med(near, "p99_ms"), "constant_p99_ms_median": med(const, "p99_ms"), "goal_p99_ms": 10,
  "nearest_p50_ms_median": med(near, "p50_ms"), "bytes_per_request": [med(near, "bytes_per_request"), med(const, "bytes_per_request")],
  "errors": sum(r.get("errors", 0) for r in near + const),
  "readyz_s_median": med(start, "readyz_s"), "server_time_to_ready_ms_median": med(start, "server_time_to_ready_ms", nd=1), "goal_readyz_s": 1.0,
  "rss_ready_mib_median": med(start, "rss_ready_kb", 1 / 1024, 1), "rss_after_load_mib_median": med(start, "rss_after_load_kb", 1 / 1024, 1),
  "rss_peak_mib_median": med(start, "rss_peak_kb", 1 / 1024, 1),
  "rss_anon_file_shmem_mib_median": [med(start, "rss_anon_kb", 1 / 1024, 1), med(start, "rss_file_kb", 1 / 1024, 1), med(start, "rss_shmem_kb", 1 / 1024, 1)],
  "rss_after_load_over_index": round(rss_load / index_bytes, 3) if rss_load else None, "goal_rss_over_index": 1.5,
  "missing_fields": sorted(missing),
  "inproc": inproc}, indent=1))
PY
rm -rf "$out"
