#!/usr/bin/python3
"""Peer figures (hnswlib 0.6, faiss 1.7) on the vectors of /work/shared/bench/ann_anchor.py, one JSON line per figure.

peers.py build  N D --threads T [--save FILE]   hnswlib M=16 efConstruction=200 build time (seed 1)
peers.py search N D --load FILE [--ef 10,20,40,80,160] [--repeat 5]   single-query recall@10; queries/s best and median of the passes, 1 thread
peers.py flat   N D [--threads T]                faiss IndexFlatIP batch of all queries, k=10, T threads (faiss and OpenBLAS; default 1)
Reads /tmp/ann_N_D.f32 and /tmp/ann_N_D_q.f32. Ground truth: faiss IndexFlatIP (cached in /tmp/ann_N_D_gt.i32).
"""
import sys, time, json, os

def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default

# Threads of faiss (OpenMP) and of the BLAS under numpy and faiss (OpenBLAS): set before they load, so `flat --threads T`
# compares exact search at the thread count ours is given (Ann exact --threads T). Every other mode is one thread.
THREADS = int(arg("--threads", 1))
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(THREADS if sys.argv[1] == "flat" else 1)
import numpy as np, hnswlib, faiss

mode, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
X = np.fromfile(f"/tmp/ann_{n}_{d}.f32", dtype=np.float32).reshape(n, d)
Q = np.fromfile(f"/tmp/ann_{n}_{d}_q.f32", dtype=np.float32).reshape(-1, d)
faiss.omp_set_num_threads(THREADS if sys.argv[1] == "flat" else 1)

def ground_truth():
    path = f"/tmp/ann_{n}_{d}_gt.i32"
    if os.path.exists(path):
        return np.fromfile(path, dtype=np.int32).reshape(len(Q), 10)
    fl = faiss.IndexFlatIP(d); fl.add(X); _, gt = fl.search(Q, 10)
    gt.astype(np.int32).tofile(path)
    return gt

if mode == "build":
    th = int(arg("--threads", 1))
    p = hnswlib.Index(space="ip", dim=d); p.init_index(max_elements=n, M=16, ef_construction=200, random_seed=1)
    p.set_num_threads(th)
    t = time.perf_counter(); p.add_items(X, np.arange(n)); dt = time.perf_counter() - t
    print(json.dumps({"peer": "hnswlib", "what": "build", "threads": th, "seconds": round(dt, 3)}), flush=True)
    if arg("--save", None): p.save_index(arg("--save", None))
elif mode == "search":
    gt = ground_truth()
    p = hnswlib.Index(space="ip", dim=d); p.load_index(arg("--load", None), max_elements=n); p.set_num_threads(1)
    repeat = int(arg("--repeat", 5))
    for ef in [int(x) for x in arg("--ef", "10,20,40,80,160").split(",")]:
        p.set_ef(ef)
        qps = []
        for r in range(repeat):
            t = time.perf_counter(); labs = [p.knn_query(q, k=10)[0][0] for q in Q]; dt = time.perf_counter() - t
            qps.append(len(Q) / dt)
        rec = float(np.mean([len(set(l) & set(g)) / 10 for l, g in zip(labs, gt)]))
        print(json.dumps({"peer": "hnswlib", "what": "search", "ef": ef, "recall10": round(rec, 4),
                          "qps": round(max(qps), 1), "qps_median": round(sorted(qps)[len(qps) // 2], 1)}), flush=True)
elif mode == "flat":
    fl = faiss.IndexFlatIP(d); fl.add(X)
    t = time.perf_counter(); _, gt = fl.search(Q, 10); dt = time.perf_counter() - t
    print(json.dumps({"peer": "faiss_flat_ip", "what": "exact_batch", "threads": THREADS, "queries": len(Q), "qps": round(len(Q) / dt, 1)}), flush=True)
else:
    sys.exit("mode: build | search | flat")
