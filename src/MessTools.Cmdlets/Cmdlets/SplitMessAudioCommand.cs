using System.Management.Automation;
using MessTools.Cmdlets.Common;
using MessTools.Core.Common;
using MessTools.Core.Jobs;
using MessTools.Core.Splitting;

namespace MessTools.Cmdlets;

/// <summary>
/// Split-MessAudio: a stage between Get-MessAudio and ConvertTo-MessEmbedding. Finds the movement boundaries of each
/// standardised whole-work recording (pauses and changes of material) and passes on one track per movement
/// (&lt;track_id&gt;-m&lt;n&gt;, album = the work, its own WAV in audio_wav/); a track with one movement passes through
/// unchanged. The boundaries go into metadata/segments.csv and the run record. The work is Core's SplitJob (the stage) over MovementWriter.
/// </summary>
[Cmdlet(VerbsCommon.Split, "MessAudio", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = "https://github.com/messtools/MessTools/blob/main/docs/splitting.md")]
[OutputType(typeof(MessTrack))]
public sealed class SplitMessAudioCommand : TrackInputCmdlet
{
    protected override bool WritesArtifacts => true;

    /// <summary>No movement shorter than this many seconds (default 30).</summary>
    [Parameter]
    [ValidateRange(0.0, 86400.0)]
    public double MinMovementSeconds { get; set; } = SplitRequest.DefaultMinMovementSeconds;

    /// <summary>At most this many movements per recording (default 32): the strongest boundaries are kept.</summary>
    [Parameter]
    [ValidateRange(1, 1000)]
    public int MaxMovements { get; set; } = SplitRequest.DefaultMaxMovements;

    /// <summary>Silence (pauses only), Novelty (changes of material only) or Both (the default).</summary>
    [Parameter]
    [ValidateSet("Silence", "Novelty", "Both")]
    public string Method { get; set; } = "Both";

    private SplitJob? _job;

    /// <summary>Binds the request; the job (Core) decides the folder, takes its lock and runs the stage.</summary>
    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        var request = new SplitStageRequest
        {
            Store = Store, PathNamed = PathNamed, Sharded = false, LockTimeout = LockTimeout,
            Options = new SplitRequest
            {
                MinMovementSeconds = MinMovementSeconds,
                MaxMovements = MaxMovements,
                Method = Enum.Parse<SplitMethod>(Method, ignoreCase: true),
            },
        };
        try { _job = new SplitJob(request, JobHost, WriteObject); }
        catch (MessException ex) { ThrowTerminating(ex); }
    }

    protected override void ProcessRecord() => JobStep(() => _job!.Post(CurrentTrack(), TrackFolder), () => _job!.Store);

    protected override void EndProcessing()
    {
        JobStep(() => _job!.Complete(), () => _job!.Store);
        CompleteProgress(1, SplitJob.Activity);
        _job!.Dispose();
        if (!_job.Stopped) base.EndProcessing();
    }

    /// <summary>A run that ended early (Ctrl+C, a terminating error) still records how it ended and releases the lock.</summary>
    protected override void ReleaseResources() => _job?.Dispose();
}
