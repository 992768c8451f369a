using System.Management.Automation;
using MessTools.Cmdlets.Common;
using MessTools.Core.Common;
using MessTools.Core.Splitting;

namespace MessTools.Cmdlets;

/// <summary>
/// Split-MessAudio: a stage between Get-MessAudio and ConvertTo-MessEmbedding. Finds the movement boundaries of each
/// standardised whole-work recording (pauses and changes of material) and passes on one track per movement
/// (&lt;track_id&gt;-m&lt;n&gt;, album = the work, its own WAV in audio_wav/); a track with one movement passes through
/// unchanged. The boundaries go into metadata/segments.csv and the run record. The work is Core's SplitJob.
/// </summary>
[Cmdlet(VerbsCommon.Split, "MessAudio", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = "https://github.com/messtools/MessTools/blob/main/docs/splitting.md")]
[OutputType(typeof(MessTrack))]
public sealed class SplitMessAudioCommand : TrackInputCmdlet
{
    protected override bool WritesArtifacts => true;

    private const string Activity = "Split-MessAudio";

    /// <summary>No movement shorter than this many seconds (default 30).</summary>
    [Parameter]
    [ValidateRange(0.0, 86400.0)]
    public double MinMovementSeconds { get; set; } = SplitRequest.DefaultMinMovementSeconds;

    /// <summary>At most this many movements per recording (default 12): the strongest boundaries are kept.</summary>
    [Parameter]
    [ValidateRange(1, 1000)]
    public int MaxMovements { get; set; } = SplitRequest.DefaultMaxMovements;

    /// <summary>Silence (pauses only), Novelty (changes of material only) or Both (the default).</summary>
    [Parameter]
    [ValidateSet("Silence", "Novelty", "Both")]
    public string Method { get; set; } = "Both";

    private SplitJob? _job;
    private bool _opened;
    private Core.Jobs.TrackFolders? _folders;

    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        // The folder is decided once, in Core, as for every stage that takes tracks: a named path, else the tracks' own.
        _folders = Core.Jobs.TrackFolders.Unsharded(Store, PathNamed);
    }

    private void Open()
    {
        _opened = true;
        TakeWriterLock();
        try
        {
            _job = new SplitJob(Store, new SplitRequest
            {
                MinMovementSeconds = MinMovementSeconds,
                MaxMovements = MaxMovements,
                Method = Enum.Parse<SplitMethod>(Method, ignoreCase: true),
            });
        }
        catch (ArgumentOutOfRangeException ex)
        {
            ThrowTerminating(new MessException("InvalidSplitOptions", MessErrorKind.InvalidArgument, ex.Message, ex.ParamName));
        }
        WriteVerbose($"Splitting into movements ({Method}, at least {MinMovementSeconds:0.#} s, at most {MaxMovements}) in {Store.Root}");
    }

    protected override void ProcessRecord()
    {
        try { _folders!.Follow(TrackFolder); }
        catch (MessException ex) { ThrowTerminating(ex); }
        Follow(_folders!.Store);
        if (!_opened) Open();
        var track = CurrentTrack();
        if (track.Status == MessTrackStatus.Failed)
        {
            WriteVerbose($"Track '{track.TrackId}' failed in an earlier stage: skipped.");
            return;
        }
        if (!ShouldProcess($"{track.TrackId} ({track.WavPath})", "Split into movements")) return;
        var job = _job!;
        ReportProgress(1, Activity, $"{job.Tracks} tracks: {job.SplitTracks} split into {job.Movements} movements, {job.Failed} failed; now {track.TrackId}");
        SplitTrackResult result;
        try { result = job.Split(track, Cancellation); }
        catch (OperationCanceledException) { throw new PipelineStoppedException(); }
        if (result.Error is not null) { WriteItemError(result.Error, track.TrackId); return; }
        if (result.Note is not null) WriteVerbose($"Track '{track.TrackId}' stays one track: {result.Note}.");
        else WriteVerbose($"Track '{track.TrackId}': {result.Tracks.Count} movements at " +
                          string.Join(", ", result.Split!.Boundaries.Select(b => $"{b.Seconds:0.0} s ({b.Cue.ToString().ToLowerInvariant()})")) +
                          $"; {result.WavsWritten} WAV(s) written");
        foreach (var t in result.Tracks)
        {
            t.ArtifactPath = Store.Root;
            WriteObject(t);
        }
    }

    protected override void EndProcessing()
    {
        if (!_opened) Open();
        var job = _job!;
        CompleteProgress(1, Activity);
        if (!IsWhatIf && job.Tracks > 0)
        {
            try
            {
                int rows = job.Save();
                WriteVerbose($"{rows} rows in {job.SegmentsFile}");
            }
            catch (MessException ex) { ThrowTerminating(ex); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                ThrowTerminating(new MessException("SegmentsWriteFailed", MessErrorKind.WriteError,
                    $"Writing '{job.SegmentsFile}' failed: {ex.Message}. The movement WAVs are written; run again to write it.", job.SegmentsFile, ex));
            }
        }
        Run.Count("tracks", job.Tracks);
        Run.Count("split", job.SplitTracks);
        Run.Count("movements", job.Movements);
        Run.Count("failed", job.Failed);
        Run.Results["segments_file"] = job.SegmentsFile;
        Run.Results["audio_seconds"] = Math.Round(job.AudioSeconds, 1);
        Run.Results["boundaries"] = job.Boundaries.ToDictionary(k => k.Key, k => (object?)k.Value.Select(b => new Dictionary<string, object?>
        {
            ["seconds"] = b.Seconds,
            ["pause_start_seconds"] = b.PauseStartSeconds,
            ["cue"] = b.Cue.ToString().ToLowerInvariant(),
            ["novelty"] = b.Novelty,
        }).ToList());
        WriteVerbose($"Split-MessAudio: {job.Tracks} tracks, {job.SplitTracks} split, {job.Movements} movements out, {job.Failed} failed.");
        base.EndProcessing();
    }
}
