using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MessTools.Core.Search;

// Bounded per-query top-K heaps with SIMD admission thresholds, and the result order (score desc, then row index).
public static unsafe partial class ExactSearch
{
    /// <summary>Bounded min-heaps (root = the worst kept result), one per query, with each heap's admission threshold.</summary>
    private sealed class Candidates
    {
        public readonly float[] Scores;
        public readonly int[] Ids;
        public readonly int[] Count;
        /// <summary>-inf while the heap has room, else its root's score: a score below it can never enter.</summary>
        public readonly float[] Threshold;
        private readonly int _k;

        public Candidates(int queries, int k)
        {
            _k = k;
            Scores = new float[queries * k];
            Ids = new int[queries * k];
            Count = new int[queries];
            Threshold = new float[queries];
            Array.Fill(Threshold, float.NegativeInfinity);
        }

        /// <summary>Offers database rows rowBase..rowBase+n-1 (their scores) to heap h, the heap of query q.</summary>
        public void Scan(int h, int q, float* scores, int n, int rowBase, bool selfExclude, PairFilter? allow)
        {
            float threshold = Threshold[h];
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var t = Vector256.Create(threshold);
                for (; i + 8 <= n; i += 8)
                {
                    uint mask = Vector256.GreaterThanOrEqual(Vector256.Load(scores + i), t).ExtractMostSignificantBits();
                    while (mask != 0)
                    {
                        int j = i + BitOperations.TrailingZeroCount(mask);
                        mask &= mask - 1;
                        if (scores[j] >= threshold && Offer(h, q, scores[j], rowBase + j, selfExclude, allow))
                        {
                            threshold = Threshold[h];
                            t = Vector256.Create(threshold);
                        }
                    }
                }
            }
            for (; i < n; i++)
            {
                if (scores[i] >= threshold && Offer(h, q, scores[i], rowBase + i, selfExclude, allow))
                    threshold = Threshold[h];
            }
        }

        /// <summary>The transposed offer of the symmetric all-pairs pass: row q as a candidate for the queries
        /// colBase..colBase+n-1 (heaps indexed by query), their scores with q in <paramref name="scores"/>.</summary>
        public void ScanColumns(int q, float* scores, int n, int colBase, PairFilter? allow)
        {
            int i = 0;
            fixed (float* thr = Threshold)
            {
                if (Vector256.IsHardwareAccelerated)
                {
                    for (; i + 8 <= n; i += 8)
                    {
                        uint mask = Vector256.GreaterThanOrEqual(Vector256.Load(scores + i), Vector256.Load(thr + colBase + i)).ExtractMostSignificantBits();
                        while (mask != 0)
                        {
                            int j = i + BitOperations.TrailingZeroCount(mask);
                            mask &= mask - 1;
                            Offer(colBase + j, colBase + j, scores[j], q, false, allow);
                        }
                    }
                }
                for (; i < n; i++)
                    if (scores[i] >= thr[colBase + i]) Offer(colBase + i, colBase + i, scores[i], q, false, allow);
            }
        }

        private bool Offer(int h, int q, float s, int id, bool selfExclude, PairFilter? allow)
        {
            int at = h * _k;
            int n = Count[h];
            if (n == _k && !(s > Scores[at] || (s == Scores[at] && id < Ids[at]))) return false;
            if (selfExclude && id == q) return false;
            if (allow is not null && !allow(q, id)) return false;
            var sc = Scores.AsSpan(at, _k);
            var ids = Ids.AsSpan(at, _k);
            if (n < _k)
            {
                // Sift up from the new leaf.
                int i = n;
                while (i > 0)
                {
                    int parent = (i - 1) >> 1;
                    if (!Worse(s, id, sc[parent], ids[parent])) break;
                    sc[i] = sc[parent]; ids[i] = ids[parent];
                    i = parent;
                }
                sc[i] = s; ids[i] = id;
                Count[h] = n + 1;
            }
            else
            {
                // Replace the root and sift down.
                int i = 0;
                while (true)
                {
                    int l = 2 * i + 1;
                    if (l >= _k) break;
                    int w = l;
                    if (l + 1 < _k && Worse(sc[l + 1], ids[l + 1], sc[l], ids[l])) w = l + 1;
                    if (!Worse(sc[w], ids[w], s, id)) break;
                    sc[i] = sc[w]; ids[i] = ids[w];
                    i = w;
                }
                sc[i] = s; ids[i] = id;
            }
            if (Count[h] == _k) Threshold[h] = sc[0];
            return true;
        }

        private static bool Worse(float s1, int id1, float s2, int id2) => s1 < s2 || (s1 == s2 && id1 > id2);
    }

    private sealed class NeighborOrder : IComparer<Neighbor>
    {
        public static readonly NeighborOrder Instance = new();
        public int Compare(Neighbor x, Neighbor y) =>
            x.Score > y.Score ? -1 : x.Score < y.Score ? 1 : x.Id.CompareTo(y.Id);
    }
}
