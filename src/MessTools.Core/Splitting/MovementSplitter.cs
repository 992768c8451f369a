using MessTools.Core.Dsp;
using MessTools.Core.Embedding.Builtin;

namespace MessTools.Core.Splitting;

/// <summary>Which cue placed a boundary.</summary>
public enum BoundaryCue { Pause, Attacca }

/// <summary>One boundary between movements: the next movement starts at <see cref="Seconds"/>; with a pause, the previous one ended at <see cref="PauseStartSeconds"/>.</summary>
public sealed record MovementBoundary(double Seconds, double PauseStartSeconds, BoundaryCue Cue, double Novelty, double Score);

/// <summary>One movement's span in the recording, seconds.</summary>
public sealed record MovementSpan(int Number, double StartSeconds, double EndSeconds);

/// <summary>The movements found in one recording; <see cref="Note"/> says why there is only one, when there is.</summary>
public sealed record MovementSplit(IReadOnlyList<MovementSpan> Movements, IReadOnlyList<MovementBoundary> Boundaries, double DurationSeconds, string? Note)
{
    /// <summary>Every pause and novelty peak considered, accepted or not (for diagnostics and the benchmark).</summary>
    public IReadOnlyList<MovementBoundary> Considered { get; init; } = Array.Empty<MovementBoundary>();
}

/// <summary>
/// Finds the movement boundaries of a whole-work recording from two cues. Pauses: 0.1-s frames whose level stays
/// <see cref="SplitRequest.SilenceDb"/> under the recording's own loudness (its 95th percentile frame level) for at
/// least <see cref="SplitRequest.MinGapSeconds"/>, short louder blips inside a pause ignored. Changes of material
/// (attacca): the built-in embedder's front end (<see cref="BuiltinFrontEnd"/>: 64 mel bands and an 88-semitone pitch
/// spectrum from a 4096-point STFT at 22050 Hz), one frame every 0.1 s, pooled into 1-s blocks (log-mel z-scored per band,
/// chroma); their cosine self-similarity matrix is correlated with a Gaussian-tapered checkerboard kernel along the
/// diagonal (Foote 2000); that novelty and the tempo change (<see cref="TempoChange"/>) make the attacca score
/// (<see cref="AttaccaScore"/>), whose peaks at least <see cref="SplitRequest.MinMovementSeconds"/> apart are picked,
/// then placed to 0.1 s with a 2-s kernel on the frames. Both: long pauses are boundaries, short ones only with a
/// change of material around them, and strong novelty peaks away from pauses are attacca joins. Deterministic and
/// thread-safe (no state between calls).
/// </summary>
public sealed class MovementSplitter
{
    public const int AnalysisRate = BuiltinFrontEnd.SampleRate;
    /// <summary>Frames per second of the pause and fine novelty analysis.</summary>
    public const int FrameRate = 10;
    private const int Hop = AnalysisRate / FrameRate; // 2205 samples
    private const int BlockFrames = FrameRate;        // 1-s blocks for the self-similarity matrix
    private const int MelBands = BuiltinFrontEnd.MelBands;
    private const int Dim = MelBands + 12;
    /// <summary>The chroma part's weight against the mel part in the similarity (0.5 was best on the benchmark; 1 or more hurt attacca joins).</summary>
    private const double ChromaWeight = 0.5;

    private static readonly BuiltinFrontEnd FrontEnd = new();
    private static readonly PowerSpectrogram Stft = new(BuiltinFrontEnd.FftSize, Hop, WindowKind.HannPeriodic, BuiltinFrontEnd.FftSize, FramePlacement.Start);

    private readonly SplitRequest _options;

    public MovementSplitter(SplitRequest options)
    {
        options.Validate();
        _options = options;
    }

    public SplitRequest Options => _options;

