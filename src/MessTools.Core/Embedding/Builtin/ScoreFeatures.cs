using System.Numerics.Tensors;

namespace MessTools.Core.Embedding.Builtin;

/// <summary>
/// The raw features of builtin-2 (<see cref="Builtin2Embedder"/>): statistics of the music as written (harmony,
/// chords, voice motion, register, rhythm) rather than of the recording. Fed one power-spectrum frame at a time and
/// kept as running sums, so memory does not depend on the track's length (the only history is a ring of the last
/// <see cref="History"/> frames' chroma and onset values). See docs/builtin-embedder.md ("builtin-2").
/// Not thread-safe: one instance per track.
/// </summary>
internal sealed class ScoreFeatures
{
    private const int NP = BuiltinFrontEnd.Pitches, FirstMidi = BuiltinFrontEnd.FirstMidi;
    private const double Fps = BuiltinFrontEnd.FramesPerSecond;
    private const int Whiten = 6;                       // local mean over +-6 semitones is subtracted along pitch
    // partials 2..5 (octave, twelfth, double octave, seventeenth) taken off the pitches above each sounding pitch: their
    // strength is the piano's (the soundfont's), not the music's
    private static readonly (int Offset, float Weight)[] Partials = { (12, 0.5f), (19, 0.5f), (24, 0.3f), (28, 0.3f) };
    private static readonly int[] Lags = { 2, 8, 32 };  // chroma transition lags: 46 ms, 186 ms, 743 ms
    private const int MaxInterval = 24;                 // simultaneous intervals along pitch, 1..24 semitones
    private const int IntervalWindows = 3, IntervalWindowWidth = 40, IntervalWindowStep = 24; // windows from A0, A2, A4
    private const int RegisterBands = 10, RegisterWidth = 8; // A0..E7: the top 8 semitones hold mostly partials
    private const int FluxMean = 16;                    // onset envelope: flux minus its mean over the previous 16 frames
    private const int MaxOnsetLag = 160;                // 3.7 s of onset autocorrelation
    private const int MinBeat = 13, MaxBeat = 52;       // beat period searched in 0.30 .. 1.21 s
    private static readonly double[] MetricalRatios = { 0.25, 1.0 / 3, 0.5, 2.0 / 3, 0.75, 1.5, 2, 3 };
    private const int History = 64;                     // ring length (>= the longest chroma lag and the flux mean)
    private const float ChordSmoothing = 0.15f;         // exponential smoothing of the chroma for chord labels (~0.15 s)

    /// <summary>Chord templates (pitch classes over the root); the label is the best cosine match over types x roots.</summary>
    private static readonly (string Name, int[] Pcs)[] Chords =
    {
        ("note", new[] { 0 }), ("fifth", new[] { 0, 7 }), ("major", new[] { 0, 4, 7 }), ("minor", new[] { 0, 3, 7 }),
        ("diminished", new[] { 0, 3, 6 }), ("augmented", new[] { 0, 4, 8 }), ("sus4", new[] { 0, 5, 7 }),
        ("dominant7", new[] { 0, 4, 7, 10 }), ("major7", new[] { 0, 4, 7, 11 }), ("minor7", new[] { 0, 3, 7, 10 }),
        ("half-diminished7", new[] { 0, 3, 6, 10 }), ("diminished7", new[] { 0, 3, 6, 9 }),
    };

    // Krumhansl-Kessler key profiles (major, minor), tonic first.
    private static readonly double[] MajorProfile = { 6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88 };
    private static readonly double[] MinorProfile = { 6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17 };

    public static readonly BuiltinFeatureBlock[] Blocks = Layout();
    public static readonly int Dimension = Blocks[^1].Offset + Blocks[^1].Length;

    /// <summary>
    /// Each block's norm in the embedding (before the final L2 normalisation), in <see cref="Blocks"/> order: polyphony and
    /// register intervals 2.5, the rest 1. Chosen on mutopia-keyboard (mean of leave-one-composer-out and FluidR3 &lt;-&gt;
    /// TimGM6mb figures: 0.323 at 1, 0.356 at 2, 0.358 at 2.5, 0.359 at 3; the middle of the plateau), not on composer-dev.
    /// </summary>
    public static readonly float[] Weights = Blocks.Select(b => b.Name is "polyphony" or "register_intervals" ? 2.5f : 1f).ToArray();

