#!/usr/bin/python3
"""Reference figures for Measure-MessEmbedding, computed the plain way with numpy and scikit-learn.

The analysis tests (tests/Unit/Analysis/AnalysisReferenceTests.cs) write a matrix and its labels, run this script
with /usr/bin/python3 (Debian python3-numpy and python3-sklearn) and compare every figure within 1e-6.

Input: one JSON file (argv[1]) with
  vectors, dim          a float32 little-endian row-major file and its width (rows ordered as the engine orders them)
  composers             one composer per row
  k                     neighbours per track
  clusters              the engine's k-means cluster of each row (the NMI is checked on them; k-means itself is seeded
                        differently from scikit-learn's, so its clusters are not compared)
  compare_vectors, compare_dim   optional second matrix over the same rows (CKA, Jaccard, P@K)
Output (stdout): one JSON object of figures.
"""
import json
import sys

import numpy as np
from sklearn.metrics import normalized_mutual_info_score, silhouette_score


def load(path, dim):
    x = np.fromfile(path, dtype="<f4").astype(np.float64).reshape(-1, dim)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def neighbours(e, k):
    """Exact cosine neighbours: the row itself excluded, ties by the lower row (a stable sort of -similarity)."""
    s = e @ e.T
    np.fill_diagonal(s, -np.inf)
    return np.argsort(-s, axis=1, kind="stable")[:, :k]


def spectrum(e):
    n = e.shape[0]
    c = e - e.mean(axis=0)
    sigma = np.linalg.svd(c, compute_uv=False)
    lam = sigma ** 2 / n
    share = np.cumsum(lam) / lam.sum()
    p = sigma / sigma.sum()
    p = p[p > 0]
    return {
        "eigenvalues": lam.tolist(),
        "components_for_90": int(np.argmax(share >= 0.9 - 1e-12) + 1),
        "participation_ratio": float(lam.sum() ** 2 / (lam ** 2).sum()),
        "effective_rank": float(np.exp(-(p * np.log(p)).sum())),
    }


def two_nn(e):
    d = np.sqrt(np.maximum(((e[:, None, :] - e[None, :, :]) ** 2).sum(-1), 0))
    np.fill_diagonal(d, np.inf)
    order = np.argsort(d, axis=1, kind="stable")
    r1 = d[np.arange(len(e)), order[:, 0]]
    r2 = d[np.arange(len(e)), order[:, 1]]
    keep = r1 > 0
    return float(keep.sum() / np.log(r2[keep] / r1[keep]).sum()), int(keep.sum())


def hubness(nb, k):
    n = nb.shape[0]
    nk = np.bincount(nb.ravel(), minlength=n).astype(np.float64)
    dev = nk - k
    sigma = np.sqrt((dev ** 2).mean())
    order = sorted(range(n), key=lambda i: (-nk[i], i))[:10]
    return {
        "k_occurrence_skewness": float((dev ** 3).mean() / sigma ** 3),
        "robin_hood": float(np.abs(dev).sum() / (2 * nk.sum())),
        "antihub_share": float((nk == 0).mean()),
        "hub_occurrence": float(nk[nk > 2 * k].sum() / nk.sum()),
        "top_hubs": [int(i) for i in order],
        "top_hub_counts": [int(nk[i]) for i in order],
    }


def geometry(e, labels):
    n = len(e)
    sq = np.maximum(((e[:, None, :] - e[None, :, :]) ** 2).sum(-1), 0)
    iu = np.triu_indices(n, 1)
    same = (labels[:, None] == labels[None, :])[iu]
    cos = e @ e.T
    per = {}
    for c in sorted(set(labels.tolist())):
        m = labels == c
        cnt = int(m.sum())
        within = cos[np.ix_(m, m)][np.triu_indices(cnt, 1)]
        per[c] = {
            "count": cnt,
            "mean_within_cosine": float(within.mean()) if cnt > 1 else None,
            "mean_cosine_to_others": float(cos[np.ix_(m, ~m)].mean()),
        }
    return {
        "alignment": float(sq[iu][same].mean()),
        "uniformity": float(np.log(np.exp(-2 * sq[iu]).mean())),
        "silhouette": float(silhouette_score(e, labels, metric="cosine")),
        "mean_pairwise_cosine": float(cos[iu].mean()),
        "per_composer": per,
    }


def diversity(nb, labels):
    composers = len(set(labels.tolist()))
    distinct = np.array([len(set(labels[row].tolist())) for row in nb], dtype=np.float64)
    return {"mean_neighbor_composers": float(distinct.mean()), "neighbor_composer_share": float(distinct.mean() / composers)}


def cka(x, y):
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    return float(np.linalg.norm(x.T @ y) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)))


def main():
    spec = json.load(open(sys.argv[1]))
    e = load(spec["vectors"], spec["dim"])
    labels = np.array(spec["composers"])
    k = spec["k"]
    nb = neighbours(e, k)
    out = {}
    out.update(spectrum(e))
    out["intrinsic_dimension"], out["intrinsic_dimension_tracks"] = two_nn(e)
    out.update(hubness(nb, k))
    out.update(geometry(e, labels))
    out.update(diversity(nb, labels))
    out["cluster_nmi"] = float(normalized_mutual_info_score(labels, np.array(spec["clusters"])))
    if spec.get("compare_vectors"):
        f = load(spec["compare_vectors"], spec["compare_dim"])
        nf = neighbours(f, k)
        out["cka"] = cka(e, f)
        out["neighbor_jaccard"] = float(np.mean([len(set(a) & set(b)) / len(set(a) | set(b)) for a, b in zip(nb.tolist(), nf.tolist())]))
        out["precision_at_k"] = float((labels[nb] == labels[:, None]).mean())
        out["compare_precision_at_k"] = float((labels[nf] == labels[:, None]).mean())
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
