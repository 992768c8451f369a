using System.Diagnostics;
using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Common;

namespace MessTools.Core.Embedding;

public sealed class EmbeddingRunOptions
{
    public double? SegmentSeconds { get; init; }
    /// <summary>Re-embed every track given, and replace a folder that holds another model's (or profile's) embeddings.</summary>
    public bool Force { get; init; }
    /// <summary>Also write embeddings/embeddings.npy.</summary>
    public bool WriteNpy { get; init; }
    public IAudioDecoder? Decoder { get; init; }
    /// <summary>Save complete artifacts this often during a long run (a killed run loses at most this much work).</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromMinutes(2);
    public Action<string>? Warn { get; init; }
    /// <summary>Tests: called with each file name just before it is written (throw to simulate a killed run).</summary>
    internal Action<string>? BeforeWrite { get; init; }
}

/// <summary>
/// One ConvertTo-MessEmbedding run over a folder: opens (and checks) the existing artifacts, embeds the posted
/// tracks through an <see cref="EmbeddingPipeline"/> (unchanged tracks are reused, not recomputed), validates
/// each result against the matrix, saves complete artifacts at checkpoints and at the end.
/// </summary>
public sealed class EmbeddingRun : IDisposable
{
    private readonly ArtifactStore _store;
    private readonly IEmbeddingModel _model;
    private readonly EmbeddingRunOptions _options;
    private readonly EmbeddingSet _set;
    private readonly EmbeddingPipeline _pipeline;
    private readonly EmbeddingJournal _journal;
    private readonly HashSet<string> _posted = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, string> _failures = new(StringComparer.Ordinal);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _lastSave;
    private bool _dirty;

    public long Posted { get; private set; }
    public long Reused { get; private set; }
    public long Computed { get; private set; }
    public long Failed { get; private set; }
    /// <summary>Tracks folded in from the journal of an interrupted run.</summary>
    public long Recovered { get; private set; }
    public double AudioSeconds { get; private set; }
    public EmbeddingSet Set => _set;
    public IEmbeddingModel Model => _model;
    /// <summary>SHA-256 over the model's SHA-256 and its profile (what must match for rows to be reused or merged).</summary>
    public string ModelKey { get; }
    /// <summary>Tracks of this run that failed (track id -> error id), for the shard manifest.</summary>
    public IReadOnlyDictionary<string, string> Failures => _failures;
    public TimeSpan Elapsed => _clock.Elapsed;

    public EmbeddingRun(ArtifactStore store, IEmbeddingModel model, EmbeddingRunOptions options, CancellationToken cancellationToken)
    {
        _store = store;
        _model = model;
        _options = options;
        string key = ModelKey = EmbeddingSet.ComputeModelKey(model.ModelSha256, model.Identity);
        try { _set = EmbeddingSet.Open(store, model.Name, key, options.SegmentSeconds, options.Warn); }
        catch (MessException ex) when (options.Force && ex.ErrorId is MessErrorIds.EmbeddingsModelMismatch or MessErrorIds.EmbeddingsOutOfStep or MessErrorIds.EmbeddingsNotIncremental or MessErrorIds.ArtifactMalformed or MessErrorIds.TrackIdsMalformed or MessErrorIds.TrackIdsDuplicate or MessErrorIds.EmbeddingNotFinite)
        {
            options.Warn?.Invoke($"{ex.Message} -Force: the embeddings in '{store.EmbeddingsDir}' are rebuilt from the tracks of this run.");
            _set = EmbeddingSet.Empty(model.Name, key, options.SegmentSeconds);
        }
        catch (MessException ex) when (ex.ErrorId is MessErrorIds.EmbeddingsOutOfStep or MessErrorIds.ArtifactMalformed or MessErrorIds.TrackIdsMalformed or MessErrorIds.TrackIdsDuplicate)
        {
            throw new MessException(ex.ErrorId, ex.Kind, ex.Message + " Run again with -Force to rebuild the embeddings from the tracks given.", ex.Target, ex);
        }
        // Tracks a killed run finished after its last save: folded in from the journal, so they are not recomputed.
        var (pending, validLength) = EmbeddingJournal.Read(store, key, options.Warn);
        foreach (var t in pending)
        {
            try { _set.Put(t); Recovered++; }
            catch (MessException ex) { options.Warn?.Invoke($"A journal record of track '{t.Info.TrackId}' is dropped: {ex.Message}"); }
        }
        if (Recovered > 0)
        {
            _dirty = true;
            options.Warn?.Invoke($"{Recovered} track(s) that an interrupted run finished were recovered from '{EmbeddingJournal.PathIn(store)}' and are not recomputed.");
        }
        _journal = EmbeddingJournal.Open(store, key, validLength);
        var existing = _set.Rows.ToDictionary(r => r.Info.TrackId, r => (r.Info.AudioSha256, r.Info.AudioBytes, r.Info.Segments > 0), StringComparer.Ordinal);
        _pipeline = new EmbeddingPipeline(model, new EmbeddingPipelineOptions
        {
            SegmentSeconds = options.SegmentSeconds, Force = options.Force, Decoder = options.Decoder, Existing = existing,
        }, cancellationToken);
        _lastSave = _clock.Elapsed;
    }

