using MessTools.Core.Common;
using MessTools.Core.Index;
using MessTools.Core.Search;

namespace MessTools.Tests.Unit.Index;

public class HnswIndexTests
{
    private const int Dim = 48;

    private static double Recall(HnswIndex index, float[] data, float[] queries, int k, int ef = 0)
    {
        int nq = queries.Length / Dim, hits = 0;
        for (int q = 0; q < nq; q++)
        {
            var query = queries.AsSpan(q * Dim, Dim);
            var truth = IndexTestData.BruteForce(data, Dim, query, k).ToHashSet();
            hits += index.Search(query, k, null, ef).Count(n => truth.Contains(n.Id));
        }
        return hits / (double)(nq * k);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Recall_at_10_is_at_least_0_99_on_a_clustered_set_at_the_default_efSearch(int threads)
    {
        var all = IndexTestData.Clustered(4200, Dim, 40, 0.6, seed: 11);
        var data = all[..(4000 * Dim)];
        var queries = all[(4000 * Dim)..];
        var index = HnswIndex.Build(IndexTestData.Ids(4000), data.ToArray(), Dim, new HnswParameters(), maxThreads: threads);
        Assert.Equal(4000, index.LiveCount);
        double recall = Recall(index, data, queries, 10);
        Assert.True(recall >= 0.99, $"recall@10 {recall:F4} at efSearch {index.Parameters.EfSearch}");
    }

    [Fact]
    public void Results_are_sorted_best_first_with_true_inner_products()
    {
        var data = IndexTestData.Clustered(1000, Dim, 10, 0.5, seed: 3);
        var index = HnswIndex.Build(IndexTestData.Ids(1000), data.ToArray(), Dim, new HnswParameters { M = 8, EfConstruction = 64 });
        var q = data.AsSpan(5 * Dim, Dim);
        var res = index.Search(q, 20);
        Assert.Equal(20, res.Length);
        Assert.Equal(5, res[0].Id);
        for (int i = 0; i < res.Length; i++)
        {
            float s = 0;
            for (int d = 0; d < Dim; d++) s += data[res[i].Id * Dim + d] * q[d];
            Assert.Equal(s, res[i].Score, 4);
            if (i > 0) Assert.True(res[i - 1].Score >= res[i].Score);
        }
    }

    [Fact]
    public void A_filter_excludes_nodes_but_keeps_them_walkable()
    {
        var data = IndexTestData.Clustered(2000, Dim, 20, 0.6, seed: 5);
        var index = HnswIndex.Build(IndexTestData.Ids(2000), data.ToArray(), Dim, new HnswParameters());
        int hits = 0, total = 0;
        for (int q = 0; q < 50; q++)
        {
            var query = data.AsSpan(q * 37 * Dim, Dim);
            var res = index.Search(query, 10, n => n % 2 == 0);
            Assert.All(res, r => Assert.True(r.Id % 2 == 0));
            var truth = IndexTestData.BruteForce(data, Dim, query, 10, i => i % 2 == 0).ToHashSet();
            hits += res.Count(r => truth.Contains(r.Id));
            total += 10;
        }
        Assert.True(hits >= 0.98 * total, $"filtered recall {hits}/{total}");
    }

    [Fact]
    public void One_thread_builds_with_the_same_seed_give_the_same_graph()
    {
        var data = IndexTestData.Clustered(1500, Dim, 15, 0.6, seed: 8);
        var p = new HnswParameters { M = 12, EfConstruction = 80, Seed = 99 };
        var a = HnswIndex.Build(IndexTestData.Ids(1500), data.ToArray(), Dim, p, maxThreads: 1);
        var b = HnswIndex.Build(IndexTestData.Ids(1500), data.ToArray(), Dim, p, maxThreads: 1);
        Assert.Equal(a.EntryPoint, b.EntryPoint);
        for (int i = 0; i < 1500; i++)
        {
            Assert.Equal(a.LevelOf(i), b.LevelOf(i));
            for (int l = 0; l <= a.LevelOf(i); l++) Assert.Equal(a.NeighborsOf(i, l), b.NeighborsOf(i, l));
        }
        var c = HnswIndex.Build(IndexTestData.Ids(1500), data.ToArray(), Dim, p with { Seed = 100 }, maxThreads: 1);
        Assert.Contains(Enumerable.Range(0, 1500), i => a.LevelOf(i) != c.LevelOf(i));
    }

    [Fact]
    public void Neighbour_lists_respect_M_and_point_inside_the_graph_after_a_parallel_build()
    {
        var data = IndexTestData.Clustered(3000, Dim, 30, 0.6, seed: 9);
        var index = HnswIndex.Build(IndexTestData.Ids(3000), data.ToArray(), Dim, new HnswParameters { M = 8, EfConstruction = 100 }, maxThreads: 4);
        for (int i = 0; i < 3000; i++)
        {
            var l0 = index.NeighborsOf(i);
            Assert.InRange(l0.Length, 1, 16);
            Assert.DoesNotContain(i, l0);
            Assert.Equal(l0.Length, l0.Distinct().Count());
            for (int l = 1; l <= index.LevelOf(i); l++)
                Assert.All(index.NeighborsOf(i, l), n => Assert.True(index.LevelOf(n) >= l));
        }
    }

    [Fact]
    public void Tombstoned_tracks_are_never_returned_and_appended_ones_are_found()
    {
        var all = IndexTestData.Clustered(3000, Dim, 30, 0.6, seed: 12);
        var ids = IndexTestData.Ids(3000);
        var index = HnswIndex.Build(ids[..2000], all[..(2000 * Dim)].ToArray(), Dim, new HnswParameters());
        for (int i = 0; i < 2000; i += 10) Assert.True(index.Remove(ids[i]));
        Assert.False(index.Remove(ids[0]));
        Assert.False(index.Remove("nope"));
        Assert.Equal(1800, index.LiveCount);
        int first = index.Append(ids[2000..], all.AsSpan(2000 * Dim), maxThreads: 2);
        Assert.Equal(2000, first);
        Assert.Equal(2800, index.LiveCount);
        for (int q = 2000; q < 3000; q += 7)
        {
            var res = index.Search(all.AsSpan(q * Dim, Dim), 10);
            Assert.Equal(q, res[0].Id);
            Assert.DoesNotContain(res, r => r.Id < 2000 && r.Id % 10 == 0);
        }
        // Recall of the grown graph over the live tracks.
        int hits = 0, total = 0;
        for (int q = 0; q < 3000; q += 31)
        {
            var query = all.AsSpan(q * Dim, Dim);
            var truth = IndexTestData.BruteForce(all, Dim, query, 10, i => !(i < 2000 && i % 10 == 0)).ToHashSet();
            hits += index.Search(query, 10).Count(r => truth.Contains(r.Id));
            total += 10;
        }
        Assert.True(hits >= 0.98 * total, $"recall after append {hits}/{total}");
        Assert.True(index.TryGetNode(ids[2500], out int node) && node == 2500);
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        var data = IndexTestData.Clustered(50, 8, 2, 0.5, seed: 1);
        Assert.Equal("InvalidIndexParameter", Assert.Throws<MessException>(() => HnswIndex.Build(IndexTestData.Ids(50), data, 8, new HnswParameters { M = 1 })).ErrorId);
        Assert.Equal("InvalidIndexParameter", Assert.Throws<MessException>(() => HnswIndex.Build(IndexTestData.Ids(50), data, 8, new HnswParameters { EfSearch = 0 })).ErrorId);
        Assert.Throws<ArgumentException>(() => HnswIndex.Build(IndexTestData.Ids(49), data, 8, new HnswParameters()));
        var index = HnswIndex.Build(IndexTestData.Ids(50), data, 8, new HnswParameters());
        Assert.Equal("QueryDimensionMismatch", Assert.Throws<MessException>(() => index.Search(new float[7], 3)).ErrorId);
        Assert.Equal("InvalidK", Assert.Throws<MessException>(() => index.Search(new float[8], 0)).ErrorId);
    }

    [Fact]
    public void Empty_and_tiny_indexes_answer()
    {
        var empty = HnswIndex.Build(Array.Empty<string>(), Array.Empty<float>(), 4, new HnswParameters());
        Assert.Empty(empty.Search(new float[] { 1, 0, 0, 0 }, 3));
        var one = HnswIndex.Build(new[] { "a" }, new float[] { 0, 1, 0, 0 }, 4, new HnswParameters());
        var r = Assert.Single(one.Search(new float[] { 0, 1, 0, 0 }, 3));
        Assert.Equal(new Neighbor(0, 1f), r);
        Assert.Empty(one.Search(new float[] { 0, 1, 0, 0 }, 3, n => n != 0));
    }

    [Fact]
    public void Simd_dot_matches_a_scalar_loop_for_every_length()
    {
        var rng = new Random(4);
        for (int n = 0; n < 300; n++)
        {
            var a = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
            var b = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
            double s = 0;
            for (int i = 0; i < n; i++) s += a[i] * b[i];
            Assert.Equal(s, VectorMath.Dot(a, b), 3);
        }
    }
}
