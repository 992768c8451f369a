#!/usr/bin/python3
"""Interleaved benchmark of MessTools' index against hnswlib and faiss on one machine, one session.

paired.py N D [--rounds R] [--what build1,build2,search,exact,load]
Each round runs the peer and ours back to back (peer first on odd rounds, ours first on even ones), so both see
the same machine load; prints every run as a JSON line and then medians and the median of the per-round ratios.
Needs: /tmp/ann_N_D.f32 and _q.f32 (run /work/shared/bench/ann_anchor.py N D once) and a Release build of
bench/IndexBench/Ann (dotnet build -c Release bench/IndexBench/Ann).
"""
import sys, json, subprocess, statistics, os

here = os.path.dirname(os.path.abspath(__file__))
ours = os.path.join(here, "Ann", "bin", "Release", "net10.0", "Ann")
peer = ["/usr/bin/python3", os.path.join(here, "peers.py")]
n, d = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
what = (sys.argv[sys.argv.index("--what") + 1] if "--what" in sys.argv else "build1,build2,search,exact,load").split(",")
hn_file, our_file = f"/tmp/paired_hnswlib_{n}_{d}.bin", f"/tmp/paired_messtools_{n}_{d}.index"

def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    rows = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    for r in rows: print(json.dumps(r), flush=True)
    return rows

def pair(r, a, b):
    return (a(), b()) if r % 2 == 0 else tuple(reversed((b(), a())))

summary = {}
def add(key, peer_val, our_val):
    summary.setdefault(key, {"peer": [], "ours": []})
    summary[key]["peer"].append(peer_val); summary[key]["ours"].append(our_val)

for r in range(rounds):
    if "build1" in what:
        p, o = pair(r, lambda: run(peer + ["build", n, d, "--threads", "1"] + (["--save", hn_file] if r == 0 else [])),
                       lambda: run([ours, "build", n, d, "--threads", "1"] + (["--save", our_file] if r == 0 else [])))
        add("build_s_1thread (lower is better)", p[0]["seconds"], o[0]["seconds"])
    if "build2" in what:
        p, o = pair(r, lambda: run(peer + ["build", n, d, "--threads", "2"]), lambda: run([ours, "build", n, d, "--threads", "2"]))
        add("build_s_2threads (lower is better)", p[0]["seconds"], o[0]["seconds"])
    if "search" in what and os.path.exists(hn_file) and os.path.exists(our_file):
        p, o = pair(r, lambda: run(peer + ["search", n, d, "--load", hn_file]), lambda: run([ours, "search", n, d, "--load", our_file]))
        for a, b in zip(p, o):
            add(f"search_qps_best_of_5_ef{a['ef']} (peer recall {a['recall10']}, ours {b['recall10']})", a["qps"], b["qps"])
    if "exact" in what:
        p, o = pair(r, lambda: run(peer + ["flat", n, d]), lambda: run([ours, "exact", n, d]))
        add("exact_batch_qps (faiss IndexFlatIP vs ExactSearch)", p[0]["qps"], o[0]["qps"])
    if "load" in what and os.path.exists(our_file):
        o = run([ours, "load", n, d, "--load", our_file])
        add("index_load_ms (ours only)", 0, o[0]["ms"])

print("\n# medians over %d rounds (peer = hnswlib / faiss; ratio = ours / peer per round)" % rounds)
for k, v in summary.items():
    ratios = [o / p for p, o in zip(v["peer"], v["ours"]) if p]
    print(f"{k}: peer {statistics.median(v['peer']):.2f}  ours {statistics.median(v['ours']):.2f}"
          + (f"  ratio {statistics.median(ratios):.3f}" if ratios else "")
          + f"   runs peer {v['peer']} ours {v['ours']}")
