using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using MessTools.Cmdlets.Common;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Evaluation;

namespace MessTools.Cmdlets;

/// <summary>
/// Invoke-MessEvaluation: the Composer Retrieval proxy task over an artifact folder's embeddings (seed step 6).
/// Every track is a query; the top K other tracks by similarity are scored against the query's composer. Writes
/// eval/eval_results.json, eval/samples.csv and eval/report.html and emits one <see cref="EvaluationResult"/>
/// per (K, album mode). With several folders (-ArtifactPath a,b,c) it compares them on the tracks they share.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "MessEvaluation", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = "https://github.com/messtools/MessTools/blob/main/docs/evaluation.md")]
[OutputType(typeof(EvaluationResult))]
public sealed class InvokeMessEvaluationCommand : MessCmdlet
{
    /// <summary>One artifact folder, or several to compare on their shared tracks (default: $env:MESS_ARTIFACT_PATH, else ./artifacts/v1_model_builtin).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public new string[]? ArtifactPath { get; set; }

    /// <summary>How many results per query are scored; several values in one run (-K 1,5,10).</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [ValidateRange(1, 100000)]
    public int[] K { get; set; } = { 5 };

    /// <summary>Present: only the figures with the query's album excluded. -ExcludeSameAlbum:$false: only the figures
    /// with all other tracks. Absent: both (the default).</summary>
    [Parameter]
    public SwitchParameter ExcludeSameAlbum { get; set; }

    /// <summary>How many random (seeded) queries go into eval/samples.csv.</summary>
    [Parameter]
    [ValidateRange(0, 100000)]
    public int SampleCount { get; set; } = 10;

    /// <summary>Seed of the random choice of sample queries.</summary>
    [Parameter]
    public int Seed { get; set; } = 42;

    /// <summary>These tracks as the sample queries instead of a random choice.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(EvaluationTrackIdCompleter))]
    public string[]? SampleTrackId { get; set; }

    /// <summary>Exact (brute force, the reference; default) or Index (the HNSW index in index/hnsw.index, with its
    /// recall against exact search on the same queries).</summary>
    [Parameter]
    [ValidateSet("Exact", "Index")]
    public string Search { get; set; } = "Exact";

    /// <summary>With -Search Index: the HNSW candidate list size (0: the index's own efSearch).</summary>
    [Parameter]
    [ValidateRange(0, 100000)]
    public int Ef { get; set; }

    /// <summary>With -Search Index: measure the recall against exact search on this many seeded random queries
    /// (0: on every query, which costs a full exact search).</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int RecallSampleSize { get; set; }

    /// <summary>Threads of the search (0: all cores).</summary>
    [Parameter]
    [ValidateRange(0, 1024)]
    public int MaxThreads { get; set; }

    private const string Activity = "Invoke-MessEvaluation";

    protected override void BeginProcessing()
    {
        // The first folder is the one the run record goes to.
        base.ArtifactPath = ArtifactPath is { Length: > 0 } ? ArtifactPath[0] : null;
        base.BeginProcessing();
    }

    protected override bool ReadsExistingArtifacts => true;

    protected override void EndProcessing()
    {
        var folders = (ArtifactPath is { Length: > 0 } ? ArtifactPath.Select(p => ResolveUserPath(p)) : new[] { Store.Root })
            .Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).ToList();
        foreach (string folder in folders) RequireArtifacts(folder);
        var stores = folders.Select(f => new ArtifactStore(f)).ToList();
        bool both = !MyInvocation.BoundParameters.ContainsKey(nameof(ExcludeSameAlbum));
        if ((Ef > 0 || RecallSampleSize > 0) && !string.Equals(Search, "Index", StringComparison.OrdinalIgnoreCase))
            Warn("-Ef and -RecallSampleSize apply only to -Search Index; the exact search ignores them.");
        var baseOptions = new EvaluationOptions
        {
            Ks = K,
            IncludeSameAlbum = both || !ExcludeSameAlbum.IsPresent,
            ExcludeSameAlbum = both || ExcludeSameAlbum.IsPresent,
            SampleCount = SampleCount,
            Seed = Seed,
            SampleTrackIds = SampleTrackId,
            MaxThreads = MaxThreads,
            Cancellation = Cancellation,
        };

        var results = new List<EvaluationResult>();
        try
        {
            if (stores.Count == 1) results.AddRange(EvaluateOne(stores[0], baseOptions));
            else results.AddRange(Compare(stores, baseOptions));
        }
        catch (MessException ex) { ThrowTerminating(ex); }
        catch (OperationCanceledException) { return; }
        CompleteProgress(1, Activity);

