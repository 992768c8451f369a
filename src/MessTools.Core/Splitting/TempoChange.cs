namespace MessTools.Core.Splitting;

/// <summary>
/// The tempo-and-metre change curve of the attacca cue. An onset envelope (the rise of the compressed energy of
/// 245-sample hops, 90 per second) is autocorrelated per 1-s block at lags 0.2-2 s (a tempogram column); at each block t
/// the summed columns of the window [t - W, t) are compared with those of [t, t + W): one minus their Pearson
/// correlation. Within a movement the periodicities of the beat and the bar stay, so the two windows agree; where a
/// movement with another tempo or metre begins they do not. Measured on the benchmark (bench/SplitBench curves mode), this
/// separated attacca joins from the music inside a movement better than windowed differences of key (mean chroma),
/// timbre (mean log-mel), loudness level, register (pitch centroid) or onset density.
/// </summary>
internal static class TempoChange
{
    /// <summary>Onset envelope values per second (<see cref="Hop"/> samples each at the analysis rate).</summary>
    public const int Rate = 90;
    public const int Hop = MovementSplitter.AnalysisRate / Rate; // 245 samples
    private const int MinLag = Rate / 5, MaxLag = 2 * Rate, Lags = MaxLag - MinLag + 1;

    /// <summary>The onset envelope: the positive change of ln(1 + 100 E / E_loud) from hop to hop (E the hop's mean square,
    /// E_loud the recording's loudness as a power), so room noise and quiet passages add little.</summary>
    public static float[] Envelope(ReadOnlySpan<float> signal, double loudnessDb)
    {
        int hops = signal.Length / Hop;
        var onset = new float[hops];
        double reference = Math.Pow(10, loudnessDb / 10), previous = 0;
        for (int k = 0; k < hops; k++)
        {
            double e = Math.Log(1 + 100 * System.Numerics.Tensors.TensorPrimitives.SumOfSquares(signal.Slice(k * Hop, Hop)) / Hop / reference);
            if (k > 0) onset[k] = (float)Math.Max(0, e - previous);
            previous = e;
        }
        return onset;
    }

    /// <summary>
    /// The change curve, one value per 1-s block (<paramref name="blocks"/>), zero within <paramref name="window"/> blocks of
    /// either end and where either window has fewer than a third of its blocks sounding (<paramref name="sounding"/>).
    /// A pause is a wall: neither window reaches across one (<paramref name="pauses"/>, block ranges [Start, End)), so the
    /// music on the far side of a pause, a boundary of its own, does not raise the curve on this side.
    /// </summary>
    public static double[] Curve(float[] onset, bool[] sounding, int blocks, int window, IReadOnlyList<(int Start, int End)> pauses, CancellationToken ct)
    {
        // per block: the envelope's autocorrelation (mean removed over the block's reach)
        var columns = new double[blocks * Lags];
        for (int i = 0; i < blocks; i++)
        {
            if ((i & 255) == 0) ct.ThrowIfCancellationRequested();
            int from = i * Rate, to = Math.Min(onset.Length - MaxLag, from + Rate);
            if (to <= from) continue;
            double mu = 0;
            for (int k = from; k < to + MaxLag; k++) mu += onset[k];
            mu /= to + MaxLag - from;
            var centred = new double[to + MaxLag - from];
            for (int k = 0; k < centred.Length; k++) centred[k] = onset[from + k] - mu;
            for (int l = 0; l < Lags; l++)
            {
                double acc = 0;
                int lag = MinLag + l;
                for (int k = 0; k < to - from; k++) acc += centred[k] * centred[k + lag];
                columns[i * Lags + l] = acc;
            }
        }
        var curve = new double[blocks];
        var before = new double[Lags];
        var after = new double[Lags];
        for (int t = window; t <= blocks - window && t < blocks; t++)
        {
            if (pauses.Any(p => p.Start < t && t < p.End)) continue;
            int lo = t - window, hi = t + window;
            foreach (var p in pauses)
            {
                if (p.End <= t) lo = Math.Max(lo, p.End);
                if (p.Start >= t) hi = Math.Min(hi, p.Start);
            }
            Array.Clear(before); Array.Clear(after);
            int n1 = 0, n2 = 0;
            for (int i = lo; i < hi; i++)
            {
                if (!sounding[i]) continue;
                var sum = i < t ? before : after;
                if (i < t) n1++; else n2++;
                for (int l = 0; l < Lags; l++) sum[l] += columns[i * Lags + l];
            }
            if (n1 < window / 3 || n2 < window / 3) continue;
            curve[t] = 1 - Pearson(before, after);
        }
        return curve;
    }

    private static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average(), xy = 0, xx = 0, yy = 0;
        for (int i = 0; i < x.Length; i++) { xy += (x[i] - mx) * (y[i] - my); xx += (x[i] - mx) * (x[i] - mx); yy += (y[i] - my) * (y[i] - my); }
        return xx > 0 && yy > 0 ? xy / Math.Sqrt(xx * yy) : 1;
    }
}
