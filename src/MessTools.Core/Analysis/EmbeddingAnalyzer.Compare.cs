using MessTools.Core.Common;
using MessTools.Core.Evaluation;
using MessTools.Core.Search;

namespace MessTools.Core.Analysis;

// Comparing two models over the tracks both hold: linear CKA, the K-neighbour Jaccard overlap, per-composer P@K.
public static partial class EmbeddingAnalyzer
{
    /// <summary><paramref name="a"/> and <paramref name="b"/> must hold the same tracks (both are ordered by track_id).</summary>
    public static Comparison Compare(EvaluationData a, EvaluationData b, AnalysisOptions options) => Compare(a, b, options, options.Progress);

    private static Comparison Compare(EvaluationData a, EvaluationData b, AnalysisOptions o, Action<double, string>? progress)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count || !a.TrackIds.SequenceEqual(b.TrackIds, StringComparer.Ordinal))
            throw new MessException(MessErrorIds.CompareTracksDiffer, MessErrorKind.InvalidArgument,
                $"The two embedding sets must hold the same tracks to be compared ({a.Count} and {b.Count} tracks).");
        var labels = new Evaluator.Labels(a);
        Validate(a, o, labels);
        int n = a.Count;
        var (x, _) = Normalised(a, o);
        var (y, _) = Normalised(b, o);
        progress?.Invoke(0, "Linear CKA");
        double cka = Cka(x, a.Dimension, y, b.Dimension, n, Threads(o), o.Cancellation);
        progress?.Invoke(0.1, "Neighbours of both models");
        var searchOptions = new ExactSearchOptions { Cancellation = o.Cancellation };
        var la = ExactSearch.AllPairs(x, n, a.Dimension, o.K, null, o.MaxThreads, searchOptions);
        progress?.Invoke(0.55, "Neighbours of both models");
        var lb = ExactSearch.AllPairs(y, n, b.Dimension, o.K, null, o.MaxThreads, searchOptions);
        double jaccard = 0;
        for (int q = 0; q < n; q++)
        {
            var sa = la[q].Select(nb => nb.Id).ToHashSet();
            int inter = lb[q].Count(nb => sa.Contains(nb.Id));
            int union = la[q].Length + lb[q].Length - inter;
            jaccard += union > 0 ? inter / (double)union : 1;
        }
        int nc = labels.ComposerNames.Length;
        var pa = new double[nc]; var pb = new double[nc]; var count = new int[nc];
        for (int q = 0; q < n; q++)
        {
            int c = labels.Composer[q];
            int available = labels.RelevantAvailable(q, false);
            pa[c] += Metrics.ForQuery(la[q], o.K, id => labels.Composer[id] == c, available).Precision;
            pb[c] += Metrics.ForQuery(lb[q], o.K, id => labels.Composer[id] == c, available).Precision;
            count[c]++;
        }
        progress?.Invoke(1, "Done");
        return new Comparison
        {
            Model = a.Model, CompareModel = b.Model, SharedTracks = n, K = o.K, Cka = cka, NeighborJaccard = jaccard / n,
            PrecisionAtK = pa.Sum() / n, ComparePrecisionAtK = pb.Sum() / n,
            PerComposer = Enumerable.Range(0, nc).Select(c => new ComposerPrecision
            {
                Composer = labels.ComposerNames[c], Tracks = count[c], PrecisionAtK = pa[c] / count[c], ComparePrecisionAtK = pb[c] / count[c],
            }).ToList(),
        };
    }

    /// <summary>Linear CKA = |XᵀY|_F² / (|XᵀX|_F |YᵀY|_F) on column-centred X (N x dx) and Y (N x dy).</summary>
    public static double Cka(float[] x, int dx, float[] y, int dy, int n, int threads = 0, CancellationToken ct = default)
    {
        if ((long)n * dx != x.Length || (long)n * dy != y.Length)
            throw new MessException(MessErrorIds.CompareTracksDiffer, MessErrorKind.InvalidArgument,
                $"CKA needs two matrices of the same rows: {x.Length / Math.Max(1, dx)} x {dx} and {y.Length / Math.Max(1, dy)} x {dy} for {n} rows.");
        if (threads <= 0) threads = Environment.ProcessorCount;
        var mx = ColumnMean(x, n, dx, threads);
        var my = ColumnMean(y, n, dy, threads);
        double xy = FrobeniusSquared(CrossProduct(x, dx, mx, y, dy, my, n, symmetric: false, threads, ct));
        double xx = FrobeniusSquared(CrossProduct(x, dx, mx, x, dx, mx, n, symmetric: true, threads, ct));
        double yy = FrobeniusSquared(CrossProduct(y, dy, my, y, dy, my, n, symmetric: true, threads, ct));
        double den = Math.Sqrt(xx) * Math.Sqrt(yy);
        return den > 0 ? xy / den : 0;
    }

    private static double FrobeniusSquared(double[][] m) => m.Sum(row => row.Sum(v => v * v));
}