    private static BuiltinFeatureBlock[] Layout()
    {
        var spec = new (string, int, string)[]
        {
            ("key_profile", 7, "transposition-invariant shape of the mean chroma (magnitudes of its circular DFT, 1..6) of the whitened, partial-suppressed pitch spectrum; major-minor key clarity"),
            ("pitch_class_pairs", 78 + 7, "key-normalised pitch-class co-occurrence (upper triangle of the mean chroma outer product, rotated to the estimated tonic) and its transposition-invariant interval-class profile"),
            ("transitions", 12 * 3, "chroma transition interval profiles at lags 46 ms, 186 ms, 743 ms (transposition-invariant: summed along each diagonal of the lagged chroma covariance)"),
            ("chords", Chords.Length + 12 + 1, "chord-type histogram by template matching, chord-root motion intervals, log chord-change rate"),
            ("register", 4 + RegisterBands, "pitch centroid and spread in semitones (mean, std over sounding frames) and the share of whitened pitch energy in 10 bands of 8 semitones (A0..E7)"),
            ("polyphony", 2 + RegisterBands, "number of sounding pitch peaks (mean, std) and the share of new-note energy (positive change of the whitened pitch spectrum) per 8-semitone band (A0..E7)"),
            ("register_intervals", IntervalWindows * MaxInterval, "simultaneous intervals 1..24 semitones (autocorrelation along pitch of the whitened spectrum over its lag 0) in a low, middle and high 40-semitone window"),
            ("rhythm", 5 + MetricalRatios.Length, "log beat period, pulse clarity, log onset density, onset strength variation, onset autocorrelation at lag 1 and at 8 fractions and multiples of the beat (tempo-normalised)"),
        };
        var blocks = new BuiltinFeatureBlock[spec.Length];
        int off = 0;
        for (int i = 0; i < spec.Length; i++) { blocks[i] = new(spec[i].Item1, off, spec[i].Item2, spec[i].Item3); off += spec[i].Item2; }
        return blocks;
    }

    private static readonly BuiltinFrontEnd FrontEnd = new();

    // per-frame scratch
    private readonly float[] _pitch = new float[NP], _logPitch = new float[NP], _prevLogPitch = new float[NP], _white = new float[NP], _prevWhite = new float[NP];
    private readonly float[] _chroma = new float[12], _smooth = new float[12];
    private bool _havePrev;

    // history rings
    private readonly float[] _chromaRing = new float[History * 12];
    private readonly bool[] _soundingRing = new bool[History];
    private readonly double[] _fluxRing = new double[History];
    private readonly double[] _onsetRing = new double[MaxOnsetLag + 1];
    private readonly double[] _onsetFirst = new double[MaxOnsetLag];
    private long _frames;

    // accumulators (double)
    private long _sounding;
    private readonly double[] _s1 = new double[12], _s2 = new double[144];
    private readonly double[][] _lag = Lags.Select(_ => new double[144]).ToArray();
    private readonly long[] _lagPairs = new long[Lags.Length];
    private readonly double[] _chordType = new double[Chords.Length], _rootMotion = new double[12];
    private int _lastRoot = -1, _lastType = -1;
    private long _chordChanges;
    private double _centroid, _centroid2, _spread, _spread2;
    private readonly double[] _bands = new double[RegisterBands];
    private double _peaks, _peaks2;
    private readonly double[] _intervals = new double[IntervalWindows * MaxInterval];
    private readonly long[] _intervalFrames = new long[IntervalWindows];
    private readonly double[] _onsetBands = new double[RegisterBands];
    private double _onsetSum, _onsetSum2;
    private readonly double[] _onsetAc = new double[MaxOnsetLag + 1];
    private long _onsetPeaks;
    private double _o1, _o2; // onset envelope at t-1, t-2

    /// <summary>The next frame's power spectrum (the STFT of <see cref="BuiltinFrontEnd"/>).</summary>
    public void Add(ReadOnlySpan<float> power)
    {
        Array.Clear(_pitch);
        FrontEnd.AnalysePitch(power, _pitch);
        float total = TensorPrimitives.Sum(_pitch);
        bool sounding = total > 1e-7f;

        // log pitch spectrum for onsets: level shifts cancel in the frame-to-frame difference
        float floor = 1e-4f * total / NP + 1e-12f;
        for (int k = 0; k < NP; k++) _logPitch[k] = MathF.Log(_pitch[k] + floor);
        double flux = 0;
        if (_havePrev)
            for (int k = 0; k < NP; k++) { float d = _logPitch[k] - _prevLogPitch[k]; if (d > 0) flux += d; }
        _logPitch.CopyTo(_prevLogPitch, 0);
        _havePrev = true;
        Onset(flux);

        int slot = (int)(_frames % History);
        _soundingRing[slot] = sounding;
        var c = _chromaRing.AsSpan(slot * 12, 12);
        if (sounding && Chroma(total)) { _chroma.CopyTo(c); Harmony(c); }
        else { c.Clear(); _soundingRing[slot] = false; Array.Clear(_prevWhite); }
        _frames++;
    }

