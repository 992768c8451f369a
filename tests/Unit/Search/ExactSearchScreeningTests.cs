using MessTools.Core.Search;
using Kernel = MessTools.Core.Search.ExactSearch.Kernel;

namespace MessTools.Tests.Unit.Search;

/// <summary>A fact that needs the int8 screen: skipped, with the reason shown, on a CPU without AVX2. The tests screen
/// with the tile of CPUs without AVX-VNNI (<see cref="ExactSearch.ScreenWithoutVnni"/>: VPMADDUBSW, a 6-bit query)
/// wherever they run; the first theory also with the CPU's own choice (VPDPBUSD where AVX-VNNI is there).</summary>
public sealed class ScreenFactAttribute : FactAttribute
{
    public ScreenFactAttribute() => Skip = ExactSearchScreeningTests.SkipReason;
}

/// <inheritdoc cref="ScreenFactAttribute"/>
public sealed class ScreenTheoryAttribute : TheoryAttribute
{
    public ScreenTheoryAttribute() => Skip = ExactSearchScreeningTests.SkipReason;
}

/// <summary>
/// The int8 screen (AVX-VNNI's tile, or the tile without it) must give the float pass's answers bit for bit: same rows, same scores, same order,
/// on data where the screen's bound is tight, loose, tied, or unusable.
/// </summary>
public class ExactSearchScreeningTests
{
    internal static string? SkipReason =>
        ExactSearch.Best != Kernel.Portable ? null : "this CPU has no AVX2: the int8 screen never runs here";

    /// <summary>Screens with the tile without VNNI on the calling thread until disposed (<paramref name="withoutVnni"/>
    /// false: the CPU's own tile). Each test body holds one, so the switch never outlives the test on a pooled thread.</summary>
    private static Switch Screening(bool withoutVnni = true) => new(withoutVnni);

    private readonly struct Switch : IDisposable
    {
        private readonly bool _was;
        public Switch(bool on) { _was = ExactSearch.ScreenWithoutVnni; ExactSearch.ScreenWithoutVnni = on; }
        public void Dispose() => ExactSearch.ScreenWithoutVnni = _was;
    }

    /// <summary>The float pass (the screen switched off by passing block sizes) against the public search, which
    /// must have screened (unless <paramref name="screens"/> is false) and sent <paramref name="fallbacks"/> queries
    /// to the float pass.</summary>
    private static void AssertScreenedEqualsFloat(float[] x, int n, int d, float[] q, int nq, int k, int threads = 2,
        bool screens = true, int fallbacks = 0)
    {
        ExactSearch.LastScreen = null;
        var screened = ExactSearch.Run(Kernel.Auto, x, n, d, q, nq, k, null, threads, false, null);
        if (screens)
        {
            Assert.True(ExactSearch.LastScreen is not null, "the screen did not run");
            Assert.Equal(fallbacks, ExactSearch.LastScreen!.Value.Fallbacks);
        }
        else Assert.Null(ExactSearch.LastScreen);
        var plain = ExactSearch.Run(Kernel.Auto, x, n, d, q, nq, k, null, threads, false, null,
            ExactSearch.QueryBlock, ExactSearch.DimBlock, ExactSearch.RowBlock);
        Assert.Equal(nq, screened.Length);
        for (int i = 0; i < nq; i++)
        {
            Assert.True(plain[i].Length == screened[i].Length, $"query {i}: {screened[i].Length} results, expected {plain[i].Length}");
            for (int r = 0; r < plain[i].Length; r++)
                Assert.True(plain[i][r] == screened[i][r], $"query {i} rank {r}: got {screened[i][r]}, expected {plain[i][r]}");
        }
    }

