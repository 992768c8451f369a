#!/usr/bin/python3
"""Research record for issue 21: candidate built-in models scored under the generalisation protocols (numpy).

Reads raw built-in features dumped by `bench/BuiltinQuality ROOT --dump FILE.f32` for each set and the sets'
tracks_metadata.csv, and prints P@5 (album included / excluded) for the shipped model ("old": standardisation
constants fitted on composer-dev FluidR3) and for fitted candidates under:
  loco   leave-one-composer-out within a set (fit without the query's composer, score that composer's queries)
  cross  fit on one set, score on the other (and the reverse)
  sf     fit on one soundfont's render, score on the other's
    /usr/bin/python3 bench/BuiltinQuality/protocols.py FEATURES_DIR
FEATURES_DIR holds <set>.f32 and <set>.csv (a copy of the set's tracks_metadata.csv), sets named
mutopia-fluidr3, mutopia-timgm6mb, cd-fluidr3, cd-timgm6mb.
"""
import base64, csv, os, re, sys
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BLOCKS = [16, 38, 448, 22, 11, 72, 13]
OFFS = np.cumsum([0] + BLOCKS)


def old_constants():
    src = open(os.path.join(HERE, "../../src/MessTools.Core/Embedding/Builtin/BuiltinStandardisation.cs")).read()
    m = np.frombuffer(base64.b64decode(re.search(r'MeanBase64 = "([^"]+)"', src).group(1)), dtype="<f4").astype(np.float64)
    s = np.frombuffer(base64.b64decode(re.search(r'StdBase64 = "([^"]+)"', src).group(1)), dtype="<f4").astype(np.float64)
    return m, s


def load(dirp, name):
    rows = list(csv.DictReader(open(os.path.join(dirp, name + ".csv"))))
    x = np.fromfile(os.path.join(dirp, name + ".f32"), dtype="<f4").astype(np.float64).reshape(len(rows), -1)
    return x, np.array([r["composer"] for r in rows]), np.array([r["album_id"] for r in rows]), [r["track_id"] for r in rows]


def standardise(x, mean, std, weights=None):
    z = np.clip((x - mean) / (std + 1e-6), -8, 8)
    out = np.zeros_like(z)
    for b in range(len(BLOCKS)):
        s = z[:, OFFS[b]:OFFS[b + 1]]
        n = np.linalg.norm(s, axis=1, keepdims=True)
        out[:, OFFS[b]:OFFS[b + 1]] = s / np.maximum(n, 1e-12) * (1.0 if weights is None else weights[b])
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def per_query(e, comp, alb, queries=None, k=5):
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    s = e @ e.T
    n = len(e)
    qs = range(n) if queries is None else queries
    p, pa = [], []
    for i in qs:
        order = [j for j in np.lexsort((np.arange(n), -s[i])) if j != i]
        p.append(np.mean([comp[j] == comp[i] for j in order[:k]]))
        ex = [j for j in order if alb[j] != alb[i]][:k]
        pa.append(sum(comp[j] == comp[i] for j in ex) / k)
    return np.array(p), np.array(pa)


class Old:
    name = "old"
    def __init__(self):
        self.m, self.s = old_constants()
    def fit(self, x, comp, alb): return self
    def embed(self, x): return standardise(x, self.m, self.s)


class Restd:
    """Label-free standardisation refitted on the training tracks."""
    name = "restd"
    def fit(self, x, comp, alb):
        self.m, self.s = x.mean(0), x.std(0); return self
    def embed(self, x): return standardise(x, self.m, self.s)


