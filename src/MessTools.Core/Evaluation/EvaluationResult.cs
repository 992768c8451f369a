namespace MessTools;

/// <summary>
/// Invoke-MessEvaluation's output: the Composer Retrieval figures of one artifact folder for one K and one way of
/// treating same-album tracks. A run emits one object per (folder, K, album mode); the default view is one table.
/// </summary>
public sealed class EvaluationResult
{
    /// <summary>The artifact folder evaluated.</summary>
    public string ArtifactPath { get; init; } = "";
    /// <summary>The embedding model named in embeddings_meta.json (null when the file is absent).</summary>
    public string? Model { get; init; }
    /// <summary>How many results per query are scored.</summary>
    public int K { get; init; }
    /// <summary>True: tracks of the query's album were not eligible results; false: every other track was.</summary>
    public bool ExcludeSameAlbum { get; init; }
    /// <summary>Exact (brute force, the reference) or Index (the HNSW index).</summary>
    public string Search { get; init; } = "Exact";
    /// <summary>Queries scored: every track with an embedding and a composer (in a comparison, every shared track).</summary>
    public int Queries { get; init; }
    public int Composers { get; init; }
    /// <summary>Mean over queries of (relevant results in the top K) / K.</summary>
    public double PrecisionAtK { get; init; }
    /// <summary>Mean over queries of 1 if any of the top K is relevant, else 0.</summary>
    public double HitRateAtK { get; init; }
    /// <summary>Mean over queries of DCG@K / ideal DCG@K (binary gains, discount 1/log2(rank+1)).</summary>
    public double NdcgAtK { get; init; }
    /// <summary>Expected Precision@K of a random ranking with the same labels (the floor to beat).</summary>
    public double ChancePrecisionAtK { get; init; }
    public double ChanceHitRateAtK { get; init; }
    public double ChanceNdcgAtK { get; init; }
    /// <summary>Queries whose composer has no other track the search may return (they score 0 for HitRate and NDCG).</summary>
    public int QueriesWithoutRelevant { get; init; }
    /// <summary>95 % (or the chosen level) percentile-bootstrap interval of <see cref="PrecisionAtK"/> over queries; null without a bootstrap.</summary>
    public ConfidenceInterval? PrecisionAtKInterval { get; init; }
    public ConfidenceInterval? HitRateAtKInterval { get; init; }
    public ConfidenceInterval? NdcgAtKInterval { get; init; }
    /// <summary>With -Search Index: mean |index top K ∩ exact top K| / |exact top K| over the same queries; else null.</summary>
    public double? IndexRecallAtK { get; init; }
    /// <summary>With -Search Index: how many queries the recall was measured on (all, or -RecallSampleSize).</summary>
    public int? IndexRecallQueries { get; set; }
    /// <summary>Per-composer figures, ordered by composer name.</summary>
    public IReadOnlyList<ComposerEvaluation> PerComposer { get; init; } = Array.Empty<ComposerEvaluation>();
    /// <summary>Top-1 confusion: query composer -> composer of the first result -> count.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> ConfusionTop1 { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, int>>();
    /// <summary>eval/eval_results.json (or the comparison file) written by the run; null with -WhatIf.</summary>
    public string? ResultsPath { get; set; }
    /// <summary>eval/report.html; null with -WhatIf.</summary>
    public string? ReportPath { get; set; }

    public override string ToString() =>
        $"P@{K}={PrecisionAtK:F4} (chance {ChancePrecisionAtK:F4}), HitRate@{K}={HitRateAtK:F4}, NDCG@{K}={NdcgAtK:F4}, {Queries} queries{(ExcludeSameAlbum ? ", same album excluded" : "")}";
}

