#!/usr/bin/env bash
# The figures of the evaluation's closing note, in one session (peers interleaved with ours).
#   bash bench/EvalBench/run_all.sh > /tmp/evalbench.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build bench/EvalBench -c Release -v q -nologo >/dev/null
B="dotnet bench/EvalBench/bin/Release/net10.0/EvalBench.dll"
echo "# $(date -u +%FT%TZ) $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
# Exact batch search, 1000 queries over 100,000 x 256 (k=10): faiss IndexFlatIP (OpenBLAS) vs ours, alternating.
for i in 1 2 3; do
  /usr/bin/python3 bench/EvalBench/faiss_flat.py 100000 256 --threads 1,2 --repeat 3 | tr -d '\n ' ; echo
  $B search 100000 256 1000 10 1 3
  $B search 100000 256 1000 10 2 3
done
$B single 100000 256 200 10 1 3
# The whole exact evaluation (both album modes, K=5), 20k / 40k / 80k x 768.
$B eval 20000 768 5 0 3
$B eval 40000 768 5 0 3
$B eval 80000 768 5 0 3
echo "# $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
