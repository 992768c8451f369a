using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Evaluation;
using MessTools.Core.Search;

namespace MessTools.Core.Analysis;

/// <summary>
/// Measure-MessEmbedding's engine: what an embedding space looks like beyond one retrieval score. One exact top-K
/// pass (the evaluation's kernel, <see cref="ExactSearch.AllPairs(float[], int, int, int, PairFilter?, int, ExactSearchOptions?)"/>)
/// serves hubness, TwoNN and diversity; PCA comes from the D x D covariance; the pair figures come from per-composer
/// sums, except the silhouette and the uniformity, which use seeded samples above <see cref="DefaultSampleSize"/>
/// and <see cref="DefaultUniformitySampleSize"/> tracks. One partial file per metric family.
/// </summary>
public static partial class EmbeddingAnalyzer
{
    public const int DefaultSampleSize = 20_000;
    public const int DefaultUniformitySampleSize = 5_000;

    /// <summary>Loads one artifact folder (and <paramref name="compare"/>, if given) the way the evaluation does,
    /// analyses it, and compares the two over the tracks both hold.</summary>
    public static EmbeddingAnalysis Run(ArtifactStore store, AnalysisOptions options, ArtifactStore? compare = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        double share = compare is null ? 1.0 : 0.45;
        var data = EvaluationData.Load(store);
        var result = Analyze(data, options, store.Root, Scaled(options, 0, share));
        if (compare is null) return result;
        var other = EvaluationData.Load(compare);
        var second = Analyze(other, options, compare.Root, Scaled(options, share, share));
        var shared = new HashSet<string>(data.TrackIds, StringComparer.Ordinal);
        shared.IntersectWith(other.TrackIds);
        if (shared.Count == 0)
            throw new MessException(MessErrorIds.NoSharedTracks, MessErrorKind.InvalidData,
                $"'{store.Root}' and '{compare.Root}' share no embedded track, so there is nothing to compare.", compare.Root);
        var a = shared.Count == data.Count ? data : EvaluationData.Load(store, shared);
        var b = shared.Count == other.Count ? other : EvaluationData.Load(compare, shared);
        result.Comparison = Compare(a, b, options, Scaled(options, 2 * share, 1 - 2 * share));
        result.Comparison.ArtifactPath = store.Root;
        result.Comparison.CompareArtifactPath = compare.Root;
        result.Comparison.CompareAnalysis = second;
        return result;
    }

    /// <summary>Every figure of one embedding space.</summary>
    public static EmbeddingAnalysis Analyze(EvaluationData data, AnalysisOptions options, string artifactPath = "")
        => Analyze(data, options, artifactPath, options.Progress);

    private static EmbeddingAnalysis Analyze(EvaluationData data, AnalysisOptions options, string artifactPath, Action<double, string>? progress)
    {
        ArgumentNullException.ThrowIfNull(data);
        var labels = new Evaluator.Labels(data);
        Validate(data, options, labels);
        var ct = options.Cancellation;
        int n = data.Count, dim = data.Dimension;
        var seconds = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();
        void Lap(string name) { seconds[name] = Math.Round(clock.Elapsed.TotalSeconds, 3); clock.Restart(); ct.ThrowIfCancellationRequested(); }

        var (e, rowNormSq) = Normalised(data, options);
        var r = new EmbeddingAnalysis
        {
            ArtifactPath = artifactPath, Model = data.Model, EmbeddingsSha256 = data.EmbeddingsSha256,
            Tracks = n, Dimension = dim, Composers = labels.ComposerNames.Length, K = options.K, Seed = options.Seed,
            Clusters = options.Clusters, TrackIds = data.TrackIds, TrackComposers = data.Composers,
        };
        progress?.Invoke(0, "Covariance and spectrum");
        Spectrum(e, n, dim, options, r);
        Lap("spectrum");

        // One exact top-K pass, depth max(K, 2): hubness, TwoNN and diversity.
        int depth = Math.Max(options.K, 2);
        var lists = ExactSearch.AllPairs(e, n, dim, depth, null, options.MaxThreads, new ExactSearchOptions
        {
            Cancellation = ct,
            Progress = progress is null ? null : f => progress(0.05 + 0.6 * f, "Exact neighbours"),
        });
        Lap("neighbours");
        Hubness(lists, labels, options.K, r);
        TwoNN(e, dim, lists, options, r);
        Diversity(lists, labels, options.K, r);
        Lap("hubness_twonn_diversity");

        // One seeded sample above SampleSize tracks, for the silhouette and the k-means fit alike (null: every track).
        int[]? sample = options.SampleSize > 0 && n > options.SampleSize ? Sample(n, options.SampleSize, options.Seed) : null;
        progress?.Invoke(0.7, "Geometry against composers");
        Geometry(e, rowNormSq, n, dim, labels, sample, options, r);
        Lap("geometry");
        progress?.Invoke(0.8, "k-means");
        Cluster(e, n, dim, labels, sample, options, r);
        Lap("clustering");
        progress?.Invoke(1, "Done");
        r.Seconds = seconds;
        return r;
    }

