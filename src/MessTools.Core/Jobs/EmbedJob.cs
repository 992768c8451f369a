using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Aws;
using MessTools.Core.Common;
using MessTools.Core.Embedding;
using MessTools.Core.Sharding;

namespace MessTools.Core.Jobs;

/// <summary>What ConvertTo-MessEmbedding (or any front end) asks of <see cref="EmbedJob"/>.</summary>
public sealed record EmbedRequest
{
    /// <summary>The folder the front end resolved (explicit path, environment or the model's default); the tracks' own may replace it.</summary>
    public required ArtifactStore Store { get; init; }
    /// <summary>True when the user named the folder, so the tracks' own folders are ignored.</summary>
    public bool PathNamed { get; init; }
    /// <summary>-ShardIndex/-ShardCount (null: from the environment, see <see cref="ShardSpec.Resolve(int?, int?)"/>).</summary>
    public int? ShardIndex { get; init; }
    public int? ShardCount { get; init; }
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
    public TimeSpan LockTimeout { get; init; }
}

/// <summary>
/// The Embed stage, a streaming job: it takes tracks one by one (<see cref="Post"/>), decides the folder once
/// (<see cref="TrackFolders"/>: the tracks' folder mapped to the model's, then to the shard's), holds its writer lock,
/// embeds incrementally while tracks keep arriving, hands each embedded track on (<c>emit</c>, on the caller's thread)
/// and, at <see cref="Complete"/>, saves the set, writes the shard manifest (and publishes it with -PublishPath) and the
/// run record. A job that stops early keeps what was finished, so the next run resumes.
/// </summary>
public sealed class EmbedJob : IDisposable
{
    public const string Activity = "ConvertTo-MessEmbedding";

    private readonly EmbedRequest _request;
    private readonly IMessJobHost _host;
    private readonly Action<MessTrack> _emit;
    private readonly TrackFolders _folders;
    private readonly RunRecord _record; // the host's record, or one that is never saved (-WhatIf)
    private JobFolder? _folder;
    private IEmbeddingModel? _model;
    private EmbeddingRun? _run;
    private bool _opened, _skip, _completed;
    private long _seen;

    public EmbedJob(EmbedRequest request, IMessJobHost host, Action<MessTrack> emit)
    {
        _request = request;
        _host = host;
        _emit = emit;
        _record = host.Run ?? new RunRecord();
        _folders = new TrackFolders(request.Store, request.PathNamed, request.ShardIndex, request.ShardCount,
            EmbeddingModels.NameOf(request.Model, request.ModelProfile) ?? EmbeddingModels.Builtin);
        _folders.Record(host, end: false);
    }

    /// <summary>The folder the job writes (final once the first track came).</summary>
    public ArtifactStore Store => _folders.Store;

    /// <summary>True when Ctrl+C stopped the job while it finished: what was done is saved, no record says completed.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Opens the model and the embedding run once the folder is known (the first track may name it).</summary>
    private void Open()
    {
        _opened = true;
        _folder = JobFolder.Lock(Store, _host, _request.LockTimeout);
        if (_request.PublishPath is not null && _folders.Shard is null)
            throw new MessException("PublishPathNeedsShard", MessErrorKind.InvalidArgument,
                "-PublishPath publishes a shard: give -ShardIndex/-ShardCount (or run as an array child). To publish a whole artifact folder use Publish-MessArtifact.", "PublishPath");
        if (!_host.ShouldProcess(Store.EmbeddingsDir, $"Embed tracks with model '{_request.ModelDisplay ?? _request.Model}'")) { _skip = true; return; }
        try
        {
            _model = EmbeddingModels.Open(_request.Model, _request.ModelProfile, _request.BatchSize, _request.Threads);
            _host.Verbose($"Model '{_model.Name}' ({_model.SampleRate} Hz, batch {_model.BatchSize}) -> {Store.EmbeddingsDir}");
            // a shard being (re)written has no manifest until it is complete: a killed child is a missing shard to the merge
            if (_folders.Shard is not null) ShardManifest.Remove(Store);
            IAudioDecoder? decoder = null;
            try { decoder = new FfmpegDecoder(); }
            catch (MessException ex) { _host.Verbose($"No audio decoder: only WAV files can be read ({ex.Message})"); }
            _run = new EmbeddingRun(Store, _model, new EmbeddingRunOptions
            {
                SegmentSeconds = _request.SegmentSeconds,
                Force = _request.Force,
                WriteNpy = _request.WriteNpy,
                Decoder = decoder,
                Warn = _host.Warning,
            }, _host.Cancellation);
            if (_run.Set.Loaded) _host.Verbose($"{_run.Set.Count} tracks already embedded in {Store.EmbeddingsDir}");
        }
        catch (MessException)
        {
            Cleanup();
            throw;
        }
    }

    /// <summary>
    /// Takes one track (<paramref name="trackFolder"/>: the folder it came from, or null): another shard's track is
    /// dropped before any work (not even the model is opened); a track failed in an earlier stage is recorded.
    /// </summary>
    public void Post(MessTrack track, string? trackFolder)
    {
        if (_folders.InOtherShard(track.TrackId)) return;
        _folders.Follow(trackFolder);
        if (!_opened) Open();
        if (_skip || _run is null) return;
        _seen++;
        if (track.Status == MessTrackStatus.Failed)
        {
            _run.RecordFailure(track.TrackId, "FailedInEarlierStage");
            _host.Verbose($"Track '{track.TrackId}' failed in an earlier stage: skipped.");
            return;
        }
        try { _run.Post(track); }
        catch (MessException ex) { _run.RecordFailure(track.TrackId, ex.ErrorId); _host.ItemError(ex, track.TrackId); }
        foreach (var r in _run.TakeReady()) Emit(r);
    }