    /// <summary>The movements of a mono recording at <paramref name="sampleRate"/> Hz.</summary>
    public MovementSplit Split(ReadOnlySpan<float> mono, int sampleRate, CancellationToken cancellationToken = default)
    {
        if (sampleRate <= 0) throw new ArgumentOutOfRangeException(nameof(sampleRate));
        double duration = (double)mono.Length / sampleRate;
        MovementSplit One(string note) => new(new[] { new MovementSpan(1, 0, duration) }, Array.Empty<MovementBoundary>(), duration, note);
        if (duration < 2 * _options.MinMovementSeconds || duration < 2)
            return One($"the recording ({duration:0.0} s) is shorter than two movements of -MinMovementSeconds {_options.MinMovementSeconds:0.#} s");
        if (_options.MaxMovements == 1) return One("-MaxMovements is 1");

        float[] signal = AtAnalysisRate(mono, sampleRate);
        var a = Analyse(signal, _options.SilenceDb, cancellationToken);
        if (a.LoudnessDb < _options.SilentRecordingDbfs)
            return One($"the recording is silent (loudness {a.LoudnessDb:0} dBFS)");

        var (gaps, novelty, _, attacca) = Cues(a, material: _options.Method != SplitMethod.Silence, cancellationToken);
        double duration22 = (double)signal.Length / AnalysisRate;

        var candidates = new List<MovementBoundary>();
        var considered = new List<MovementBoundary>();
        foreach (var (s, e) in gaps)
        {
            double gapSec = Settled(a, s, e) / (double)FrameRate;
            if (gapSec < _options.MinGapSeconds) continue;
            double nov = novelty.Length == 0 ? 0 : MaxAround(novelty, (s + e) / 2.0 / BlockFrames, 3);
            bool accept = _options.Method == SplitMethod.Silence || gapSec >= _options.SureGapSeconds || nov >= _options.GapNoveltyThreshold;
            var gap = new MovementBoundary(e / (double)FrameRate, s / (double)FrameRate, BoundaryCue.Pause, Math.Round(nov, 4), 10 + gapSec);
            considered.Add(gap);
            if (accept) candidates.Add(gap);
        }
        if (novelty.Length > 0)
        {
            int minDist = Math.Max(1, (int)Math.Round(Math.Max(_options.MinMovementSeconds, 2 * _options.KernelSeconds / 3)));
            foreach (int peak in Peaks(attacca, minDist, _options.AttaccaThreshold))
            {
                double t = peak; // block i starts at i seconds
                if (gaps.Any(g => g.Start / (double)FrameRate - 3 <= t && t <= g.End / (double)FrameRate + 3)) continue; // a pause's own peak
                int frame = RefineFrame(a, peak * BlockFrames);
                double sec = frame / (double)FrameRate;
                // scored under every pause (whose scores are 10 and more): pauses are taken first
                candidates.Add(new MovementBoundary(sec, sec, BoundaryCue.Attacca, Math.Round(novelty[peak], 4), attacca[peak] / (1 + attacca[peak])));
            }
        }

        // strongest first; a boundary that would leave a movement shorter than the minimum is dropped
        var chosen = new List<MovementBoundary>();
        foreach (var c in candidates.OrderByDescending(c => c.Score).ThenBy(c => c.Seconds))
        {
            if (chosen.Count >= _options.MaxMovements - 1) break;
            if (c.PauseStartSeconds < _options.MinMovementSeconds || duration22 - c.Seconds < _options.MinMovementSeconds) continue;
            // the movement between two boundaries runs from the earlier one's start to the later one's pause
            if (chosen.Any(b => (b.Seconds < c.Seconds ? c.PauseStartSeconds - b.Seconds : b.PauseStartSeconds - c.Seconds) < _options.MinMovementSeconds)) continue;
            chosen.Add(c);
        }
        if (chosen.Count == 0)
            return One(candidates.Count == 0
                ? $"no pause or change of material was found ({MethodText}): the recording is one movement"
                : $"every boundary found would leave a movement shorter than -MinMovementSeconds {_options.MinMovementSeconds:0.#} s");
        chosen.Sort((x, y) => x.Seconds.CompareTo(y.Seconds));
        var spans = new List<MovementSpan>();
        double start = 0;
        for (int i = 0; i < chosen.Count; i++)
        {
            spans.Add(new MovementSpan(i + 1, start, Math.Min(duration, chosen[i].PauseStartSeconds)));
            start = Math.Min(duration, chosen[i].Seconds);
        }
        spans.Add(new MovementSpan(chosen.Count + 1, start, duration));
        return new MovementSplit(spans, chosen, duration, null) { Considered = considered };
    }

