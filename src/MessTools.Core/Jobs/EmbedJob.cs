using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Aws;
using MessTools.Core.Common;
using MessTools.Core.Embedding;
using MessTools.Core.Sharding;

namespace MessTools.Core.Jobs;

/// <summary>What ConvertTo-MessEmbedding (or any front end) asks of <see cref="EmbedJob"/>.</summary>
public sealed record EmbedRequest : TrackStageRequest
{
    /// <summary>"builtin" or the full path of an .onnx model.</summary>
    public string Model { get; init; } = EmbeddingModels.Builtin;
    /// <summary>The model as the user named it (in messages).</summary>
    public string? ModelDisplay { get; init; }
    public string? ModelProfile { get; init; }
    public int? BatchSize { get; init; }
    public int? Threads { get; init; }
    public double? SegmentSeconds { get; init; }
    public bool Force { get; init; }
    public bool WriteNpy { get; init; }
    /// <summary>A sharded run also publishes its finished shard under this s3:// run URI.</summary>
    public string? PublishPath { get; init; }
    public S3Connection? Connection { get; init; }
    public RetryBackoff? Retry { get; init; }
}

/// <summary>
/// The Embed stage, a streaming job: it takes tracks one by one (<see cref="TrackStageJob.Post"/>), decides the folder once
/// (<see cref="TrackFolders"/>: the tracks' folder mapped to the model's, then to the shard's), holds its writer lock,
/// embeds incrementally while tracks keep arriving, hands each embedded track on (<c>emit</c>, on the caller's thread)
/// and, at <see cref="TrackStageJob.Complete"/>, saves the set, writes the shard manifest (and publishes it with -PublishPath) and the
/// run record. A job that stops early keeps what was finished, so the next run resumes.
/// </summary>
public sealed class EmbedJob : TrackStageJob
{
    public const string Activity = "ConvertTo-MessEmbedding";

    private readonly EmbedRequest _request;
    private IEmbeddingModel? _model;
    private EmbeddingRun? _run;
    private bool _skip;
    private long _seen;

    public EmbedJob(EmbedRequest request, IMessJobHost host, Action<MessTrack> emit)
        : base(request, host, emit, EmbeddingModels.NameOf(request.Model, request.ModelProfile) ?? EmbeddingModels.Builtin)
    {
        _request = request;
    }

    /// <summary>Opens the model and the embedding run once the folder is known (the first track may name it).</summary>
    protected override void Open()
    {
        if (_request.PublishPath is not null && Folders.Shard is null)
            throw new MessException(MessErrorIds.PublishPathNeedsShard, MessErrorKind.InvalidArgument,
                "-PublishPath publishes a shard: give -ShardIndex/-ShardCount (or run as an array child). To publish a whole artifact folder use Publish-MessArtifact.", "PublishPath");
        if (!Host.ShouldProcess(Store.EmbeddingsDir, $"Embed tracks with model '{_request.ModelDisplay ?? _request.Model}'")) { _skip = true; return; }
        try
        {
            _model = EmbeddingModels.Open(_request.Model, _request.ModelProfile, _request.BatchSize, _request.Threads);
            Host.Verbose($"Model '{_model.Name}' ({_model.SampleRate} Hz, batch {_model.BatchSize}) -> {Store.EmbeddingsDir}");
            // a shard being (re)written has no manifest until it is complete: a killed child is a missing shard to the merge
            if (Folders.Shard is not null) ShardManifest.Remove(Store);
            IAudioDecoder? decoder = null;
            try { decoder = new FfmpegDecoder(); }
            catch (MessException ex) { Host.Verbose($"No audio decoder: only WAV files can be read ({ex.Message})"); }
            _run = new EmbeddingRun(Store, _model, new EmbeddingRunOptions
            {
                SegmentSeconds = _request.SegmentSeconds,
                Force = _request.Force,
                WriteNpy = _request.WriteNpy,
                Decoder = decoder,
                Warn = Host.Warning,
            }, Host.Cancellation);
            if (_run.Set.Loaded) Host.Verbose($"{_run.Set.Count} tracks already embedded in {Store.EmbeddingsDir}");
        }
        catch (MessException)
        {
            Cleanup();
            throw;
        }
    }

    /// <summary>Embeds the track while others keep arriving; a track failed in an earlier stage is recorded.</summary>
    protected override void Accept(MessTrack track)
    {
        if (_skip || _run is null) return;
        _seen++;
        if (track.Status == MessTrackStatus.Failed)
        {
            _run.RecordFailure(track.TrackId, "FailedInEarlierStage");
            Host.Verbose($"Track '{track.TrackId}' failed in an earlier stage: skipped.");
            return;
        }
        try { _run.Post(track); }
        catch (MessException ex) { _run.RecordFailure(track.TrackId, ex.ErrorId); Host.ItemError(ex, track.TrackId); }
        foreach (var r in _run.TakeReady()) Emit(r);
    }

