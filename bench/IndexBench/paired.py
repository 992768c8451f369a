#!/usr/bin/python3
"""Interleaved benchmark of MessTools' index against hnswlib, USearch and faiss on one machine, one session.

paired.py N D [--rounds R] [--what build1,build2,search,exact,load]
Each round runs the peers and ours back to back, in an order that rotates from round to round, so all see the same
machine load; prints every run as a JSON line, `uptime` at the start of each round, and then medians and the median of the
per-round ratios (ours / peer) against each peer.
  build1  HNSW build, M 16, efConstruction 200, one thread: hnswlib, USearch (C# binding), ours
  build2  the same on two threads: hnswlib, ours (the USearch binding adds on one thread only)
  search  single-query recall@10 and queries/s, one thread, ef 10..160: hnswlib, USearch, ours on the graphs of round 1
  exact   exact batch top-10 of all queries at 1 and at 2 threads: faiss IndexFlatIP (OpenMP and OpenBLAS at that count), ours
          (the int8 screen and float re-score) and ours with --float (the float pass alone)
  load    our index load time (ours only)
Needs: /tmp/ann_N_D.f32 and _q.f32 (/work/shared/bench/ann_anchor.py N D), hnswlib and faiss for /usr/bin/python3, and
Release builds of bench/IndexBench/Ann and bench/IndexBench/USearchPeer (dotnet build -c Release bench/Benchmarks.proj).
"""
import sys, json, subprocess, statistics, os

here = os.path.dirname(os.path.abspath(__file__))
ours = os.path.join(here, "Ann", "bin", "Release", "net10.0", "Ann")
usearch = os.path.join(here, "USearchPeer", "bin", "Release", "net10.0", "USearchPeer")
peer = ["/usr/bin/python3", os.path.join(here, "peers.py")]
n, d = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
what = (sys.argv[sys.argv.index("--what") + 1] if "--what" in sys.argv else "build1,build2,search,exact,load").split(",")
hn_file, us_file, our_file = f"/tmp/paired_hnswlib_{n}_{d}.bin", f"/tmp/paired_usearch_{n}_{d}.usearch", f"/tmp/paired_messtools_{n}_{d}.index"

def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    rows = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    for r in rows: print(json.dumps(r), flush=True)
    return rows

def rotate(r, named):
    """Runs the named thunks in an order rotated by the round; returns their results by name."""
    names = list(named)
    k = r % len(names)
    results = {}
    for name in names[k:] + names[:k]:
        results[name] = named[name]()
    return results

summary = {}
def add(key, peer_name, peer_val, our_val):
    s = summary.setdefault(key, {"peer_name": peer_name, "peer": [], "ours": []})
    s["peer"].append(peer_val); s["ours"].append(our_val)

for r in range(rounds):
    print("# round %d, uptime: %s" % (r + 1, subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()), flush=True)
    if "build1" in what:
        save = lambda f: ["--save", f] if r == 0 else []
        res = rotate(r, {
            "hnswlib": lambda: run(peer + ["build", n, d, "--threads", "1"] + save(hn_file)),
            "usearch": lambda: run([usearch, "build", n, d] + save(us_file)),
            "ours": lambda: run([ours, "build", n, d, "--threads", "1"] + save(our_file))})
        for p in ("hnswlib", "usearch"):
            add(f"build_s_1thread vs {p} (lower is better)", p, res[p][0]["seconds"], res["ours"][0]["seconds"])
    if "build2" in what:
        res = rotate(r, {"hnswlib": lambda: run(peer + ["build", n, d, "--threads", "2"]),
                         "ours": lambda: run([ours, "build", n, d, "--threads", "2"])})
        add("build_s_2threads vs hnswlib (lower is better)", "hnswlib", res["hnswlib"][0]["seconds"], res["ours"][0]["seconds"])
    if "search" in what and os.path.exists(our_file):
        runners = {"ours": lambda: run([ours, "search", n, d, "--load", our_file])}
        if os.path.exists(hn_file): runners["hnswlib"] = lambda: run(peer + ["search", n, d, "--load", hn_file])
        if os.path.exists(us_file): runners["usearch"] = lambda: run([usearch, "search", n, d, "--load", us_file])
        res = rotate(r, runners)
        for p in ("hnswlib", "usearch"):
            for a, b in zip(res.get(p, []), res["ours"]):
                add(f"search_qps_best_of_5_ef{a['ef']} vs {p} (peer recall {a['recall10']}, ours {b['recall10']})", p, a["qps"], b["qps"])
    if "exact" in what:
        for t in ("1", "2"):
            res = rotate(r, {"faiss": lambda: run(peer + ["flat", n, d, "--threads", t]),
                             "ours": lambda: run([ours, "exact", n, d, "--threads", t]),
                             "ours_float": lambda: run([ours, "exact", n, d, "--threads", t, "--float"])})
            add(f"exact_batch_qps_{t}thread(s) (faiss IndexFlatIP vs ExactSearch, same thread count)", "faiss", res["faiss"][0]["qps"], res["ours"][0]["qps"])
            add(f"exact_batch_qps_{t}thread(s) (faiss IndexFlatIP vs ExactSearch's float pass alone, --float)", "faiss", res["faiss"][0]["qps"], res["ours_float"][0]["qps"])
    if "load" in what and os.path.exists(our_file):
        o = run([ours, "load", n, d, "--load", our_file])
        add("index_load_ms (ours only)", "-", 0, o[0]["ms"])

print("\n# medians over %d rounds (ratio = ours / peer per round, median of the rounds)" % rounds)
print("# uptime at the end: " + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
for k, v in summary.items():
    ratios = [o / p for p, o in zip(v["peer"], v["ours"]) if p]
    print(f"{k}: {v['peer_name']} {statistics.median(v['peer']):.2f}  ours {statistics.median(v['ours']):.2f}"
          + (f"  ratio {statistics.median(ratios):.3f}" if ratios else "")
          + f"   runs {v['peer_name']} {v['peer']} ours {v['ours']}")
