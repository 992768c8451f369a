using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using MessTools.Cmdlets.Common;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Evaluation;
using MessTools.Core.Jobs;

namespace MessTools.Cmdlets;

/// <summary>
/// Invoke-MessEvaluation: the Composer Retrieval proxy task over an artifact folder's embeddings (seed step 6).
/// Every track is a query; the top K other tracks by similarity are scored against the query's composer. Writes
/// eval/eval_results.json, eval/samples.csv and eval/report.html and emits one <see cref="EvaluationResult"/>
/// per (K, album mode). With several folders (-ArtifactPath a,b,c) it compares them on the tracks they share.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "MessEvaluation", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = "https://github.com/messtools/MessTools/blob/main/docs/evaluation.md")]
[OutputType(typeof(EvaluationResult), typeof(EvaluationComparison))]
public sealed class InvokeMessEvaluationCommand : MessCmdlet
{
    protected override bool WritesArtifacts => true;

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

    /// <summary>A baseline artifact folder: both models are evaluated on the tracks they share and the paired difference
    /// of every figure (this folder minus the baseline) is emitted with its interval and permutation p-value.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Compare { get; set; }

    /// <summary>Bootstrap resamples of the queries for the intervals (0: no intervals); seeded by -Seed.</summary>
    [Parameter]
    [ValidateRange(0, 1000000)]
    public int BootstrapCount { get; set; } = 1000;

    /// <summary>Sign-flip permutations of the paired test with -Compare (0: no p-value).</summary>
    [Parameter]
    [ValidateRange(0, 10000000)]
    public int PermutationCount { get; set; } = 9999;

    /// <summary>Threads of the search (0: all cores).</summary>
    [Parameter]
    [ValidateRange(0, 1024)]
    public int MaxThreads { get; set; }

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
        bool both = !MyInvocation.BoundParameters.ContainsKey(nameof(ExcludeSameAlbum));
        bool useIndex = string.Equals(Search, "Index", StringComparison.OrdinalIgnoreCase);
        if ((Ef > 0 || RecallSampleSize > 0) && !useIndex)
            Warn("-Ef and -RecallSampleSize apply only to -Search Index; the exact search ignores them.");
        var request = new EvaluationRequest
        {
            ArtifactPaths = folders,
            CompareWith = Compare is null ? null : Path.GetFullPath(ResolveUserPath(Compare)),
            UseIndex = useIndex,
            Ef = Ef,
            Options = new EvaluationOptions
            {
                Ks = K,
                IncludeSameAlbum = both || !ExcludeSameAlbum.IsPresent,
                ExcludeSameAlbum = both || ExcludeSameAlbum.IsPresent,
                SampleCount = SampleCount,
                Seed = Seed,
                SampleTrackIds = SampleTrackId,
                MaxThreads = MaxThreads,
                RecallSampleSize = RecallSampleSize,
                Cancellation = Cancellation,
                BootstrapResamples = BootstrapCount,
                Permutations = PermutationCount,
            },
        };

        EvaluationRun run;
        try { run = EvaluateJob.Run(request, LockTimeout, JobHost); }
        catch (MessException ex) { ThrowTerminating(ex); return; }
        catch (OperationCanceledException) { return; }
        finally { CompleteProgress(1, EvaluateJob.Activity); }
        foreach (var r in run.Results) WriteObject(r);
        foreach (var c in run.Comparisons) WriteObject(c);
        base.EndProcessing();
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
