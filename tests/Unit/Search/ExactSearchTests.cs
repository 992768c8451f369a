using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MessTools.Core.Search;
using Kernel = MessTools.Core.Search.ExactSearch.Kernel;

namespace MessTools.Tests.Unit.Search;

public class ExactSearchTests
{
    /// <summary>The kernels this machine can run (the portable one always).</summary>
    public static TheoryData<string> Kernels()
    {
        var data = new TheoryData<string> { nameof(Kernel.Portable) };
        if (Fma.IsSupported && Avx.IsSupported) data.Add(nameof(Kernel.Avx2));
        if (Avx512F.IsSupported) data.Add(nameof(Kernel.Avx512));
        return data;
    }

    /// <summary>The reference: one dot product at a time, sort by score descending then id.</summary>
    private static Neighbor[][] Naive(float[] x, int n, int d, float[] q, int nq, int k, Func<int, int, bool>? exclude, bool self)
    {
        var res = new Neighbor[nq][];
        for (int i = 0; i < nq; i++)
        {
            var all = new List<Neighbor>();
            for (int j = 0; j < n; j++)
            {
                if (self && i == j) continue;
                if (exclude is not null && exclude(i, j)) continue;
                float s = ExactSearch.Dot(q.AsSpan(i * d, d), x.AsSpan(j * d, d));
                if (float.IsNaN(s)) continue;
                all.Add(new Neighbor(j, s));
            }
            res[i] = all.OrderByDescending(a => a.Score).ThenBy(a => a.Id).Take(k).ToArray();
        }
        return res;
    }

    private static float[] RandomFloats(int len, int seed)
    {
        var rng = new Random(seed);
        var a = new float[len];
        for (int i = 0; i < len; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }

    /// <summary>Values in {-1, -0.5, 0, 0.5, 1}: every sum is exact in float (any order), and ties are everywhere.</summary>
    private static float[] Quantized(int len, int seed)
    {
        var rng = new Random(seed);
        var a = new float[len];
        for (int i = 0; i < len; i++) a[i] = (rng.Next(5) - 2) * 0.5f;
        return a;
    }

    private static void AssertSame(Neighbor[][] expected, Neighbor[][] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(expected[i].Length == actual[i].Length, $"{what}: query {i}: {actual[i].Length} results, expected {expected[i].Length}");
            for (int r = 0; r < expected[i].Length; r++)
                Assert.True(expected[i][r] == actual[i][r],
                    $"{what}: query {i} rank {r}: got {actual[i][r]}, expected {expected[i][r]}");
        }
    }

