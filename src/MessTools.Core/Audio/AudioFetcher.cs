using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using MessTools.Core.Artifacts;
using MessTools.Core.Aws;
using MessTools.Core.Common;

namespace MessTools.Core.Audio;

/// <summary>How <see cref="AudioFetcher"/> reaches the audio.</summary>
public sealed class AudioFetchOptions
{
    /// <summary>The bucket for keys without a scheme; without it such keys are local paths.</summary>
    public string? Bucket { get; init; }
    /// <summary>The folder relative local paths are resolved against.</summary>
    public string AudioRoot { get; init; } = Directory.GetCurrentDirectory();
    /// <summary>A profile of the shared AWS credentials/config files instead of the SDK's default chain.</summary>
    public string? ProfileName { get; init; }
    public string? Region { get; init; }
    /// <summary>An S3-compatible endpoint; see <see cref="S3Connection.EndpointUrl"/> (trimmed, checked there).</summary>
    public string? EndpointUrl { get; init; }
    /// <summary>Fetch again even when the cached copy matches the object.</summary>
    public bool Force { get; init; }
    public RetryBackoff Retry { get; init; } = new();
    /// <summary>A transfer that receives no byte for this long is abandoned and retried.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Checks the options that need no network; throws MessException (InvalidEndpointUrl, InvalidRegion).</summary>
    public void Validate() => Connection.Validate();

    /// <summary>The S3 connection these options describe (shared with the artifact publisher).</summary>
    public S3Connection Connection => new() { ProfileName = ProfileName, Region = Region, EndpointUrl = EndpointUrl };
}

/// <summary>What fetching one track did.</summary>
public enum FetchOutcome
{
    /// <summary>Downloaded into the cache.</summary>
    Downloaded,
    /// <summary>The cached copy matches the object (size and ETag): nothing downloaded.</summary>
    Cached,
    /// <summary>A local file, used where it is.</summary>
    Local,
}

/// <summary>What fetching one track did; <paramref name="Warning"/>: a damaged cached copy was fetched again.</summary>
public sealed record FetchResult(FetchOutcome Outcome, string AudioPath, long Bytes, int Attempts, string? Warning = null);

/// <summary>audio_cache/&lt;album&gt;/&lt;track&gt;.&lt;ext&gt;.source.json: which object version the cached file is.</summary>
public sealed class AudioCacheEntry
{
    public string Source { get; set; } = "";
    public string? Bucket { get; set; }
    public string? Key { get; set; }
    public string? ETag { get; set; }
    public string? LastModified { get; set; }
    public long Size { get; set; }
    /// <summary>XXH64 of the bytes as they were downloaded (hex): a cached copy is used only while it still matches.</summary>
    public string? Xxh64 { get; set; }
    public DateTime FetchedUtc { get; set; }

    public const string Suffix = ".source.json";
}

