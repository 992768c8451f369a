namespace MessTools.Core.Evaluation;

/// <summary>The bootstrap intervals of an evaluation's figures and the paired comparison of two models (see <see cref="Bootstrap"/>).</summary>
public static class QueryIntervals
{
    /// <summary>Names of the figures of <see cref="QueryFigures.All"/>, in that order.</summary>
    public static readonly IReadOnlyList<string> MetricNames = new[] { "PrecisionAtK", "HitRateAtK", "NdcgAtK" };

    /// <summary>Intervals of precision, hit rate and NDCG over all queries (stream <paramref name="stream"/>); null when the bootstrap is off or there are no queries.</summary>
    public static ConfidenceInterval[]? Of(QueryFigures figures, EvaluationOptions options, uint stream)
    {
        if (options.BootstrapResamples <= 0 || figures.Precision.Length == 0) return null;
        return Round(Bootstrap.Intervals(figures.All, options.BootstrapResamples, options.ConfidenceLevel, SplitMix64.ForStream(options.Seed, stream)));
    }

    /// <summary>Per composer c (index into the ordinal-sorted names), over its own queries with stream c + 1; null for
    /// composers with fewer than <see cref="EvaluationOptions.MinComposerQueriesForInterval"/> queries.</summary>
    public static ConfidenceInterval[]?[] PerComposer(QueryFigures figures, int[] composerOfRow, int composers, EvaluationOptions options)
    {
        var result = new ConfidenceInterval[]?[composers];
        if (options.BootstrapResamples <= 0) return result;
        var rowsOf = new List<int>[composers];
        for (int q = 0; q < composerOfRow.Length; q++) (rowsOf[composerOfRow[q]] ??= new List<int>()).Add(q);
        for (int c = 0; c < composers; c++)
        {
            var rows = rowsOf[c]?.ToArray() ?? Array.Empty<int>();
            if (rows.Length < Math.Max(1, options.MinComposerQueriesForInterval)) continue;
            var sub = new QueryFigures(rows.Select(q => figures.Precision[q]).ToArray(), rows.Select(q => figures.HitRate[q]).ToArray(),
                rows.Select(q => figures.Ndcg[q]).ToArray());
            result[c] = Of(sub, options, (uint)c + 1);
        }
        return result;
    }

    /// <summary>
    /// The paired comparison of <paramref name="model"/> with <paramref name="baseline"/>, both evaluated on the same
    /// tracks: for every (K, album mode) they share and every figure, the mean per-query difference (model − baseline),
    /// its bootstrap interval (stream 0) and the sign-flip permutation p-value.
    /// </summary>
    public static List<EvaluationComparison> Compare(EvaluationOutcome model, EvaluationOutcome baseline, EvaluationOptions options)
    {
        if (!model.Data.TrackIds.AsSpan().SequenceEqual(baseline.Data.TrackIds))
            throw new InvalidOperationException("A paired comparison needs both models evaluated on the same tracks in the same order.");
        var list = new List<EvaluationComparison>();
        for (int i = 0; i < model.Results.Count; i++)
        {
            var r = model.Results[i];
            int j = Enumerable.Range(0, baseline.Results.Count)
                .FirstOrDefault(x => baseline.Results[x].K == r.K && baseline.Results[x].ExcludeSameAlbum == r.ExcludeSameAlbum, -1);
            if (j < 0) continue;
            var b = baseline.Results[j];
            var a = model.PerQuery[i].All;
            var o = baseline.PerQuery[j].All;
            var diffs = a.Select((x, m) => x.Select((v, q) => v - o[m][q]).ToArray()).ToArray();
            var intervals = options.BootstrapResamples > 0 && diffs[0].Length > 0
                ? Round(Bootstrap.Intervals(diffs, options.BootstrapResamples, options.ConfidenceLevel, SplitMix64.ForStream(options.Seed, 0)))
                : null;
            for (int m = 0; m < diffs.Length; m++)
            {
                double? p = options.Permutations > 0 && diffs[m].Length > 0
                    ? Math.Round(Bootstrap.SignFlipPValue(diffs[m], options.Permutations, SplitMix64.ForStream(options.Seed, Bootstrap.PermutationStream)), 6)
                    : null;
                list.Add(new EvaluationComparison
                {
                    ArtifactPath = r.ArtifactPath, BaselinePath = b.ArtifactPath, Model = r.Model, BaselineModel = b.Model,
                    K = r.K, ExcludeSameAlbum = r.ExcludeSameAlbum, Metric = MetricNames[m], Queries = diffs[m].Length,
                    Value = Figure(r, m), BaselineValue = Figure(b, m),
                    Difference = Math.Round(diffs[m].Length == 0 ? 0 : diffs[m].Average(), 6),
                    DifferenceInterval = intervals?[m], PValue = p,
                });
            }
        }
        return list;
    }

    private static double Figure(EvaluationResult r, int metric) => metric switch
    {
        0 => r.PrecisionAtK,
        1 => r.HitRateAtK,
        _ => r.NdcgAtK,
    };

    private static ConfidenceInterval[] Round(ConfidenceInterval[] xs) =>
        xs.Select(x => new ConfidenceInterval(Math.Round(x.Low, 6), Math.Round(x.High, 6))).ToArray();
}
