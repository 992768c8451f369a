using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Index;

namespace MessTools.Core.Evaluation;

/// <summary>What Invoke-MessEvaluation (or any other caller) asks of <see cref="EvaluationJob.Run"/>.</summary>
public sealed record EvaluationRequest
{
    /// <summary>One artifact folder, or several to compare on the tracks they share.</summary>
    public required IReadOnlyList<string> ArtifactPaths { get; init; }
    /// <summary>K values, album modes, samples, seed, threads, cancellation (ArtifactPath, Progress and IndexSearch are set per folder).</summary>
    public EvaluationOptions Options { get; init; } = new();
    /// <summary>Search through index/hnsw.index (with its recall against exact search) instead of exact search.</summary>
    public bool UseIndex { get; init; }
    /// <summary>With <see cref="UseIndex"/>: the HNSW candidate list size (0: the index's own efSearch).</summary>
    public int Ef { get; init; }
    /// <summary>A baseline folder (-Compare): evaluated with the first folder on the tracks they share, and the paired
    /// difference of every figure reported. The same as a second folder in <see cref="ArtifactPaths"/>.</summary>
    public string? CompareWith { get; init; }
}

/// <summary>What one evaluation run produced: an outcome per folder (one, or several in a comparison).</summary>
public sealed class EvaluationRun
{
    public required IReadOnlyList<ArtifactStore> Stores { get; init; }
    public required IReadOnlyList<EvaluationOutcome> Outcomes { get; init; }
    public required EvaluationRequest Request { get; init; }
    /// <summary>A comparison: the tracks every folder shares; null for one folder.</summary>
    public int? SharedTracks { get; init; }
    /// <summary>A comparison: the first folder against each other one, figure by figure (paired over the shared tracks).</summary>
    public IReadOnlyList<EvaluationComparison> Comparisons { get; init; } = Array.Empty<EvaluationComparison>();
    public IReadOnlyList<EvaluationResult> Results => Outcomes.SelectMany(o => o.Results).ToList();
    /// <summary>Where the files are written: the first folder's eval/.</summary>
    public string EvalDir => Stores[0].EvalDir;
}