class Lda:
    """Restd, then PCA to p dims and shrinkage LDA on composers; the discriminant coordinates (whitened within
    composer) are appended to the standardised vector with weight w."""
    def __init__(self, p=40, shrink=0.3, w=1.0, album_centred=False):
        self.p, self.shrink, self.w, self.ac = p, shrink, w, album_centred
        self.name = f"lda(p={p},sh={shrink},w={w}{',ac' if album_centred else ''})"
    def fit(self, x, comp, alb):
        self.m, self.s = x.mean(0), x.std(0)
        v = standardise(x, self.m, self.s)
        self.p = min(self.p, len(v) - 1)
        self.mu = v.mean(0)
        u, sv, vt = np.linalg.svd(v - self.mu, full_matrices=False)
        self.P = vt[:self.p].T / (sv[:self.p] / np.sqrt(len(v)))
        y = (v - self.mu) @ self.P
        classes = sorted(set(comp))
        sw = np.zeros((self.p, self.p)); means = []
        for c in classes:
            yc = y[comp == c]
            mc = yc.mean(0); means.append(mc)
            sw += (yc - mc).T @ (yc - mc)
        sw /= len(y)
        sw = (1 - self.shrink) * sw + self.shrink * np.eye(self.p) * np.trace(sw) / self.p
        sb = np.cov(np.array(means).T, bias=True)
        # whiten within, then eigen of between
        ew, ev = np.linalg.eigh(sw)
        wh = ev / np.sqrt(ew)
        bw = wh.T @ sb @ wh
        eb, vb = np.linalg.eigh(bw)
        order = np.argsort(eb)[::-1][:len(classes) - 1]
        self.W = wh @ vb[:, order]
        return self
    def embed(self, x):
        v = standardise(x, self.m, self.s)
        z = ((v - self.mu) @ self.P) @ self.W
        z /= np.linalg.norm(z, axis=1, keepdims=True)
        return np.hstack([v, self.w * z])


def loco(model_factory, x, comp, alb):
    n = len(x)
    p = np.zeros(n); pa = np.zeros(n)
    for c in sorted(set(comp)):
        tr = comp != c
        m = model_factory().fit(x[tr], comp[tr], alb[tr])
        q = np.nonzero(comp == c)[0]
        a, b = per_query(m.embed(x), comp, alb, q)
        p[q], pa[q] = a, b
    return p, pa


def cross(model_factory, train, test):
    m = model_factory().fit(*train[:3])
    return per_query(m.embed(test[0]), test[1], test[2])


def ci(v, B=1000, seed=0):
    r = np.random.default_rng(seed)
    means = v[r.integers(0, len(v), (B, len(v)))].mean(1)
    return np.quantile(means, [0.025, 0.975])


def main():
    d = sys.argv[1]
    sets = {n: load(d, n) for n in ("mutopia-fluidr3", "mutopia-timgm6mb", "cd-fluidr3", "cd-timgm6mb") if os.path.exists(os.path.join(d, n + ".f32"))}
    grid = [(p, sh, w) for p in (16, 32, 64, 128) for sh in (0.1, 0.3, 0.7) for w in (0.5, 1.0, 2.0)]
    if os.environ.get("GRID") == "small": grid = [(32, 0.7, 1.0)]
    factories = [Old, Restd] + [lambda p=p, sh=sh, w=w: Lda(p, sh, w) for p, sh, w in grid]
    only = os.environ.get("PROTOCOLS")
    protocols = []
    for n, s in sets.items(): protocols.append((f"loco {n}", lambda f, s=s: loco(f, *s[:3])))
    pairs = [("mutopia-fluidr3", "cd-fluidr3"), ("cd-fluidr3", "mutopia-fluidr3"), ("mutopia-timgm6mb", "cd-timgm6mb"),
             ("mutopia-fluidr3", "mutopia-timgm6mb"), ("cd-fluidr3", "cd-timgm6mb"), ("mutopia-fluidr3", "cd-timgm6mb")]
    for a, b in pairs:
        if a in sets and b in sets: protocols.append((f"fit {a} -> {b}", lambda f, a=a, b=b: cross(f, sets[a], sets[b])))
    # one line per (protocol, model): easier to read for a large grid
    for pname, run in protocols:
        if only and only not in pname: continue
        for f in factories:
            p, pa = run(f)
            print(f"{pname:40} {f().name:36} {p.mean():.3f} {pa.mean():.3f}", flush=True)


if __name__ == "__main__":
    main()