    // whitened, partial-suppressed pitch spectrum -> chroma (sum 1); false when nothing stands out
    private bool Chroma(float total)
    {
        float scale = 100f * NP / total;
        for (int k = 0; k < NP; k++) _logPitch[k] = MathF.Log(1 + scale * _pitch[k]);
        for (int k = 0; k < NP; k++)
        {
            int a = Math.Max(0, k - Whiten), b = Math.Min(NP - 1, k + Whiten);
            float m = 0;
            for (int j = a; j <= b; j++) m += _logPitch[j];
            _white[k] = Math.Max(0, _logPitch[k] - m / (b - a + 1));
        }
        for (int k = 0; k < NP; k++)
        {
            float w = _white[k];
            if (w <= 0) continue;
            foreach (var (off, weight) in Partials)
                if (k + off < NP) _white[k + off] = Math.Max(0, _white[k + off] - weight * w);
        }
        float sum = TensorPrimitives.Sum(_white);
        if (!(sum > 1e-6f)) return false;
        Array.Clear(_chroma);
        for (int k = 0; k < NP; k++) _chroma[(k + FirstMidi) % 12] += _white[k];
        TensorPrimitives.Multiply(_chroma, 1f / sum, _chroma);

        // register and texture from the whitened spectrum
        double mu = 0;
        for (int k = 0; k < NP; k++) mu += k * (double)_white[k];
        mu /= sum;
        double var = 0;
        for (int k = 0; k < NP; k++) { double d = k - mu; var += d * d * _white[k]; }
        double sd = Math.Sqrt(var / sum);
        _centroid += mu; _centroid2 += mu * mu; _spread += sd; _spread2 += sd * sd;
        for (int k = 0; k < RegisterBands * RegisterWidth; k++) _bands[k / RegisterWidth] += _white[k] / sum;
        float max = TensorPrimitives.Max(_white);
        int peaks = 0;
        for (int k = 0; k < NP; k++)
        {
            float w = _white[k];
            if (w > 0.25f * max && (k == 0 || w > _white[k - 1]) && (k == NP - 1 || w >= _white[k + 1])) peaks++;
        }
        _peaks += peaks; _peaks2 += (double)peaks * peaks;
        for (int w = 0; w < IntervalWindows; w++)
        {
            var win = _white.AsSpan(w * IntervalWindowStep, Math.Min(IntervalWindowWidth, NP - w * IntervalWindowStep));
            double zero = TensorPrimitives.Dot(win, win);
            if (!(zero > 1e-12)) continue;
            _intervalFrames[w]++;
            for (int l = 1; l <= MaxInterval; l++)
                _intervals[w * MaxInterval + l - 1] += TensorPrimitives.Dot(win[..^l], win[l..]) / zero;
        }
        for (int k = 0; k < RegisterBands * RegisterWidth; k++)
        {
            float d = _white[k] - _prevWhite[k];
            if (d > 0) _onsetBands[k / RegisterWidth] += d;
        }
        _white.CopyTo(_prevWhite, 0);
        return true;
    }

    private void Harmony(ReadOnlySpan<float> c)
    {
        _sounding++;
        for (int i = 0; i < 12; i++)
        {
            _s1[i] += c[i];
            for (int j = 0; j < 12; j++) _s2[i * 12 + j] += c[i] * c[j];
        }
        for (int li = 0; li < Lags.Length; li++)
        {
            if (_frames < Lags[li]) continue;
            int prev = (int)((_frames - Lags[li]) % History);
            if (!_soundingRing[prev]) continue;
            var p = _chromaRing.AsSpan(prev * 12, 12);
            var acc = _lag[li];
            for (int i = 0; i < 12; i++)
            {
                float pi = p[i];
                if (pi == 0) continue;
                for (int j = 0; j < 12; j++) acc[i * 12 + j] += pi * c[j];
            }
            _lagPairs[li]++;
        }

        // chord label of the smoothed chroma
        for (int i = 0; i < 12; i++) _smooth[i] += ChordSmoothing * (c[i] - _smooth[i]);
        float norm = TensorPrimitives.Norm(_smooth);
        if (!(norm > 0)) return;
        int bestType = 0, bestRoot = 0;
        float best = -1;
        for (int t = 0; t < Chords.Length; t++)
        {
            var pcs = Chords[t].Pcs;
            float inv = 1f / MathF.Sqrt(pcs.Length);
            for (int r = 0; r < 12; r++)
            {
                float s = 0;
                foreach (int pc in pcs) s += _smooth[(r + pc) % 12];
                s *= inv;
                if (s > best) { best = s; bestType = t; bestRoot = r; }
            }
        }
        float confidence = best / norm;
        _chordType[bestType] += confidence;
        if (_lastRoot >= 0 && (bestRoot != _lastRoot || bestType != _lastType))
        {
            _chordChanges++;
            if (bestRoot != _lastRoot) _rootMotion[(bestRoot - _lastRoot + 12) % 12] += 1;
        }
        _lastRoot = bestRoot; _lastType = bestType;
    }