    /// <summary>
    /// The attacca score per 1-s block: the geometric mean of the Foote novelty and the tempo change, each divided by its
    /// median over the recording's non-zero values, so a join must stand out from the recording's own music in both
    /// material and tempo. Zero where either is under its floor (<see cref="SplitRequest.MinAttaccaNovelty"/>,
    /// <see cref="SplitRequest.MinTempoChange"/>).
    /// </summary>
    internal static double[] AttaccaScore(double[] novelty, double[] tempo, SplitRequest options)
    {
        double mf = PositiveMedian(novelty), mt = PositiveMedian(tempo);
        var score = new double[novelty.Length];
        if (mf <= 0 || mt <= 0) return score;
        for (int i = 0; i < score.Length; i++)
            if (novelty[i] >= options.MinAttaccaNovelty && tempo[i] >= options.MinTempoChange)
                score[i] = Math.Sqrt(novelty[i] / mf * tempo[i] / mt);
        return score;
    }

    /// <summary>Pauses (frame ranges) as the 1-s blocks they cover, [Start, End).</summary>
    private static List<(int Start, int End)> PauseBlocks(List<(int Start, int End)> gaps) =>
        gaps.Select(g => (g.Start / BlockFrames, (g.End + BlockFrames - 1) / BlockFrames)).ToList();

