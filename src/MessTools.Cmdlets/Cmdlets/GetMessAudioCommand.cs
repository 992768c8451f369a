using System.Management.Automation;
using MessTools.Cmdlets.Common;
using MessTools.Core.Audio;
using MessTools.Core.Aws;
using MessTools.Core.Common;

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

    private const string Activity = "Get-MessAudio";

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

    private AudioFetcher? _fetcher;
    private AudioPipeline? _pipeline;
    /// <summary>A count of the run record (the one place the run's counters are kept).</summary>
    private long Counted(string key)
    {
        lock (Run.Counts) return Run.Counts.TryGetValue(key, out long n) ? n : 0;
    }
    private bool _stopped;
    private readonly HashSet<string> _trackIds = new(StringComparer.Ordinal);

    private bool _opened;

    /// <summary>Sets up the fetcher and decoder once the artifact folder is known (the first track may name it).</summary>
    private void Open()
    {
        _opened = true;
        TakeWriterLock(); // the folder is known now: the tracks' own, a named one, or the default
        string root;
        try { root = ResolveUserPath(AudioRoot ?? "."); }
        catch (Exception ex) when (ex is ItemNotFoundException or ProviderNotFoundException or System.Management.Automation.DriveNotFoundException or PSArgumentException)
        {
            ThrowTerminating(new MessException("InvalidAudioRoot", MessErrorKind.InvalidArgument, $"-AudioRoot '{AudioRoot}' is not a file-system path: {ex.Message}", "AudioRoot"));
            return;
        }
        if (AudioRoot is not null && !Directory.Exists(root))
            ThrowTerminating(new MessException("AudioRootNotFound", MessErrorKind.ObjectNotFound, $"-AudioRoot '{root}' does not exist.", "AudioRoot"));

        AudioStandardizer? standardizer = null;
        try
        {
            var options = new AudioFetchOptions
            {
                Bucket = Bucket,
                AudioRoot = root,
                ProfileName = S3.ProfileName,
                Region = S3.Region,
                EndpointUrl = S3.EndpointUrl,
                Force = Force,
                Retry = S3.Retry(),
            };
            _fetcher = new AudioFetcher(Store, options);
            if (Standardize)
            {
                string ffmpeg = FfmpegDecoder.Locate(FfmpegPath is null ? null : ResolveUserPath(FfmpegPath));
                WriteVerbose($"Decoding with {ffmpeg}");
                standardizer = new AudioStandardizer(Store, new FfmpegDecoder(ffmpeg), new StandardizeOptions
                {
                    SampleRate = SampleRate,
                    Format = WavFormat == "Pcm16" ? WavSampleFormat.Pcm16 : WavSampleFormat.Float32,
                    MinDurationSec = MinDurationSec,
                    Force = Force,
                });
            }
        }
        catch (MessException ex) { ThrowTerminating(ex); }
        _pipeline = new AudioPipeline(_fetcher!, standardizer, ThrottleLimit, cancellationToken: Cancellation);
        WriteVerbose($"Artifact folder {Store.Root}; {ThrottleLimit} concurrent downloads, {_pipeline.DecodeParallelism} concurrent decodes" +
                     (Standardize ? $", {SampleRate} Hz mono {WavFormat}" : ", no standardising"));
    }

    protected override void ProcessRecord()
    {
        if (InOtherShard(TrackId)) return; // another shard's track: nothing is fetched
        FollowTrackFolder(ShardFolderOf);
        if (!_opened) Open();
        if (_stopped || _pipeline is null) return;
        var track = CurrentTrack();
        track.ArtifactPath = Store.Root;
        Run.Count("tracks");
        AudioSource source;
        try
        {
            Core.Artifacts.SafePath.RequireSegment(track.TrackId, "Track id");
            if (!_trackIds.Add(track.TrackId))
                throw new MessException("DuplicateTrackId", MessErrorKind.InvalidData,
                    "this track id came earlier in the same run; both would write the same files, so the later one is skipped.", track);
            source = _fetcher!.Resolve(track);
            if (source.Kind != AudioSourceKind.Local) _fetcher.CachePath(track, source); // refuses unsafe album ids and extensions now
        }
        catch (MessException ex)
        {
            Fail(track, new MessException(ex.ErrorId, ex.Kind, $"Track '{track.TrackId}': {ex.Message}", track, ex));
            return;
        }
        string action = Standardize ? (source.Kind == AudioSourceKind.Local ? "Standardise audio" : "Fetch and standardise audio") : "Fetch audio";
        if (!ShouldProcess($"{track.TrackId} ({source.Display})", action)) return;

        _pipeline.Post(track);
        Drain(0);
        while (!_stopped && _pipeline.Pending >= _pipeline.Window) Drain(250);
    }

    protected override void EndProcessing()
    {
        if (!_opened) Open(); // no tracks came: still report a missing ffmpeg or -AudioRoot
        if (_pipeline is not null)
        {
            while (!_stopped && _pipeline.Pending > 0) Drain(250);
            CompleteProgress(1, Activity);
        }
        if (_stopped) return;
        long bytes = Counted("bytes_downloaded");
        string mb = (bytes / 1048576.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
        WriteVerbose($"Get-MessAudio summary: {Counted("tracks")} tracks; {Counted("fetched")} fetched ({mb} MB), {Counted("skipped_cached")} skipped as cached, {Counted("local")} local, " +
                     (Standardize ? $"{Counted("standardized")} standardised, {Counted("standardize_skipped")} already standardised, " : "") + $"{Counted("failed")} failed.");
        Run.Count("tracks", 0);
        // Every count present, zeros included, so runbooks can read them without checking for absent keys.
        foreach (string key in new[] { "fetched", "skipped_cached", "local", "failed", "ready", "bytes_downloaded" }) Run.Count(key, 0);
        if (Standardize) { Run.Count("standardized", 0); Run.Count("standardize_skipped", 0); }
        Run.Results["sample_rate"] = Standardize ? SampleRate : null;
        Run.Results["bytes_downloaded"] = bytes;
        base.EndProcessing();
    }

    /// <summary>Writes finished results (pipeline thread only); waits up to <paramref name="timeoutMs"/> for the first.</summary>
    private void Drain(int timeoutMs)
    {
        var pipeline = _pipeline!;
        bool first = true;
        while (true)
        {
            AudioJobResult r;
            try
            {
                if (!pipeline.TryTake(out r, first ? timeoutMs : 0, Cancellation)) break;
            }
            catch (OperationCanceledException)
            {
                Stop();
                return;
            }
            first = false;
            Handle(r);
            if (_stopped) return;
        }
        ReportProgress(1, Activity,
            $"{Counted("fetched") + Counted("skipped_cached") + Counted("local") + Counted("failed"):N0} of {Counted("tracks"):N0} tracks done: {Counted("fetched"):N0} fetched, {Counted("skipped_cached"):N0} cached, {Counted("local"):N0} local, {Counted("failed"):N0} failed; " +
            $"{pipeline.BytesDownloaded / 1048576.0:N1} MB downloaded");
    }

    private void Handle(AudioJobResult r)
    {
        if (r.Cancelled) { Stop(); return; }
        switch (r.Fetch)
        {
            case FetchOutcome.Downloaded: Run.Count("fetched"); break;
            case FetchOutcome.Cached: Run.Count("skipped_cached"); break;
            case FetchOutcome.Local: Run.Count("local"); break;
        }
        if (r.BytesDownloaded > 0) Run.Count("bytes_downloaded", r.BytesDownloaded);
        if (r.Warning is not null) { Warn(r.Warning); Run.Count("cache_refetched"); }
        if (r.Error is not null)
        {
            if (r.Fatal)
            {
                _pipeline!.Cancel();
                _pipeline.WaitIdle(TimeSpan.FromSeconds(10));
                ThrowTerminating(r.Error);
            }
            Fail(r.Track, r.Error);
            return;
        }
        if (r.Standardized is { } s)
        {
            Run.Count(s.Cached ? "standardize_skipped" : "standardized");
        }
        Run.Count("ready");
        WriteObject(r.Track);
    }

    private void Fail(MessTrack track, MessException ex)
    {
        Run.Count("failed");
        track.Status = MessTrackStatus.Failed;
        track.StatusMessage = ex.Message;
        WriteItemError(ex, track);
        if (PassThru) WriteObject(track);
    }

    /// <summary>Ctrl+C: cancel the transfers, wait for them to clean up, write nothing more.</summary>
    private void Stop()
    {
        if (_stopped) return;
        _stopped = true;
        _pipeline?.Cancel();
        _pipeline?.WaitIdle(TimeSpan.FromSeconds(15));
        Run.Count("cancelled", _pipeline?.Pending ?? 0);
    }

    protected override void StopProcessing()
    {
        base.StopProcessing();
        _pipeline?.Cancel();
    }

    public new void Dispose()
    {
        _pipeline?.Dispose();
        _fetcher?.Dispose();
        base.Dispose();
    }
}