/// <summary>One composer's row of an <see cref="EvaluationResult"/>: the queries whose composer it is.</summary>
public sealed class ComposerEvaluation
{
    public string Composer { get; init; } = "";
    /// <summary>Tracks of this composer (= queries with this composer).</summary>
    public int Queries { get; init; }
    public double PrecisionAtK { get; init; }
    public double HitRateAtK { get; init; }
    public double NdcgAtK { get; init; }
    public double ChancePrecisionAtK { get; init; }
    public int QueriesWithoutRelevant { get; init; }
    /// <summary>Bootstrap intervals over this composer's queries; null when it has too few queries for one.</summary>
    public ConfidenceInterval? PrecisionAtKInterval { get; init; }
    public ConfidenceInterval? HitRateAtKInterval { get; init; }
    public ConfidenceInterval? NdcgAtKInterval { get; init; }

    /// <summary>
    /// True when no query of this composer had another track of its composer to find (one album, with same-album
    /// neighbours excluded): its figures are undefined, shown as n/a in pwsh and in report.html, never as 0.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool NotApplicable => Queries > 0 && QueriesWithoutRelevant >= Queries;

    public override string ToString() => NotApplicable
        ? $"{Composer}: n/a, no other track of this composer to find ({Queries} queries)"
        : $"{Composer}: P@K={PrecisionAtK:F4} over {Queries} queries";
}

/// <summary>
/// One row of <see cref="EvaluationResult.ConfusionTop1"/>: how often the first result had each composer. Its text
/// reads like the report's row ("Chopin 11, Liszt 1"), so a result printed in any context shows counts, not a type name.
/// </summary>
public sealed class ComposerCounts : SortedDictionary<string, int>
{
    public ComposerCounts() : base(StringComparer.Ordinal) { }

    public override string ToString() =>
        string.Join(", ", this.Select(p => p.Key + " " + p.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
}

/// <summary>A two-sided interval of a figure (a percentile-bootstrap interval over queries).</summary>
public sealed class ConfidenceInterval
{
    public double Low { get; init; }
    public double High { get; init; }

    public ConfidenceInterval() { }
    public ConfidenceInterval(double low, double high) { Low = low; High = high; }

    public override string ToString() => FormattableString.Invariant($"[{Low:F4}, {High:F4}]");
}

/// <summary>
/// Invoke-MessEvaluation -Compare: one figure of two models on the tracks they share, query by query. Difference =
/// this model's figure minus the baseline's (positive: this model is better), with its bootstrap interval and the
/// two-sided p-value of a paired sign-flip permutation test.
/// </summary>
public sealed class EvaluationComparison
{
    /// <summary>The artifact folder evaluated (the first folder).</summary>
    public string ArtifactPath { get; init; } = "";
    /// <summary>The folder it is compared with (-Compare).</summary>
    public string BaselinePath { get; init; } = "";
    public string? Model { get; init; }
    public string? BaselineModel { get; init; }
    public int K { get; init; }
    public bool ExcludeSameAlbum { get; init; }
    /// <summary>PrecisionAtK, HitRateAtK or NdcgAtK.</summary>
    public string Metric { get; init; } = "";
    /// <summary>Shared tracks (every one a query of both models).</summary>
    public int Queries { get; init; }
    public double Value { get; init; }
    public double BaselineValue { get; init; }
    /// <summary>Value − BaselineValue: the mean over queries of the per-query differences.</summary>
    public double Difference { get; init; }
    /// <summary>Percentile-bootstrap interval of <see cref="Difference"/> (queries resampled in pairs).</summary>
    public ConfidenceInterval? DifferenceInterval { get; init; }
    /// <summary>Two-sided p-value of the paired sign-flip permutation test (null: no test run).</summary>
    public double? PValue { get; init; }

    public override string ToString() =>
        FormattableString.Invariant($"{Metric} K={K}{(ExcludeSameAlbum ? " excl. album" : "")}: {Value:F4} vs {BaselineValue:F4}, difference {Difference:+0.0000;-0.0000;0.0000} {DifferenceInterval}, p={PValue:0.0000}");
}
