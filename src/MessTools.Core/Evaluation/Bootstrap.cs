namespace MessTools.Core.Evaluation;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood 2014): the random stream of the bootstrap and the permutation test. Chosen because
/// it is a few lines in any language, so tests/Reference/bootstrap_reference.py replays the very same stream in numpy.
/// </summary>
public struct SplitMix64
{
    private ulong _state;

    public SplitMix64(ulong state) => _state = state;

    /// <summary>The state of stream <paramref name="stream"/> of seed <paramref name="seed"/>: (uint(seed) &lt;&lt; 32) | stream.</summary>
    public static SplitMix64 ForStream(int seed, uint stream) => new(((ulong)(uint)seed << 32) | stream);

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>An index in [0, n): the high 64 bits of Next() · n (multiply-shift; bias below n / 2^64).</summary>
    public int NextIndex(int n) => (int)Math.BigMul(Next(), (ulong)n, out _);
}

/// <summary>
/// Percentile bootstrap over queries and the paired sign-flip permutation test, exactly as docs/evaluation.md defines
/// them (and tests/Reference/bootstrap_reference.py recomputes them):
/// <list type="bullet">
/// <item>Resample b = 0..B-1 draws n query positions i = NextIndex(n) one after another from one SplitMix64 stream;
/// the statistic is the mean of the per-query values at those positions.</item>
/// <item>The interval is the (1-level)/2 and (1+level)/2 quantiles of the B means, linear interpolation between order
/// statistics (numpy's default "linear" method).</item>
/// <item>The permutation test flips the sign of each paired difference d_i with probability 1/2: permutation p takes
/// ceil(n/64) words of the stream and flips d_i when bit (i mod 64) of word i/64 is set. p-value =
/// (1 + #{p : |Σ ±d_i| ≥ |Σ d_i| − 1e-9}) / (P + 1).</item>
/// </list>
/// Several series resampled with one stream share the same resamples (their intervals are paired).
/// </summary>
public static class Bootstrap
{
    /// <summary>Stream 0: all queries. Stream c + 1: the queries of composer c (composers in ordinal order).
    /// Stream <see cref="PermutationStream"/>: the sign flips.</summary>
    public const uint PermutationStream = 0xFFFFFFFFu;

    /// <summary>The B resampled means of each series (all of one length n), resampled together.</summary>
    public static double[][] ResampledMeans(IReadOnlyList<double[]> series, int resamples, SplitMix64 stream)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentOutOfRangeException.ThrowIfLessThan(resamples, 1);
        int n = series.Count == 0 ? 0 : series[0].Length;
        if (series.Any(s => s.Length != n)) throw new ArgumentException("Every series must have the same length.", nameof(series));
        var means = new double[series.Count][];
        for (int s = 0; s < series.Count; s++) means[s] = new double[resamples];
        if (n == 0) return means;
        var sums = new double[series.Count];
        for (int b = 0; b < resamples; b++)
        {
            Array.Clear(sums);
            for (int i = 0; i < n; i++)
            {
                int at = stream.NextIndex(n);
                for (int s = 0; s < sums.Length; s++) sums[s] += series[s][at];
            }
            for (int s = 0; s < sums.Length; s++) means[s][b] = sums[s] / n;
        }
        return means;
    }

    /// <summary>The percentile interval of resampled statistics (sorted in place).</summary>
    public static ConfidenceInterval Percentile(double[] resampled, double level)
    {
        if (resampled.Length == 0) throw new ArgumentException("No resamples.", nameof(resampled));
        if (!(level > 0 && level < 1)) throw new ArgumentOutOfRangeException(nameof(level), "The level must be between 0 and 1.");
        Array.Sort(resampled);
        return new ConfidenceInterval(Quantile(resampled, (1 - level) / 2), Quantile(resampled, (1 + level) / 2));
    }

    /// <summary>numpy's "linear" quantile of sorted values: x[floor(h)] + (h − floor(h))·(x[floor(h)+1] − x[floor(h)]), h = (n−1)·q.</summary>
    public static double Quantile(double[] sorted, double q)
    {
        double h = (sorted.Length - 1) * q;
        int lo = (int)Math.Floor(h);
        if (lo >= sorted.Length - 1) return sorted[^1];
        return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
    }

    /// <summary>Intervals of several series resampled together from one stream.</summary>
    public static ConfidenceInterval[] Intervals(IReadOnlyList<double[]> series, int resamples, double level, SplitMix64 stream) =>
        ResampledMeans(series, resamples, stream).Select(m => Percentile(m, level)).ToArray();

    /// <summary>Two-sided p-value of the paired sign-flip permutation test of mean(d) = 0.</summary>
    public static double SignFlipPValue(double[] differences, int permutations, SplitMix64 stream)
    {
        ArgumentNullException.ThrowIfNull(differences);
        ArgumentOutOfRangeException.ThrowIfLessThan(permutations, 1);
        int n = differences.Length;
        double observed = 0;
        for (int i = 0; i < n; i++) observed += differences[i];
        observed = Math.Abs(observed);
        int words = (n + 63) / 64, extreme = 0;
        for (int p = 0; p < permutations; p++)
        {
            double t = 0;
            for (int w = 0; w < words; w++)
            {
                ulong bits = stream.Next();
                int end = Math.Min(n, (w + 1) * 64);
                for (int i = w * 64; i < end; i++, bits >>= 1)
                    t += (bits & 1) != 0 ? -differences[i] : differences[i];
            }
            if (Math.Abs(t) >= observed - 1e-9) extreme++;
        }
        return (1.0 + extreme) / (permutations + 1.0);
    }
}
