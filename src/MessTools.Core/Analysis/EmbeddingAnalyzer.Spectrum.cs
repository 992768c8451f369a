using System.Numerics.Tensors;

namespace MessTools.Core.Analysis;

// Dimensionality: the D x D covariance of centred E, its eigenvalues, participation ratio, effective rank (RankMe),
// the 2-D PCA projection for the report; and the cross products linear CKA needs.
public static partial class EmbeddingAnalyzer
{
    private const int CrossBlock = 256;
    private const int CrossChunk = 8192;

    private static void Spectrum(float[] e, int n, int dim, AnalysisOptions o, EmbeddingAnalysis r)
    {
        var mean = ColumnMean(e, n, dim, Threads(o));
        var cov = CrossProduct(e, dim, mean, e, dim, mean, n, symmetric: true, Threads(o), o.Cancellation);
        foreach (var row in cov) for (int j = 0; j < dim; j++) row[j] /= n;
        var (values, vectors) = SymmetricEigen.Decompose(cov);
        for (int i = 0; i < values.Length; i++) if (values[i] < 0) values[i] = 0; // rounding below zero
        double sum = values.Sum(), sumSq = values.Sum(v => v * v);
        r.Eigenvalues = values;
        var cumulative = new double[values.Length];
        double acc = 0;
        for (int i = 0; i < values.Length; i++) { acc += values[i]; cumulative[i] = sum > 0 ? acc / sum : 1; }
        r.ExplainedVariance = cumulative;
        r.ComponentsFor90 = sum > 0 ? Array.FindIndex(cumulative, c => c >= 0.9 - 1e-12) + 1 : 0;
        r.ParticipationRatio = sumSq > 0 ? sum * sum / sumSq : 0;
        // sigma_k = sqrt(N lambda_k); the factor sqrt(N) cancels in p_k.
        var sigma = values.Select(Math.Sqrt).ToArray();
        double sigmaSum = sigma.Sum(), entropy = 0;
        foreach (double s in sigma)
        {
            if (s <= 0) continue;
            double p = s / sigmaSum;
            entropy -= p * Math.Log(p);
        }
        r.EffectiveRank = sigmaSum > 0 ? Math.Exp(entropy) : 0;

        (r.ScatterRows, r.ScatterXY) = Project(e, n, dim, mean, vectors, o.ScatterPoints, o.Seed);
    }

    /// <summary>
    /// A 2-D map of the embedding space: at most <paramref name="maxPoints"/> rows (a seeded sample beyond that) on the
    /// first two principal components; rows and x,y pairs. What the report's scatter and the server's /map show.
    /// </summary>
    public static (int[] Rows, double[] XY) Map(float[] e, int n, int dim, int maxPoints, int seed = 1, CancellationToken ct = default)
    {
        var mean = ColumnMean(e, n, dim, Environment.ProcessorCount);
        var cov = CrossProduct(e, dim, mean, e, dim, mean, n, symmetric: true, Environment.ProcessorCount, ct);
        var (_, vectors) = SymmetricEigen.Decompose(cov);
        return Project(e, n, dim, mean, vectors, maxPoints, seed);
    }

    /// <summary>A seeded sample of rows (all of them up to <paramref name="maxPoints"/>) on the first two principal components.</summary>
    private static (int[] Rows, double[] XY) Project(float[] e, int n, int dim, double[] mean, double[][] vectors, int maxPoints, int seed)
    {
        var rows = n <= maxPoints ? Enumerable.Range(0, n).ToArray() : Sample(n, Math.Max(1, maxPoints), seed);
        var xy = new double[rows.Length * 2];
        for (int t = 0; t < rows.Length; t++)
        {
            var row = e.AsSpan(rows[t] * dim, dim);
            double x = 0, y = 0;
            for (int j = 0; j < dim; j++)
            {
                double c = row[j] - mean[j];
                x += c * vectors[j][0];
                if (dim > 1) y += c * vectors[j][1];
            }
            xy[2 * t] = x; xy[2 * t + 1] = y;
        }
        return (rows, xy);
    }

