namespace MessTools.Core.Splitting;

/// <summary>Precision, recall and F-measure of boundary detection, with the matched count.</summary>
public readonly record struct BoundaryScore(double Precision, double Recall, double F, int Hits, int Reference, int Estimated);

/// <summary>
/// Boundary hit rate as mir_eval.segment.detection computes it (mir_eval 0.7, trim=True: the interior boundaries
/// only): an estimated boundary hits a reference boundary within +-window seconds, each used once, the hits counted
/// by a maximum bipartite matching (mir_eval.util.match_events); precision = hits / estimated, recall = hits /
/// reference, F = 2PR/(P+R); all three 0 when either list is empty. tests/Unit/Splitting checks it against mir_eval.
/// </summary>
public static class BoundaryMetrics
{
    public static BoundaryScore Detection(IReadOnlyList<double> reference, IReadOnlyList<double> estimated, double window)
    {
        if (reference.Count == 0 || estimated.Count == 0) return new BoundaryScore(0, 0, 0, 0, reference.Count, estimated.Count);
        int hits = MatchCount(reference, estimated, window);
        double p = (double)hits / estimated.Count, r = (double)hits / reference.Count;
        double f = p == 0 && r == 0 ? 0 : 2 * p * r / (p + r);
        return new BoundaryScore(p, r, f, hits, reference.Count, estimated.Count);
    }

    /// <summary>The size of a maximum matching between reference and estimated boundaries at most <paramref name="window"/> apart (Kuhn's augmenting paths).</summary>
    public static int MatchCount(IReadOnlyList<double> reference, IReadOnlyList<double> estimated, double window)
    {
        var adj = new List<int>[reference.Count];
        for (int i = 0; i < reference.Count; i++)
        {
            adj[i] = new List<int>();
            for (int j = 0; j < estimated.Count; j++)
                if (Math.Abs(reference[i] - estimated[j]) <= window) adj[i].Add(j);
        }
        var owner = Enumerable.Repeat(-1, estimated.Count).ToArray();
        int count = 0;
        for (int i = 0; i < reference.Count; i++)
            if (Augment(i, adj, owner, new bool[estimated.Count])) count++;
        return count;
    }

    private static bool Augment(int i, List<int>[] adj, int[] owner, bool[] seen)
    {
        foreach (int j in adj[i])
        {
            if (seen[j]) continue;
            seen[j] = true;
            if (owner[j] < 0 || Augment(owner[j], adj, owner, seen)) { owner[j] = i; return true; }
        }
        return false;
    }
}
