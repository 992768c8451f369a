using MessTools.Core.Common;
using MessTools.Core.Splitting;

namespace MessTools.Core.Jobs;

/// <summary>What Split-MessAudio (or any front end) asks of <see cref="SplitJob"/>.</summary>
public sealed record SplitStageRequest : TrackStageRequest
{
    /// <summary>How to find the movements (cues, limits); checked when the job is made.</summary>
    public SplitRequest Options { get; init; } = new();
}

/// <summary>
/// The Split stage, a streaming job between Audio and Embed: it takes standardised tracks one by one
/// (<see cref="TrackStageJob.Post"/>), decides the folder once and holds its writer lock like every stage, splits each
/// track into its movements (<see cref="MovementWriter"/>: the WAVs and metadata/segments.csv), hands each movement on
/// (a track with one movement passes unchanged) and, at <see cref="TrackStageJob.Complete"/>, writes segments.csv and
/// the run record with every boundary. One bad track is an item error; the run goes on. Unsharded: movement ids are
/// not the ids the shard plan hashed, so every track that comes is split.
/// </summary>
public sealed class SplitJob : TrackStageJob
{
    public const string Activity = "Split-MessAudio";

    private readonly SplitRequest _options;
    private MovementWriter? _writer;

    public SplitJob(SplitStageRequest request, IMessJobHost host, Action<MessTrack> emit) : base(request, host, emit, model: null)
    {
        try { request.Options.Validate(); }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new MessException(MessErrorIds.InvalidSplitOptions, MessErrorKind.InvalidArgument, ex.Message, ex.ParamName);
        }
        _options = request.Options;
    }

    protected override void Open()
    {
        _writer = new MovementWriter(Store, _options);
        Host.Verbose($"Splitting into movements ({_options.Method}, at least {_options.MinMovementSeconds:0.#} s, at most {_options.MaxMovements}) in {Store.Root}");
    }

    protected override void Accept(MessTrack track)
    {
        if (Stopped) return;
        var writer = _writer!;
        if (track.Status == MessTrackStatus.Failed)
        {
            Host.Verbose($"Track '{track.TrackId}' failed in an earlier stage: skipped.");
            return;
        }
        if (!Host.ShouldProcess($"{track.TrackId} ({track.WavPath})", "Split into movements")) return;
        Host.Progress(Activity, $"{writer.Tracks} tracks: {writer.SplitTracks} split into {writer.Movements} movements, {writer.Failed} failed; now {track.TrackId}");
        SplitTrackResult result;
        try { result = writer.Split(track, Host.Cancellation); }
        catch (OperationCanceledException)
        {
            Stopped = true;
            return;
        }
        if (result.Error is not null)
        {
            Host.ItemError(result.Error, track.TrackId);
            return;
        }
        if (result.Note is not null) Host.Verbose($"Track '{track.TrackId}' stays one track: {result.Note}.");
        else Host.Verbose($"Track '{track.TrackId}': {result.Tracks.Count} movements at " +
                          string.Join(", ", result.Split!.Boundaries.Select(b => $"{b.Seconds:0.0} s ({b.Cue.ToString().ToLowerInvariant()})")) +
                          $"; {result.WavsWritten} WAV(s) written");
        foreach (var t in result.Tracks)
        {
            t.ArtifactPath = Store.Root;
            HandOn(t);
        }
    }

    /// <summary>Writes metadata/segments.csv (not under -WhatIf, not when no track came) and fills the run record.</summary>
    protected override bool Finish()
    {
        if (Stopped) return false;
        var writer = _writer!;
        if (!Host.WhatIf && writer.Tracks > 0)
        {
            try
            {
                int rows = writer.Save();
                Host.Verbose($"{rows} rows in {writer.SegmentsFile}");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new MessException(MessErrorIds.SegmentsWriteFailed, MessErrorKind.WriteError,
                    $"Writing '{writer.SegmentsFile}' failed: {ex.Message}. The movement WAVs are written; run again to write it.", writer.SegmentsFile, ex);
            }
        }
        Record.Count("tracks", writer.Tracks);
        Record.Count("split", writer.SplitTracks);
        Record.Count("movements", writer.Movements);
        Record.Count("failed", writer.Failed);
        Record.Results["segments_file"] = writer.SegmentsFile;
        Record.Results["audio_seconds"] = Math.Round(writer.AudioSeconds, 1);
        Record.Results["boundaries"] = writer.Boundaries.ToDictionary(k => k.Key, k => (object?)k.Value.Select(b => new Dictionary<string, object?>
        {
            ["seconds"] = b.Seconds,
            ["pause_start_seconds"] = b.PauseStartSeconds,
            ["cue"] = b.Cue.ToString().ToLowerInvariant(),
            ["novelty"] = b.Novelty,
        }).ToList());
        Host.Verbose($"Split-MessAudio: {writer.Tracks} tracks, {writer.SplitTracks} split, {writer.Movements} movements out, {writer.Failed} failed.");
        return true;
    }

    protected override void Release() { }
}