    /// <summary>The audio file a track is read from: WavPath, else AudioPath, else a local AudioUri.</summary>
    public static string ResolveAudioFile(MessTrack track)
    {
        string? p = track.WavPath ?? track.AudioPath;
        if (p is null && !string.IsNullOrWhiteSpace(track.AudioUri))
        {
            string u = track.AudioUri;
            if (u.StartsWith("file://", StringComparison.OrdinalIgnoreCase)) p = new Uri(u).LocalPath;
            else if (!u.Contains("://", StringComparison.Ordinal) && File.Exists(u)) p = u;
        }
        if (p is null)
            throw new MessException(MessErrorIds.TrackHasNoAudio, MessErrorKind.InvalidArgument,
                $"Track '{track.TrackId}' has no local audio (WavPath or AudioPath). Pipe it through Get-MessAudio first.", track.TrackId);
        return Path.GetFullPath(p);
    }

    /// <summary>Queues a track; throws MessException (the caller reports it for this track) when it cannot be queued.</summary>
    public void Post(MessTrack track)
    {
        if (string.IsNullOrWhiteSpace(track.TrackId))
            throw new MessException(MessErrorIds.TrackIdEmpty, MessErrorKind.InvalidArgument, "A track without a track id cannot be embedded.");
        string file = ResolveAudioFile(track);
        if (!_posted.Add(track.TrackId))
            throw new MessException(MessErrorIds.DuplicateTrackId, MessErrorKind.InvalidArgument, $"Track '{track.TrackId}' came twice in this run; the first one is embedded.", track.TrackId);
        Posted++;
        _pipeline.Post(track, file);
    }

    public void Complete() => _pipeline.Complete();

    /// <summary>Results ready now (non-blocking), applied to the matrix.</summary>
    public IEnumerable<EmbeddingResult> TakeReady()
    {
        while (_pipeline.TryTake(out var r, 0)) yield return Apply(r!);
        CheckpointIfDue();
    }

    /// <summary>Every remaining result, blocking; call <see cref="Complete"/> first.</summary>
    public IEnumerable<EmbeddingResult> Drain()
    {
        foreach (var r in _pipeline.Drain())
        {
            yield return Apply(r);
            CheckpointIfDue();
        }
    }

    private EmbeddingResult Apply(EmbeddingResult r)
    {
        if (r.Error is null && r.Embedded is not null)
        {
            try { _set.Put(r.Embedded); _dirty = true; Computed++; AudioSeconds += r.AudioSeconds; }
            catch (MessException ex) { r.Error = ex; r.Embedded = null; }
            if (r.Embedded is not null)
            {
                try { _journal.Append(r.Embedded); }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new MessException(MessErrorIds.EmbeddingsWriteFailed, MessErrorKind.WriteError,
                        $"Appending track '{r.Track.TrackId}' to the journal '{_journal.Path}' failed: {ex.Message}", _journal.Path, ex);
                }
            }
        }
        else if (r.Error is null && r.Reused) Reused++;
        if (r.Error is not null) { Failed++; RecordFailure(r.Track.TrackId, r.Error.ErrorId); }
        return r;
    }

    /// <summary>Notes a track that failed (also one that could not be posted), for the shard manifest.</summary>
    public void RecordFailure(string trackId, string errorId)
    {
        if (!string.IsNullOrWhiteSpace(trackId)) _failures[trackId] = errorId;
    }

    private void CheckpointIfDue()
    {
        if (_dirty && _clock.Elapsed - _lastSave >= _options.CheckpointInterval) Save();
    }

    /// <summary>Writes the artifacts if anything changed (or an npy copy is wanted and missing); returns whether it wrote.</summary>
    public bool Save()
    {
        bool npyMissing = _options.WriteNpy && !File.Exists(Path.Combine(_store.EmbeddingsDir, EmbeddingSet.NpyFileName));
        if (_set.Count == 0 || (!_dirty && !npyMissing)) return false;
        var meta = BuildMeta();
        _set.Save(_store, meta, _options.WriteNpy, _options.BeforeWrite);
        _journal.Clear(); // everything it held is in the complete set now
        _dirty = false;
        _lastSave = _clock.Elapsed;
        return true;
    }

    public EmbeddingsMeta BuildMeta()
    {
        var meta = new EmbeddingsMeta { Normalization = "l2" };
        _model.Describe(meta);
        return meta;
    }

    public void Dispose()
    {
        _pipeline.Dispose();
        _journal.Dispose();
    }
}
