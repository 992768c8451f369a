using MessTools.Core.Analysis;
using MessTools.Core.Search;

namespace MessTools.Tests.Unit.Analysis;

public class NearestCentreTests
{
    /// <summary>The blocked kernel gives each row the centre a plain loop gives (|c|² − 2 x·c, sequential FMA,
    /// ties to the lower centre), bit for bit, and the same centre sums, for row counts that leave a partial block and centre counts on both
    /// sides of the vector width.</summary>
    [Theory]
    [InlineData(37, 13, 3)]
    [InlineData(64, 256, 10)]
    [InlineData(101, 7, 17)]
    [InlineData(9, 1, 2)]
    public void Assignments_and_distances_equal_a_plain_loop(int n, int dim, int k)
    {
        var rng = new Random(n * 31 + k);
        var e = Enumerable.Range(0, n * dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var centres = Enumerable.Range(0, k * dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        // Two centres equal: ties must go to the lower one.
        Array.Copy(centres, 0, centres, (k - 1) * dim, dim);
        var rowNorms = Enumerable.Range(0, n).Select(i => (double)ExactSearch.Dot(e.AsSpan(i * dim, dim), e.AsSpan(i * dim, dim))).ToArray();

        var kernel = new NearestCentre(k, dim);
        kernel.SetCentres(centres);
        var assign = Enumerable.Repeat(-1, n).ToArray();
        var dist = new double[n];
        int changed = kernel.Assign(e, 0, n, rowNorms, assign, dist, new double[k * dim], new int[k]);
        Assert.Equal(n, changed);
        var sums = new double[k * dim];
        var counts = new int[k];
        Assert.Equal(0, kernel.Assign(e, 0, n, rowNorms, assign, dist, sums, counts));

        for (int i = 0; i < n; i++)
        {
            int best = 0;
            double bestD = double.PositiveInfinity;
            for (int c = 0; c < k; c++)
            {
                var centre = centres.AsSpan(c * dim, dim);
                double d = ExactSearch.Dot(centre, centre) - 2.0 * ExactSearch.Dot(e.AsSpan(i * dim, dim), centre);
                if (d < bestD) { bestD = d; best = c; }
            }
            Assert.Equal(best, assign[i]);
            Assert.Equal(Math.Max(0, bestD + rowNorms[i]), dist[i]);
            Assert.NotEqual(k - 1, assign[i]);
        }
        // Each centre's sum of its rows, in double, in row order; and its count.
        var expectedSums = new double[k * dim];
        var expectedCounts = new int[k];
        for (int i = 0; i < n; i++)
        {
            expectedCounts[assign[i]]++;
            for (int j = 0; j < dim; j++) expectedSums[assign[i] * dim + j] += e[i * dim + j];
        }
        Assert.Equal(expectedCounts, counts);
        Assert.Equal(expectedSums, sums);
    }
}