    private void Onset(double flux)
    {
        long t = _frames;
        int slot = (int)(t % History);
        int n = (int)Math.Min(t, FluxMean);
        double mean = 0;
        for (int i = 1; i <= n; i++) mean += _fluxRing[(int)((t - i) % History)];
        mean = n > 0 ? mean / n : flux;
        _fluxRing[slot] = flux;
        double o = Math.Max(0, flux - mean);

        _onsetSum += o; _onsetSum2 += o * o;
        _onsetAc[0] += o * o;
        for (int l = 1; l <= Math.Min(t, MaxOnsetLag); l++) _onsetAc[l] += o * _onsetRing[(int)((t - l) % (MaxOnsetLag + 1))];
        _onsetRing[(int)(t % (MaxOnsetLag + 1))] = o;
        if (t < MaxOnsetLag) _onsetFirst[t] = o;
        // a peak at t-1 above the running mean of the envelope
        if (t >= 2 && _o1 > _o2 && _o1 >= o && _o1 > _onsetSum / (t + 1)) _onsetPeaks++;
        _o2 = _o1; _o1 = o;
    }

    /// <summary>The raw feature vector (length <see cref="Dimension"/>) after the last frame.</summary>
    public float[] Compute()
    {
        var result = new double[Dimension];
        long T = _frames;
        double n = Math.Max(1, _sounding);

        // key: Krumhansl-Kessler correlation of the mean chroma, 24 keys
        var mean = new double[12];
        for (int i = 0; i < 12; i++) mean[i] = _s1[i] / n;
        int tonic = 0;
        double best = double.NegativeInfinity, bestMajor = double.NegativeInfinity, bestMinor = double.NegativeInfinity;
        for (int r = 0; r < 12 && _sounding > 0; r++)
        {
            double cmaj = Correlation(mean, MajorProfile, r), cmin = Correlation(mean, MinorProfile, r);
            if (cmaj > best) { best = cmaj; tonic = r; }
            if (cmin > best) { best = cmin; tonic = r; }
            bestMajor = Math.Max(bestMajor, cmaj); bestMinor = Math.Max(bestMinor, cmin);
        }
        var b = Block(result, "key_profile");
        for (int h = 1; h <= 6; h++)
        {
            double re = 0, im = 0;
            for (int i = 0; i < 12; i++) { re += mean[i] * Math.Cos(2 * Math.PI * h * i / 12); im -= mean[i] * Math.Sin(2 * Math.PI * h * i / 12); }
            b[h - 1] = Math.Sqrt(re * re + im * im);
        }
        b[6] = _sounding == 0 ? 0 : bestMajor - bestMinor;

        b = Block(result, "pitch_class_pairs");
        int o = 0;
        for (int i = 0; i < 12; i++)
            for (int j = i; j < 12; j++) b[o++] = _s2[(i + tonic) % 12 * 12 + (j + tonic) % 12] / n;
        double total = 0;
        for (int i = 0; i < 144; i++) total += _s2[i];
        for (int ic = 0; ic <= 6; ic++)
        {
            double s = 0;
            for (int i = 0; i < 12; i++) s += _s2[i * 12 + (i + ic) % 12] + (ic is > 0 and < 6 ? _s2[i * 12 + (i + 12 - ic) % 12] : 0);
            b[o++] = total > 0 ? s / total : 0;
        }

        b = Block(result, "transitions");
        for (int li = 0; li < Lags.Length; li++)
        {
            double sum = 0;
            for (int i = 0; i < 144; i++) sum += _lag[li][i];
            for (int d = 0; d < 12; d++)
            {
                double s = 0;
                for (int i = 0; i < 12; i++) s += _lag[li][i * 12 + (i + d) % 12];
                b[li * 12 + d] = sum > 0 ? s / sum : 0;
            }
        }

        b = Block(result, "chords");
        double typeSum = _chordType.Sum(), motionSum = _rootMotion.Sum();
        for (int t = 0; t < Chords.Length; t++) b[t] = typeSum > 0 ? _chordType[t] / typeSum : 0;
        for (int d = 0; d < 12; d++) b[Chords.Length + d] = motionSum > 0 ? _rootMotion[d] / motionSum : 0;
        b[Chords.Length + 12] = Math.Log((_chordChanges + 1) / (n / Fps + 1));

        b = Block(result, "register");
        double cm = _centroid / n, sm = _spread / n;
        b[0] = cm; b[1] = Math.Sqrt(Math.Max(0, _centroid2 / n - cm * cm));
        b[2] = sm; b[3] = Math.Sqrt(Math.Max(0, _spread2 / n - sm * sm));
        for (int i = 0; i < RegisterBands; i++) b[4 + i] = _bands[i] / n;

        b = Block(result, "polyphony");
        double pm = _peaks / n;
        b[0] = pm; b[1] = Math.Sqrt(Math.Max(0, _peaks2 / n - pm * pm));
        double onsetTotal = _onsetBands.Sum();
        for (int i = 0; i < RegisterBands; i++) b[2 + i] = onsetTotal > 0 ? _onsetBands[i] / onsetTotal : 0;

        b = Block(result, "register_intervals");
        for (int w = 0; w < IntervalWindows; w++)
            for (int l = 0; l < MaxInterval; l++)
                b[w * MaxInterval + l] = _intervalFrames[w] > 0 ? _intervals[w * MaxInterval + l] / _intervalFrames[w] : 0;

        Rhythm(Block(result, "rhythm"), T);

        var f = new float[Dimension];
        for (int i = 0; i < Dimension; i++) f[i] = double.IsFinite(result[i]) ? (float)result[i] : 0f;
        return f;
    }