/// <summary>
/// Makes a track's audio local: S3 objects (AWSSDK.S3) and http(s) URLs are downloaded into
/// audio_cache/&lt;album_id&gt;/&lt;track_id&gt;.&lt;ext&gt; through a temporary file that is verified (length; AWSSDK checks the MD5 against a plain-MD5
/// ETag) and renamed; a sidecar records the object's size and ETag so a rerun skips it. Local files
/// are used in place. Transient failures (throttling, 5xx, timeouts, dropped connections) are retried with backoff;
/// 403/404 are not. Thread-safe: one fetcher serves all parallel transfers.
/// </summary>
public sealed class AudioFetcher : IDisposable
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AutomaticDecompression = DecompressionMethods.None })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private readonly ArtifactStore _store;
    private readonly AudioFetchOptions _options;
    private readonly Lazy<IAmazonS3> _s3;

    public AudioFetcher(ArtifactStore store, AudioFetchOptions options)
    {
        _store = store;
        _options = options;
        options.Validate();
        _s3 = new Lazy<IAmazonS3>(() => options.Connection.CreateClient(), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public AudioFetchOptions Options => _options;

    /// <summary>Parses a track's audio location with this fetcher's bucket and audio root.</summary>
    public AudioSource Resolve(MessTrack track) => AudioSource.Parse(track.AudioUri, _options.Bucket, _options.AudioRoot);

    /// <summary>The cache file a remote source goes to.</summary>
    public string CachePath(MessTrack track, AudioSource source) =>
        _store.AudioCachePath(string.IsNullOrWhiteSpace(track.AlbumId) ? "_" : track.AlbumId, track.TrackId, source.Extension);

    /// <summary>Fetches one track; <paramref name="onBytes"/> hears of every block written.</summary>
    public async Task<FetchResult> FetchAsync(MessTrack track, AudioSource source, Action<long>? onBytes, CancellationToken ct)
    {
        switch (source.Kind)
        {
            case AudioSourceKind.Local:
                if (!File.Exists(source.LocalPath))
                    throw new MessException(MessErrorIds.AudioFileNotFound, MessErrorKind.ObjectNotFound,
                        $"Track '{track.TrackId}': the audio file '{source.LocalPath}' does not exist{(Path.IsPathRooted(source.Text) || source.Text.StartsWith("file:", StringComparison.OrdinalIgnoreCase) ? "" : $" (relative to -AudioRoot '{_options.AudioRoot}'; give -Bucket if '{source.Text}' is an S3 key)")}.",
                        track);
                return new FetchResult(FetchOutcome.Local, source.LocalPath!, 0, 0);
            case AudioSourceKind.S3:
                return await FetchS3Async(track, source, onBytes, ct).ConfigureAwait(false);
            default:
                return await FetchHttpAsync(track, source, onBytes, ct).ConfigureAwait(false);
        }
    }

    // ---------------------------------------------------------------- S3

    private async Task<FetchResult> FetchS3Async(MessTrack track, AudioSource source, Action<long>? onBytes, CancellationToken ct)
    {
        string cachePath = CachePath(track, source);
        string sidecar = cachePath + AudioCacheEntry.Suffix;
        IAmazonS3 s3 = _s3.Value;
        int attempts = 0;
        string? warning = null;

        if (!_options.Force && ReadEntry(sidecar) is { } entry && entry.Bucket == source.Bucket && entry.Key == source.Key
            && new FileInfo(cachePath) is { Exists: true } f && f.Length == entry.Size
            && VerifyCached(track, cachePath, entry, ref warning))
        {
            var head = await RunS3Async(track, source, a =>
            {
                attempts = a;
                return s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = source.Bucket, Key = source.Key }, ct);
            }, ct).ConfigureAwait(false);
            if (SameETag(head.ETag, entry.ETag) && head.ContentLength == entry.Size)
                return new FetchResult(FetchOutcome.Cached, cachePath, 0, attempts);
        }

        long bytes = await RunS3Async(track, source, async a =>
        {
            attempts = a;
            using var response = await s3.GetObjectAsync(new GetObjectRequest { BucketName = source.Bucket, Key = source.Key }, ct).ConfigureAwait(false);
            // No MD5 of our own: AWSSDK wraps the body in its MD5Stream and throws at the end when the bytes do not match
            // a plain-MD5 ETag (measured: hashing twice cost a fifth of the throughput).
            long expected = response.ContentLength;
            return await SaveAsync(response.ResponseStream, expected, cachePath, sidecar, new AudioCacheEntry
            {
                Source = source.Display,
                Bucket = source.Bucket,
                Key = source.Key,
                ETag = Unquote(response.ETag),
                LastModified = response.LastModified?.ToUniversalTime().ToString("O"),
                Size = expected,
            }, onBytes, ct).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
        return new FetchResult(FetchOutcome.Downloaded, cachePath, bytes, attempts, warning);
    }

    private async Task<T> RunS3Async<T>(MessTrack track, AudioSource source, Func<int, Task<T>> action, CancellationToken ct)
    {
        try
        {
            return await _options.Retry.RunAsync(action, IsTransient, ct).ConfigureAwait(false);
        }
        catch (AmazonServiceException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            string what = ex.ErrorCode == "NoSuchBucket" ? $"the bucket '{source.Bucket}' does not exist" : "the object does not exist";
            throw new MessException(MessErrorIds.AudioObjectNotFound, MessErrorKind.ObjectNotFound,
                $"Track '{track.TrackId}': s3://{source.Bucket}/{source.Key} was not found (404 {ex.ErrorCode}: {what}). Bucket '{source.Bucket}', key '{source.Key}'.", track, ex);
        }
        catch (AmazonServiceException ex) when (ex.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
        {
            throw new MessException(MessErrorIds.AudioAccessDenied, MessErrorKind.PermissionDenied,
                $"Track '{track.TrackId}': access to s3://{source.Bucket}/{source.Key} was denied ({(int)ex.StatusCode} {ex.ErrorCode}). Bucket '{source.Bucket}', key '{source.Key}': check the credentials' s3:GetObject permission and the bucket policy.", track, ex);
        }
        catch (Exception ex) when (ex is not MessException && ex is not OperationCanceledException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            if (S3Errors.IsCredentialProblem(ex)) throw AwsSetupException.NoCredentials(ex);
            string detail = ex is AmazonServiceException se && se.StatusCode != 0 ? $"{(int)se.StatusCode} {se.ErrorCode}: {se.Message}" : Describe(ex);
            throw new MessException(IsTransient(ex) ? "AudioFetchFailed" : "AudioFetchError", IsTransient(ex) ? MessErrorKind.ConnectionError : MessErrorKind.ReadError,
                $"Track '{track.TrackId}': fetching s3://{source.Bucket}/{source.Key} failed{(IsTransient(ex) ? $" after {_options.Retry.MaxRetries + 1} attempts" : "")}: {detail}. Bucket '{source.Bucket}', key '{source.Key}'.", track, ex);
        }
    }

    // ---------------------------------------------------------------- HTTP(S)

    private async Task<FetchResult> FetchHttpAsync(MessTrack track, AudioSource source, Action<long>? onBytes, CancellationToken ct)
    {
        string cachePath = CachePath(track, source);
        string sidecar = cachePath + AudioCacheEntry.Suffix;
        var cached = _options.Force ? null : ReadEntry(sidecar);
        if (cached is not null && (cached.Source != source.Display || new FileInfo(cachePath) is not { Exists: true } fi || fi.Length != cached.Size)) cached = null;
        string? warning = null;
        if (cached is not null && !VerifyCached(track, cachePath, cached, ref warning)) cached = null;
        int attempts = 0;
        try
        {
            return await _options.Retry.RunAsync(async a =>
            {
                attempts = a;
                using var request = new HttpRequestMessage(HttpMethod.Get, source.Url);
                if (cached?.ETag is { Length: > 0 } etag && EntityTagHeaderValueTry(etag) is { } tag) request.Headers.IfNoneMatch.Add(tag);
                using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.NotModified && cached is not null)
                    return new FetchResult(FetchOutcome.Cached, cachePath, 0, a);
                if (!response.IsSuccessStatusCode) throw new HttpStatusException(response.StatusCode, response.ReasonPhrase);
                long? length = response.Content.Headers.ContentLength;
                string? etagOut = response.Headers.ETag?.Tag;
                if (cached is not null && etagOut is not null && SameETag(etagOut, cached.ETag) && length == cached.Size)
                    return new FetchResult(FetchOutcome.Cached, cachePath, 0, a);
                await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                long n = await SaveAsync(body, length ?? -1, cachePath, sidecar, new AudioCacheEntry
                {
                    Source = source.Display,
                    ETag = etagOut is null ? null : Unquote(etagOut),
                    LastModified = response.Content.Headers.LastModified?.ToString("O"),
                }, onBytes, ct).ConfigureAwait(false);
                return new FetchResult(FetchOutcome.Downloaded, cachePath, n, a, warning);
            }, IsTransient, ct).ConfigureAwait(false);
        }
        catch (HttpStatusException ex) when (ex.Status == HttpStatusCode.NotFound || ex.Status == HttpStatusCode.Gone)
        {
            throw new MessException(MessErrorIds.AudioObjectNotFound, MessErrorKind.ObjectNotFound, $"Track '{track.TrackId}': {source.Display} was not found ({(int)ex.Status}).", track, ex);
        }
        catch (HttpStatusException ex) when (ex.Status is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
        {
            throw new MessException(MessErrorIds.AudioAccessDenied, MessErrorKind.PermissionDenied, $"Track '{track.TrackId}': access to {source.Display} was denied ({(int)ex.Status}).", track, ex);
        }
        catch (Exception ex) when (ex is not MessException && (ex is not OperationCanceledException || !ct.IsCancellationRequested))
        {
            throw new MessException(IsTransient(ex) ? "AudioFetchFailed" : "AudioFetchError", IsTransient(ex) ? MessErrorKind.ConnectionError : MessErrorKind.ReadError,
                $"Track '{track.TrackId}': fetching {source.Display} failed{(IsTransient(ex) ? $" after {attempts} attempts" : "")}: {Describe(ex)}.", track, ex);
        }
    }

    private static System.Net.Http.Headers.EntityTagHeaderValue? EntityTagHeaderValueTry(string etag) =>
        System.Net.Http.Headers.EntityTagHeaderValue.TryParse(etag.StartsWith('"') || etag.StartsWith("W/", StringComparison.Ordinal) ? etag : $"\"{etag}\"", out var v) ? v : null;

    private sealed class HttpStatusException(HttpStatusCode status, string? reason) : Exception($"HTTP {(int)status} {reason}")
    {
        public HttpStatusCode Status { get; } = status;
    }

    // ---------------------------------------------------------------- common

    /// <summary>
    /// Copies <paramref name="body"/> into a temporary file beside <paramref name="cachePath"/>, checks its length, removes the old sidecar, renames the file into place and writes the new sidecar.
    /// </summary>
    private async Task<long> SaveAsync(Stream body, long expected, string cachePath, string sidecar, AudioCacheEntry entry,
        Action<long>? onBytes, CancellationToken ct)
    {
        // Temporaries a killed run left here are removed by the next writer when it takes the folder's lock (ArtifactWriterLock).
        using var writer = AtomicFileWriter.Create(cachePath);
        var hash = new System.IO.Hashing.XxHash64();
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 17);
        long total = 0;
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            while (true)
            {
                stall.CancelAfter(_options.StallTimeout);
                int n;
                try { n = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    throw new TimeoutException($"no data for {_options.StallTimeout.TotalSeconds:0} s after {total:N0} bytes");
                }
                if (n == 0) break;
                await writer.Stream.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                hash.Append(buffer.AsSpan(0, n));
                total += n;
                onBytes?.Invoke(n);
            }
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer); }
        if (expected >= 0 && total != expected)
            throw new IOException($"the connection ended after {total:N0} of {expected:N0} bytes");
        entry.Size = total;
        entry.Xxh64 = hash.GetCurrentHashAsUInt64().ToString("x16");
        entry.FetchedUtc = DateTime.UtcNow;
        ct.ThrowIfCancellationRequested();
        // Old sidecar first: a crash between the two renames leaves a file without a sidecar, which is fetched again.
        try { File.Delete(sidecar); } catch (DirectoryNotFoundException) { }
        writer.Commit();
        FaultInjection.Hit("audio.before-sidecar");
        ArtifactJson.Write(sidecar, entry);
        return total;
    }

    /// <summary>
    /// True when the cached file still holds the bytes that were downloaded: their XXH64 recorded at download, or
    /// (sidecars written before it was recorded) the ETag when it is a plain MD5 (a single-part upload). Otherwise
    /// <paramref name="warning"/> says why it is fetched again.
    /// </summary>
    internal static bool VerifyCached(MessTrack track, string cachePath, AudioCacheEntry entry, ref string? warning)
    {
        string? expected, actual, what;
        using (var fs = new FileStream(cachePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 17))
        {
            if (!string.IsNullOrEmpty(entry.Xxh64))
            {
                var h = new System.IO.Hashing.XxHash64();
                byte[] buf = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 17);
                try { for (int n; (n = fs.Read(buf, 0, buf.Length)) > 0;) h.Append(buf.AsSpan(0, n)); }
                finally { System.Buffers.ArrayPool<byte>.Shared.Return(buf); }
                (expected, actual, what) = (entry.Xxh64, h.GetCurrentHashAsUInt64().ToString("x16"), "XXH64 recorded at download");
            }
            else if (Unquote(entry.ETag) is { Length: 32 } md5 && md5.All(char.IsAsciiHexDigit))
                (expected, actual, what) = (md5, Convert.ToHexString(System.Security.Cryptography.MD5.HashData(fs)), "MD5 ETag");
            else
            {
                warning = $"Track '{track.TrackId}': the cached copy '{cachePath}' has no checksum to verify it against (its sidecar predates them and the ETag is not a plain MD5): fetched again.";
                return false;
            }
        }
        if (string.Equals(expected, actual, StringComparison.OrdinalIgnoreCase)) return true;
        warning = $"Track '{track.TrackId}': the cached copy '{cachePath}' is damaged (its {what} is {expected}, the file's is {actual.ToLowerInvariant()}): fetched again.";
        return false;
    }

    private static AudioCacheEntry? ReadEntry(string sidecar)
    {
        if (!File.Exists(sidecar)) return null;
        try { return ArtifactJson.Read<AudioCacheEntry>(sidecar); }
        catch (MessException) { return null; }
        catch (IOException) { return null; }
    }

    internal static bool IsTransient(Exception ex) =>
        ex is HttpStatusException he ? (int)he.Status is 408 or 429 or >= 500 : S3Errors.IsTransient(ex);

    private static string Describe(Exception ex) => S3Errors.Describe(ex);

    private static string Unquote(string? etag) => (etag ?? "").Trim().Trim('"');
    private static bool SameETag(string? a, string? b) => a is not null && b is not null && string.Equals(Unquote(a), Unquote(b), StringComparison.Ordinal);
    public void Dispose()
    {
        if (_s3.IsValueCreated) _s3.Value.Dispose();
    }
}
