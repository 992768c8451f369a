using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Common;

namespace MessTools.Core.Jobs;

/// <summary>What Get-MessAudio (or any front end) asks of <see cref="AudioJob"/>.</summary>
public sealed record AudioRequest : TrackStageRequest
{
    /// <summary>How tracks are fetched; its AudioRoot is checked when the job opens.</summary>
    public required AudioFetchOptions Fetch { get; init; }
    /// <summary>True when -AudioRoot was given (it must then exist).</summary>
    public bool AudioRootNamed { get; init; }
    /// <summary>Decode to audio_wav/ with these options (null: only fetch).</summary>
    public StandardizeOptions? Standardize { get; init; }
    /// <summary>The ffmpeg executable (null: $env:MESS_FFMPEG, then PATH).</summary>
    public string? FfmpegPath { get; init; }
    public int ThrottleLimit { get; init; } = 4;
    /// <summary>Also hand on failed tracks (Status Failed, StatusMessage saying why).</summary>
    public bool PassThru { get; init; }
}

/// <summary>
/// The Audio stage, a streaming job: it takes tracks one by one (<see cref="TrackStageJob.Post"/>), decides the folder once
/// (<see cref="TrackFolders"/>), holds its writer lock, fetches and standardises the audio in parallel, hands each ready
/// track on (<c>emit</c>, always on the caller's thread) and, at <see cref="TrackStageJob.Complete"/>, fills and writes the run record.
/// A fatal error (broken S3 setup, missing ffmpeg or -AudioRoot) is thrown; one bad track is an item error.
/// </summary>
public sealed class AudioJob : TrackStageJob
{
    public const string Activity = "Get-MessAudio";

    private readonly AudioRequest _request;
    private readonly HashSet<string> _trackIds = new(StringComparer.Ordinal);
    private readonly CancellationTokenRegistration _onCancel;
    private AudioFetcher? _fetcher;
    private AudioPipeline? _pipeline;

    public AudioJob(AudioRequest request, IMessJobHost host, Action<MessTrack> emit) : base(request, host, emit, model: null)
    {
        _request = request;
        _onCancel = host.Cancellation.Register(() => _pipeline?.Cancel());
    }

    private long Counted(string key)
    {
        lock (Record.Counts) return Record.Counts.TryGetValue(key, out long n) ? n : 0;
    }

    /// <summary>Sets up the fetcher and decoder once the folder is known (the first track may name it).</summary>
    protected override void Open()
    {
        string root = _request.Fetch.AudioRoot;
        if (_request.AudioRootNamed && !Directory.Exists(root))
            throw new MessException(MessErrorIds.AudioRootNotFound, MessErrorKind.ObjectNotFound, $"-AudioRoot '{root}' does not exist.", "AudioRoot");
        AudioStandardizer? standardizer = null;
        _fetcher = new AudioFetcher(Store, _request.Fetch);
        if (_request.Standardize is { } options)
        {
            string ffmpeg = FfmpegDecoder.Locate(_request.FfmpegPath);
            Host.Verbose($"Decoding with {ffmpeg}");
            standardizer = new AudioStandardizer(Store, new FfmpegDecoder(ffmpeg), options);
        }
        _pipeline = new AudioPipeline(_fetcher, standardizer, _request.ThrottleLimit, cancellationToken: Host.Cancellation);
        var s = _request.Standardize;
        Host.Verbose($"Artifact folder {Store.Root}; {_request.ThrottleLimit} concurrent downloads, {_pipeline.DecodeParallelism} concurrent decodes" +
                      (s is not null ? $", {s.SampleRate} Hz mono {(s.Format == WavSampleFormat.Pcm16 ? "Pcm16" : "Float32")}" : ", no standardising"));
    }

    /// <summary>Fetches the track in the background while ready tracks are handed on.</summary>
    protected override void Accept(MessTrack track)
    {
        if (Stopped || _pipeline is null) return;
        track.ArtifactPath = Store.Root;
        Record.Count("tracks");
        AudioSource source;
        try
        {
            SafePath.RequireSegment(track.TrackId, "Track id");
            if (!_trackIds.Add(track.TrackId))
                throw new MessException(MessErrorIds.DuplicateTrackId, MessErrorKind.InvalidData,
                    "this track id came earlier in the same run; both would write the same files, so the later one is skipped.", track);
            source = _fetcher!.Resolve(track);
            if (source.Kind != AudioSourceKind.Local) _fetcher.CachePath(track, source); // refuses unsafe album ids and extensions now
        }
        catch (MessException ex)
        {
            Fail(track, new MessException(ex.ErrorId, ex.Kind, $"Track '{track.TrackId}': {ex.Message}", track, ex));
            return;
        }
        string action = _request.Standardize is not null ? (source.Kind == AudioSourceKind.Local ? "Standardise audio" : "Fetch and standardise audio") : "Fetch audio";
        if (!Host.ShouldProcess($"{track.TrackId} ({source.Display})", action)) return;

        _pipeline.Post(track);
        Drain(0);
        while (!Stopped && _pipeline.Pending >= _pipeline.Window) Drain(250);
    }