    private static Kernel K(string name) => Enum.Parse<Kernel>(name);

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Ties_are_broken_by_lower_id_on_exactly_representable_data(string kernel)
    {
        // Small blocks so queries, rows and dimensions all cross block edges.
        foreach (var (n, d, nq, k) in new[] { (1, 1, 1, 3), (37, 3, 5, 4), (70, 17, 13, 10), (129, 33, 26, 7), (100, 300, 9, 5) })
        {
            var x = Quantized(n * d, n + d);
            var q = Quantized(nq * d, n * 3 + d);
            var expected = Naive(x, n, d, q, nq, k, null, self: false);
            foreach (var (qb, db, rb) in new[] { (0, 0, 0), (1, 8, 1), (13, 5, 40) })
                foreach (int threads in new[] { 1, 2, 3 })
                    AssertSame(expected, ExactSearch.Run(K(kernel), x, n, d, q, nq, k, null, threads, false, null, qb, db, rb),
                        $"{kernel} n={n} d={d} nq={nq} blocks=({qb},{db},{rb}) threads={threads}");
        }
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Random_data_matches_the_sequential_fma_reference_bit_for_bit(string kernel)
    {
        foreach (var (n, d, nq, k) in new[] { (500, 31, 40, 10), (333, 129, 17, 5), (257, 260, 3, 1) })
        {
            var x = RandomFloats(n * d, 1 + n);
            var q = RandomFloats(nq * d, 2 + n);
            var expected = Naive(x, n, d, q, nq, k, null, self: false);
            var actual = ExactSearch.Run(K(kernel), x, n, d, q, nq, k, null, 2, false, null, 0, 64, 96);
            if (kernel == nameof(Kernel.Portable))
            {
                // Multiply-then-add rounds differently: same ids where scores are not within rounding of each other.
                for (int i = 0; i < nq; i++)
                {
                    Assert.Equal(expected[i].Length, actual[i].Length);
                    for (int r = 0; r < k; r++)
                        Assert.True(Math.Abs(expected[i][r].Score - actual[i][r].Score) < 1e-4f, $"query {i} rank {r}");
                }
            }
            else AssertSame(expected, actual, $"{kernel} n={n} d={d}");
        }
    }

    [Fact]
    public void Public_search_agrees_with_the_reference_and_is_sorted()
    {
        int n = 1000, d = 64, nq = 50, k = 8;
        var x = RandomFloats(n * d, 5);
        var q = RandomFloats(nq * d, 6);
        var res = ExactSearch.Search(x, n, d, q, nq, k);
        if (ExactSearch.Best != Kernel.Portable) AssertSame(Naive(x, n, d, q, nq, k, null, false), res, "Search");
        foreach (var row in res)
            for (int r = 1; r < row.Length; r++)
                Assert.True(row[r - 1].Score > row[r].Score || (row[r - 1].Score == row[r].Score && row[r - 1].Id < row[r].Id));
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void AllPairs_excludes_the_row_itself_and_honours_k_larger_than_the_catalogue(string kernel)
    {
        int n = 23, d = 5;
        var x = Quantized(n * d, 9);
        foreach (int k in new[] { 1, 5, 22, 23, 100 })
        {
            var expected = Naive(x, n, d, x, n, k, null, self: true);
            var actual = ExactSearch.Run(K(kernel), x, n, d, x, n, k, null, 2, true, null);
            AssertSame(expected, actual, $"{kernel} k={k}");
            Assert.All(actual, (row, i) => Assert.Equal(Math.Min(k, n - 1), row.Length));
            Assert.All(actual, (row, i) => Assert.DoesNotContain(row, nb => nb.Id == i));
        }
        AssertSame(Naive(x, n, d, x, n, 4, null, true), ExactSearch.AllPairs(x, n, d, 4), "public AllPairs");
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Symmetric_all_pairs_pass_equals_the_one_directional_pass(string kernel)
    {
        // AllPairs scores each pair once and offers it both ways; a copy of the rows as queries takes the plain path.
        foreach (var (n, d, k, qb) in new[] { (300, 9, 7, 1), (517, 20, 3, 40), (129, 70, 12, 0) })
        {
            var x = Quantized(n * d, n);
            PairFilter filter = (q, c) => (q + 2 * c) % 11 != 0; // not symmetric on purpose
            foreach (var ex in new[] { null, filter })
            {
                var plain = ExactSearch.Run(K(kernel), x, n, d, (float[])x.Clone(), n, k, ex, 2, true, null, qb, 16, 64);
                var sym = ExactSearch.Run(K(kernel), x, n, d, x, n, k, ex, 3, true, null, qb, 16, 64);
                AssertSame(plain, sym, $"{kernel} n={n} filter={ex is not null}");
                if (ex is null) AssertSame(Naive(x, n, d, x, n, k, null, true), sym, "naive");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Exclusion_filter_removes_candidates_and_the_next_best_take_their_place(string kernel)
    {
        int n = 90, d = 7;
        var x = Quantized(n * d, 21);
        PairFilter filter = (qi, ci) => (qi / 10) != (ci / 10) && ci % 7 != 3; // "same album" = same group of 10
        var expected = Naive(x, n, d, x, n, 6, (a, b) => !filter(a, b), self: true);
        var actual = ExactSearch.Run(K(kernel), x, n, d, x, n, 6, filter, 3, true, null, 12, 3, 32);
        AssertSame(expected, actual, kernel);
        Assert.All(actual, (row, i) => Assert.All(row, nb => Assert.True(filter(i, nb.Id))));
        Assert.All(actual, row => Assert.Equal(6, row.Length));
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Few_queries_read_rows_in_place_and_agree_bit_for_bit_with_the_packed_path(string kernel)
    {
        // Fewer queries than the micro-kernel's rows take the gather path; one more takes the packed path.
        foreach (var (n, d) in new[] { (1, 5), (15, 3), (16, 16), (1000, 37), (333, 300) })
        {
            var x = RandomFloats(n * d, n + d);
            for (int nq = 1; nq <= 13; nq += 3)
            {
                var q = RandomFloats(nq * d, nq);
                var expected = Naive(x, n, d, q, nq, 7, null, false);
                foreach (int threads in new[] { 1, 3 })
                {
                    var actual = ExactSearch.Run(K(kernel), x, n, d, q, nq, 7, (qi, c) => c % 10 != qi, threads, false, null);
                    var expectedFiltered = Naive(x, n, d, q, nq, 7, (qi, c) => c % 10 == qi, false);
                    if (kernel == nameof(Kernel.Portable))
                        Assert.All(actual.Zip(expectedFiltered), t => Assert.Equal(t.Second.Length, t.First.Length));
                    else AssertSame(expectedFiltered, actual, $"{kernel} n={n} d={d} nq={nq} threads={threads}");
                }
                if (kernel != nameof(Kernel.Portable))
                    AssertSame(expected, ExactSearch.Run(K(kernel), x, n, d, q, nq, 7, null, 2, false, null), $"{kernel} n={n} nq={nq}");
            }
        }
    }

    [Fact]
    public void A_huge_k_is_capped_at_the_row_count()
    {
        var x = Quantized(3000 * 4, 2);
        var res = ExactSearch.AllPairs(x, 3000, 4, int.MaxValue);
        Assert.All(res, r => Assert.Equal(2999, r.Length));
        Assert.Equal(3000, ExactSearch.Search(x, 3000, 4, x, 2, 1_000_000_000)[1].Length);
    }

    [Fact]
    public void Everything_excluded_gives_empty_results_not_padding()
    {
        var x = Quantized(10 * 4, 1);
        var res = ExactSearch.AllPairs(x, 10, 4, 3, (_, _) => false);
        Assert.All(res, r => Assert.Empty(r));
    }

    [Fact]
    public void One_query_over_many_rows_splits_the_rows_between_threads_and_merges_exactly()
    {
        int n = 5000, d = 40;
        var x = Quantized(n * d, 33);
        var q = Quantized(d, 34);
        var expected = Naive(x, n, d, q, 1, 25, null, false);
        foreach (int threads in new[] { 1, 2, 4, 7 })
            AssertSame(expected, ExactSearch.Search(x, n, d, q, 1, 25, null, threads), $"threads={threads}");
    }

    [Fact]
    public void Nan_scores_are_never_returned()
    {
        int n = 6, d = 3;
        var x = new float[] { 1, 0, 0, float.NaN, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, -1, 0, 0 };
        var q = new float[] { 1, 0.5f, 0 };
        var res = ExactSearch.Search(x, n, d, q, 1, 10);
        Assert.Equal(new[] { 4, 0, 2, 5, }.Take(3), res[0].Select(r => r.Id).Take(3));
        Assert.DoesNotContain(res[0], r => r.Id == 1);
        Assert.Equal(5, res[0].Length);
        Assert.Equal(new[] { 1.5f, 1f, 0.5f, 0f, -1f }, res[0].Select(r => r.Score));
        Assert.Equal(new[] { 4, 0, 2, 3, 5 }, res[0].Select(r => r.Id));
    }

    [Fact]
    public void Empty_inputs_and_k_zero_give_empty_rows()
    {
        Assert.Empty(ExactSearch.Search(new float[8], 2, 4, Array.Empty<float>(), 0, 3));
        Assert.All(ExactSearch.Search(Array.Empty<float>(), 0, 4, new float[8], 2, 3), r => Assert.Empty(r));
        Assert.All(ExactSearch.Search(new float[8], 2, 4, new float[8], 2, 0), r => Assert.Empty(r));
        Assert.All(ExactSearch.AllPairs(new float[4], 1, 4, 5), r => Assert.Empty(r));
    }

    [Fact]
    public void Bad_arguments_are_refused_with_the_reason()
    {
        Assert.Throws<ArgumentException>(() => ExactSearch.Search(new float[7], 2, 4, new float[4], 1, 1));
        Assert.Throws<ArgumentException>(() => ExactSearch.Search(new float[8], 2, 4, new float[4], 2, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExactSearch.Search(new float[8], 2, 0, new float[4], 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExactSearch.Search(new float[8], 2, 4, new float[4], 1, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExactSearch.Search(new float[8], 2, 4, new float[4], 1, 1, null, -2));
        Assert.Throws<ArgumentNullException>(() => ExactSearch.AllPairs(null!, 2, 4, 1));
    }

    [Fact]
    public void Cancellation_stops_the_search()
    {
        var x = RandomFloats(4000 * 32, 3);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            ExactSearch.AllPairs(x, 4000, 32, 5, null, 2, new ExactSearchOptions { Cancellation = cts.Token }));
    }

    [Fact]
    public void Progress_reaches_one()
    {
        var x = RandomFloats(3000 * 16, 3);
        double last = 0;
        ExactSearch.AllPairs(x, 3000, 16, 5, null, 2, new ExactSearchOptions { Progress = f => { lock (x) last = Math.Max(last, f); } });
        Assert.Equal(1.0, last, 6);
    }
}
