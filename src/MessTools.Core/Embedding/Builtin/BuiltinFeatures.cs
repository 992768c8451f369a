using System.Numerics.Tensors;

namespace MessTools.Core.Embedding.Builtin;

/// <summary>One named block of the raw feature vector.</summary>
public sealed record BuiltinFeatureBlock(string Name, int Offset, int Length, string Description);

/// <summary>
/// The raw (unstandardised) features of the built-in embedder, block by block. Every block is level-invariant
/// (log spectra are taken relative to the track's own maximum or mean) and pooled over the whole track.
/// The Python prototype bench/BuiltinQuality/prototype.py computes the same quantities.
/// </summary>
internal static class BuiltinFeatures
{
    private const double Eps = 1e-10;
    private const int Mfccs = 20;             // DCT-II (orthonormal) of the 64 log-mel bands; coefficient 0 dropped
    private const int ContrastGroups = 8;     // 8 groups of 8 mel bands
    private const int BlfBands = 32;          // mel bands averaged in pairs for the block-level patterns
    private const int DspLag = 3, DspBlock = 14, DspHop = 7;
    private const int RegisterBands = 11;     // 11 bands of 8 semitones over the piano range
    private const int RhythmLagBins = 10;     // log-spaced autocorrelation lags 0.1 s .. 3.2 s
    private const int IntervalWindows = 3, IntervalWindowWidth = 40, IntervalWindowStep = 24, MaxInterval = 24;

    public static readonly BuiltinFeatureBlock[] Blocks = Layout();
    public static readonly int Dimension = Blocks[^1].Offset + Blocks[^1].Length;

    private static BuiltinFeatureBlock[] Layout()
    {
        var spec = new (string, int, string)[]
        {
            ("contrast", 2 * ContrastGroups, "spectral contrast (peak minus valley of log-mel) in 8 mel groups: mean and std over frames"),
            ("mfcc_delta", 2 * (Mfccs - 1), "frame-to-frame MFCC change (coefficients 1..19): mean absolute value and std (articulation, attack and decay)"),
            ("delta_pattern_var", DspBlock * BlfBands, "variance delta spectral pattern: 32-band log-mel change over 3 frames, sorted within 14-frame (0.33 s) blocks, variance over blocks"),
            ("register", 2 * RegisterBands, "share of compressed pitch energy in 11 bands of 8 semitones (A0..C8) over sounding frames: mean and std"),
            ("onset_register", RegisterBands, "share of new-note energy (positive change of the pitch spectrum) per 8-semitone band"),
            ("register_intervals", IntervalWindows * MaxInterval, "interval spectrum by register: autocorrelation along pitch (1..24 semitones) of the compressed pitch spectrum in a low, middle and high 40-semitone window, mean over sounding frames"),
            ("rhythm", 3 + RhythmLagBins, "onset rate, onset strength mean and variation, peak onset autocorrelation in 10 log-spaced lag bands 0.1..3.2 s"),
        };
        var blocks = new BuiltinFeatureBlock[spec.Length];
        int off = 0;
        for (int i = 0; i < spec.Length; i++) { blocks[i] = new(spec[i].Item1, off, spec[i].Item2, spec[i].Item3); off += spec[i].Item2; }
        return blocks;
    }

    private static readonly float[] Dct = BuildDct();

    private static float[] BuildDct()
    {
        int n = BuiltinFrontEnd.MelBands;
        var m = new float[Mfccs * n];
        for (int k = 0; k < Mfccs; k++)
            for (int i = 0; i < n; i++)
            {
                double v = Math.Cos(Math.PI * k * (2 * i + 1) / (2.0 * n)) * Math.Sqrt(2.0 / n);
                if (k == 0) v /= Math.Sqrt(2);
                m[k * n + i] = (float)v;
            }
        return m;
    }

