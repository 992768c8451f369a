using MessTools.Core.Analysis;
using MessTools.Tests.Infrastructure;

namespace MessTools.Tests.Unit.Analysis;

/// <summary>The bounded k-means (Elkan's bounds, fixed-point sums) against the same Lloyd iterations reading every row
/// every iteration: the same assignments, inertia and iteration count, bit for bit, on one thread or two.</summary>
public class KMeansTests
{
    public static TheoryData<string> Sets => new() { "clustered", "overlapping", "duplicates", "one-dimension" };

    [Theory]
    [MemberData(nameof(Sets))]
    public void Bounds_change_nothing_but_the_rows_read(string set)
    {
        var (e, n, dim, k) = Make(set);
        var full = EmbeddingAnalyzer.KMeans(e, n, dim, k, seed: 3, threads: 2, CancellationToken.None, bounds: false);
        var bounded = EmbeddingAnalyzer.KMeans(e, n, dim, k, seed: 3, threads: 2, CancellationToken.None);
        var oneThread = EmbeddingAnalyzer.KMeans(e, n, dim, k, seed: 3, threads: 1, CancellationToken.None);
        Assert.Equal(full.Assign, bounded.Assign);
        Assert.Equal(full.Inertia, bounded.Inertia);
        Assert.Equal(full.Iterations, bounded.Iterations);
        Assert.Equal(bounded.Assign, oneThread.Assign);
        Assert.Equal(bounded.Inertia, oneThread.Inertia);
        Assert.True(full.Iterations > 1, $"{set}: {full.Iterations} iteration(s) exercise no bound");
        Assert.DoesNotContain(-1, bounded.Assign);
    }

    /// <summary>Lloyd's fixed point: every row sits at its nearest centre, the centres being its cluster's means,
    /// and the inertia is the sum of those squared distances.</summary>
    [Theory]
    [MemberData(nameof(Sets))]
    public void The_result_is_a_fixed_point_of_Lloyd(string set)
    {
        var (e, n, dim, k) = Make(set);
        var (assign, inertia, _, _) = EmbeddingAnalyzer.KMeans(e, n, dim, k, seed: 5, threads: 2, CancellationToken.None);
        var means = new double[k, dim];
        var counts = new int[k];
        for (int i = 0; i < n; i++)
        {
            counts[assign[i]]++;
            for (int j = 0; j < dim; j++) means[assign[i], j] += e[i * dim + j];
        }
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            double Distance(int c)
            {
                double s = 0;
                for (int j = 0; j < dim; j++) { double d = e[i * dim + j] - means[c, j] / counts[c]; s += d * d; }
                return s;
            }
            double own = Distance(assign[i]);
            total += own;
            for (int c = 0; c < k; c++)
                if (counts[c] > 0) Assert.True(own <= Distance(c) + 1e-5, $"{set}: row {i} is nearer centre {c} than its own {assign[i]}");
        }
        Assert.Equal(total, inertia, 1e-3 * Math.Max(1, total));
    }

    private static (float[] E, int N, int Dim, int K) Make(string set)
    {
        switch (set)
        {
            case "clustered": return (Unit(SyntheticVectors.Clustered(3000, 32, 12, 0.4, 7), 32), 3000, 32, 8);
            case "overlapping": return (Unit(SyntheticVectors.Clustered(4000, 64, 40, 1.5, 9), 64), 4000, 64, 10);
            case "duplicates":
            {
                // Four distinct rows repeated, and k above them: coincident centres, ties and emptied clusters.
                var rng = new Random(2);
                var distinct = Enumerable.Range(0, 4 * 8).Select(_ => (float)rng.NextDouble()).ToArray();
                var e = new float[400 * 8];
                for (int i = 0; i < 400; i++) Array.Copy(distinct, (i * 7 % 4) * 8, e, i * 8, 8);
                return (e, 400, 8, 6);
            }
            default:
            {
                var rng = new Random(4);
                return (Enumerable.Range(0, 2000).Select(_ => (float)(rng.NextDouble() * 10)).ToArray(), 2000, 1, 5);
            }
        }
    }

    private static float[] Unit(float[] v, int dim)
    {
        for (int i = 0; i < v.Length / dim; i++)
        {
            var row = v.AsSpan(i * dim, dim);
            double s = 0;
            foreach (float x in row) s += (double)x * x;
            for (int j = 0; j < dim; j++) row[j] = (float)(row[j] / Math.Sqrt(s));
        }
        return v;
    }
}