        Run.Results["metrics"] = results.Select(r => (object?)new Dictionary<string, object?>
        {
            ["artifact_path"] = r.ArtifactPath, ["model"] = r.Model, ["k"] = r.K, ["exclude_same_album"] = r.ExcludeSameAlbum,
            ["search"] = r.Search.ToLowerInvariant(), ["queries"] = r.Queries, ["precision_at_k"] = r.PrecisionAtK,
            ["hit_rate_at_k"] = r.HitRateAtK, ["ndcg_at_k"] = r.NdcgAtK, ["chance_precision_at_k"] = r.ChancePrecisionAtK,
            ["queries_without_relevant"] = r.QueriesWithoutRelevant, ["index_recall_at_k"] = r.IndexRecallAtK,
            ["index_recall_queries"] = r.IndexRecallQueries,
        }).ToList();
        Run.Results["search"] = Search.ToLowerInvariant();
        foreach (var r in results.Where(r => r.ArtifactPath == folders[0]))
        {
            string suffix = r.ExcludeSameAlbum ? "_excluding_same_album" : "";
            Run.Results[$"precision_at_{r.K}{suffix}"] = r.PrecisionAtK;
            Run.Results[$"hit_rate_at_{r.K}{suffix}"] = r.HitRateAtK;
            Run.Results[$"ndcg_at_{r.K}{suffix}"] = r.NdcgAtK;
            Run.Results[$"chance_precision_at_{r.K}{suffix}"] = r.ChancePrecisionAtK;
            if (r.IndexRecallAtK is { } recall) Run.Results[$"index_recall_at_{r.K}{suffix}"] = recall;
        }
        if (results.Count > 0)
        {
            Run.Results["results_file"] = results[0].ResultsPath;
            Run.Count("queries", results[0].Queries);
        }
        foreach (var r in results) WriteObject(r);
        base.EndProcessing();
    }

    private List<EvaluationResult> EvaluateOne(ArtifactStore store, EvaluationOptions baseOptions)
    {
        ReportProgress(1, Activity, $"Loading {store.Root}", 0, force: true);
        var data = EvaluationData.Load(store);
        WriteVerbose($"{data.Count:N0} tracks x {data.Dimension} dims, {data.Composers.Distinct().Count():N0} composers from {store.Root}");
        var outcome = RunEvaluation(data, WithIndex(With(baseOptions, store.Root), store, data), $"{data.Count:N0} tracks");
        var results = outcome.Results.ToList();
        if (ShouldProcess(store.EvalDir, "Write eval_results.json, samples.csv and report.html"))
        {
            var options = With(baseOptions, store.Root);
            var (json, _, html) = Write(() => EvaluationFiles.Write(store, outcome, options), store.EvalDir);
            foreach (var r in results) { r.ResultsPath = json; r.ReportPath = html; }
            WriteVerbose($"Wrote {json}, {html} and {EvaluationFiles.SamplesPath(store)}");
        }
        return results;
    }

    private List<EvaluationResult> Compare(List<ArtifactStore> stores, EvaluationOptions baseOptions)
    {
        HashSet<string>? shared = null;
        foreach (var s in stores)
        {
            var ids = EvaluationData.EmbeddedTrackIds(s);
            if (shared is null) shared = new HashSet<string>(ids, StringComparer.Ordinal);
            else shared.IntersectWith(ids);
        }
        if (shared is null || shared.Count == 0)
            throw new MessException("NoSharedTracks", MessErrorKind.InvalidData,
                $"The {stores.Count} artifact folders share no embedded track, so there is nothing to compare: {string.Join(", ", stores.Select(s => "'" + s.Root + "'"))}.");
        WriteVerbose($"Comparing {stores.Count} folders on {shared.Count:N0} shared tracks");
        var outcomes = new List<EvaluationOutcome>();
        for (int i = 0; i < stores.Count; i++)
        {
            ReportProgress(1, Activity, $"Loading {stores[i].Root}", 100 * i / stores.Count, force: true);
            var data = EvaluationData.Load(stores[i], shared);
            outcomes.Add(RunEvaluation(data, WithIndex(With(baseOptions, stores[i].Root), stores[i], data), $"folder {i + 1} of {stores.Count}, {data.Count:N0} shared tracks"));
        }
        var results = outcomes.SelectMany(o => o.Results).ToList();
        if (ShouldProcess(stores[0].EvalDir, "Write comparison.json and comparison.html"))
        {
            var (json, html) = Write(() => EvaluationFiles.WriteComparison(stores[0], outcomes, stores.Select(s => s.Root).ToList(), shared.Count), stores[0].EvalDir);
            foreach (var r in results) { r.ResultsPath = json; r.ReportPath = html; }
            WriteVerbose($"Wrote {json} and {html}");
        }
        return results;
    }

    /// <summary>With -Search Index: loads index/hnsw.index and checks it covers the data.</summary>
    private EvaluationOptions WithIndex(EvaluationOptions o, ArtifactStore store, EvaluationData data)
    {
        if (!string.Equals(Search, "Index", StringComparison.OrdinalIgnoreCase)) return o;
        ReportProgress(1, Activity, $"Loading {store.HnswIndexFile}", -1, force: true);
        var index = Core.Index.IndexFile.Load(store.HnswIndexFile);
        WriteVerbose($"Index {store.HnswIndexFile}: {index.Kind}, {index.LiveCount:N0} tracks");
        return new EvaluationOptions
        {
            Ks = o.Ks, IncludeSameAlbum = o.IncludeSameAlbum, ExcludeSameAlbum = o.ExcludeSameAlbum, SampleCount = o.SampleCount,
            Seed = o.Seed, SampleTrackIds = o.SampleTrackIds, MaxThreads = o.MaxThreads, Cancellation = o.Cancellation,
            Progress = o.Progress, ArtifactPath = o.ArtifactPath, RecallSampleSize = RecallSampleSize,
            IndexSearch = IndexSearch.Create(index, data, Ef, store.HnswIndexFile),
        };
    }

    private static T Write<T>(Func<T> write, string where)
    {
        try { return write(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MessException("EvaluationWriteFailed", MessErrorKind.WriteError, $"Writing the evaluation files to '{where}' failed: {ex.Message}", where, ex);
        }
    }

    private static EvaluationOptions With(EvaluationOptions o, string artifactPath) => new()
    {
        Ks = o.Ks, IncludeSameAlbum = o.IncludeSameAlbum, ExcludeSameAlbum = o.ExcludeSameAlbum, SampleCount = o.SampleCount,
        Seed = o.Seed, SampleTrackIds = o.SampleTrackIds, MaxThreads = o.MaxThreads, Cancellation = o.Cancellation,
        Progress = o.Progress, IndexSearch = o.IndexSearch, ArtifactPath = artifactPath,
    };

    /// <summary>Runs the engine on a worker thread and reports its progress from the pipeline thread.</summary>
    private EvaluationOutcome RunEvaluation(EvaluationData data, EvaluationOptions options, string what)
    {
        double fraction = 0;
        var withProgress = new EvaluationOptions
        {
            Ks = options.Ks, IncludeSameAlbum = options.IncludeSameAlbum, ExcludeSameAlbum = options.ExcludeSameAlbum,
            SampleCount = options.SampleCount, Seed = options.Seed, SampleTrackIds = options.SampleTrackIds,
            MaxThreads = options.MaxThreads, Cancellation = options.Cancellation, IndexSearch = options.IndexSearch,
            ArtifactPath = options.ArtifactPath, RecallSampleSize = options.RecallSampleSize,
            Progress = f => Volatile.Write(ref fraction, Math.Max(Volatile.Read(ref fraction), f)),
        };
        var task = Task.Run(() => Evaluator.Evaluate(data, withProgress));
        while (!task.Wait(250))
        {
            double f = Volatile.Read(ref fraction);
            ReportProgress(1, Activity, $"Searching {what}: {f:P0}", (int)(100 * f));
        }
        try { return task.GetAwaiter().GetResult(); }
        catch (AggregateException ex) when (ex.InnerException is not null) { throw ex.InnerException; }
    }
}

