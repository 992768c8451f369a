#!/usr/bin/python3
"""Peer figures for ExactSearch: faiss IndexFlatIP (Debian python3-faiss, OpenBLAS) on one data set.

faiss_flat.py N D [--queries 1000] [--k 10] [--threads 1,2] [--repeat 3]
Makes N L2-normalised clustered vectors of D dims plus the queries (seed 7), writes them to
/tmp/evalbench_N_D.f32 and /tmp/evalbench_N_D_q.f32 (float32, row-major) so EvalBench runs on exactly the
same data, then times a batch search per thread count and prints JSON with the median queries/s.
"""
import sys, time, json
import numpy as np, faiss

def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default

n, d = int(sys.argv[1]), int(sys.argv[2])
nq = int(arg("--queries", "1000")); k = int(arg("--k", "10")); rep = int(arg("--repeat", "3"))
threads = [int(t) for t in arg("--threads", "1,2").split(",")]
rng = np.random.default_rng(7)
centers = rng.normal(size=(max(8, n // 500), d)).astype(np.float32)
lab = rng.integers(0, len(centers), n + nq)
X = centers[lab] + 0.6 * rng.normal(size=(n + nq, d)).astype(np.float32)
X /= np.linalg.norm(X, axis=1, keepdims=True)
base, Q = X[:n].copy(), X[n:].copy()
base.tofile(f"/tmp/evalbench_{n}_{d}.f32"); Q.tofile(f"/tmp/evalbench_{n}_{d}_q.f32")
index = faiss.IndexFlatIP(d); index.add(base)
out = {"n": n, "d": d, "queries": nq, "k": k}
for th in threads:
    faiss.omp_set_num_threads(th)
    runs = []; cpu = []
    for _ in range(rep):
        c = time.process_time(); t = time.perf_counter(); index.search(Q, k)
        runs.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
    out[f"faiss_flat_batch_qps_threads{th}"] = round(nq / float(np.median(runs)), 1)
    out[f"faiss_flat_batch_runs_s_threads{th}"] = [round(r, 4) for r in runs]
    out[f"faiss_flat_batch_cpu_s_threads{th}"] = [round(r, 4) for r in cpu]
    t = time.perf_counter()
    for q in Q[:200]: index.search(q[None], k)
    out[f"faiss_flat_single_qps_threads{th}"] = round(200 / (time.perf_counter() - t), 1)
print(json.dumps(out, indent=1))
