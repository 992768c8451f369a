namespace MessTools.Core.Search;

/// <summary>The per-query formulas, exactly as <see cref="Evaluation.EvaluationDefinitions"/> states them.</summary>
public static class Metrics
{
    public readonly record struct QueryMetrics(double Precision, double HitRate, double Ndcg, int Relevant);

    /// <summary>Precision@K, HitRate@K, NDCG@K of one ranked list (already in rank order).</summary>
    public static QueryMetrics ForQuery(IReadOnlyList<Neighbor> ranked, int k, Func<int, bool> isRelevant, int relevantAvailable)
    {
        int rel = 0;
        double dcg = 0;
        for (int r = 0; r < Math.Min(k, ranked.Count); r++)
            if (isRelevant(ranked[r].Id)) { rel++; dcg += 1.0 / Math.Log2(r + 2); }
        if (relevantAvailable <= 0) return new QueryMetrics(rel / (double)k, 0, 0, rel);
        double idcg = IdealDcg(Math.Min(k, relevantAvailable));
        return new QueryMetrics(rel / (double)k, rel > 0 ? 1 : 0, dcg / idcg, rel);
    }

    public static double IdealDcg(int relevant)
    {
        double s = 0;
        for (int r = 1; r <= relevant; r++) s += 1.0 / Math.Log2(r + 1);
        return s;
    }

    /// <summary>
    /// Expected figures of a uniformly random ranking of the <paramref name="candidates"/> eligible tracks, of which
    /// <paramref name="relevantAvailable"/> are relevant: P = min(K,S)·R/S / K; HitRate = 1 − C(S−R, m)/C(S, m);
    /// NDCG = (R/S)·Σ_{r≤m} 1/log2(r+1) / IDCG, with m = min(K, S).
    /// </summary>
    public static (double Precision, double HitRate, double Ndcg) Chance(int k, int relevantAvailable, int candidates)
    {
        if (candidates <= 0 || relevantAvailable <= 0) return (0, 0, 0);
        int m = Math.Min(k, candidates);
        double p = relevantAvailable / (double)candidates;
        double missAll = 1;
        for (int t = 0; t < m && missAll > 0; t++) missAll *= Math.Max(0, candidates - relevantAvailable - t) / (double)(candidates - t);
        double ndcg = p * IdealDcg(m) / IdealDcg(Math.Min(k, relevantAvailable));
        return (m * p / k, 1 - missAll, ndcg);
    }
}
