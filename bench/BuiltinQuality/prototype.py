#!/usr/bin/python3
"""Research prototype of MessTools' built-in embedder (numpy/scipy), kept as a record of the design.

Reads only the rendered composer-dev set (render.sh OUT) and prints Composer Retrieval figures
(P@5 self excluded, P@5 with same-album candidates excluded) for several feature variants.

    /usr/bin/python3 bench/BuiltinQuality/prototype.py /tmp/composer-dev [--variant NAME]
"""
import csv, os, sys, wave
from multiprocessing import Pool
import numpy as np

SR = 22050
NFFT = 4096
HOP = 512
FMIN_MIDI, FMAX_MIDI = 21, 108          # piano range A0..C8
NMEL = 64
MEL_NFFT = int(os.environ.get("MEL_NFFT", "4096"))
MEL_FMAX = float(os.environ.get("MEL_FMAX", "11025"))
EPS = 1e-10


def read_wav(path):
    with wave.open(path) as w:
        sr, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
        x = np.frombuffer(w.readframes(n), dtype=np.int16).astype(np.float32) / 32768.0
    x = x.reshape(-1, ch).mean(axis=1)
    if sr == 44100:
        from scipy.signal import resample_poly
        x = resample_poly(x, 1, 2).astype(np.float32)
    else:
        assert sr == SR
    return x


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + f / 700.0)


def mel_filterbank(n_mels=NMEL, fmin=30.0, fmax=MEL_FMAX, nfft=MEL_NFFT):
    freqs = np.arange(nfft // 2 + 1) * SR / nfft
    mpts = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2)
    hz = 700.0 * (10 ** (mpts / 2595.0) - 1)
    fb = np.zeros((n_mels, len(freqs)))
    for i in range(n_mels):
        l, c, r = hz[i], hz[i + 1], hz[i + 2]
        up = (freqs - l) / (c - l); down = (r - freqs) / (r - c)
        fb[i] = np.maximum(0, np.minimum(up, down)) * (2.0 / (r - l))
    return fb