    private static float[] Normalised(int rows, int d, int seed, double clusterSpread = 0)
    {
        var rng = new Random(seed);
        var centres = Enumerable.Range(0, 8 * d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        var a = new float[rows * d];
        for (int r = 0; r < rows; r++)
        {
            int c = rng.Next(8);
            double norm = 0;
            for (int j = 0; j < d; j++)
            {
                double v = clusterSpread > 0 ? centres[c * d + j] + clusterSpread * (rng.NextDouble() * 2 - 1) : rng.NextDouble() * 2 - 1;
                a[r * d + j] = (float)v;
                norm += v * v;
            }
            for (int j = 0; j < d; j++) a[r * d + j] = (float)(a[r * d + j] / Math.Sqrt(norm));
        }
        return a;
    }

    [ScreenTheory]
    [InlineData(5000, 64, 40, 10, 0.0, 1, true)]
    [InlineData(4099, 130, 67, 5, 0.0, 2, true)]   // rows, dims and queries off every block size
    [InlineData(6000, 256, 50, 10, 0.05, 1, true)] // tight clusters: many rows within the bound of the K-th
    [InlineData(3000, 33, 33, 1, 0.3, 2, true)]
    [InlineData(5000, 64, 40, 10, 0.0, 1, false)]
    [InlineData(4099, 130, 67, 5, 0.0, 2, false)]
    [InlineData(6000, 256, 50, 10, 0.05, 1, false)]
    public void Screened_search_equals_the_float_pass_bit_for_bit(int n, int d, int nq, int k, double spread, int threads, bool withoutVnni)
    {
        using var screening = Screening(withoutVnni);
        var x = Normalised(n, d, n + d, spread);
        var q = Normalised(nq, d, n + d + 1, spread);
        AssertScreenedEqualsFloat(x, n, d, q, nq, k, threads);
    }

    /// <summary>The int8 rows live in a pooled buffer that the next search gets back with the last one's bytes in it:
    /// a search after a larger one, of another width, must still give its own float answers.</summary>
    [ScreenFact]
    public void A_search_after_a_larger_one_of_another_width_reuses_the_pooled_rows_without_their_bytes()
    {
        using var screening = Screening();
        var big = Normalised(6000, 64, 21);
        var bigQ = Normalised(40, 64, 22);
        AssertScreenedEqualsFloat(big, 6000, 64, bigQ, 40, 10);
        var small = Normalised(2500, 36, 23);
        var smallQ = Normalised(33, 36, 24);
        AssertScreenedEqualsFloat(small, 2500, 36, smallQ, 33, 10);
        AssertScreenedEqualsFloat(big, 6000, 64, bigQ, 40, 5, threads: 1);
    }

    [ScreenFact]
    public void Duplicate_rows_and_queries_equal_to_rows_tie_by_the_lower_id()
    {
        using var screening = Screening();
        int n = 4096, d = 48, nq = 40;
        var x = Normalised(n, d, 7);
        // Every row appears 4 times in a row, and each query is a row: exact ties at the top.
        for (int r = 0; r < n; r++) Array.Copy(x, (r / 4 * 4) * d, x, r * d, d);
        var q = new float[nq * d];
        for (int i = 0; i < nq; i++) Array.Copy(x, (i * 97 % n) * d, q, i * d, d);
        AssertScreenedEqualsFloat(x, n, d, q, nq, 10);
        var res = ExactSearch.Search(x, n, d, q, nq, 10);
        Assert.Equal(new[] { 0, 1, 2, 3 }.Select(o => 0 + o), res[0].Take(4).Select(r => r.Id)); // query 0 is row 0
    }

    [ScreenFact]
    public void Unnormalised_rows_of_very_different_lengths_still_give_the_float_answers()
    {
        using var screening = Screening();
        int n = 3000, d = 40, nq = 36;
        var x = Normalised(n, d, 11);
        var rng = new Random(3);
        for (int r = 0; r < n; r++)
        {
            float scale = (float)Math.Pow(10, rng.NextDouble() * 6 - 3);
            for (int j = 0; j < d; j++) x[r * d + j] *= scale;
        }
        var q = Normalised(nq, d, 12);
        AssertScreenedEqualsFloat(x, n, d, q, nq, 10);
    }

    [ScreenFact]
    public void A_zero_query_a_zero_row_and_a_query_with_nan_fall_back_and_agree()
    {
        using var screening = Screening();
        int n = 2500, d = 24, nq = 40;
        var x = Normalised(n, d, 21);
        Array.Clear(x, 5 * d, d);
        var q = Normalised(nq, d, 22);
        Array.Clear(q, 0, d);                 // every score 0: all rows tie, nothing pruned (2,500 fit under the cap)
        q[3 * d + 2] = float.NaN;             // not finite: the float pass answers it
        AssertScreenedEqualsFloat(x, n, d, q, nq, 5, fallbacks: 1);
        var res = ExactSearch.Search(x, n, d, q, nq, 5);
        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, res[0].Select(r => r.Id));
        Assert.Empty(res[3]); // NaN scores are never returned
    }

    [ScreenFact]
    public void A_row_that_is_not_finite_sends_the_whole_batch_to_the_float_pass()
    {
        using var screening = Screening();
        int n = 2500, d = 16, nq = 32;
        var x = Normalised(n, d, 31);
        x[100 * d] = float.PositiveInfinity;
        x[200 * d + 3] = float.NaN;
        var q = Normalised(nq, d, 32);
        AssertScreenedEqualsFloat(x, n, d, q, nq, 7, screens: false);
    }

    [ScreenFact]
    public void Progress_reaches_one_and_cancellation_stops_the_screen()
    {
        using var screening = Screening();
        int n = 4000, d = 32, nq = 64;
        var x = Normalised(n, d, 41);
        var q = Normalised(nq, d, 42);
        double last = 0;
        ExactSearch.Search(x, n, d, q, nq, 5, null, 1, new ExactSearchOptions { Progress = p => last = Math.Max(last, p) });
        Assert.Equal(1.0, last, 6);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            ExactSearch.Search(x, n, d, q, nq, 5, null, 1, new ExactSearchOptions { Cancellation = cts.Token }));
    }
}
