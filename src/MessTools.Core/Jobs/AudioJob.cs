using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Common;
using MessTools.Core.Sharding;

namespace MessTools.Core.Jobs;

/// <summary>What Get-MessAudio (or any front end) asks of <see cref="AudioJob"/>.</summary>
public sealed record AudioRequest
{
    /// <summary>The folder the front end resolved (explicit path, environment or default); the tracks' own may replace it.</summary>
    public required ArtifactStore Store { get; init; }
    /// <summary>True when the user named the folder, so the tracks' own folders are ignored.</summary>
    public bool PathNamed { get; init; }
    /// <summary>-ShardIndex/-ShardCount (null: from the environment, see <see cref="ShardSpec.Resolve(int?, int?)"/>).</summary>
    public int? ShardIndex { get; init; }
    public int? ShardCount { get; init; }
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
    public TimeSpan LockTimeout { get; init; }
}

/// <summary>
/// The Audio stage, a streaming job: it takes tracks one by one (<see cref="Post"/>), decides the folder once
/// (<see cref="TrackFolders"/>), holds its writer lock, fetches and standardises the audio in parallel, hands each ready
/// track on (<c>emit</c>, always on the caller's thread) and, at <see cref="Complete"/>, fills and writes the run record.
/// A fatal error (broken S3 setup, missing ffmpeg or -AudioRoot) is thrown; one bad track is an item error.
/// </summary>
public sealed class AudioJob : IDisposable
{
    public const string Activity = "Get-MessAudio";

    private readonly AudioRequest _request;
    private readonly IMessJobHost _host;
    private readonly Action<MessTrack> _emit;
    private readonly TrackFolders _folders;
    private readonly RunRecord _run; // the host's record, or one that is never saved (-WhatIf)
    private readonly HashSet<string> _trackIds = new(StringComparer.Ordinal);
    private readonly CancellationTokenRegistration _onCancel;
    private JobFolder? _folder;
    private AudioFetcher? _fetcher;
    private AudioPipeline? _pipeline;
    private bool _opened, _completed;

    public AudioJob(AudioRequest request, IMessJobHost host, Action<MessTrack> emit)
    {
        _request = request;
        _host = host;
        _emit = emit;
        _run = host.Run ?? new RunRecord();
        _folders = new TrackFolders(request.Store, request.PathNamed, request.ShardIndex, request.ShardCount);
        _folders.Record(host, end: false);
        _onCancel = host.Cancellation.Register(() => _pipeline?.Cancel());
    }

    /// <summary>The folder the job writes (final once the first track came).</summary>
    public ArtifactStore Store => _folders.Store;

    /// <summary>True once Ctrl+C (or the host's cancellation) stopped the job: nothing more is handed on.</summary>
    public bool Stopped { get; private set; }

    private long Counted(string key)
    {
        lock (_run.Counts) return _run.Counts.TryGetValue(key, out long n) ? n : 0;
    }

    /// <summary>Sets up the fetcher and decoder once the folder is known (the first track may name it).</summary>
    private void Open()
    {
        _opened = true;
        _folder = JobFolder.Lock(Store, _host, _request.LockTimeout);
        string root = _request.Fetch.AudioRoot;
        if (_request.AudioRootNamed && !Directory.Exists(root))
            throw new MessException("AudioRootNotFound", MessErrorKind.ObjectNotFound, $"-AudioRoot '{root}' does not exist.", "AudioRoot");
        AudioStandardizer? standardizer = null;
        _fetcher = new AudioFetcher(Store, _request.Fetch);
        if (_request.Standardize is { } options)
        {
            string ffmpeg = FfmpegDecoder.Locate(_request.FfmpegPath);
            _host.Verbose($"Decoding with {ffmpeg}");
            standardizer = new AudioStandardizer(Store, new FfmpegDecoder(ffmpeg), options);
        }
        _pipeline = new AudioPipeline(_fetcher, standardizer, _request.ThrottleLimit, cancellationToken: _host.Cancellation);
        var s = _request.Standardize;
        _host.Verbose($"Artifact folder {Store.Root}; {_request.ThrottleLimit} concurrent downloads, {_pipeline.DecodeParallelism} concurrent decodes" +
                      (s is not null ? $", {s.SampleRate} Hz mono {(s.Format == WavSampleFormat.Pcm16 ? "Pcm16" : "Float32")}" : ", no standardising"));
    }

