using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using MessTools.Cmdlets.Common;
using MessTools.Core.Audio;
using MessTools.Core.Common;
using MessTools.Core.Jobs;
using MessTools.Core.Embedding;

namespace MessTools.Cmdlets;

/// <summary>
/// ConvertTo-MessEmbedding: one L2-normalised embedding per track, from the built-in embedder or an ONNX model
/// described by a JSON profile, written as embeddings/embeddings.f32 + track_ids.json + embeddings_meta.json
/// (incrementally: unchanged tracks are not recomputed). Each embedded track is passed on with Status Embedded.
/// Decoding, the front end and the model run on their own threads while tracks keep arriving.
/// </summary>
[Cmdlet(VerbsData.ConvertTo, "MessEmbedding", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = "https://github.com/messtools/MessTools/blob/main/docs/embedding.md")]
[OutputType(typeof(MessTrack))]
public sealed class ConvertToMessEmbeddingCommand : ShardedTrackCmdlet, IDisposable
{
    protected override bool WritesArtifacts => true;

    private EmbedJob? _job;

    /// <summary>builtin (builtin-1, default), builtin-2 or the path of an .onnx model with a JSON profile beside it (model.onnx.json).</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(EmbeddingModelCompleter))]
    public string Model { get; set; } = EmbeddingModels.Builtin;

    /// <summary>The model's profile when it is not beside the model as model.onnx.json.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ModelProfile { get; set; }

    /// <summary>f32 (default): embeddings.f32; npy: also embeddings.npy for Python users.</summary>
    [Parameter]
    [ValidateSet("f32", "npy")]
    public string Format { get; set; } = "f32";

    /// <summary>Also embed segments of this many seconds (embeddings/segments.f32 and segments.json).</summary>
    [Parameter]
    [ValidateRange(1.0, 3600.0)]
    public double? SegmentSeconds { get; set; }

    /// <summary>Model inputs per inference call (default: the profile's batch_size, 16).</summary>
    [Parameter]
    [ValidateRange(1, 4096)]
    public int? BatchSize { get; set; }

    /// <summary>Threads for the model (default: the profile's threads, else the number of cores).</summary>
    [Parameter]
    [Alias("Threads")]
    [ValidateRange(1, 1024)]
    public int? ThrottleLimit { get; set; }

    /// <summary>Re-embed tracks whose audio is unchanged, and replace embeddings of another model or profile in the folder.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>
    /// With -ShardIndex/-ShardCount: also publish the finished shard to S3 under this run URI, as
    /// s3://bucket/prefix/shards/&lt;i&gt;-of-&lt;n&gt;/ (the Publish-MessArtifact format), where Merge-MessEmbedding -Path s3://bucket/prefix finds it.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? PublishPath { get; set; }

    /// <summary>For -PublishPath: -ProfileName -Region -EndpointUrl -RetryCount (<see cref="S3Parameters"/>).</summary>
    protected override bool ReachesS3 => true;

    private string ModelPathResolved => EmbeddingModels.BuiltinName(Model) ?? ResolveUserPath(Model);
    private string? ProfileResolved => ModelProfile is null ? null : ResolveUserPath(ModelProfile);

    protected override string? DefaultPathModel => EmbeddingModels.NameOf(ModelPathResolved, ProfileResolved);

    /// <summary>Binds the request; the job (Core) decides the folder, takes its lock and runs the stage.</summary>
    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        var request = new EmbedRequest
        {
            Store = Store, PathNamed = PathNamed, ShardIndex = ShardIndex, ShardCount = ShardCount, LockTimeout = LockTimeout,
            Model = ModelPathResolved, ModelDisplay = Model, ModelProfile = ProfileResolved, BatchSize = BatchSize, Threads = ThrottleLimit,
            SegmentSeconds = SegmentSeconds, Force = Force, WriteNpy = Format == "npy",
            PublishPath = PublishPath, Connection = PublishPath is null ? null : S3.Connection(), Retry = PublishPath is null ? null : S3.Retry(),
        };
        try { _job = new EmbedJob(request, JobHost, WriteObject); }
        catch (MessException ex) { ThrowTerminating(ex); }
    }

    protected override void ProcessRecord() => JobStep(() => _job!.Post(CurrentTrack(), TrackFolder), () => _job!.Store);

    protected override void EndProcessing()
    {
        JobStep(() => _job!.Complete(), () => _job!.Store);
        CompleteProgress(1, EmbedJob.Activity);
        _job!.Dispose();
        if (!_job.Stopped) base.EndProcessing();
    }


    void IDisposable.Dispose()
    {
        _job?.Dispose(); // stopped or ended by an error: the job keeps what was finished, so the next run resumes
        Dispose();
    }
}

/// <summary>Completes -Model with "builtin", "builtin-2" and the .onnx files under the current folder.</summary>
public sealed class EmbeddingModelCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string word = wordToComplete.Trim('\'', '"');
        foreach (var (name, description) in EmbeddingModels.BuiltinModels)
            if (name.StartsWith(word, StringComparison.OrdinalIgnoreCase))
                yield return new CompletionResult(name, name, CompletionResultType.ParameterValue, description);
        IEnumerable<string> files;
        try
        {
            string cwd = CurrentLocation();
            files = Directory.EnumerateFiles(cwd, "*.onnx", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 3, IgnoreInaccessible = true })
                .Select(f => "./" + Path.GetRelativePath(cwd, f).Replace('\\', '/')).Take(50).ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException) { files = Array.Empty<string>(); }
        foreach (var f in files)
            if (f.StartsWith(word, StringComparison.OrdinalIgnoreCase) || f[2..].StartsWith(word, StringComparison.OrdinalIgnoreCase))
                yield return new CompletionResult(f.Contains(' ') ? $"'{f}'" : f, f, CompletionResultType.ParameterValue, f);
    }

    /// <summary>The PowerShell location (not the process directory); completers run on the pipeline thread, so a nested pipeline works.</summary>
    private static string CurrentLocation()
    {
        try
        {
            using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
            ps.AddScript("$ExecutionContext.SessionState.Path.CurrentFileSystemLocation.ProviderPath");
            var r = ps.Invoke();
            if (r.Count > 0 && r[0]?.BaseObject is string p && p.Length > 0) return p;
        }
        catch (Exception) { /* a completer must never throw */ }
        try
        {
            var loc = System.Management.Automation.Runspaces.Runspace.DefaultRunspace?.SessionStateProxy.Path.CurrentFileSystemLocation.ProviderPath;
            if (!string.IsNullOrEmpty(loc)) return loc;
        }
        catch (Exception) { }
        return Directory.GetCurrentDirectory();
    }
}
