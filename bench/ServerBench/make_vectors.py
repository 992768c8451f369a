#!/usr/bin/python3
"""The index benchmark's vectors without hnswlib/faiss: dataset() of /work/shared/bench/ann_anchor.py (same seed, same
bytes) written to /tmp/ann_N_D.f32 and /tmp/ann_N_D_q.f32. Usage: make_vectors.py N D"""
import sys
src = open("/work/shared/bench/ann_anchor.py").read().replace("import numpy as np, hnswlib, faiss", "import numpy as np")
ns = {}
exec(src.split('if __name__ == "__main__":')[0], ns)
n, d = int(sys.argv[1]), int(sys.argv[2])
X, Q = ns["dataset"](n, d)
X.tofile(f"/tmp/ann_{n}_{d}.f32"); Q.tofile(f"/tmp/ann_{n}_{d}_q.f32")
print(f"/tmp/ann_{n}_{d}.f32: {X.shape}")