    /// <summary>
    /// Takes one track (<paramref name="trackFolder"/>: the folder it came from, or null): another shard's track is
    /// dropped before any work; the rest are fetched in the background while ready tracks are handed on.
    /// </summary>
    public void Post(MessTrack track, string? trackFolder)
    {
        if (_folders.InOtherShard(track.TrackId)) return; // another shard's track: nothing is fetched
        _folders.Follow(trackFolder);
        if (!_opened) Open();
        if (Stopped || _pipeline is null) return;
        track.ArtifactPath = Store.Root;
        _run.Count("tracks");
        AudioSource source;
        try
        {
            SafePath.RequireSegment(track.TrackId, "Track id");
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
        string action = _request.Standardize is not null ? (source.Kind == AudioSourceKind.Local ? "Standardise audio" : "Fetch and standardise audio") : "Fetch audio";
        if (!_host.ShouldProcess($"{track.TrackId} ({source.Display})", action)) return;

        _pipeline.Post(track);
        Drain(0);
        while (!Stopped && _pipeline.Pending >= _pipeline.Window) Drain(250);
    }

    /// <summary>Waits for the tracks in flight, hands them on and writes the run record (none when stopped).</summary>
    public void Complete()
    {
        if (!_opened) Open(); // no tracks came: still report a missing ffmpeg or -AudioRoot
        if (_pipeline is not null)
            while (!Stopped && _pipeline.Pending > 0) Drain(250);
        if (Stopped) return;
        bool standardize = _request.Standardize is not null;
        long bytes = Counted("bytes_downloaded");
        string mb = (bytes / 1048576.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
        _host.Verbose($"Get-MessAudio summary: {Counted("tracks")} tracks; {Counted("fetched")} fetched ({mb} MB), {Counted("skipped_cached")} skipped as cached, {Counted("local")} local, " +
                      (standardize ? $"{Counted("standardized")} standardised, {Counted("standardize_skipped")} already standardised, " : "") + $"{Counted("failed")} failed.");
        _folders.Record(_host, end: true);
        // Every count present, zeros included, so runbooks can read them without checking for absent keys.
        foreach (string key in new[] { "tracks", "fetched", "skipped_cached", "local", "failed", "ready", "bytes_downloaded" }) _run.Count(key, 0);
        if (standardize) { _run.Count("standardized", 0); _run.Count("standardize_skipped", 0); }
        _run.Results["sample_rate"] = _request.Standardize?.SampleRate;
        _run.Results["bytes_downloaded"] = bytes;
        _completed = true;
        _folder?.SaveRun("completed");
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
                if (!pipeline.TryTake(out r, first ? timeoutMs : 0, _host.Cancellation)) break;
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
        _host.Progress(Activity,
            $"{Counted("fetched") + Counted("skipped_cached") + Counted("local") + Counted("failed"):N0} of {Counted("tracks"):N0} tracks done: {Counted("fetched"):N0} fetched, {Counted("skipped_cached"):N0} cached, {Counted("local"):N0} local, {Counted("failed"):N0} failed; " +
            $"{pipeline.BytesDownloaded / 1048576.0:N1} MB downloaded");
    }

    private void Handle(AudioJobResult r)
    {
        if (r.Cancelled) { Stop(); return; }
        switch (r.Fetch)
        {
            case FetchOutcome.Downloaded: _run.Count("fetched"); break;
            case FetchOutcome.Cached: _run.Count("skipped_cached"); break;
            case FetchOutcome.Local: _run.Count("local"); break;
        }
        if (r.BytesDownloaded > 0) _run.Count("bytes_downloaded", r.BytesDownloaded);
        if (r.Warning is not null) { _host.Warning(r.Warning); _run.Count("cache_refetched"); }
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
        if (r.Standardized is { } s) _run.Count(s.Cached ? "standardize_skipped" : "standardized");
        _run.Count("ready");
        _emit(r.Track);
    }

    private void Fail(MessTrack track, MessException ex)
    {
        _run.Count("failed");
        track.Status = MessTrackStatus.Failed;
        track.StatusMessage = ex.Message;
        _host.ItemError(ex, track);
        if (_request.PassThru) _emit(track);
    }

    /// <summary>Ctrl+C: cancel the transfers, wait for them to clean up, hand on nothing more.</summary>
    private void Stop()
    {
        if (Stopped) return;
        Stopped = true;
        _pipeline?.Cancel();
        _pipeline?.WaitIdle(TimeSpan.FromSeconds(15));
        _run.Count("cancelled", _pipeline?.Pending ?? 0);
    }

    /// <summary>Ends the transfers; a job that did not complete writes its record (stopped or failed) before the lock goes.</summary>
    public void Dispose()
    {
        _onCancel.Dispose();
        _pipeline?.Dispose();
        _fetcher?.Dispose();
        if (_folder is not null && !_completed) _folder.SaveRun(_host.Cancellation.IsCancellationRequested || Stopped ? "stopped" : "failed");
        _folder?.Dispose();
        _folder = null;
    }
}