    /// <summary>Bad input: too few tracks for K, one composer only, a bad cluster count; rows are checked by
    /// <see cref="EvaluationData.Create"/> (lengths, NaN).</summary>
    private static void Validate(EvaluationData data, AnalysisOptions o, Evaluator.Labels labels)
    {
        if (o.K < 1)
            throw new MessException(MessErrorIds.InvalidK, MessErrorKind.InvalidArgument, $"K is {o.K}; it must be at least 1.", "K");
        if (o.K >= data.Count)
            throw new MessException(MessErrorIds.KTooLarge, MessErrorKind.InvalidArgument,
                $"K is {o.K} but {data.Source} holds {data.Count} tracks; K must be smaller than the number of tracks (each track has {data.Count - 1} others).", "K");
        if (labels.ComposerNames.Length < 2)
            throw new MessException(MessErrorIds.OneComposerOnly, MessErrorKind.InvalidData,
                $"All {data.Count} tracks of {data.Source} have the composer '{labels.ComposerNames[0]}'; the silhouette, the clusters' NMI and the composer figures need at least two composers.",
                labels.ComposerNames[0]);
        if (o.Clusters < 2 || o.Clusters > data.Count)
            throw new MessException(MessErrorIds.InvalidClusters, MessErrorKind.InvalidArgument,
                $"Clusters is {o.Clusters}; it must be between 2 and the number of tracks ({data.Count}).", "Clusters");
        if (o.SampleSize < 0 || (o.SampleSize > 0 && o.SampleSize < Math.Max(2, o.Clusters)))
            throw new MessException(MessErrorIds.InvalidSampleSize, MessErrorKind.InvalidArgument,
                $"SampleSize is {o.SampleSize}; it must be 0 (all tracks) or at least 2 and at least Clusters ({o.Clusters}), since k-means is fitted on the sample.", "SampleSize");
        if (o.UniformitySampleSize is < 0 or (> 0 and < 2))
            throw new MessException(MessErrorIds.InvalidSampleSize, MessErrorKind.InvalidArgument, $"UniformitySampleSize is {o.UniformitySampleSize}; it must be 0 (all tracks) or at least 2.", "UniformitySampleSize");
    }

    /// <summary>E: every row of unit length, and each row's |e_i|² in double (<see cref="SquaredNorm"/>). Rows as the
    /// embedding stage stores them (unit length to within float rounding, |‖x‖² − 1| ≤ D·2⁻²⁴) are used as they are,
    /// without a copy; otherwise every row is scaled to unit length in double precision into a copy (foreign files).
    /// A zero row is an error naming the track.</summary>
    private static (float[] E, double[] NormSq) Normalised(EvaluationData data, AnalysisOptions o)
    {
        int n = data.Count, dim = data.Dimension;
        var po = Parallelism(o);
        var normSq = new double[n];
        RowChunks(n, po, (from, to) =>
        {
            for (int i = from; i < to; i++) normSq[i] = SquaredNorm(data.Row(i));
        });
        int first = Array.IndexOf(normSq, 0.0);
        if (first >= 0)
            throw new MessException(MessErrorIds.EmbeddingZero, MessErrorKind.InvalidData,
                $"{data.Source}: row of track '{data.TrackIds[first]}' is all zeros, so it has no direction.", data.TrackIds[first]);
        double rounding = dim * Math.ScaleB(1.0, -24);
        if (Array.TrueForAll(normSq, q => Math.Abs(q - 1) <= rounding)) return (data.Vectors, normSq);
        var e = LargeArray.Uninitialized<float>((long)n * dim); // every row written below
        RowChunks(n, po, (from, to) =>
        {
            for (int i = from; i < to; i++)
            {
                var row = data.Row(i);
                double inv = 1 / Math.Sqrt(normSq[i]);
                var dst = e.AsSpan(i * dim, dim);
                for (int j = 0; j < dim; j++) dst[j] = (float)(row[j] * inv);
                normSq[i] = SquaredNorm(dst);
            }
        });
        return (e, normSq);
    }