    /// <summary>Waits for the tracks in flight, hands them on and writes the run record (none when stopped).</summary>
    protected override bool Finish()
    {
        if (_pipeline is not null)
            while (!Stopped && _pipeline.Pending > 0) Drain(250);
        if (Stopped) return false;
        bool standardize = _request.Standardize is not null;
        long bytes = Counted("bytes_downloaded");
        string mb = (bytes / 1048576.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
        Host.Verbose($"Get-MessAudio summary: {Counted("tracks")} tracks; {Counted("fetched")} fetched ({mb} MB), {Counted("skipped_cached")} skipped as cached, {Counted("local")} local, " +
                      (standardize ? $"{Counted("standardized")} standardised, {Counted("standardize_skipped")} already standardised, " : "") + $"{Counted("failed")} failed.");
        // Every count present, zeros included, so runbooks can read them without checking for absent keys.
        foreach (string key in new[] { "tracks", "fetched", "skipped_cached", "local", "failed", "ready", "bytes_downloaded" }) Record.Count(key, 0);
        if (standardize) { Record.Count("standardized", 0); Record.Count("standardize_skipped", 0); }
        Record.Results["sample_rate"] = _request.Standardize?.SampleRate;
        Record.Results["bytes_downloaded"] = bytes;
        return true;
    }

    /// <summary>Hands on finished results (caller's thread only); waits up to <paramref name="timeoutMs"/> for the first.</summary>
    private void Drain(int timeoutMs)
    {
        var pipeline = _pipeline!;
        bool first = true;
        while (true)
        {
            AudioJobResult r;
            try
            {
                if (!pipeline.TryTake(out r, first ? timeoutMs : 0, Host.Cancellation)) break;
            }
            catch (OperationCanceledException)
            {
                Stop();
                return;
            }
            first = false;
            Handle(r);
            if (Stopped) return;
        }
        Host.Progress(Activity,
            $"{Counted("fetched") + Counted("skipped_cached") + Counted("local") + Counted("failed"):N0} of {Counted("tracks"):N0} tracks done: {Counted("fetched"):N0} fetched, {Counted("skipped_cached"):N0} cached, {Counted("local"):N0} local, {Counted("failed"):N0} failed; " +
            $"{pipeline.BytesDownloaded / 1048576.0:N1} MB downloaded");
    }

    private void Handle(AudioJobResult r)
    {
        if (r.Cancelled) { Stop(); return; }
        switch (r.Fetch)
        {
            case FetchOutcome.Downloaded: Record.Count("fetched"); break;
            case FetchOutcome.Cached: Record.Count("skipped_cached"); break;
            case FetchOutcome.Local: Record.Count("local"); break;
        }
        if (r.BytesDownloaded > 0) Record.Count("bytes_downloaded", r.BytesDownloaded);
        if (r.Warning is not null) { Host.Warning(r.Warning); Record.Count("cache_refetched"); }
        if (r.Error is not null)
        {
            if (r.Fatal)
            {
                _pipeline!.Cancel();
                _pipeline.WaitIdle(TimeSpan.FromSeconds(10));
                throw r.Error;
            }
            Fail(r.Track, r.Error);
            return;
        }
        if (r.Standardized is { } s) Record.Count(s.Cached ? "standardize_skipped" : "standardized");
        Record.Count("ready");
        HandOn(r.Track);
    }

    private void Fail(MessTrack track, MessException ex)
    {
        Record.Count("failed");
        track.Status = MessTrackStatus.Failed;
        track.StatusMessage = ex.Message;
        Host.ItemError(ex, track);
        if (_request.PassThru) HandOn(track);
    }

    /// <summary>Ctrl+C: cancel the transfers, wait for them to clean up, hand on nothing more.</summary>
    private void Stop()
    {
        if (Stopped) return;
        Stopped = true;
        _pipeline?.Cancel();
        _pipeline?.WaitIdle(TimeSpan.FromSeconds(15));
        Record.Count("cancelled", _pipeline?.Pending ?? 0);
    }

    /// <summary>Ends the transfers.</summary>
    protected override void Release()
    {
        _onCancel.Dispose();
        _pipeline?.Dispose();
        _fetcher?.Dispose();
    }
}
