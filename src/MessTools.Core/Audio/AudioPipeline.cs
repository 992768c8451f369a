using System.Collections.Concurrent;
using MessTools.Core.Common;

namespace MessTools.Core.Audio;

/// <summary>The outcome of one track: the updated track, or the error that stopped it.</summary>
public sealed class AudioJobResult
{
    public required MessTrack Track { get; init; }
    public MessException? Error { get; init; }
    /// <summary>The error stops the whole run (no credentials ...), not only this track.</summary>
    public bool Fatal => Error is Aws.AwsSetupException;
    public bool Cancelled { get; init; }
    public FetchOutcome? Fetch { get; init; }
    public long BytesDownloaded { get; init; }
    public StandardizeResult? Standardized { get; init; }
    /// <summary>Something the user should hear about although the track succeeded (a damaged cached copy fetched again).</summary>
    public string? Warning { get; init; }
}

/// <summary>
/// Runs fetch-then-standardise for many tracks at once: at most <c>throttleLimit</c> transfers and at most
/// <c>decodeParallelism</c> ffmpeg decodes at a time. Results are queued for the caller's thread to take
/// (a PowerShell cmdlet must write from its pipeline thread only); <see cref="Cancel"/> stops every transfer
/// and decode promptly, and the cache stays consistent (temporary files are removed, nothing half-written is renamed).
/// </summary>
public sealed class AudioPipeline : IDisposable
{
    private readonly AudioFetcher _fetcher;
    private readonly AudioStandardizer? _standardizer;
    private readonly SemaphoreSlim _fetchSlots;
    private readonly SemaphoreSlim _decodeSlots;
    private readonly CancellationTokenSource _cts;
    private readonly BlockingCollection<AudioJobResult> _results = new(new ConcurrentQueue<AudioJobResult>());
    private readonly ConcurrentDictionary<int, Task> _running = new();
    private int _pending;
    private int _nextId;
    private long _bytes;

    public AudioPipeline(AudioFetcher fetcher, AudioStandardizer? standardizer, int throttleLimit, int? decodeParallelism = null, CancellationToken cancellationToken = default)
    {
        if (throttleLimit < 1) throw new ArgumentOutOfRangeException(nameof(throttleLimit));
        _fetcher = fetcher;
        _standardizer = standardizer;
        ThrottleLimit = throttleLimit;
        DecodeParallelism = Math.Max(1, decodeParallelism ?? Environment.ProcessorCount);
        _fetchSlots = new SemaphoreSlim(throttleLimit);
        _decodeSlots = new SemaphoreSlim(DecodeParallelism);
        _cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
    }

    public int ThrottleLimit { get; }
    public int DecodeParallelism { get; }
    /// <summary>Tracks posted whose result has not been taken yet.</summary>
    public int Pending => Volatile.Read(ref _pending);
    /// <summary>How many tracks may be pending before the caller should wait: keeps every slot busy, bounds memory.</summary>
    public int Window => ThrottleLimit + DecodeParallelism + 2;
    public long BytesDownloaded => Interlocked.Read(ref _bytes);
    public CancellationToken Token => _cts.Token;

    /// <summary>Starts work on <paramref name="track"/> (a copy is updated); returns at once.</summary>
    public void Post(MessTrack track)
    {
        Interlocked.Increment(ref _pending);
        int id = Interlocked.Increment(ref _nextId);
        var t = Task.Run(() => RunOneAsync(track.Clone()));
        _running[id] = t;
        t.ContinueWith(_ => _running.TryRemove(id, out Task? _), TaskScheduler.Default);
    }

    /// <summary>Takes a finished result, waiting up to <paramref name="timeoutMs"/>; false when none came.</summary>
    public bool TryTake(out AudioJobResult result, int timeoutMs, CancellationToken cancellationToken = default)
    {
        if (_results.TryTake(out result!, timeoutMs, cancellationToken))
        {
            Interlocked.Decrement(ref _pending);
            return true;
        }
        return false;
    }

    /// <summary>Cancels every transfer and decode.</summary>
    public void Cancel()
    {
        try { _cts.Cancel(); } catch (ObjectDisposedException) { }
    }

    /// <summary>Waits until every started job has finished (after <see cref="Cancel"/>: cleaned up).</summary>
    public bool WaitIdle(TimeSpan timeout)
    {
        try { return Task.WaitAll(_running.Values.ToArray(), timeout); }
        catch (AggregateException) { return true; }
    }

    private async Task RunOneAsync(MessTrack track)
    {
        AudioJobResult result;
        var ct = _cts.Token;
        FetchOutcome? outcome = null;
        long bytes = 0;
        try
        {
            var source = _fetcher.Resolve(track);
            FetchResult fetched;
            if (source.Kind == AudioSourceKind.Local)
                fetched = await _fetcher.FetchAsync(track, source, null, ct).ConfigureAwait(false);
            else
            {
                await _fetchSlots.WaitAsync(ct).ConfigureAwait(false);
                try { fetched = await _fetcher.FetchAsync(track, source, n => Interlocked.Add(ref _bytes, n), ct).ConfigureAwait(false); }
                finally { _fetchSlots.Release(); }
            }
            outcome = fetched.Outcome;
            bytes = fetched.Bytes;
            track.AudioPath = fetched.AudioPath;
            track.Status = MessTrackStatus.Fetched;
            track.StatusMessage = null;
            StandardizeResult? std = null;
            if (_standardizer is not null)
            {
                await _decodeSlots.WaitAsync(ct).ConfigureAwait(false);
                try { std = await _standardizer.RunAsync(track.TrackId, fetched.AudioPath, ct).ConfigureAwait(false); }
                finally { _decodeSlots.Release(); }
                track.WavPath = std.WavPath;
                track.SampleRate = std.SampleRate;
                track.DurationSec = Math.Round(std.DurationSec, 3);
                track.Status = MessTrackStatus.Standardized;
            }
            result = new AudioJobResult { Track = track, Fetch = outcome, BytesDownloaded = bytes, Standardized = std, Warning = fetched.Warning };
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            result = new AudioJobResult { Track = track, Cancelled = true, Fetch = outcome, BytesDownloaded = bytes };
        }
        catch (MessException ex)
        {
            result = Failed(track, ex, outcome, bytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            result = Failed(track, new MessException(MessErrorIds.AudioWriteFailed, MessErrorKind.WriteError, $"Track '{track.TrackId}': writing its audio failed: {ex.Message}", track, ex), outcome, bytes);
        }
        catch (Exception ex)
        {
            result = Failed(track, new MessException(MessErrorIds.AudioUnexpectedError, MessErrorKind.InvalidOperation, $"Track '{track.TrackId}': {ex.GetType().Name}: {ex.Message}", track, ex), outcome, bytes);
        }
        _results.Add(result);
    }

    private static AudioJobResult Failed(MessTrack track, MessException ex, FetchOutcome? outcome, long bytes)
    {
        track.Status = MessTrackStatus.Failed;
        track.StatusMessage = ex.Message;
        return new AudioJobResult { Track = track, Error = ex, Fetch = outcome, BytesDownloaded = bytes };
    }

    public void Dispose()
    {
        Cancel();
        WaitIdle(TimeSpan.FromSeconds(30));
        _cts.Dispose();
        _results.Dispose();
        _fetchSlots.Dispose();
        _decodeSlots.Dispose();
    }
}