    // mean-removed, normalised onset autocorrelation from the running sums (exact: the first and last lags' values are kept)
    private void Rhythm(Span<double> b, long T)
    {
        double mu = T > 0 ? _onsetSum / T : 0;
        double var0 = T > 0 ? _onsetAc[0] / T - mu * mu : 0;
        int maxLag = (int)Math.Min(MaxOnsetLag, Math.Max(0, T - 1));
        var ac = new double[MaxOnsetLag + 1];
        if (var0 > 1e-20)
        {
            for (int l = 1; l <= maxLag; l++)
            {
                double head = 0, tail = 0; // sum of the first l and the last l values
                for (int i = 0; i < l; i++) head += _onsetFirst[i];
                for (int i = 1; i <= l; i++) tail += _onsetRing[(int)((T - i) % (MaxOnsetLag + 1))];
                double cov = _onsetAc[l] - mu * ((_onsetSum - head) + (_onsetSum - tail)) + (T - l) * mu * mu;
                ac[l] = cov / ((T - l) * var0);
            }
        }
        int beat = MinBeat;
        for (int l = MinBeat; l <= Math.Min(MaxBeat, maxLag); l++) if (ac[l] > ac[beat]) beat = l;
        double seconds = T / Fps;
        b[0] = Math.Log(beat / Fps);
        b[1] = ac[beat];
        b[2] = Math.Log((_onsetPeaks + 1) / (seconds + 1));
        b[3] = mu > 0 ? Math.Sqrt(Math.Max(0, var0)) / mu : 0;
        b[4] = Math.Max(ac[1], 0);
        for (int i = 0; i < MetricalRatios.Length; i++)
        {
            double lag = MetricalRatios[i] * beat;
            int lo = (int)Math.Floor(lag);
            double frac = lag - lo;
            double v = lo + 1 <= maxLag ? ac[lo] * (1 - frac) + ac[lo + 1] * frac : 0;
            b[5 + i] = v;
        }
    }

    private static double Correlation(double[] chroma, double[] profile, int tonic)
    {
        double ma = chroma.Average(), mb = profile.Average(), sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < 12; i++)
        {
            double a = chroma[(i + tonic) % 12] - ma, p = profile[i] - mb;
            sab += a * p; saa += a * a; sbb += p * p;
        }
        return saa > 0 ? sab / Math.Sqrt(saa * sbb) : 0;
    }

    private static Span<double> Block(double[] v, string name)
    {
        var blk = Blocks.First(x => x.Name == name);
        return v.AsSpan(blk.Offset, blk.Length);
    }
}
