using System.Management.Automation;
using MessTools.Cmdlets.Common;
using MessTools.Core.Audio;
using MessTools.Core.Aws;
using MessTools.Core.Common;
using MessTools.Core.Jobs;

namespace MessTools.Cmdlets;

/// <summary>
/// Get-MessAudio: makes each track's audio local (S3, http(s), file:// or a local path) in
/// audio_cache/&lt;album_id&gt;/&lt;track_id&gt;.&lt;ext&gt;, resumably and in parallel, then standardises it with ffmpeg into
/// audio_wav/&lt;track_id&gt;.wav (mono, -SampleRate) and passes the track on. Objects and errors are written from
/// the pipeline thread only; workers hand their results over through <see cref="AudioPipeline"/>.
/// </summary>
[Cmdlet(VerbsCommon.Get, "MessAudio", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = "https://github.com/messtools/MessTools/blob/main/docs/audio.md")]
[OutputType(typeof(MessTrack))]
public sealed class GetMessAudioCommand : ShardedTrackCmdlet, IDisposable
{
    protected override bool WritesArtifacts => true;

    /// <summary>The bucket for keys without a scheme (audio_s3_key = 'albums/a1/t1.mp3').</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Bucket { get; set; }

    /// <summary>The folder relative local paths are resolved against (default: the current location).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? AudioRoot { get; set; }

    /// <summary>-ProfileName -Region -EndpointUrl -RetryCount (<see cref="S3Parameters"/>).</summary>
    protected override bool ReachesS3 => true;

    /// <summary>Concurrent downloads.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = 4;


    /// <summary>Fetch and decode again even when the cached files match.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Also emit failed tracks, with Status Failed and StatusMessage saying why.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Decode to audio_wav/ (on by default; -Standardize:$false only fetches).</summary>
    [Parameter]
    public SwitchParameter Standardize { get; set; } = true;

    /// <summary>
    /// The standardised rate: 22050 for the built-in embedder; ONNX models want their own (24000 MERT, 16000 MusiCNN).
    /// Hides TrackInputCmdlet's SampleRate (the incoming track's rate): here it is the target, never bound from the pipeline.
    /// </summary>
    [Parameter]
    [ValidateRange(4000, 192000)]
    public new int SampleRate { get; set; } = StandardizeOptions.DefaultSampleRate;

    [Parameter]
    [ValidateSet("Float32", "Pcm16")]
    public string WavFormat { get; set; } = "Float32";

    [Parameter]
    [ValidateRange(0.0, 86400.0)]
    public double MinDurationSec { get; set; } = 1.0;

    /// <summary>The ffmpeg executable (default: $env:MESS_FFMPEG, then PATH).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? FfmpegPath { get; set; }

    private AudioJob? _job;

    /// <summary>Binds the request; the job (Core) decides the folder, takes its lock and runs the stage.</summary>
    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        string root;
        try { root = ResolveUserPath(AudioRoot ?? "."); }
        catch (Exception ex) when (ex is ItemNotFoundException or ProviderNotFoundException or System.Management.Automation.DriveNotFoundException or PSArgumentException)
        {
            ThrowTerminating(new MessException(MessErrorIds.InvalidAudioRoot, MessErrorKind.InvalidArgument, $"-AudioRoot '{AudioRoot}' is not a file-system path: {ex.Message}", "AudioRoot"));
            return;
        }
        var request = new AudioRequest
        {
            Store = Store, PathNamed = PathNamed, ShardIndex = ShardIndex, ShardCount = ShardCount, LockTimeout = LockTimeout,
            Fetch = new AudioFetchOptions
            {
                Bucket = Bucket, AudioRoot = root, Force = Force, Retry = S3.Retry(),
                ProfileName = S3.ProfileName, Region = S3.Region, EndpointUrl = S3.EndpointUrl,
            },
            AudioRootNamed = AudioRoot is not null,
            Standardize = Standardize ? new StandardizeOptions
            {
                SampleRate = SampleRate,
                Format = WavFormat == "Pcm16" ? WavSampleFormat.Pcm16 : WavSampleFormat.Float32,
                MinDurationSec = MinDurationSec,
                Force = Force,
            } : null,
            FfmpegPath = FfmpegPath is null ? null : ResolveUserPath(FfmpegPath),
            ThrottleLimit = ThrottleLimit, PassThru = PassThru,
        };
        try { _job = new AudioJob(request, JobHost, WriteObject); }
        catch (MessException ex) { ThrowTerminating(ex); }
    }

    protected override void ProcessRecord() => JobStep(() => _job!.Post(CurrentTrack(), TrackFolder), () => _job!.Store);

    protected override void EndProcessing()
    {
        JobStep(() => _job!.Complete(), () => _job!.Store);
        CompleteProgress(1, AudioJob.Activity);
        _job!.Dispose();
        if (!_job.Stopped) base.EndProcessing();
    }

    public new void Dispose()
    {
        _job?.Dispose();
        base.Dispose();
    }
}