    private static Action<double, string>? Scaled(AnalysisOptions o, double offset, double share) =>
        o.Progress is null ? null : (f, what) => o.Progress(offset + share * f, what);

    /// <summary>A seeded choice of <paramref name="size"/> of <paramref name="n"/> rows, ascending (partial Fisher-Yates).</summary>
    internal static int[] Sample(int n, int size, int seed)
    {
        var rng = new Random(seed);
        var pool = Enumerable.Range(0, n).ToArray();
        for (int i = 0; i < size; i++) { int j = i + rng.Next(n - i); (pool[i], pool[j]) = (pool[j], pool[i]); }
        var chosen = pool[..size];
        Array.Sort(chosen);
        return chosen;
    }

    /// <summary>The given rows of E one after another (a sample's own block), copied in parallel chunks: the new
    /// block's page faults cost more than the copy.</summary>
    internal static float[] Gather(float[] e, int dim, int[] rows, ParallelOptions po)
    {
        var block = LargeArray.Uninitialized<float>((long)rows.Length * dim);
        RowChunks(rows.Length, po, (from, to) =>
        {
            for (int t = from; t < to; t++) e.AsSpan(rows[t] * dim, dim).CopyTo(block.AsSpan(t * dim, dim));
        });
        return block;
    }

    /// <summary>|a − b|² in double: the differences widened from float, summed lane-wise (SIMD), then across lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int j = 0, w = Vector<float>.Count;
        var acc = Vector<double>.Zero;
        if (Vector.IsHardwareAccelerated)
            for (; j + w <= a.Length; j += w)
            {
                Vector.Widen(new Vector<float>(a[j..]), out var alo, out var ahi);
                Vector.Widen(new Vector<float>(b[j..]), out var blo, out var bhi);
                var dlo = alo - blo;
                var dhi = ahi - bhi;
                acc += dlo * dlo + dhi * dhi;
            }
        double s = Vector.Sum(acc);
        for (; j < a.Length; j++) { double d = (double)a[j] - b[j]; s += d * d; }
        return s;
    }

    /// <summary>|a|² in double: the values widened from float, squared and summed lane-wise (SIMD), then across lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double SquaredNorm(ReadOnlySpan<float> a)
    {
        int j = 0, w = Vector<float>.Count;
        var acc = Vector<double>.Zero;
        if (Vector.IsHardwareAccelerated)
            for (; j + w <= a.Length; j += w)
            {
                Vector.Widen(new Vector<float>(a[j..]), out var lo, out var hi);
                acc += lo * lo + hi * hi;
            }
        double s = Vector.Sum(acc);
        for (; j < a.Length; j++) s += (double)a[j] * a[j];
        return s;
    }

    /// <summary>Rows per chunk of the row-parallel passes (a fixed split, so no result depends on the thread count).</summary>
    private const int RowChunk = 2048;

    /// <summary>Rows [from, to) of n in chunks of <see cref="RowChunk"/>, in parallel. The body loops over its chunk
    /// itself, so its loop is compiled optimised (on-stack replacement) instead of a delegate call per row.</summary>
    private static void RowChunks(int n, ParallelOptions po, Action<int, int> body) =>
        Parallel.For(0, (n + RowChunk - 1) / RowChunk, po, c => body(c * RowChunk, Math.Min(n, c * RowChunk + RowChunk)));

    private static int Threads(AnalysisOptions o) => o.MaxThreads > 0 ? o.MaxThreads : Environment.ProcessorCount;

    private static ParallelOptions Parallelism(AnalysisOptions o) =>
        new() { MaxDegreeOfParallelism = Threads(o), CancellationToken = o.Cancellation };
}
