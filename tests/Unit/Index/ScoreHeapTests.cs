using MessTools.Core.Index;

namespace MessTools.Tests.Unit.Index;

/// <summary>The search's heaps (one packed 64-bit key per entry) against a plain sort of the same pairs.</summary>
public sealed class ScoreHeapTests
{
    private static IEnumerable<(float Score, int Id)> Pairs(int seed, int n)
    {
        var rng = new Random(seed);
        // Ties (a few distinct scores), both zeros, negatives, extremes, ids across the whole int range.
        float[] pool = { 0.5f, -0.5f, 0f, -0f, 1f, -1f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, 0.25f, 1e-30f };
        for (int i = 0; i < n; i++)
        {
            float score = rng.Next(3) == 0 ? pool[rng.Next(pool.Length)] : (float)(rng.NextDouble() * 2 - 1);
            int id = rng.Next(5) == 0 ? rng.Next(int.MinValue, int.MaxValue) : rng.Next(50);
            yield return (score, id);
        }
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(true, 2)]
    [InlineData(false, 3)]
    [InlineData(false, 4)]
    public void Pops_come_in_the_heaps_order_with_ties_broken_by_node(bool maxFirst, int seed)
    {
        var pairs = Pairs(seed, 700).ToList();
        var heap = new ScoreHeap(maxFirst, capacity: 4); // grows
        var expected = new List<(float Score, int Id)>();
        foreach (var (score, id) in pairs) heap.Push(score, id);
        // The order the comparer of the two-array heap defined: max-first by score then the lower node; min-first by
        // score then the higher node. The floats' == (so -0 and +0 tie).
        expected.AddRange(maxFirst
            ? pairs.OrderByDescending(p => p.Score).ThenBy(p => p.Id)
            : pairs.OrderBy(p => p.Score).ThenByDescending(p => p.Id));
        Assert.Equal(pairs.Count, heap.Count);
        foreach (var (score, id) in expected)
        {
            Assert.Equal(score == 0 ? 0f : score, heap.TopScore); // a zero comes back as +0
            Assert.Equal(id, heap.TopId);
            heap.Pop();
        }
        Assert.Equal(0, heap.Count);
    }

    [Fact]
    public void Interleaved_pushes_and_pops_keep_the_best_ef_like_a_result_set()
    {
        var rng = new Random(7);
        var heap = new ScoreHeap(maxFirst: false);
        var kept = new List<(float Score, int Id)>();
        for (int i = 0; i < 2000; i++)
        {
            float s = (float)Math.Round(rng.NextDouble(), 2); // many ties
            heap.Push(s, i);
            kept.Add((s, i));
            if (heap.Count > 40)
            {
                heap.Pop();
                var worst = kept.OrderBy(p => p.Score).ThenByDescending(p => p.Id).First();
                kept.Remove(worst);
            }
            var top = kept.OrderBy(p => p.Score).ThenByDescending(p => p.Id).First();
            Assert.Equal(top.Score, heap.TopScore);
            Assert.Equal(top.Id, heap.TopId);
        }
    }
}