    private static double PositiveMedian(double[] x)
    {
        var v = x.Where(e => e > 0).OrderBy(e => e).ToArray();
        return v.Length == 0 ? 0 : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    /// <summary>Diagnostics for the benchmark (SplitBench curves): the Foote novelty, the tempo change and the attacca score, one value per second.</summary>
    public IReadOnlyList<(string Name, double[] Curve)> Curves(ReadOnlySpan<float> mono, int sampleRate)
    {
        var (_, novelty, tempo, attacca) = Cues(Analyse(AtAnalysisRate(mono, sampleRate), _options.SilenceDb, CancellationToken.None), material: true, CancellationToken.None);
        return new[] { ("foote", novelty), ("tempo", tempo), ("attacca", attacca) };
    }

    private static float[] AtAnalysisRate(ReadOnlySpan<float> mono, int sampleRate) =>
        sampleRate == AnalysisRate ? mono.ToArray() : new Resampler(sampleRate, AnalysisRate).Process(mono);

    /// <summary>The pauses (none for -Method Novelty) and, when <paramref name="material"/>, the per-second curves of the
    /// changes of material: Foote novelty, tempo change (pauses are walls for it) and their attacca score.</summary>
    private (List<(int Start, int End)> Gaps, double[] Novelty, double[] Tempo, double[] Attacca) Cues(Analysis a, bool material, CancellationToken ct)
    {
        var gaps = _options.Method == SplitMethod.Novelty ? new List<(int Start, int End)>() : FindGaps(a);
        if (!material) return (gaps, Array.Empty<double>(), Array.Empty<double>(), Array.Empty<double>());
        var novelty = Novelty(a.Blocks, a.BlockCount, BlockKernel, ct);
        var tempo = TempoChange.Curve(a.Onset, a.Sounding, a.BlockCount, TempoWindow, PauseBlocks(gaps), ct);
        return (gaps, novelty, tempo, AttaccaScore(novelty, tempo, _options));
    }

    private string MethodText => _options.Method switch
    {
        SplitMethod.Silence => "method Silence",
        SplitMethod.Novelty => "method Novelty",
        _ => "pauses and changes of material",
    };

    // ---------------- analysis ----------------

    /// <summary>Per 0.1-s frame: level (dB) and the front end's features (log-mel dB, chroma); per 1-s block: the pooled, normalised features.</summary>
    internal sealed class Analysis
    {
        public required double[] LevelDb { get; init; }
        public required int Frames { get; init; }
        /// <summary>Frames x Dim, normalised (z-scored log-mel, unit chroma) for the fine novelty.</summary>
        public required float[] FrameFeatures { get; init; }
        /// <summary>Blocks x Dim, normalised for cosine similarity.</summary>
        public required float[] Blocks { get; init; }
        public required int BlockCount { get; init; }
        public double LoudnessDb { get; init; }
        /// <summary>Per block: whether any of its frames sounds (is not quiet).</summary>
        public required bool[] Sounding { get; init; }
        /// <summary>The onset envelope (<see cref="TempoChange.Envelope"/>).</summary>
        public required float[] Onset { get; init; }
    }

    internal static Analysis Analyse(float[] signal, double quietDb, CancellationToken ct)
    {
        int frames = Math.Max(1, (signal.Length + Hop - 1) / Hop);
        var level = new double[frames];
        for (int k = 0; k < frames; k++)
        {
            int from = k * Hop, to = Math.Min(signal.Length, from + Hop);
            double ms = to > from ? System.Numerics.Tensors.TensorPrimitives.SumOfSquares(signal.AsSpan(from, to - from)) / (to - from) : 0;
            level[k] = 10 * Math.Log10(ms + 1e-12);
        }
        var sorted = (double[])level.Clone();
        Array.Sort(sorted);
        double loudness = sorted[(int)Math.Round(0.95 * (sorted.Length - 1))];

        // front-end features, one STFT frame per 0.1-s frame (frame k starts at sample k * Hop)
        var feat = new float[(long)frames * Dim];
        var power = new float[Stft.Bins];
        var scratch = Stft.CreateScratch();
        var mel = new float[MelBands];
        var pitch = new float[BuiltinFrontEnd.Pitches];
        for (int k = 0; k < frames; k++)
        {
            if ((k & 1023) == 0) ct.ThrowIfCancellationRequested();
            Stft.FrameAt(signal, 0, signal.Length, k, power, scratch);
            Array.Clear(pitch);
            FrontEnd.AnalyseFrame(power, mel, pitch);
            var row = feat.AsSpan(k * Dim, Dim);
            for (int b = 0; b < MelBands; b++) row[b] = (float)(10 * Math.Log10(mel[b] + 1e-10));
            for (int p = 0; p < pitch.Length; p++) row[MelBands + (p + BuiltinFrontEnd.FirstMidi) % 12] += pitch[p];
        }
        // log-mel floor 80 dB under the loudest value, so silence does not dominate the statistics
        float max = float.MinValue;
        for (int k = 0; k < frames; k++) for (int b = 0; b < MelBands; b++) max = Math.Max(max, feat[k * Dim + b]);
        for (int k = 0; k < frames; k++)
        {
            var row = feat.AsSpan(k * Dim, Dim);
            for (int b = 0; b < MelBands; b++) row[b] = Math.Max(row[b], max - 80f);
            Normalise(row[MelBands..], ChromaWeight);
        }
        // blocks pool the sounding frames only (a block with none repeats the previous one), so pauses and rests add
        // no novelty of their own: the pause cue speaks for them
        int blocks = Math.Max(1, frames / BlockFrames);
        var blk = new float[(long)blocks * Dim];
        var sounding = new bool[blocks];
        double quiet = loudness - quietDb;
        for (int i = 0; i < blocks; i++)
        {
            var row = blk.AsSpan(i * Dim, Dim);
            int from = i * BlockFrames, to = Math.Min(frames, from + BlockFrames), used = 0;
            for (int k = from; k < to; k++)
                if (level[k] >= quiet) { System.Numerics.Tensors.TensorPrimitives.Add(row, feat.AsSpan(k * Dim, Dim), row); used++; }
            sounding[i] = used > 0;
            if (used > 0) System.Numerics.Tensors.TensorPrimitives.Multiply(row, 1f / used, row);
            else if (i > 0) blk.AsSpan((i - 1) * Dim, Dim).CopyTo(row);
            else for (int k = from; k < to; k++) System.Numerics.Tensors.TensorPrimitives.Add(row, feat.AsSpan(k * Dim, Dim), row);
        }
        ZScoreMel(blk, blocks, out var mean, out var std);
        for (int i = 0; i < blocks; i++) FinishRow(blk.AsSpan(i * Dim, Dim));
        // frames use the blocks' statistics, so both scales compare alike
        for (int k = 0; k < frames; k++)
        {
            var row = feat.AsSpan(k * Dim, Dim);
            for (int b = 0; b < MelBands; b++) row[b] = (row[b] - mean[b]) / std[b];
            FinishRow(row);
        }
        return new Analysis { LevelDb = level, Frames = frames, FrameFeatures = feat, Blocks = blk, BlockCount = blocks, LoudnessDb = loudness,
            Sounding = sounding, Onset = TempoChange.Envelope(signal, loudness) };
    }

    private static void ZScoreMel(float[] m, int rows, out float[] mean, out float[] std)
    {
        mean = new float[MelBands]; std = new float[MelBands];
        for (int b = 0; b < MelBands; b++)
        {
            double s = 0, s2 = 0;
            for (int i = 0; i < rows; i++) { double v = m[i * Dim + b]; s += v; s2 += v * v; }
            double mu = s / rows, sd = Math.Sqrt(Math.Max(0, s2 / rows - mu * mu));
            mean[b] = (float)mu; std[b] = (float)Math.Max(sd, 1.0); // 1 dB floor: a constant band carries no contrast
            for (int i = 0; i < rows; i++) m[i * Dim + b] = (m[i * Dim + b] - mean[b]) / std[b];
        }
    }

    /// <summary>The mel part to unit length, the chroma part to unit length times the weight: the cosine then averages both.</summary>
    private static void FinishRow(Span<float> row)
    {
        Normalise(row[..MelBands], 1f);
        Normalise(row[MelBands..], (float)ChromaWeight);
    }

    private static void Normalise(Span<float> v, double length)
    {
        float n = System.Numerics.Tensors.TensorPrimitives.Norm(v);
        if (n > 1e-12f) System.Numerics.Tensors.TensorPrimitives.Multiply(v, (float)(length / n), v);
    }

    private static float Similarity(float[] m, int i, int j) =>
        System.Numerics.Tensors.TensorPrimitives.Dot(m.AsSpan(i * Dim, Dim), m.AsSpan(j * Dim, Dim)) / (float)(1 + ChromaWeight * ChromaWeight);

    // ---------------- pauses ----------------

    /// <summary>Pauses as frame ranges [Start, End): quiet runs (short loud blips bridged), long enough, not touching either end.</summary>
    internal List<(int Start, int End)> FindGaps(Analysis a)
    {
        double threshold = a.LoudnessDb - _options.SilenceDb;
        int maxBlip = (int)Math.Round(_options.MaxBlipSeconds * FrameRate);
        int minGap = Math.Max(1, (int)Math.Round(_options.MinGapSeconds * FrameRate));
        var runs = new List<(int Start, int End)>();
        int k = 0;
        while (k < a.Frames)
        {
            if (a.LevelDb[k] >= threshold) { k++; continue; }
            int s = k;
            while (k < a.Frames && a.LevelDb[k] < threshold) k++;
            if (runs.Count > 0 && s - runs[^1].End <= maxBlip) runs[^1] = (runs[^1].Start, k);
            else runs.Add((s, k));
        }
        var result = runs.Where(r => r.End - r.Start >= minGap && r.Start > 0 && r.End < a.Frames).ToList();
        return result;
    }

    /// <summary>
    /// Frames of a pause that have settled: within <see cref="SettleDb"/> of its quietest tenth. Stationary room noise
    /// between movements is all settled; a decaying reverb tail or a held note dying away inside a movement is not.
    /// </summary>
    private static int Settled(Analysis a, int start, int end)
    {
        var lv = a.LevelDb[start..end];
        var sorted = (double[])lv.Clone();
        Array.Sort(sorted);
        double floor = sorted[sorted.Length / 10];
        return lv.Count(x => x <= floor + SettleDb);
    }

    private const double SettleDb = 4.0;

    // ---------------- novelty ----------------

    private int BlockKernel => Math.Max(2, (int)Math.Round(_options.KernelSeconds));
    private int TempoWindow => Math.Max(2, (int)Math.Round(_options.KernelSeconds * _options.TempoWindowFactor));

    /// <summary>Gaussian taper of a checkerboard kernel of half-width <paramref name="half"/> (sigma half/2, centred between frames -1 and 0).</summary>
    private static double[] Taper(int half)
    {
        var g = new double[2 * half];
        double sigma = half / 2.0;
        for (int x = -half; x < half; x++) { double d = x + 0.5; g[x + half] = Math.Exp(-d * d / (2 * sigma * sigma)); }
        return g;
    }

    /// <summary>
    /// Foote's novelty: at each position i, the correlation of the self-similarity matrix around (i, i) with the
    /// checkerboard kernel (+ within the past and within the future, - across), divided by the kernel's absolute sum, so
    /// a jump between two self-similar, mutually unrelated sections scores about 0.5. Zero within a half-width of either end.
    /// </summary>
    internal static double[] Novelty(float[] m, int rows, int half, CancellationToken ct)
    {
        var n = new double[rows];
        if (rows < 2 * half + 1) return n;
        var g = Taper(half);
        // the similarities within the band |i - j| < 2 half, computed once
        int band = 2 * half;
        var s = new float[(long)rows * band];
        for (int i = 0; i < rows; i++)
            for (int d = 0; d < band && i + d < rows; d++) s[(long)i * band + d] = Similarity(m, i, i + d);
        double norm = 0;
        for (int x = 0; x < 2 * half; x++) for (int y = 0; y < 2 * half; y++) norm += g[x] * g[y];
        for (int i = half; i <= rows - half; i++)
        {
            if ((i & 255) == 0) ct.ThrowIfCancellationRequested();
            double acc = 0;
            for (int x = 0; x < 2 * half; x++)
            {
                int p = i - half + x;
                for (int y = x; y < 2 * half; y++)
                {
                    int q = i - half + y;
                    double w = g[x] * g[y] * ((x < half) == (y < half) ? 1 : -1) * (x == y ? 1 : 2);
                    acc += w * s[(long)p * band + (q - p)];
                }
            }
            if (i < rows) n[i] = acc / norm;
        }
        return n;
    }

    /// <summary>Local maxima at least <paramref name="minDistance"/> apart (the higher wins) that reach <paramref name="threshold"/>.</summary>
    internal static List<int> Peaks(double[] n, int minDistance, double threshold)
    {
        var order = Enumerable.Range(0, n.Length).Where(i => n[i] >= threshold).OrderByDescending(i => n[i]).ThenBy(i => i);
        var picked = new List<int>();
        foreach (int i in order)
            if (picked.All(p => Math.Abs(p - i) >= minDistance)) picked.Add(i);
        picked.Sort();
        return picked;
    }

    private static double MaxAround(double[] n, double centre, int radius)
    {
        int c = (int)Math.Round(centre);
        double best = 0;
        for (int i = Math.Max(0, c - radius); i <= Math.Min(n.Length - 1, c + radius); i++) best = Math.Max(best, n[i]);
        return best;
    }

    /// <summary>The 0.1-s frame within 1.5 s of a block boundary where a 2-s checkerboard kernel on the frames peaks.</summary>
    private static int RefineFrame(Analysis a, int around)
    {
        const int half = 2 * FrameRate, reach = 15;
        if (around - reach - half < 0 || around + reach + half > a.Frames) return around;
        int from = around - reach - half, count = 2 * (reach + half);
        var sub = a.FrameFeatures.AsSpan(from * Dim, count * Dim).ToArray();
        var n = Novelty(sub, count, half, CancellationToken.None);
        int best = around;
        double bestValue = double.MinValue;
        for (int i = half; i <= count - half && i < count; i++)
            if (n[i] > bestValue) { bestValue = n[i]; best = from + i; }
        return best;
    }
}
