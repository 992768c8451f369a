#!/usr/bin/python3
"""Reference of Invoke-MessEvaluation's bootstrap intervals and paired permutation test, in plain Python and numpy.

tests/Unit/Evaluation/BootstrapReferenceTests.cs writes the engine's per-query figures, runs this script with
/usr/bin/python3 (Debian python3-numpy) and compares every interval and p-value. The random stream is replayed here
(SplitMix64, as docs/evaluation.md defines it), so the same resamples and the same sign flips are drawn; everything
else (means, numpy's default "linear" quantile, the test statistic) is computed independently with numpy.

Input: one JSON file (argv[1]) with
  seed, resamples, level, min_composer_queries, permutations
  figures         {"precision": [...], "hit_rate": [...], "ndcg": [...]} per query (rows in the engine's order)
  composer        the composer index (ordinal order of names) of each row
  baseline        optional: the same figures of a second model on the same rows
Output (stdout): {"overall": [[lo, hi] x 3], "per_composer": {c: [[lo, hi] x 3] or null},
                  "difference": [[lo, hi] x 3], "difference_mean": [...], "p_value": [...]}
"""
import json
import sys

import numpy as np

MASK = (1 << 64) - 1
METRICS = ("precision", "hit_rate", "ndcg")


class SplitMix64:
    def __init__(self, seed, stream):
        self.state = (((seed & 0xFFFFFFFF) << 32) | stream) & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def index(self, n):
        return (self.next() * n) >> 64


def resample_indices(n, resamples, rng):
    return np.array([[rng.index(n) for _ in range(n)] for _ in range(resamples)], dtype=np.int64)


def intervals(series, resamples, level, rng):
    """series: m x n. The same resample indices for all m series; percentile interval of the resampled means."""
    series = np.asarray(series, dtype=np.float64)
    idx = resample_indices(series.shape[1], resamples, rng)
    means = series[:, idx].mean(axis=2)  # m x B
    qs = [(1 - level) / 2, (1 + level) / 2]
    return [[float(v) for v in np.quantile(means[i], qs)] for i in range(series.shape[0])]


def sign_flip_p(d, permutations, rng):
    d = np.asarray(d, dtype=np.float64)
    n = len(d)
    words = (n + 63) // 64
    observed = abs(d.sum())
    extreme = 0
    for _ in range(permutations):
        bits = []
        for _ in range(words):
            x = rng.next()
            bits.extend((x >> b) & 1 for b in range(64))
        signs = np.where(np.array(bits[:n]) == 1, -1.0, 1.0)
        if abs((signs * d).sum()) >= observed - 1e-9:
            extreme += 1
    return (1 + extreme) / (permutations + 1)


def main():
    spec = json.load(open(sys.argv[1]))
    seed, B, level = spec["seed"], spec["resamples"], spec["level"]
    fig = np.array([spec["figures"][m] for m in METRICS], dtype=np.float64)
    comp = np.array(spec["composer"])
    out = {"overall": intervals(fig, B, level, SplitMix64(seed, 0)), "per_composer": {}}
    for c in sorted(set(comp.tolist())):
        rows = np.nonzero(comp == c)[0]
        out["per_composer"][str(c)] = (intervals(fig[:, rows], B, level, SplitMix64(seed, c + 1))
                                       if len(rows) >= spec["min_composer_queries"] else None)
    if "baseline" in spec:
        base = np.array([spec["baseline"][m] for m in METRICS], dtype=np.float64)
        d = fig - base
        out["difference_mean"] = [float(x) for x in d.mean(axis=1)]
        out["difference"] = intervals(d, B, level, SplitMix64(seed, 0))
        out["p_value"] = [sign_flip_p(d[i], spec["permutations"], SplitMix64(seed, 0xFFFFFFFF)) for i in range(3)]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