/// <summary>
/// Invoke-MessEvaluation's engine: resolves the folders (one, or several compared on their shared tracks), loads the
/// data and the index (checked against the embeddings), runs <see cref="Evaluator"/> and writes the files. Progress is
/// published through <see cref="EvaluationProgress"/> for a caller on another thread to poll.
/// </summary>
public static class EvaluationJob
{
    public static EvaluationRun Run(EvaluationRequest request, EvaluationProgress? progress = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ArtifactPaths.Count == 0)
            throw new MessException(MessErrorIds.ArtifactPathEmpty, MessErrorKind.InvalidArgument, "No artifact folder to evaluate.");
        var paths = request.CompareWith is null ? request.ArtifactPaths : request.ArtifactPaths.Take(1).Append(request.CompareWith).ToList();
        var stores = paths.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).Select(f => new ArtifactStore(f)).ToList();
        if (stores.Count == 1)
        {
            var store = stores[0];
            progress?.Set($"Loading {store.Root}", 0);
            var data = EvaluationData.Load(store);
            log?.Invoke($"{data.Count:N0} tracks x {data.Dimension} dims, {data.Composers.Distinct().Count():N0} composers from {store.Root}");
            var outcome = Evaluate(store, data, request, progress, $"{data.Count:N0} tracks", log);
            return new EvaluationRun { Stores = stores, Outcomes = new[] { outcome }, Request = request };
        }
        HashSet<string>? shared = null;
        foreach (var s in stores)
        {
            var ids = EvaluationData.EmbeddedTrackIds(s);
            if (shared is null) shared = new HashSet<string>(ids, StringComparer.Ordinal);
            else shared.IntersectWith(ids);
        }
        if (shared is null || shared.Count == 0)
            throw new MessException(MessErrorIds.NoSharedTracks, MessErrorKind.InvalidData,
                $"The {stores.Count} artifact folders share no embedded track, so there is nothing to compare: {string.Join(", ", stores.Select(s => "'" + s.Root + "'"))}.");
        log?.Invoke($"Comparing {stores.Count} folders on {shared.Count:N0} shared tracks");
        var outcomes = new List<EvaluationOutcome>();
        for (int i = 0; i < stores.Count; i++)
        {
            progress?.Set($"Loading {stores[i].Root}", (double)i / stores.Count);
            var data = EvaluationData.Load(stores[i], shared);
            outcomes.Add(Evaluate(stores[i], data, request, progress, $"folder {i + 1} of {stores.Count}, {data.Count:N0} shared tracks", log));
        }
        progress?.Set("Comparing the models query by query", -1);
        var comparisons = outcomes.Skip(1).SelectMany(o => QueryIntervals.Compare(outcomes[0], o, request.Options)).ToList();
        return new EvaluationRun { Stores = stores, Outcomes = outcomes, Request = request, SharedTracks = shared.Count, Comparisons = comparisons };
    }

    private static EvaluationOutcome Evaluate(ArtifactStore store, EvaluationData data, EvaluationRequest request,
        EvaluationProgress? progress, string what, Action<string>? log)
    {
        AllPairsSearch? indexSearch = null;
        if (request.UseIndex)
        {
            progress?.Set($"Loading {store.HnswIndexFile}", -1);
            var index = IndexFile.Load(store.HnswIndexFile);
            log?.Invoke($"Index {store.HnswIndexFile}: {index.Kind}, {index.LiveCount:N0} tracks");
            indexSearch = IndexSearch.Create(index, data, request.Ef, store.HnswIndexFile);
        }
        var options = request.Options with
        {
            ArtifactPath = store.Root,
            IndexSearch = indexSearch,
            RecallSampleSize = request.UseIndex ? request.Options.RecallSampleSize : 0,
            Progress = progress is null ? null : f => progress.Set($"Searching {what}", f),
        };
        return Evaluator.Evaluate(data, options);
    }

    /// <summary>
    /// Writes the run's files into the first folder's eval/: eval_results.json, samples.csv and report.html for one
    /// folder, comparison.json and comparison.html for several. Sets ResultsPath and ReportPath of every result.
    /// </summary>
    public static (string Results, string Report) Write(EvaluationRun run)
    {
        var results = run.Results;
        string json, html;
        try
        {
            if (run.Outcomes.Count == 1)
                (json, _, html) = EvaluationFiles.Write(run.Stores[0], run.Outcomes[0], run.Request.Options with { ArtifactPath = run.Stores[0].Root });
            else
                (json, html) = EvaluationFiles.WriteComparison(run.Stores[0], run.Outcomes.ToList(), run.Stores.Select(s => s.Root).ToList(), run.SharedTracks ?? 0,
                    run.Comparisons, run.Request.Options);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MessException(MessErrorIds.EvaluationWriteFailed, MessErrorKind.WriteError, $"Writing the evaluation files to '{run.EvalDir}' failed: {ex.Message}", run.EvalDir, ex);
        }
        foreach (var r in run.Outcomes.SelectMany(o => o.Results)) { r.ResultsPath = json; r.ReportPath = html; }
        return (json, html);
    }

    /// <summary>The figures of a run as the run record (runs/*.json) keeps them: one metrics list, and the first folder's figures by name.</summary>
    public static Dictionary<string, object?> RunRecordResults(EvaluationRun run)
    {
        var results = run.Results;
        var o = new Dictionary<string, object?>
        {
            ["metrics"] = results.Select(r => (object?)Metrics(r)).ToList(),
            ["search"] = run.Request.UseIndex ? "index" : "exact",
        };
        foreach (var r in results.Where(r => r.ArtifactPath == run.Stores[0].Root))
        {
            string suffix = r.ExcludeSameAlbum ? "_excluding_same_album" : "";
            o[$"precision_at_{r.K}{suffix}"] = r.PrecisionAtK;
            if (r.PrecisionAtKInterval is { } ci) o[$"precision_at_{r.K}{suffix}_interval"] = new[] { ci.Low, ci.High };
            o[$"hit_rate_at_{r.K}{suffix}"] = r.HitRateAtK;
            o[$"ndcg_at_{r.K}{suffix}"] = r.NdcgAtK;
            o[$"chance_precision_at_{r.K}{suffix}"] = r.ChancePrecisionAtK;
            if (r.IndexRecallAtK is { } recall) o[$"index_recall_at_{r.K}{suffix}"] = recall;
        }
        if (results.Count > 0) o["results_file"] = results[0].ResultsPath;
        if (run.Comparisons.Count > 0) o["paired_differences"] = run.Comparisons.Cast<object?>().ToList();
        o["search_seconds"] = Math.Round(run.Outcomes.Sum(x => x.SearchSeconds), 3);
        return o;
    }

    /// <summary>One result's figures under the names of the run record and the HTTP server's /eval/summary.</summary>
    public static Dictionary<string, object?> Metrics(EvaluationResult r) => new()
    {
        ["artifact_path"] = r.ArtifactPath, ["model"] = r.Model, ["k"] = r.K, ["exclude_same_album"] = r.ExcludeSameAlbum,
        ["search"] = r.Search.ToLowerInvariant(), ["queries"] = r.Queries, ["precision_at_k"] = r.PrecisionAtK,
        ["precision_at_k_interval"] = r.PrecisionAtKInterval, ["hit_rate_at_k_interval"] = r.HitRateAtKInterval, ["ndcg_at_k_interval"] = r.NdcgAtKInterval,
        ["hit_rate_at_k"] = r.HitRateAtK, ["ndcg_at_k"] = r.NdcgAtK, ["chance_precision_at_k"] = r.ChancePrecisionAtK,
        ["queries_without_relevant"] = r.QueriesWithoutRelevant, ["index_recall_at_k"] = r.IndexRecallAtK,
        ["index_recall_queries"] = r.IndexRecallQueries,
    };
}

/// <summary>The status of a long run, written from worker threads and read by a poller (a cmdlet's pipeline thread).</summary>
public sealed class EvaluationProgress
{
    private volatile string _status = "";
    private double _fraction = -1;

    public string Status => _status;
    /// <summary>0..1, or -1 when unknown. Within one status it only grows.</summary>
    public double Fraction => Volatile.Read(ref _fraction);

    public void Set(string status, double fraction)
    {
        if (!ReferenceEquals(status, _status) && status != _status)
        {
            _status = status;
            Volatile.Write(ref _fraction, fraction);
            return;
        }
        double seen;
        do seen = Volatile.Read(ref _fraction);
        while (fraction > seen && Interlocked.CompareExchange(ref _fraction, fraction, seen) != seen);
    }
}