/// <summary>Completes -SampleTrackId from the artifact folder's embeddings/track_ids.json.</summary>
public sealed class EvaluationTrackIdCompleter : IArgumentCompleter
{
    /// <summary>The session's file-system location (relative -ArtifactPath values are relative to it), else the process's.</summary>
    private static string CurrentLocation()
    {
        try
        {
            using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
            ps.AddScript("$PWD");
            var found = ps.Invoke();
            if (found.Count > 0 && found[0].BaseObject is PathInfo info && info.Provider.Name == "FileSystem") return info.ProviderPath;
        }
        catch (Exception ex) when (ex is PSInvalidOperationException or RuntimeException or InvalidOperationException) { }
        return Environment.CurrentDirectory;
    }

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string? path = null;
        if (fakeBoundParameters.Contains("ArtifactPath"))
        {
            object? v = fakeBoundParameters["ArtifactPath"];
            v = v is PSObject pso ? pso.BaseObject : v;
            path = v switch
            {
                string s => s,
                IEnumerable e => e.Cast<object?>().Select(x => x?.ToString()).FirstOrDefault(),
                _ => null,
            };
        }
        string[] ids;
        try
        {
            var store = ArtifactStore.Resolve(path, CurrentLocation());
            ids = EvaluationData.EmbeddedTrackIds(store);
        }
        catch (Exception ex) when (ex is MessException or IOException or UnauthorizedAccessException) { yield break; }
        string word = (wordToComplete ?? "").Trim('\'', '"');
        foreach (var id in ids.Where(i => i.StartsWith(word, StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).Take(200))
            yield return new CompletionResult("'" + id.Replace("'", "''") + "'", id, CompletionResultType.ParameterValue, id);
    }
}
