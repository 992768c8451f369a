#!/usr/bin/env python3
"""Writes N synthetic shard folders (random L2-normalised rows, the real shard format) so Merge-MessEmbedding can be timed
at sizes the 62-track set cannot reach. Usage: make-synthetic-shards.py OUT_DIR TRACKS SHARDS [DIM]
Then: Merge-MessEmbedding -Path OUT_DIR/shards/* -ArtifactPath OUT_DIR   (bench/Sharding/run-merge-bench.ps1 does both)."""
import hashlib, json, os, sys
import numpy as np

out, tracks, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
dim = int(sys.argv[4]) if len(sys.argv) > 4 else 620
model_sha = "0" * 64
profile = {"embedder": "synthetic", "version": 1}
model_key = hashlib.sha256((model_sha + "\n" + json.dumps(profile)).encode()).hexdigest()

def sha(b): return hashlib.sha256(b).hexdigest()
def shard_of(tid): return int.from_bytes(hashlib.sha256(tid.encode()).digest()[:8], "little") % n
def dump(obj): return json.dumps(obj, indent=2, ensure_ascii=False).encode()

ids = [f"syn-{i:08d}" for i in range(tracks)]
by_shard = [[] for _ in range(n)]
for t in ids: by_shard[shard_of(t)].append(t)
rng = np.random.default_rng(7)
for i, mine in enumerate(by_shard):
    mine.sort()
    emb = os.path.join(out, "shards", f"{i}-of-{n}", "embeddings")
    os.makedirs(emb, exist_ok=True)
    x = rng.standard_normal((len(mine), dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    f32 = x.astype("<f4").tobytes()
    ids_b = json.dumps(mine, separators=(",", ":")).encode()
    rows = dump({"model": "synthetic", "model_key": model_key, "dim": dim,
                 "rows": [{"track_id": t, "audio_sha256": "a" * 64, "audio_bytes": 1000, "duration_sec": 60.0, "segments": 0} for t in mine]})
    files = {"rows.json": sha(rows), "track_ids.json": sha(ids_b)}
    meta = dump({"model": "synthetic", "model_sha256": model_sha, "profile": profile, "dim": dim, "dtype": "float32",
                 "byte_order": "little", "layout": "row_major", "normalization": "l2", "pooling": "mean", "sample_rate": 22050,
                 "module_version": "0.1.0", "count": len(mine), "embeddings_sha256": sha(f32), "files": files})
    for name, b in (("embeddings.f32", f32), ("track_ids.json", ids_b), ("rows.json", rows), ("embeddings_meta.json", meta)):
        with open(os.path.join(emb, name), "wb") as fh: fh.write(b)
    manifest = {"format": "messtools-shard/1", "shard_index": i, "shard_count": n, "hash": "sha256-utf8-first8-le-mod-n",
                "model": "synthetic", "model_sha256": model_sha, "model_key": model_key, "profile": profile, "dim": dim,
                "track_ids": mine, "failed": {},
                "files": {f"embeddings/{k}": sha(v) for k, v in (("embeddings.f32", f32), ("embeddings_meta.json", meta), ("rows.json", rows), ("track_ids.json", ids_b))}}
    with open(os.path.join(emb, "shard_manifest.json"), "wb") as fh: fh.write(dump(manifest))
print(f"{tracks} tracks in {n} shards under {out}/shards")
