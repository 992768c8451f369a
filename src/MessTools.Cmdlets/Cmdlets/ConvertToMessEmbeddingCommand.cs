using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using MessTools.Cmdlets.Common;
using MessTools.Core.Audio;
using MessTools.Core.Common;
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

    private const string Activity = "ConvertTo-MessEmbedding";
    private IEmbeddingModel? _model;
    private EmbeddingRun? _run;
    private bool _skip;
    private long _seen;

    /// <summary>builtin (default) or the path of an .onnx model with a JSON profile beside it (model.onnx.json).</summary>
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

    private string ModelPathResolved => EmbeddingModels.IsBuiltin(Model) ? EmbeddingModels.Builtin : ResolveUserPath(Model);
    private string? ProfileResolved => ModelProfile is null ? null : ResolveUserPath(ModelProfile);

    protected override string? DefaultPathModel => EmbeddingModels.NameOf(ModelPathResolved, ProfileResolved);

    private bool _opened;

    /// <summary>Opens the model and the embedding run once the artifact folder is known (the first track may name it).</summary>
    private void Open()
    {
        _opened = true;
        TakeWriterLock(); // the folder is known now: the tracks' own, a named one, or the default
        if (PublishPath is not null && Shard is null)
            ThrowTerminating(new MessException("PublishPathNeedsShard", MessErrorKind.InvalidArgument,
                "-PublishPath publishes a shard: give -ShardIndex/-ShardCount (or run as an array child). To publish a whole artifact folder use Publish-MessArtifact.", "PublishPath"));
        if (!ShouldProcess(Store.EmbeddingsDir, $"Embed tracks with model '{Model}'")) { _skip = true; return; }
        try
        {
            _model = EmbeddingModels.Open(ModelPathResolved, ProfileResolved, BatchSize, ThrottleLimit);
            WriteVerbose($"Model '{_model.Name}' ({_model.SampleRate} Hz, batch {_model.BatchSize}) -> {Store.EmbeddingsDir}");
            // a shard being (re)written has no manifest until it is complete: a killed child is a missing shard to the merge
            if (Shard is not null) Core.Sharding.ShardManifest.Remove(Store);
            IAudioDecoder? decoder = null;
            try { decoder = new FfmpegDecoder(); }
            catch (MessException ex) { WriteVerbose($"No audio decoder: only WAV files can be read ({ex.Message})"); }
            _run = new EmbeddingRun(Store, _model, new EmbeddingRunOptions
            {
                SegmentSeconds = SegmentSeconds,
                Force = Force,
                WriteNpy = Format == "npy",
                Decoder = decoder,
                Warn = Warn,
            }, Cancellation);
            if (_run.Set.Loaded) WriteVerbose($"{_run.Set.Count} tracks already embedded in {Store.EmbeddingsDir}");
        }
        catch (MessException ex)
        {
            Cleanup();
            ThrowTerminating(ex);
        }
    }

    protected override void ProcessRecord()
    {
        if (InOtherShard(TrackId)) return; // another shard's track: no work at all, not even opening the model
        FollowTrackFolder(folder => ShardFolderOf(Core.Artifacts.ArtifactStore.FolderForModel(folder, DefaultPathModel ?? EmbeddingModels.Builtin)));
        if (!_opened) Open();
        if (_skip || _run is null) return;
        var track = CurrentTrack();
        _seen++;
        if (track.Status == MessTrackStatus.Failed)
        {
            _run.RecordFailure(track.TrackId, "FailedInEarlierStage");
            WriteVerbose($"Track '{track.TrackId}' failed in an earlier stage: skipped.");
            return;
        }
        try { _run.Post(track); }
        catch (MessException ex) { _run.RecordFailure(track.TrackId, ex.ErrorId); WriteItemError(ex, track.TrackId); }
        foreach (var r in _run.TakeReady()) Emit(r);
    }

    protected override void EndProcessing()
    {
        if (!_opened) Open();
        if (_skip || _run is null) { base.EndProcessing(); return; }
        var run = _run;
        try
        {
            run.Complete();
            try
            {
                foreach (var r in run.Drain()) Emit(r);
            }
            catch (MessException ex) { Save(run); ThrowTerminating(ex); }
            catch (OperationCanceledException) { Save(run); return; }
            CompleteProgress(1, Activity);
            Save(run);
            if (Shard is { } shard) WriteShardManifest(run, shard);
            Run.Count("posted", run.Posted);
            Run.Count("computed", run.Computed);
            Run.Count("reused", run.Reused);
            Run.Count("failed", run.Failed);
            if (run.Recovered > 0) Run.Count("recovered", run.Recovered);
            Run.Results["embeddings_dir"] = Store.EmbeddingsDir;
            Run.Results["model"] = _model!.Name;
            Run.Results["dim"] = run.Set.Dimension;
            Run.Results["rows"] = run.Set.Count;
            Run.Results["audio_seconds"] = Math.Round(run.AudioSeconds, 1);
            double sec = run.Elapsed.TotalSeconds;
            if (sec > 0 && run.AudioSeconds > 0) Run.Results["realtime_factor"] = Math.Round(run.AudioSeconds / sec, 1);
            WriteVerbose($"{run.Computed} embedded, {run.Reused} unchanged, {run.Failed} failed; {run.Set.Count} rows in {Store.EmbeddingsFile}");
            if (run.Posted == 0 && _seen == 0) Warn("No tracks came in: nothing was embedded.");
        }
        finally { Cleanup(); }
        base.EndProcessing();
    }

    private void Save(EmbeddingRun run)
    {
        try
        {
            if (run.Save()) WriteVerbose($"Wrote {run.Set.Count} x {run.Set.Dimension} embeddings to {Store.EmbeddingsFile}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ThrowTerminating(new MessException("EmbeddingsWriteFailed", MessErrorKind.WriteError,
                $"Writing the embeddings to '{Store.EmbeddingsDir}' failed: {ex.Message}. The previous complete set is kept.", Store.EmbeddingsDir, ex));
        }
    }

    private void WriteShardManifest(EmbeddingRun run, Core.Sharding.ShardSpec shard)
    {
        try
        {
            var m = Core.Sharding.ShardManifest.Write(Store, shard, run);
            Run.Results["shard_tracks"] = m.TrackIds.Count;
            WriteVerbose($"{shard}: manifest with {m.TrackIds.Count} tracks, {m.Failed.Count} failed, in {Store.Root}");
            if (PublishPath is not null)
            {
                var (remote, _) = Core.Sharding.ShardExchange.ParseUri(PublishPath, S3.Connection(), S3.Retry());
                ReportProgress(1, Activity, $"Publishing {shard} to {remote.Display}", force: true);
                var published = Core.Sharding.ShardExchange.PublishAsync(remote, Store, shard, Cancellation).GetAwaiter().GetResult();
                Run.Results["shard_published"] = published.Uri;
                WriteVerbose($"{shard} published to {published.Uri} ({published.UploadedFiles} of {published.Files} files uploaded)");
            }
        }
        catch (MessException ex) { ThrowTerminating(ex); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ThrowTerminating(new MessException("ShardManifestWriteFailed", MessErrorKind.WriteError,
                $"Writing the shard manifest to '{Store.Root}' failed: {ex.Message}. Re-run the shard.", Store.Root, ex));
        }
    }

    private void Emit(EmbeddingResult r)
    {
        if (r.Error is not null) WriteItemError(r.Error, r.Track.TrackId);
        else
        {
            var t = r.Track;
            t.Status = MessTrackStatus.Embedded;
            t.StatusMessage = r.Reused ? "unchanged: embedding reused" : null;
            t.ArtifactPath = Store.Root;
            WriteObject(t);
        }
        var run = _run!;
        long done = run.Computed + run.Reused + run.Failed;
        double sec = run.Elapsed.TotalSeconds;
        string speed = sec > 0 && run.AudioSeconds > 0 ? $", {run.AudioSeconds / sec:0}x real time" : "";
        ReportProgress(1, Activity, $"{done} of {run.Posted} tracks: {run.Computed} embedded, {run.Reused} unchanged, {run.Failed} failed{speed}",
            run.Posted > 0 ? (int)(100 * done / run.Posted) : -1);
    }

    private void Cleanup()
    {
        _run?.Dispose(); _run = null;
        _model?.Dispose(); _model = null;
    }

    void IDisposable.Dispose()
    {
        // Stopped (Ctrl+C) or ended by an error before EndProcessing: keep what was finished, so the next run resumes.
        if (_run is { } run)
        {
            try { run.Save(); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or MessException) { }
        }
        Cleanup();
        Dispose();
    }
}

/// <summary>Completes -Model with "builtin" and the .onnx files under the current folder.</summary>
public sealed class EmbeddingModelCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string word = wordToComplete.Trim('\'', '"');
        if (EmbeddingModels.Builtin.StartsWith(word, StringComparison.OrdinalIgnoreCase))
            yield return new CompletionResult(EmbeddingModels.Builtin, EmbeddingModels.Builtin, CompletionResultType.ParameterValue, "The built-in embedder (no weights)");
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
