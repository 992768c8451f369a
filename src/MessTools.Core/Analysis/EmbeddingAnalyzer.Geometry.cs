using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using MessTools.Core.Evaluation;

namespace MessTools.Core.Analysis;

// Geometry against the composer labels: alignment, uniformity, silhouette (cosine), per-composer cosines, and the
// mean pairwise cosine. Pair means over a composer come from its row sum S_c: sum over pairs i<j of e_i.e_j =
// (|S_c|^2 - sum |e_i|^2) / 2, so they cost O(N D) instead of O(N^2 D).
public static partial class EmbeddingAnalyzer
{
    private static void Geometry(float[] e, double[] rowNormSq, int n, int dim, Evaluator.Labels labels, int[]? sample, AnalysisOptions o, EmbeddingAnalysis r)
    {
        int nc = labels.ComposerNames.Length;
        var count = new int[nc];
        var normSq = new double[nc]; // sum of |e_i|^2 per composer
        var total = new double[dim];
        var sums = GroupSums(e, n, dim, labels.Composer, nc, Parallelism(o));
        foreach (var s in sums) TensorPrimitives.Add(total, s, total);
        for (int i = 0; i < n; i++) { count[labels.Composer[i]]++; normSq[labels.Composer[i]] += rowNormSq[i]; }
        double allNormSq = normSq.Sum();
        double alignSum = 0, alignPairs = 0;
        r.PerComposer = new List<ComposerGeometry>(nc);
        for (int c = 0; c < nc; c++)
        {
            double within = Dot(sums[c], sums[c]);
            double toOthers = Dot(sums[c], total) - within;
            long m = count[c];
            // sum over pairs of |e_i - e_j|^2 = m sum |e_i|^2 - |S_c|^2
            alignSum += m * normSq[c] - within;
            alignPairs += m * (m - 1) / 2.0;
            r.PerComposer.Add(new ComposerGeometry
            {
                Composer = labels.ComposerNames[c],
                Count = count[c],
                MeanWithinCosine = m > 1 ? (within - normSq[c]) / (m * (m - 1)) : null,
                MeanCosineToOthers = n - m > 0 ? toOthers / (m * (double)(n - m)) : null,
            });
        }
        r.Alignment = alignPairs > 0 ? alignSum / alignPairs : null;
        r.MeanPairwiseCosine = (Dot(total, total) - allNormSq) / ((double)n * (n - 1));

        var rows = sample ?? Enumerable.Range(0, n).ToArray();
        r.SampleSize = sample?.Length;
        r.Silhouette = Silhouette(e, dim, rows, labels, o);
        bool pairSampled = o.UniformitySampleSize > 0 && n > o.UniformitySampleSize;
        r.UniformitySampleSize = pairSampled ? o.UniformitySampleSize : null;
        r.Uniformity = Uniformity(e, rowNormSq, dim, pairSampled ? Sample(n, o.UniformitySampleSize, o.Seed) : Enumerable.Range(0, n).ToArray(), o);
    }

    private static double Dot(double[] a, double[] b) => TensorPrimitives.Dot<double>(a, b);

    private const int GeometryChunk = 8192;

    /// <summary>The rows of each group summed in double (row i in group[i]; every row in group 0 when null): the rows
    /// summed SIMD-widened in fixed chunks of <see cref="GeometryChunk"/>, in parallel, and the chunks' sums added in
    /// chunk order, so they are the same bytes on any thread count.</summary>
    internal static double[][] GroupSums(float[] e, int n, int dim, int[]? group, int groups, ParallelOptions po)
    {
        int chunks = (n + GeometryChunk - 1) / GeometryChunk;
        var partial = new double[chunks][];
        Parallel.For(0, chunks, po, c =>
        {
            var p = partial[c] = new double[groups * dim];
            for (int i = c * GeometryChunk, to = Math.Min(n, i + GeometryChunk); i < to; i++)
                AddWidened(e.AsSpan(i * dim, dim), p.AsSpan((group is null ? 0 : group[i]) * dim, dim));
        });
        var sums = new double[groups][];
        for (int g = 0; g < groups; g++) sums[g] = new double[dim];
        foreach (var p in partial)
            for (int g = 0; g < groups; g++) TensorPrimitives.Add(sums[g], p.AsSpan(g * dim, dim), sums[g]);
        return sums;
    }

    /// <summary>target[j] += source[j] in double, SIMD-widened.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddWidened(ReadOnlySpan<float> source, Span<double> target)
    {
        int j = 0, w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
            for (; j + w <= source.Length; j += w)
            {
                Vector.Widen(new Vector<float>(source[j..]), out var lo, out var hi);
                (new Vector<double>(target[j..]) + lo).CopyTo(target[j..]);
                (new Vector<double>(target[(j + w / 2)..]) + hi).CopyTo(target[(j + w / 2)..]);
            }
        for (; j < source.Length; j++) target[j] += source[j];
    }