    /// <summary>Finishes the tracks in flight, saves the set, writes the shard manifest (and publishes it) and the run record.</summary>
    protected override bool Finish()
    {
        if (_skip || _run is null) return true;
        var run = _run;
        try
        {
            run.Complete();
            try
            {
                foreach (var r in run.Drain()) Emit(r);
            }
            catch (MessException) { Save(run); throw; }
            catch (OperationCanceledException) { Save(run); Stopped = true; return false; }
            Save(run);
            if (Folders.Shard is { } shard) WriteShardManifest(run, shard);
            Record.Count(("posted", run.Posted), ("computed", run.Computed), ("reused", run.Reused), ("failed", run.Failed));
            if (run.Recovered > 0) Record.Count("recovered", run.Recovered);
            Record.Results["embeddings_dir"] = Store.EmbeddingsDir;
            Record.Results["model"] = _model!.Name;
            Record.Results["dim"] = run.Set.Dimension;
            Record.Results["rows"] = run.Set.Count;
            Record.Results["audio_seconds"] = Math.Round(run.AudioSeconds, 1);
            double sec = run.Elapsed.TotalSeconds;
            if (sec > 0 && run.AudioSeconds > 0) Record.Results["realtime_factor"] = Math.Round(run.AudioSeconds / sec, 1);
            Host.Verbose($"{run.Computed} embedded, {run.Reused} unchanged, {run.Failed} failed; {run.Set.Count} rows in {Store.EmbeddingsFile}");
            if (run.Posted == 0 && _seen == 0) Host.Warning("No tracks came in: nothing was embedded.");
        }
        finally { Cleanup(); }
        return true;
    }

    private void Save(EmbeddingRun run)
    {
        try
        {
            if (run.Save()) Host.Verbose($"Wrote {run.Set.Count} x {run.Set.Dimension} embeddings to {Store.EmbeddingsFile}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MessException(MessErrorIds.EmbeddingsWriteFailed, MessErrorKind.WriteError,
                $"Writing the embeddings to '{Store.EmbeddingsDir}' failed: {ex.Message}. The previous complete set is kept.", Store.EmbeddingsDir, ex);
        }
    }

    private void WriteShardManifest(EmbeddingRun run, ShardSpec shard)
    {
        try
        {
            var m = ShardManifest.Write(Store, shard, run);
            Record.Results["shard_tracks"] = m.TrackIds.Count;
            Host.Verbose($"{shard}: manifest with {m.TrackIds.Count} tracks, {m.Failed.Count} failed, in {Store.Root}");
            if (_request.PublishPath is not null)
            {
                var (remote, _) = ShardExchange.ParseUri(_request.PublishPath, _request.Connection ?? new S3Connection(), _request.Retry);
                Host.Progress(Activity, $"Publishing {shard} to {remote.Display}");
                var published = ShardExchange.PublishAsync(remote, Store, shard, Host.Cancellation).GetAwaiter().GetResult();
                Record.Results["shard_published"] = published.Uri;
                Host.Verbose($"{shard} published to {published.Uri} ({published.UploadedFiles} of {published.Files} files uploaded)");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MessException(MessErrorIds.ShardManifestWriteFailed, MessErrorKind.WriteError,
                $"Writing the shard manifest to '{Store.Root}' failed: {ex.Message}. Re-run the shard.", Store.Root, ex);
        }
    }

    private void Emit(EmbeddingResult r)
    {
        if (r.Error is not null) Host.ItemError(r.Error, r.Track.TrackId);
        else
        {
            var t = r.Track;
            t.Status = MessTrackStatus.Embedded;
            t.StatusMessage = r.Reused ? "unchanged: embedding reused" : null;
            t.ArtifactPath = Store.Root;
            HandOn(t);
        }
        var run = _run!;
        long done = run.Computed + run.Reused + run.Failed;
        double sec = run.Elapsed.TotalSeconds;
        string speed = sec > 0 && run.AudioSeconds > 0 ? $", {run.AudioSeconds / sec:0}x real time" : "";
        Host.Progress(Activity, $"{done} of {run.Posted} tracks: {run.Computed} embedded, {run.Reused} unchanged, {run.Failed} failed{speed}",
            run.Posted > 0 ? (int)(100 * done / run.Posted) : -1);
    }

    private void Cleanup()
    {
        _run?.Dispose(); _run = null;
        _model?.Dispose(); _model = null;
    }

    /// <summary>Stopped (Ctrl+C) or ended by an error before it completed: keeps what was finished, so the next run resumes.</summary>
    protected override void Release()
    {
        if (_run is { } run)
        {
            try { run.Save(); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or MessException) { }
        }
        Cleanup();
    }
}