    /// <summary>The raw feature vector (length <see cref="Dimension"/>) from the front end's output, which it overwrites.</summary>
    public static float[] Compute(float[] mel, float[] pitch, int frames)
    {
        var result = new float[Dimension];
        int T = frames;
        double fps = BuiltinFrontEnd.FramesPerSecond;

        // ---- log-mel, relative to the track maximum (level invariant)
        double melMean = Stats.Mean(mel);
        float floor = (float)(1e-8 * melMean + Eps);
        var logmel = mel; // in place: the front end's arrays are not used again, and a long track keeps one copy, not two
        TensorPrimitives.Add(mel, floor, logmel);
        TensorPrimitives.Log10(logmel, logmel);
        float lmax = Stats.Max(logmel);
        TensorPrimitives.Subtract(logmel, lmax, logmel);

        Contrast(logmel, T, Span("contrast", result));
        MfccDelta(logmel, T, Span("mfcc_delta", result));
        DeltaPatternVariance(logmel, T, Span("delta_pattern_var", result));

        // ---- pitch spectrum, compressed relative to its mean: log1p(10 p / mean)
        double pMean = Stats.Mean(pitch);
        var P = pitch; // in place, as logmel
        TensorPrimitives.Multiply(pitch, (float)(10.0 / (pMean + Eps)), P);
        TensorPrimitives.Add(P, 1f, P);
        TensorPrimitives.Log(P, P);
        var sounding = SoundingFrames(P, T);
        Register(P, T, sounding, Span("register", result));
        RegisterIntervals(P, T, sounding, Span("register_intervals", result));
        OnsetRegister(P, T, Span("onset_register", result));

        Rhythm(logmel, T, fps, Span("rhythm", result));
        return result;
    }

    private static Span<float> Span(string name, float[] v)
    {
        foreach (var b in Blocks) if (b.Name == name) return v.AsSpan(b.Offset, b.Length);
        throw new InvalidOperationException(name);
    }

    private static void Contrast(float[] logmel, int T, Span<float> dst)
    {
        const int M = BuiltinFrontEnd.MelBands, G = ContrastGroups, W = M / G;
        var c = new float[T * G];
        Span<float> tmp = stackalloc float[W];
        for (int t = 0; t < T; t++)
            for (int g = 0; g < G; g++)
            {
                logmel.AsSpan(t * M + g * W, W).CopyTo(tmp);
                tmp.Sort();
                c[t * G + g] = 0.5f * (tmp[W - 1] + tmp[W - 2]) - 0.5f * (tmp[0] + tmp[1]);
            }
        Stats.MeanStd(c, T, G, dst[..G], dst[G..]);
    }

    private static void MfccDelta(float[] logmel, int T, Span<float> dst)
    {
        const int M = BuiltinFrontEnd.MelBands, K = Mfccs - 1;
        var mfcc = new float[T * K];
        for (int t = 0; t < T; t++)
        {
            var row = logmel.AsSpan(t * M, M);
            for (int k = 1; k < Mfccs; k++) mfcc[t * K + k - 1] = TensorPrimitives.Dot(row, Dct.AsSpan(k * M, M));
        }
        int n = Math.Max(0, T - 1);
        var absd = new double[K]; var s = new double[K]; var s2 = new double[K];
        for (int t = 0; t < n; t++)
            for (int k = 0; k < K; k++)
            {
                double d = mfcc[(t + 1) * K + k] - mfcc[t * K + k];
                absd[k] += Math.Abs(d); s[k] += d; s2[k] += d * d;
            }
        for (int k = 0; k < K; k++)
        {
            double mu = n > 0 ? s[k] / n : 0;
            dst[k] = n > 0 ? (float)(absd[k] / n) : 0f;
            dst[K + k] = n > 0 ? (float)Math.Sqrt(Math.Max(0, s2[k] / n - mu * mu)) : 0f;
        }
    }