    /// <summary>Finishes the tracks in flight, saves the set, writes the shard manifest (and publishes it) and the run record.</summary>
    public void Complete()
    {
        if (!_opened) Open();
        if (_skip || _run is null) { Finish(); return; }
        var run = _run;
        try
        {
            run.Complete();
            try
            {
                foreach (var r in run.Drain()) Emit(r);
            }
            catch (MessException) { Save(run); throw; }
            catch (OperationCanceledException) { Save(run); Stopped = true; return; }
            Save(run);
            if (_folders.Shard is { } shard) WriteShardManifest(run, shard);
            _record.Count(("posted", run.Posted), ("computed", run.Computed), ("reused", run.Reused), ("failed", run.Failed));
            if (run.Recovered > 0) _record.Count("recovered", run.Recovered);
            _record.Results["embeddings_dir"] = Store.EmbeddingsDir;
            _record.Results["model"] = _model!.Name;
            _record.Results["dim"] = run.Set.Dimension;
            _record.Results["rows"] = run.Set.Count;
            _record.Results["audio_seconds"] = Math.Round(run.AudioSeconds, 1);
            double sec = run.Elapsed.TotalSeconds;
            if (sec > 0 && run.AudioSeconds > 0) _record.Results["realtime_factor"] = Math.Round(run.AudioSeconds / sec, 1);
            _host.Verbose($"{run.Computed} embedded, {run.Reused} unchanged, {run.Failed} failed; {run.Set.Count} rows in {Store.EmbeddingsFile}");
            if (run.Posted == 0 && _seen == 0) _host.Warning("No tracks came in: nothing was embedded.");
        }
        finally { Cleanup(); }
        Finish();
    }

    private void Finish()
    {
        _folders.Record(_host, end: true);
        _completed = true;
        _folder?.SaveRun("completed");
    }

    private void Save(EmbeddingRun run)
    {
        try
        {
            if (run.Save()) _host.Verbose($"Wrote {run.Set.Count} x {run.Set.Dimension} embeddings to {Store.EmbeddingsFile}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MessException("EmbeddingsWriteFailed", MessErrorKind.WriteError,
                $"Writing the embeddings to '{Store.EmbeddingsDir}' failed: {ex.Message}. The previous complete set is kept.", Store.EmbeddingsDir, ex);
        }
    }

    private void WriteShardManifest(EmbeddingRun run, ShardSpec shard)
    {
        try
        {
            var m = ShardManifest.Write(Store, shard, run);
            _record.Results["shard_tracks"] = m.TrackIds.Count;
            _host.Verbose($"{shard}: manifest with {m.TrackIds.Count} tracks, {m.Failed.Count} failed, in {Store.Root}");
            if (_request.PublishPath is not null)
            {
                var (remote, _) = ShardExchange.ParseUri(_request.PublishPath, _request.Connection ?? new S3Connection(), _request.Retry);
                _host.Progress(Activity, $"Publishing {shard} to {remote.Display}");
                var published = ShardExchange.PublishAsync(remote, Store, shard, _host.Cancellation).GetAwaiter().GetResult();
                _record.Results["shard_published"] = published.Uri;
                _host.Verbose($"{shard} published to {published.Uri} ({published.UploadedFiles} of {published.Files} files uploaded)");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MessException("ShardManifestWriteFailed", MessErrorKind.WriteError,
                $"Writing the shard manifest to '{Store.Root}' failed: {ex.Message}. Re-run the shard.", Store.Root, ex);
        }
    }

    private void Emit(EmbeddingResult r)
    {
        if (r.Error is not null) _host.ItemError(r.Error, r.Track.TrackId);
        else
        {
            var t = r.Track;
            t.Status = MessTrackStatus.Embedded;
            t.StatusMessage = r.Reused ? "unchanged: embedding reused" : null;
            t.ArtifactPath = Store.Root;
            _emit(t);
        }
        var run = _run!;
        long done = run.Computed + run.Reused + run.Failed;
        double sec = run.Elapsed.TotalSeconds;
        string speed = sec > 0 && run.AudioSeconds > 0 ? $", {run.AudioSeconds / sec:0}x real time" : "";
        _host.Progress(Activity, $"{done} of {run.Posted} tracks: {run.Computed} embedded, {run.Reused} unchanged, {run.Failed} failed{speed}",
            run.Posted > 0 ? (int)(100 * done / run.Posted) : -1);
    }

    private void Cleanup()
    {
        _run?.Dispose(); _run = null;
        _model?.Dispose(); _model = null;
    }

    /// <summary>
    /// Stopped (Ctrl+C) or ended by an error before <see cref="Complete"/>: keeps what was finished, so the next run
    /// resumes, and writes the record (stopped or failed) before the lock goes.
    /// </summary>
    public void Dispose()
    {
        if (_run is { } run)
        {
            try { run.Save(); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or MessException) { }
        }
        Cleanup();
        if (_folder is not null && !_completed) _folder.SaveRun(_host.Cancellation.IsCancellationRequested || Stopped ? "stopped" : "failed");
        _folder?.Dispose();
        _folder = null;
    }
}
