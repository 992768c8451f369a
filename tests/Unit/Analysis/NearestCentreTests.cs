using MessTools.Core.Analysis;

namespace MessTools.Tests.Unit.Analysis;

public class NearestCentreTests
{
    /// <summary>The blocked kernel gives each row the centre a plain loop gives (|c|² − 2 x·c, sequential FMA,
    /// ties to the lower centre), bit for bit, for row counts that leave a partial block, centre counts on both sides
    /// of the vector width, and rows given in any order (as the bounded k-means gathers them).</summary>
    [Theory]
    [InlineData(37, 13, 3)]
    [InlineData(64, 256, 10)]
    [InlineData(101, 7, 17)]
    [InlineData(9, 1, 2)]
    public unsafe void Scores_and_nearest_centres_equal_a_plain_loop(int n, int dim, int k)
    {
        var rng = new Random(n * 31 + k);
        var e = Enumerable.Range(0, n * dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var centres = Enumerable.Range(0, k * dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        // Two centres equal: ties must go to the lower one.
        Array.Copy(centres, 0, centres, (k - 1) * dim, dim);
        var kernel = new NearestCentre(k, dim);
        kernel.SetCentres(centres);
        // Rows in a shuffled order, so a block holds rows that are not neighbours in memory.
        var order = Enumerable.Range(0, n).OrderBy(_ => rng.Next()).ToArray();
        var scores = new float[NearestCentre.Rows * kernel.Stride];
        fixed (float* x = e)
        fixed (float* s = scores)
        {
            var addresses = stackalloc float*[NearestCentre.Rows];
            for (int b = 0; b < n; b += NearestCentre.Rows)
            {
                int rows = Math.Min(NearestCentre.Rows, n - b);
                for (int r = 0; r < rows; r++) addresses[r] = x + (nint)order[b + r] * dim;
                kernel.Score(addresses, rows, s);
                for (int r = 0; r < rows; r++)
                {
                    int i = order[b + r];
                    int best = 0;
                    double bestD = double.PositiveInfinity;
                    for (int c = 0; c < k; c++)
                    {
                        var centre = centres.AsSpan(c * dim, dim);
                        float dot = 0, norm = 0;
                        for (int j = 0; j < dim; j++)
                        {
                            dot = MathF.FusedMultiplyAdd(e[i * dim + j], centre[j], dot);
                            norm = MathF.FusedMultiplyAdd(centre[j], centre[j], norm);
                        }
                        Assert.Equal(dot, s[r * kernel.Stride + c]);
                        double d = norm - 2.0 * dot;
                        Assert.Equal(d, kernel.Value(s + r * kernel.Stride, c));
                        if (d < bestD) { bestD = d; best = c; }
                    }
                    Assert.Equal(best, kernel.Nearest(s + r * kernel.Stride, out double got));
                    Assert.Equal(bestD, got);
                    Assert.NotEqual(k - 1, best);
                }
            }
        }
    }
}