    /// <summary>Variance delta spectral pattern (after Seyerlehner et al.'s block-level features, MIREX 2010).</summary>
    private static void DeltaPatternVariance(float[] logmel, int T, Span<float> variance)
    {
        const int M = BuiltinFrontEnd.MelBands, B = BlfBands;
        // 32 bands: mean of mel band pairs, times 2 (log10 units -> roughly unit scale)
        var L = new float[T * B];
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++) L[t * B + b] = logmel[t * M + 2 * b] + logmel[t * M + 2 * b + 1];
        int nd = T - DspLag;
        if (nd < 1) { variance.Clear(); return; }
        var D = new float[nd * B];
        TensorPrimitives.Subtract(L.AsSpan(DspLag * B, nd * B), L.AsSpan(0, nd * B), D);
        // blocks of 14 frames every 7 (at least one block; a block reaching past the end is zero padded)
        int nb = 1 + Math.Max(0, nd - DspBlock) / DspHop;
        const int J = DspBlock * B;
        var sorted = new float[J * nb];                      // [pos][band][block]: each output's values are contiguous
        Span<float> col = stackalloc float[DspBlock];
        for (int blk = 0; blk < nb; blk++)
            for (int b = 0; b < B; b++)
            {
                for (int i = 0; i < DspBlock; i++)
                {
                    int t = blk * DspHop + i;
                    col[i] = t < nd ? D[t * B + b] : 0f;
                }
                InsertionSort(col);
                for (int i = 0; i < DspBlock; i++) sorted[(i * B + b) * nb + blk] = col[i];
            }
        for (int j = 0; j < J; j++)
        {
            var vals = sorted.AsSpan(j * nb, nb);
            double s = 0, s2 = 0;
            for (int k = 0; k < nb; k++) { double v = vals[k]; s += v; s2 += v * v; }
            double mu = s / nb;
            variance[j] = (float)Math.Max(0, s2 / nb - mu * mu);
        }
    }

    private static void InsertionSort(Span<float> a)
    {
        for (int i = 1; i < a.Length; i++)
        {
            float v = a[i]; int k = i - 1;
            while (k >= 0 && a[k] > v) { a[k + 1] = a[k]; k--; }
            a[k + 1] = v;
        }
    }

    /// <summary>
    /// The frames that sound: total compressed pitch energy above 10 % of its median (all frames when 10 or fewer qualify).
    /// </summary>
    private static int[] SoundingFrames(float[] P, int T)
    {
        const int NP = BuiltinFrontEnd.Pitches;
        var e = new double[T];
        for (int t = 0; t < T; t++) e[t] = TensorPrimitives.Sum(P.AsSpan(t * NP, NP));
        double thr = 0.1 * Stats.Median((double[])e.Clone());
        var active = new List<int>(T);
        for (int t = 0; t < T; t++) if (e[t] > thr) active.Add(t);
        return active.Count > 10 ? active.ToArray() : Enumerable.Range(0, T).ToArray();
    }

    private static void Register(float[] P, int T, int[] sounding, Span<float> dst)
    {
        const int NP = BuiltinFrontEnd.Pitches, R = RegisterBands;
        int rows = sounding.Length;
        var reg = new float[rows * R];
        for (int r = 0; r < rows; r++)
        {
            var row = P.AsSpan(sounding[r] * NP, NP);
            var dstRow = reg.AsSpan(r * R, R);
            double sum = 0;
            for (int b = 0; b < R; b++) { double v = TensorPrimitives.Sum(row.Slice(b * 8, 8)) / 8.0; dstRow[b] = (float)v; sum += v; }
            TensorPrimitives.Multiply(dstRow, (float)(1.0 / (sum + Eps)), dstRow);
        }
        Stats.MeanStd(reg, rows, R, dst[..R], dst[R..]);
    }

    /// <summary>
    /// Which intervals sound together, separately in the bass, middle and treble: in windows of 40 semitones starting at
    /// A0, A2 and A4 (pitch indices 0, 24, 48), the linear autocorrelation of the mean-removed compressed pitch spectrum
    /// at lags 1..24 semitones over its lag-0 value, averaged over sounding frames. Transposition shifts notes within
    /// the windows without changing their intervals; the same piano's partials add the same offsets to every track.
    /// </summary>
    private static void RegisterIntervals(float[] P, int T, int[] sounding, Span<float> dst)
    {
        const int NP = BuiltinFrontEnd.Pitches, W = IntervalWindowWidth, L = MaxInterval;
        var acc = new double[IntervalWindows * L];
        Span<float> win = stackalloc float[W];
        foreach (int t in sounding)
        {
            var row = P.AsSpan(t * NP, NP);
            for (int w = 0; w < IntervalWindows; w++)
            {
                row.Slice(w * IntervalWindowStep, W).CopyTo(win);
                float mean = TensorPrimitives.Sum(win) / W;
                TensorPrimitives.Subtract(win, mean, win);
                double a0 = TensorPrimitives.Dot(win, win);
                for (int d = 1; d <= L; d++)
                    acc[w * L + d - 1] += TensorPrimitives.Dot(win[..(W - d)], win[d..]) / (a0 + Eps);
            }
        }
        for (int i = 0; i < acc.Length; i++) dst[i] = (float)(acc[i] / sounding.Length);
    }

    private static void OnsetRegister(float[] P, int T, Span<float> dst)
    {
        const int NP = BuiltinFrontEnd.Pitches, R = RegisterBands;
        var acc = new double[R];
        for (int t = 1; t < T; t++)
        {
            int a = t * NP, b = (t - 1) * NP;
            for (int p = 0; p < NP; p++)
            {
                float d = P[a + p] - P[b + p];
                if (d > 0) acc[p >> 3] += d;
            }
        }
        double sum = 0;
        foreach (var v in acc) sum += v;
        for (int i = 0; i < R; i++) dst[i] = (float)(acc[i] / (sum + Eps));
    }

    private static void Rhythm(float[] logmel, int T, double fps, Span<float> dst)
    {
        const int M = BuiltinFrontEnd.MelBands;
        // spectral flux: mean positive log-mel change, minus its 16-frame moving average, half-wave rectified
        var flux = new double[T];
        var diff = new float[M];
        for (int t = 1; t < T; t++)
        {
            TensorPrimitives.Subtract(logmel.AsSpan(t * M, M), logmel.AsSpan((t - 1) * M, M), diff);
            TensorPrimitives.Max(diff, 0f, diff);
            flux[t] = TensorPrimitives.Sum(diff) / (double)M;
        }
        var on = new double[T];
        // numpy.convolve(flux, ones(16)/16, 'same'): mean of flux[t-8 .. t+7], zeros outside
        double win = 0;
        for (int j = 0; j <= Math.Min(7, T - 1); j++) win += flux[j];
        for (int t = 0; t < T; t++)
        {
            on[t] = Math.Max(0, flux[t] - win / 16.0);
            int add = t + 8, drop = t - 8;
            if (add < T) win += flux[add];
            if (drop >= 0) win -= flux[drop];
        }
        double mean = 0; foreach (var v in on) mean += v; mean /= T;
        double var = 0; foreach (var v in on) var += (v - mean) * (v - mean); var /= T;
        double std = Math.Sqrt(var), thr = mean + 0.5 * std;
        int peaks = 0;
        for (int t = 1; t < T - 1; t++) if (on[t] > on[t - 1] && on[t] >= on[t + 1] && on[t] > thr) peaks++;
        double rate = peaks / (T / fps);
        dst[0] = (float)Math.Log(rate + 0.1);
        dst[1] = (float)Math.Log(mean + Eps);
        dst[2] = (float)(std / (mean + Eps));
        // autocorrelation of the centred onset envelope, normalised by lag 0, peak per log-spaced lag band
        var oc = new double[T];
        for (int t = 0; t < T; t++) oc[t] = on[t] - mean;
        double ac0 = 0; foreach (var v in oc) ac0 += v * v;
        var edges = new int[RhythmLagBins + 1];
        for (int i = 0; i <= RhythmLagBins; i++) edges[i] = (int)Math.Round(fps * 0.1 * Math.Pow(2, 0.5 * i), MidpointRounding.ToEven);
        for (int i = 0; i < RhythmLagBins; i++)
        {
            double best = 0; bool any = false;
            for (int lag = edges[i]; lag < edges[i + 1] && lag < T; lag++)
            {
                double s = 0;
                for (int t = 0; t + lag < T; t++) s += oc[t] * oc[t + lag];
                double v = s / (ac0 + Eps);
                if (!any || v > best) { best = v; any = true; }
            }
            dst[3 + i] = any ? (float)best : 0f;
        }
    }
}