    /// <summary>scikit-learn's silhouette_score(metric="cosine") on <paramref name="rows"/>: cosine distance
    /// 1 - e_i.e_j, a track's own distance 0, a composer with one track in the rows scores 0. Null when the
    /// rows hold one composer only.</summary>
    private static double? Silhouette(float[] e, int dim, int[] rows, Evaluator.Labels labels, AnalysisOptions o)
    {
        int nc = labels.ComposerNames.Length;
        var sums = new double[nc][];
        var count = new int[nc];
        foreach (int i in rows)
        {
            int c = labels.Composer[i];
            sums[c] ??= new double[dim];
            count[c]++;
            var row = e.AsSpan(i * dim, dim);
            var s = sums[c];
            for (int j = 0; j < dim; j++) s[j] += row[j];
        }
        var present = Enumerable.Range(0, nc).Where(c => count[c] > 0).ToArray();
        if (present.Length < 2) return null;
        // x · S_c for 4 rows against 4 composers at a time (DotTile); composers padded with a zero sum.
        int slots = (present.Length + 3) / 4 * 4;
        var zero = new double[dim];
        var columns = Enumerable.Range(0, slots).Select(p => p < present.Length ? sums[present[p]] : zero).ToArray();
        var slotOf = new int[nc];
        for (int p = 0; p < present.Length; p++) slotOf[present[p]] = p;
        var score = new double[rows.Length];
        var po = Parallelism(o);
        Parallel.For(0, (rows.Length + 3) / 4, po,
            () => (X: Enumerable.Range(0, 4).Select(_ => new double[dim]).ToArray(), Dots: new double[4 * slots], Tile: new double[16]),
            (block, _, w) =>
        {
            int t0 = block * 4, tn = Math.Min(4, rows.Length - t0);
            for (int a = 0; a < 4; a++)
            {
                var row = e.AsSpan(rows[t0 + Math.Min(a, tn - 1)] * dim, dim);
                for (int j = 0; j < dim; j++) w.X[a][j] = row[j];
            }
            for (int p = 0; p < slots; p += 4)
            {
                DotTile.Dots4x4<double>(w.X[0], w.X[1], w.X[2], w.X[3], columns[p], columns[p + 1], columns[p + 2], columns[p + 3], w.Tile);
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) w.Dots[a * slots + p + b] = w.Tile[a * 4 + b];
            }
            for (int a = 0; a < tn; a++)
            {
                int t = t0 + a, own = labels.Composer[rows[t]];
                if (count[own] < 2) { score[t] = 0; continue; }
                var x = w.X[a];
                double self = 1 - Dot(x, x);
                double aa = (count[own] - w.Dots[a * slots + slotOf[own]] - self) / (count[own] - 1);
                double bb = double.PositiveInfinity;
                foreach (int c in present)
                    if (c != own) bb = Math.Min(bb, (count[c] - w.Dots[a * slots + slotOf[c]]) / count[c]);
                double den = Math.Max(aa, bb);
                score[t] = den > 0 ? (bb - aa) / den : 0;
            }
            return w;
        }, _ => { });
        return score.Sum() / rows.Length;
    }

    /// <summary>ln of the mean over pairs of <paramref name="rows"/> of exp(-2 |e_i - e_j|^2). The rows are gathered
    /// into one block and the pairs taken 4 x 4 at a time (16 dot products share each load); each row's sum over the
    /// rows after it runs in row order and the sums are added in row order (the same bytes every run, any thread count).</summary>
    private static double Uniformity(float[] e, double[] rowNormSq, int dim, int[] rows, AnalysisOptions o)
    {
        int m = rows.Length;
        var s = Gather(e, dim, rows, Parallelism(o));
        var norms = new double[m];
        for (int t = 0; t < m; t++) norms[t] = rowNormSq[rows[t]];
        var partial = new double[m];
        var po = Parallelism(o);
        Parallel.For(0, (m + 3) / 4, po, () => new float[16], (tile, _, dots) =>
        {
            int t0 = tile * 4, tn = Math.Min(4, m - t0);
            var sums = new double[4];
            for (int u0 = t0; u0 < m; u0 += 4)
            {
                int un = Math.Min(4, m - u0);
                GramTile(s, dim, t0, tn, u0, un, dots);
                for (int a = 0; a < tn; a++)
                    for (int b = 0; b < un; b++)
                    {
                        int t = t0 + a, u = u0 + b;
                        if (u <= t) continue;
                        double d2 = Math.Max(0, norms[t] + norms[u] - 2 * (double)dots[a * 4 + b]);
                        sums[a] += Math.Exp(-2 * d2);
                    }
            }
            for (int a = 0; a < tn; a++) partial[t0 + a] = sums[a];
            return dots;
        }, _ => { });
        double pairs = (double)m * (m - 1) / 2;
        return Math.Log(partial.Sum() / pairs);
    }

    /// <summary>dots[a*4+b] = row (t0+a) · row (u0+b) of the row-major block <paramref name="s"/>, for a &lt; tn, b &lt; un.</summary>
    private static void GramTile(float[] s, int dim, int t0, int tn, int u0, int un, float[] dots)
    {
        if (tn < 4 || un < 4)
        {
            for (int a = 0; a < tn; a++)
                for (int b = 0; b < un; b++)
                    dots[a * 4 + b] = TensorPrimitives.Dot<float>(s.AsSpan((t0 + a) * dim, dim), s.AsSpan((u0 + b) * dim, dim));
            return;
        }
        DotTile.Dots4x4<float>(s.AsSpan(t0 * dim, dim), s.AsSpan((t0 + 1) * dim, dim), s.AsSpan((t0 + 2) * dim, dim), s.AsSpan((t0 + 3) * dim, dim),
            s.AsSpan(u0 * dim, dim), s.AsSpan((u0 + 1) * dim, dim), s.AsSpan((u0 + 2) * dim, dim), s.AsSpan((u0 + 3) * dim, dim), dots);
    }
}