    /// <summary>Each column's mean (<see cref="GroupSums"/>: the same bytes on any thread count).</summary>
    internal static double[] ColumnMean(float[] m, int n, int dim, int threads)
    {
        var mean = GroupSums(m, n, dim, null, 1, new ParallelOptions { MaxDegreeOfParallelism = threads })[0];
        for (int j = 0; j < dim; j++) mean[j] /= n;
        return mean;
    }

    /// <summary>
    /// (X - mean X)ᵀ (Y - mean Y) for N rows of X (dx columns) and Y (dy columns), in double precision. Rows are taken
    /// in fixed chunks of <see cref="CrossChunk"/>, in parallel: within a chunk, blocks of 256 rows are centred and
    /// transposed, and each 4 x 4 tile of column pairs is one SIMD pass per block; the chunks' sums are then added in
    /// chunk order, so they never depend on the thread count (same input, same bytes).
    /// </summary>
    internal static double[][] CrossProduct(float[] x, int dx, double[] meanX, float[] y, int dy, double[] meanY, int n,
        bool symmetric, int threads, CancellationToken ct)
    {
        int chunks = (n + CrossChunk - 1) / CrossChunk;
        var partial = new double[chunks][][];
        var po = new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = ct };
        Parallel.For(0, chunks, po, chunk =>
        {
            var sum = new double[dx][];
            for (int i = 0; i < dx; i++) sum[i] = new double[dy];
            int from = chunk * CrossChunk, to = Math.Min(n, from + CrossChunk), block = Math.Min(CrossBlock, to - from);
            var xt = new double[dx][];
            for (int i = 0; i < dx; i++) xt[i] = new double[block];
            double[][] yt = xt;
            if (!symmetric)
            {
                yt = new double[dy][];
                for (int i = 0; i < dy; i++) yt[i] = new double[block];
            }
            for (int r0 = from; r0 < to; r0 += block)
            {
                ct.ThrowIfCancellationRequested();
                int rows = Math.Min(block, to - r0);
                Transpose(x, dx, meanX, r0, rows, xt);
                if (!symmetric) Transpose(y, dy, meanY, r0, rows, yt);
                // Tiles of 4 x 4 columns: 16 dot products share each load.
                for (int i0 = 0; i0 < dx; i0 += 4)
                    for (int j0 = symmetric ? i0 : 0; j0 < dy; j0 += 4)
                    {
                        if (i0 + 4 <= dx && j0 + 4 <= dy) CrossTile(xt, i0, yt, j0, rows, sum);
                        else
                            for (int i = i0; i < Math.Min(dx, i0 + 4); i++)
                                for (int j = j0; j < Math.Min(dy, j0 + 4); j++)
                                    sum[i][j] += TensorPrimitives.Dot(new ReadOnlySpan<double>(xt[i], 0, rows), new ReadOnlySpan<double>(yt[j], 0, rows));
                    }
            }
            partial[chunk] = sum;
        });
        var result = partial[0];
        for (int c = 1; c < chunks; c++)
            for (int i = 0; i < dx; i++) TensorPrimitives.Add(result[i], partial[c][i], result[i]);
        if (symmetric)
            for (int i = 0; i < dx; i++)
                for (int j = 0; j < i; j++) result[i][j] = result[j][i];
        return result;
    }

    /// <summary>result[i0+a][j0+b] += the dot of x column i0+a and y column j0+b over the block's rows, a, b in 0..3.</summary>
    private static void CrossTile(double[][] xt, int i0, double[][] yt, int j0, int rows, double[][] result)
    {
        Span<double> sums = stackalloc double[16];
        DotTile.Dots4x4<double>(xt[i0].AsSpan(0, rows), xt[i0 + 1].AsSpan(0, rows), xt[i0 + 2].AsSpan(0, rows), xt[i0 + 3].AsSpan(0, rows),
            yt[j0].AsSpan(0, rows), yt[j0 + 1].AsSpan(0, rows), yt[j0 + 2].AsSpan(0, rows), yt[j0 + 3].AsSpan(0, rows), sums);
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) result[i0 + a][j0 + b] += sums[a * 4 + b];
    }

    private static void Transpose(float[] m, int dim, double[] mean, int r0, int rows, double[][] t)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = m.AsSpan((r0 + r) * dim, dim);
            for (int j = 0; j < dim; j++) t[j][r] = row[j] - mean[j];
        }
    }
}