def pitch_map():
    """Each FFT bin -> triangular weights on the two nearest semitones of the piano range."""
    freqs = np.arange(NFFT // 2 + 1) * SR / NFFT
    npitch = FMAX_MIDI - FMIN_MIDI + 1
    W = np.zeros((npitch, len(freqs)))
    for k, f in enumerate(freqs):
        if f < 25.0 or f > 5000.0:
            continue
        m = 69 + 12 * np.log2(f / 440.0) - FMIN_MIDI
        lo = int(np.floor(m)); fr = m - lo
        if 0 <= lo < npitch: W[lo, k] += 1 - fr
        if 0 <= lo + 1 < npitch: W[lo + 1, k] += fr
    return W


MELFB = mel_filterbank()
PMAP = pitch_map()


def dct_matrix(n_out, n_in):
    k = np.arange(n_out)[:, None]; n = np.arange(n_in)[None, :]
    M = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    M[0] /= np.sqrt(2)
    return M


DCT = dct_matrix(20, NMEL)


def frames_of(x, nfft=NFFT, n=None):
    win = np.hanning(nfft + 1)[:-1].astype(np.float32)
    n = n or 1 + max(0, (len(x) - NFFT)) // HOP
    off = (NFFT - nfft) // 2                                  # same frame centres as the pitch frames
    idx = off + np.arange(nfft)[None, :] + HOP * np.arange(n)[:, None]
    return np.fft.rfft(x[idx] * win, axis=1)


def analyse(path):
    """Frame-level representations of one track (cached)."""
    x = read_wav(path)
    S = np.abs(frames_of(x)) ** 2          # T x F power
    Sm = S if MEL_NFFT == NFFT else np.abs(frames_of(x, MEL_NFFT, S.shape[0])) ** 2
    mel = Sm @ MELFB.T                       # T x NMEL
    pitch = S @ PMAP.T                       # T x 88
    rms = np.sqrt(S.sum(axis=1) / (NFFT * NFFT / 8))
    return dict(mel=mel.astype(np.float32), pitch=pitch.astype(np.float32), rms=rms.astype(np.float32))


# ---------------------------------------------------------------- features
def robust_stats(M, axis=0):
    return np.concatenate([M.mean(axis), M.std(axis)])


KS_MAJ = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KS_MIN = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def chroma_of(pitch):
    P = np.log1p(pitch / (pitch.mean() + EPS) * 10.0)    # compressed, level-invariant
    C = np.zeros((P.shape[0], 12))
    for p in range(P.shape[1]):
        C[:, (p + FMIN_MIDI) % 12] += P[:, p]
    e = C.sum(1, keepdims=True)
    Cn = C / (e + EPS)
    active = e[:, 0] > 0.1 * np.median(e)
    return Cn, active, P


def dft_mags(C):
    F = np.fft.fft(C, axis=-1)
    return np.abs(F[..., 1:7])


def circ_xcorr(A, B):
    """mean over frames of r[k] = sum_i A_i B_{i+k} (key invariant)."""
    FA = np.fft.fft(A, axis=1); FB = np.fft.fft(B, axis=1)
    return np.real(np.fft.ifft(np.conj(FA) * FB, axis=1)).mean(0)


def pool_windows(M, w):
    n = M.shape[0] // w
    if n < 1:
        return M.mean(0, keepdims=True)
    return M[: n * w].reshape(n, w, -1).mean(1)


def blocks_of(a):
    mel, pitch, rms = a["mel"], a["pitch"], a["rms"]
    T = mel.shape[0]
    fps = SR / HOP
    out = {}
    logmel = np.log10(mel + 1e-8 * mel.mean() + EPS)
    logmel -= logmel.max()                                 # level invariant
    mfcc = logmel @ DCT.T
    out["mfcc"] = robust_stats(mfcc[:, 1:])
    # spectral contrast on 8 mel bands groups
    grp = logmel.reshape(T, 8, NMEL // 8)
    srt = np.sort(grp, axis=2)
    contrast = srt[:, :, -2:].mean(2) - srt[:, :, :2].mean(2)
    out["contrast"] = robust_stats(contrast)
    # chroma / harmony
    C, active, P = chroma_of(pitch)
    Ca = C[active] if active.sum() > 10 else C
    mc = Ca.mean(0)
    # key estimate (Krumhansl-Schmuckler), rotate to tonic 0
    best, bk, bm = -2, 0, 0
    for m, prof in enumerate((KS_MAJ, KS_MIN)):
        for k in range(12):
            r = np.corrcoef(np.roll(prof, k), mc)[0, 1]
            if r > best: best, bk, bm = r, k, m
    out["keyprof"] = np.concatenate([np.roll(mc, -bk) * 12 - 1, [bm, best]])
    out["dftglob"] = dft_mags(mc)                            # global key-invariant profile
    d = dft_mags(Ca)                                          # per-frame chord quality
    out["dftloc"] = robust_stats(d)
    for secs in (0.5, 2.0, 8.0):                              # multi-scale tonal clarity
        w = max(1, int(secs * fps))
        out[f"dftwin{secs}"] = robust_stats(dft_mags(pool_windows(Ca, w)))
    out["interval"] = circ_xcorr(Ca, Ca)[:7]
    for lag in (0.25, 1.0):
        L = max(1, int(lag * fps))
        out[f"trans{lag}"] = circ_xcorr(C[:-L], C[L:])
    ent = -(C * np.log(C + EPS)).sum(1)
    out["entropy"] = np.array([ent[active].mean() if active.any() else ent.mean(), ent.std()])
    # register / texture: compressed pitch energy in 11 bands of 8 semitones
    Pa = P[active] if active.sum() > 10 else P
    reg = Pa[:, :88].reshape(len(Pa), 11, 8).mean(2)
    regn = reg / (reg.sum(1, keepdims=True) + EPS)
    out["register"] = robust_stats(regn)
    pidx = np.arange(88)
    w = Pa / (Pa.sum(1, keepdims=True) + EPS)
    cen = (w * pidx).sum(1); spread = np.sqrt((w * (pidx - cen[:, None]) ** 2).sum(1))
    out["pitchcen"] = np.array([cen.mean(), cen.std(), spread.mean(), spread.std()]) / 12.0
    # onsets / rhythm
    flux = np.maximum(0, np.diff(logmel, axis=0)).mean(1)
    flux = np.concatenate([[0], flux])
    on = flux - np.convolve(flux, np.ones(16) / 16, mode="same")
    on = np.maximum(on, 0)
    peaks = (on[1:-1] > on[:-2]) & (on[1:-1] >= on[2:]) & (on[1:-1] > on.mean() + 0.5 * on.std())
    rate = peaks.sum() / (T / fps)
    oc = on - on.mean()
    ac = np.fft.irfft(np.abs(np.fft.rfft(oc, 2 * T)) ** 2)[:T]
    ac /= ac[0] + EPS
    # log-lag autocorrelation bins 0.1 s .. 3.2 s
    edges = np.round(fps * 0.1 * 2 ** np.arange(0, 5.5, 0.5)).astype(int)
    acb = np.array([ac[edges[i]:edges[i + 1]].max() for i in range(len(edges) - 1)])
    out["rhythm"] = np.concatenate([[np.log(rate + 0.1), np.log(on.mean() + EPS), on.std() / (on.mean() + EPS)], acb])
    # dynamics
    db = 20 * np.log10(rms + 1e-6)
    db -= db.max()
    q = np.percentile(db, [10, 50, 90])
    dd = np.abs(np.diff(pool_windows(db[:, None], int(fps))[:, 0]))
    out["dynamics"] = np.concatenate([q / 20.0, [db.std() / 10, dd.mean() / 5 if len(dd) else 0]])
    # --- extra candidates
    out["logmel"] = robust_stats(logmel)
    dm = np.diff(mfcc[:, 1:], axis=0)
    out["mfccd"] = np.concatenate([np.abs(dm).mean(0), dm.std(0)])
    out["mfccms"] = pool_windows(mfcc[:, 1:], int(3 * fps)).std(0)
    out["mfccpct"] = np.percentile(mfcc[:, 1:], [10, 50, 90], axis=0).ravel()
    # note onsets per pitch: positive change of compressed pitch energy
    O = np.maximum(0, np.diff(P, axis=0))
    Oe = O.sum(1)
    OC = np.zeros((O.shape[0], 12))
    for p in range(O.shape[1]):
        OC[:, (p + FMIN_MIDI) % 12] += O[:, p]
    oc = OC.sum(0); oc = oc / (oc.sum() + EPS)
    out["onsetkey"] = np.roll(oc, -bk) * 12 - 1
    out["onsetdft"] = dft_mags(oc)
    ocn = OC / (OC.sum(1, keepdims=True) + EPS)
    strong = Oe > np.percentile(Oe, 75)
    out["onsetdftloc"] = robust_stats(dft_mags(ocn[strong]))
    oreg = O[:, :88].reshape(len(O), 11, 8).sum(2).sum(0); oreg /= oreg.sum() + EPS
    out["onsetreg"] = oreg
    out["onsetden"] = np.array([np.log(Oe.mean() + EPS), Oe.std() / (Oe.mean() + EPS), np.log(strong.mean() + EPS)])
    # melodic-ish: interval between onset chroma and the preceding 0.5 s of onsets
    L = int(0.25 * fps)
    OCs = pool_windows(OC, L)
    OCs = OCs / (OCs.sum(1, keepdims=True) + EPS)
    out["onsettrans"] = circ_xcorr(OCs[:-1], OCs[1:])
    blf(logmel, out)
    reg22 = Pa.reshape(len(Pa), 22, 4).mean(2)
    reg22 /= reg22.sum(1, keepdims=True) + EPS
    out["register22"] = robust_stats(reg22)
    mx = Pa.max(1, keepdims=True)
    on_ = Pa > 0.5 * mx
    pk = (Pa[:, 1:-1] > Pa[:, :-2]) & (Pa[:, 1:-1] >= Pa[:, 2:]) & on_[:, 1:-1]
    has = on_.any(1)
    lo = np.argmax(on_, 1); hi = 87 - np.argmax(on_[:, ::-1], 1)
    poly = pk.sum(1)
    amb = np.stack([lo, hi, hi - lo, poly], 1)[has].astype(float)
    out["ambitus"] = np.concatenate([np.percentile(amb[:, :3], [10, 50, 90], axis=0).ravel() / 12.0, [poly.mean(), poly.std()]])
    for lag in (2, 4, 8, 16):
        dml = mfcc[lag:, 1:] - mfcc[:-lag, 1:]
        out[f"mfccd{lag}"] = np.concatenate([np.abs(dml).mean(0), dml.std(0)])
    Pb = P[:, :88].reshape(T, 22, 4).mean(2)
    Dp = Pb[3:] - Pb[:-3]
    Bp = np.sort(blocks_view(Dp, 14, 7), axis=1)
    out["pdsp"] = np.percentile(Bp, 90, axis=0).ravel()
    out["pvdsp"] = Bp.var(axis=0).ravel()
    Bs = np.sort(blocks_view(Pb, 10, 5), axis=1)
    out["psp"] = np.percentile(Bs, 90, axis=0).ravel()
    # band-wise onset density (log), and windowed tempogram
    bands = O[:, :88].reshape(len(O), 11, 8).sum(2)
    out["onsetbandden"] = np.log(bands.mean(0) + 1e-3)
    out["onsetbandstd"] = np.log(pool_windows(bands, int(2 * fps)).std(0) + 1e-3)
    Bw = blocks_view(on[:, None], 256, 128)[:, :, 0]
    Bw = Bw - Bw.mean(1, keepdims=True)
    acw = np.fft.irfft(np.abs(np.fft.rfft(Bw, 512, axis=1)) ** 2, axis=1)[:, :256]
    acw /= acw[:, :1] + EPS
    lag_edges = np.round(fps * 0.08 * 2 ** np.arange(0, 5.01, 1 / 3)).astype(int)
    lag_edges = lag_edges[lag_edges < 256]
    tg = np.stack([acw[:, lag_edges[i]:lag_edges[i + 1]].max(1) for i in range(len(lag_edges) - 1)], 1)
    out["tempogram"] = robust_stats(tg)
    out["chroma"] = robust_stats(Ca)
    out["chromamean"] = mc * 12 - 1
    dw = dft_mags(pool_windows(Ca, int(2 * fps)) / 1.0)
    dw = dw / (pool_windows(Ca, int(2 * fps)).sum(1, keepdims=True) + EPS)
    out["tonal"] = np.concatenate([dw.mean(0), [best, bm, ent[active].mean() if active.any() else ent.mean()]])
    out["tonal2"] = dw.mean(0)
    dl = dft_mags(Ca)
    out["tonal3"] = np.concatenate([dl.mean(0), dw.mean(0)])
    # harmonic-suppressed chroma: remove what the 2nd and 3rd partials of lower notes would explain
    Ps = P.copy()
    Ps[:, 12:] -= 0.5 * P[:, :-12]
    Ps[:, 19:] -= 0.4 * P[:, :-19]
    Ps = np.maximum(Ps, 0)
    Cs = np.zeros((T, 12))
    for p_ in range(88):
        Cs[:, (p_ + FMIN_MIDI) % 12] += Ps[:, p_]
    Cs = Cs / (Cs.sum(1, keepdims=True) + EPS)
    mcs = Cs[active].mean(0) if active.sum() > 10 else Cs.mean(0)
    out["hschroma"] = mcs * 12 - 1
    best2, bk2, bm2 = -2, 0, 0
    for m, prof in enumerate((KS_MAJ, KS_MIN)):
        for k in range(12):
            r = np.corrcoef(np.roll(prof, k), mcs)[0, 1]
            if r > best2: best2, bk2, bm2 = r, k, m
    out["hskey"] = np.array([bk2, bm2, best2])
    out["hskeyprof"] = np.roll(mcs, -bk2) * 12 - 1
    out["hsdft"] = robust_stats(dft_mags(Cs[active] if active.sum() > 10 else Cs))
    out["hsinterval"] = circ_xcorr(Cs, Cs)[:7]
    # pitch-interval spectrum: autocorrelation of the (mean-removed) pitch spectrum along pitch, 1..36 semitones
    Pz = Pa - Pa.mean(1, keepdims=True)
    F = np.fft.rfft(Pz, 256, axis=1)
    ac = np.fft.irfft(np.abs(F) ** 2, 256, axis=1)[:, :37]
    ac = ac[:, 1:] / (ac[:, :1] + EPS)
    out["pitchint"] = robust_stats(ac)
    out["pitchintm"] = ac.mean(0)
    regint = []
    for lo_, hi_ in ((0, 40), (24, 64), (48, 88)):
        Pr = Pa[:, lo_:hi_]; Pr = Pr - Pr.mean(1, keepdims=True)
        Fr = np.fft.rfft(Pr, 128, axis=1)
        ar = np.fft.irfft(np.abs(Fr) ** 2, 128, axis=1)[:, :25]
        regint.append((ar[:, 1:] / (ar[:, :1] + EPS)).mean(0))
    out["regint"] = np.concatenate(regint)
    regint4, regint4s = [], []
    for lo_ in (0, 22, 44, 66):
        Pr = Pa[:, max(0, lo_ - 8):min(88, lo_ + 30)]; Pr = Pr - Pr.mean(1, keepdims=True)
        ar = np.fft.irfft(np.abs(np.fft.rfft(Pr, 128, axis=1)) ** 2, 128, axis=1)[:, :25]
        ar = ar[:, 1:] / (ar[:, :1] + EPS)
        regint4.append(ar.mean(0)); regint4s.append(ar.std(0))
    out["regint4"] = np.concatenate(regint4)
    out["regint4s"] = np.concatenate(regint4 + regint4s)
    out["regints"] = np.concatenate(regint + [np.zeros(0)])
    Oa = O[active[1:]] if active[1:].sum() > 10 else O
    Oz2 = Oa - Oa.mean(1, keepdims=True)
    Fo2 = np.fft.rfft(Oz2, 256, axis=1)
    ao = np.fft.irfft(np.abs(Fo2) ** 2, 256, axis=1)[:, :37]
    out["onsetint"] = (ao[:, 1:] / (ao[:, :1] + EPS)).mean(0)
    # onset-to-context intervals: new-note energy at p+d against the pitch spectrum 0.25 s earlier, d = -24..24
    L = int(0.25 * fps)
    Oz = O[L - 1:]                         # O[t] = P[t+1]-P[t]
    Prev = P[:-L][: len(Oz)]
    Oz = Oz[: len(Prev)]
    Fo = np.fft.rfft(Oz, 256, axis=1); Fp = np.fft.rfft(Prev - Prev.mean(1, keepdims=True), 256, axis=1)
    cc = np.fft.irfft(Fo * np.conj(Fp), 256, axis=1)
    cc = np.concatenate([cc[:, -24:], cc[:, :25]], axis=1).sum(0)
    out["melint"] = cc / (np.abs(cc).sum() + EPS)
    # sustain: band energy change (log-mel, 8 groups) from each onset peak to 0.1/0.25/0.5 s later
    pk_idx = np.where(np.concatenate([[False], peaks, [False]]))[0]
    g8 = logmel.reshape(T, 8, 8).mean(2)
    sus = []
    for dt in (0.1, 0.25, 0.5):
        Lg = int(dt * fps)
        ok = pk_idx[pk_idx + Lg < T]
        sus.append((g8[ok + Lg] - g8[ok]).mean(0) if len(ok) else np.zeros(8))
    out["sustain"] = np.concatenate(sus)
    # attack dynamics: onset strengths at peaks relative to their median, percentiles (log)
    st = on[pk_idx] if len(pk_idx) else np.zeros(1)
    out["attacks"] = np.log(np.percentile(st, [10, 25, 75, 90]) / (np.median(st) + EPS) + EPS)
    out["chromapct"] = np.percentile(np.roll(C, -bk, axis=1)[active], [25, 50, 75], axis=0).ravel()
    return out


def blocks_view(M, w, h):
    n = 1 + max(0, M.shape[0] - w) // h
    idx = np.arange(w)[None, :] + h * np.arange(n)[:, None]
    return M[idx]                                            # n x w x bands


def blf(logmel, out, nb=32):
    """Block-level features after Seyerlehner et al. (MIREX 2010): patterns over short blocks, summarised by percentiles."""
    T = logmel.shape[0]
    L = logmel.reshape(T, nb, -1).mean(2) * 2.0           # dB/10 units -> roughly unit scale
    B = blocks_view(L, 10, 5)
    sp = np.sort(B, axis=1)                                  # n x 10 x nb
    out["sp"] = np.percentile(sp, 90, axis=0).ravel()
    D = L[3:] - L[:-3]
    B = blocks_view(D, 14, 7)
    dsp = np.sort(B, axis=1)
    out["dsp"] = np.percentile(dsp, 90, axis=0).ravel()
    out["vdsp"] = dsp.var(axis=0).ravel()
    out["dsp50"] = np.percentile(dsp, 50, axis=0).ravel()
    out["dsp10"] = np.percentile(dsp, 10, axis=0).ravel()
    out["dspmean"] = dsp.mean(axis=0).ravel()
    Dd = np.abs(D)
    out["absdelta"] = robust_stats(Dd)
    L16 = L.reshape(T, 16, -1).mean(2)
    B = blocks_view(L16, 256, 128)                           # ~6 s blocks
    F = np.abs(np.fft.rfft(B - B.mean(1, keepdims=True), axis=1))   # n x 129 x 16
    fr = np.fft.rfftfreq(256, HOP / SR)
    edges = 0.5 * 2 ** np.linspace(0, np.log2(20), 13)      # 0.5 .. 10 Hz, 12 log bins
    lf = np.stack([F[:, (fr >= edges[i]) & (fr < edges[i + 1]), :].mean(1) for i in range(12)], 1)
    out["lfp"] = np.percentile(np.log1p(lf), 60, axis=0).ravel()
    cps = []
    for b in B:
        c = np.corrcoef(b.T + 1e-9 * np.random.RandomState(0).randn(*b.T.shape))
        cps.append(c[np.triu_indices(16, 1)])
    out["cp"] = np.median(np.array(cps), axis=0)
    for ds in (2, 4):
        Ld = L[: (T // ds) * ds].reshape(T // ds, ds, nb).mean(1)
        D2 = Ld[3:] - Ld[:-3]
        B2 = np.sort(blocks_view(D2, 14, 7), axis=1)
        out[f"dsp{ds}"] = np.percentile(B2, 90, axis=0).ravel()
        out[f"vdsp{ds}"] = B2.var(axis=0).ravel()
    for lag in (1, 6):
        D3 = L[lag:] - L[:-lag]
        B3 = np.sort(blocks_view(D3, 14, 7), axis=1)
        out[f"dspl{lag}"] = np.percentile(B3, 90, axis=0).ravel()
        out[f"vdspl{lag}"] = B3.var(axis=0).ravel()


# The variants compared while designing (figures on the 62-track dev set: P@5, P@5 excl. same album):
VARIANTS = {
    "harmony": ["keyprof", "dftglob", "dftloc", "interval", "trans0.25", "trans1.0", "entropy"],           # 0.142 0.039
    "timbre": ["mfcc", "contrast"],                                                                         # 0.229 0.090
    "texture": ["register", "pitchcen", "rhythm", "dynamics"],                                              # 0.174 0.068
    "all16": ["mfcc", "contrast", "keyprof", "dftglob", "dftloc", "dftwin0.5", "dftwin2.0", "dftwin8.0", "interval",
              "trans0.25", "trans1.0", "entropy", "register", "pitchcen", "rhythm", "dynamics"],           # 0.194 0.048
    "blf": ["sp", "dsp", "vdsp", "lfp", "cp"],                                                             # 0.177 0.077
    "timbre+artic+register+rhythm": ["mfcc", "mfccd", "contrast", "register", "onsetreg", "rhythm"],       # 0.261 0.123
    "  + harmony": ["mfcc", "mfccd", "contrast", "register", "onsetreg", "rhythm",
                    "dftloc", "interval", "onsettrans", "onsetdft"],                                       # 0.235 0.100
    "first": ["contrast", "mfccd", "dsp", "vdsp", "register", "onsetreg", "rhythm"],                      # 0.277 0.129 (C#: same)
    "first+interval spectrum by register": ["contrast", "mfccd", "dsp", "vdsp", "register", "onsetreg", "rhythm",
                                            "regint"],                                                     # 0.290 0.123
    "final": ["contrast", "mfccd", "vdsp", "register", "onsetreg", "regint", "rhythm"],                   # 0.306 0.132
    "first+key chroma": ["contrast", "mfccd", "dsp", "vdsp", "register", "onsetreg", "rhythm", "chromamean"],  # 0.277 0.116
    "first+harmonic-suppressed chroma": ["contrast", "mfccd", "dsp", "vdsp", "register", "onsetreg", "rhythm",
                                         "hschroma"],                                                      # 0.271 0.123
    "first+tonal (DFT of 2 s chroma)": ["contrast", "mfccd", "dsp", "vdsp", "register", "onsetreg", "rhythm",
                                        "tonal3"],                                                         # 0.274 0.119
    "first+mfcc": ["contrast", "mfccd", "dsp", "vdsp", "register", "onsetreg", "rhythm", "mfcc"],         # 0.274 0.119
    "final+key chroma": ["contrast", "mfccd", "vdsp", "register", "onsetreg", "regint", "rhythm", "chromamean"],
    "final+pitch-class interval vector": ["contrast", "mfccd", "vdsp", "register", "onsetreg", "regint", "rhythm", "interval"],
    "final+mfcc": ["contrast", "mfccd", "vdsp", "register", "onsetreg", "regint", "rhythm", "mfcc"],
    "final+dynamics": ["contrast", "mfccd", "vdsp", "register", "onsetreg", "regint", "rhythm", "dynamics"],
}


def evaluate(E, comp, album, k=5):
    E = E / np.linalg.norm(E, axis=1, keepdims=True)
    S = E @ E.T
    n = len(E)
    p, pa = [], []
    for i in range(n):
        s = S[i].copy(); s[i] = -np.inf
        nn = np.argsort(-s)[:k]
        p.append(np.mean(comp[nn] == comp[i]))
        s2 = s.copy(); s2[album == album[i]] = -np.inf
        nn2 = np.argsort(-s2)[:k]
        pa.append(np.mean(comp[nn2] == comp[i]))
    return np.mean(p), np.mean(pa)


def chance(comp, album, k=5):
    n = len(comp)
    c = [np.mean([comp[j] == comp[i] for j in range(n) if j != i]) for i in range(n)]
    ca = [np.mean([comp[j] == comp[i] for j in range(n) if album[j] != album[i]]) for i in range(n)]
    return np.mean(c), np.mean(ca)


def assemble(feats, names, norm="zscore", fit_idx=None, weights=None):
    """Per-dimension standardisation (fitted on fit_idx rows, no labels), then each block L2-normalised and weighted."""
    parts = []
    for name in names:
        X = np.stack([f[name] for f in feats]).astype(np.float64)
        ref = X if fit_idx is None else X[fit_idx]
        if norm == "zscore":
            X = (X - ref.mean(0)) / (ref.std(0) + 1e-6)
        elif norm == "center":
            X = X - ref.mean(0)
        X = X / (np.linalg.norm(X, axis=1, keepdims=True) + EPS)
        w = 1.0 if weights is None else weights.get(name, 1.0)
        parts.append(X * np.sqrt(w))
    return np.concatenate(parts, axis=1)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "/tmp/composer-dev"
    rows = list(csv.DictReader(open(os.path.join(root, "tracks_metadata.csv"))))
    comp = np.array([r["composer"] for r in rows]); album = np.array([r["album_id"] for r in rows])
    paths = [os.path.join(root, r["audio_path"]) for r in rows]
    with Pool(2) as pool:
        an = pool.map(analyse, paths)
        feats = pool.map(blocks_of, an)
    c, ca = chance(comp, album)
    print(f"n={len(rows)} chance P@5 {c:.3f}  excl-album {ca:.3f}")
    for vname, names in VARIANTS.items():
        p, pa = evaluate(assemble(feats, names), comp, album)
        print(f"{vname:36s} P@5 {p:.3f}  excl-album {pa:.3f}")
    for name in sorted(feats[0]):
        p, pa = evaluate(assemble(feats, [name]), comp, album)
        print(f"   block {name:12s} P@5 {p:.3f}  excl-album {pa:.3f}")
    # leave-one-composer-out standardisation: the statistics never see the query's composer
    names = VARIANTS["final"]
    ps, pas = [], []
    for cc in np.unique(comp):
        fit = np.where(comp != cc)[0]
        E = assemble(feats, names, "zscore", fit_idx=fit)
        En = E / np.linalg.norm(E, axis=1, keepdims=True)
        S = En @ En.T
        for i in np.where(comp == cc)[0]:
            s = S[i].copy(); s[i] = -np.inf
            ps.append(np.mean(comp[np.argsort(-s)[:5]] == cc))
            s[album == album[i]] = -np.inf
            pas.append(np.mean(comp[np.argsort(-s)[:5]] == cc))
    print(f"final, leave-one-composer-out standardisation: P@5 {np.mean(ps):.3f}  excl-album {np.mean(pas):.3f}")


if __name__ == "__main__":
    main()
