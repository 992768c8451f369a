#!/usr/bin/env bash
# Issue 13's speed figure in one session: the whole analysis of 100,000 x 256 (100 composers, K=10, 10 clusters)
# against its peer, the exact all-pairs top-K pass alone on the same folder, alternating, one process per run.
#   bash bench/AnalysisBench/run_all.sh [runs] > /tmp/analysisbench.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
dotnet build bench/AnalysisBench -c Release -v q -nologo >/dev/null
B="dotnet bench/AnalysisBench/bin/Release/net10.0/AnalysisBench.dll"
F=/tmp/analysisbench_100000_256
[ -f "$F/embeddings/embeddings_meta.json" ] || $B make "$F" 100000 256 100
# The build's processes are let finish first, and the order alternates (analysis first in odd rounds, the peer
# first in even ones): the first run after the build loaded the folder up to 0.7 s slower.
sleep 10
echo "# $(date -u +%FT%TZ) $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$runs"); do
  if [ $((i % 2)) -eq 1 ]; then
    $B analysis "$F" 10 10
    $B peer "$F" 10
  else
    $B peer "$F" 10
    $B analysis "$F" 10 10
  fi
done
echo "# $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
