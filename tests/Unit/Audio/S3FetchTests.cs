using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Aws;

namespace MessTools.Tests.Unit.Audio;

/// <summary>One moto_server for the S3 tests of this class (each test uses its own bucket).</summary>
public sealed class MotoFixture : IDisposable
{
    public MotoServer Server { get; }
    public AmazonS3Client Client { get; }

    public MotoFixture()
    {
        // The fetcher finds credentials the AWS way (here: environment variables); moto accepts any.
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "testing");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "testing-secret");
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
        Server = new MotoServer();
        Client = S3Tests.ClientFor(Server);
    }

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
    }
}

internal static class S3Tests
{
    public static AmazonS3Client ClientFor(MotoServer server) => new(new BasicAWSCredentials("testing", "testing-secret"),
        new AmazonS3Config { ServiceURL = server.Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });

    public static byte[] Bytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    public static async Task Seed(AmazonS3Client s3, string bucket, IEnumerable<(string Key, byte[] Body)> objects)
    {
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        foreach (var (key, body) in objects)
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, InputStream = new MemoryStream(body) });
    }

    public static MessTrack Track(string id, string uri, string album = "alb") => new() { TrackId = id, AlbumId = album, AudioUri = uri, Composer = "X" };

    public static AudioFetcher Fetcher(ArtifactStore store, MotoServer server, bool force = false, int retries = 2, string? bucket = null) =>
        new(store, new AudioFetchOptions
        {
            EndpointUrl = server.Endpoint,
            Force = force,
            Bucket = bucket,
            Retry = new RetryBackoff { MaxRetries = retries, BaseDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(200) },
            StallTimeout = TimeSpan.FromSeconds(10),
        });

    /// <summary>Runs the tracks through a fetch-only pipeline and returns every result.</summary>
    public static List<AudioJobResult> Run(AudioFetcher fetcher, IEnumerable<MessTrack> tracks, int throttle = 4, AudioStandardizer? std = null, Action<List<AudioJobResult>>? onResult = null)
    {
        using var p = new AudioPipeline(fetcher, std, throttle);
        var results = new List<AudioJobResult>();
        foreach (var t in tracks)
        {
            p.Post(t);
            while (p.Pending >= p.Window) if (p.TryTake(out var r, 1000)) { results.Add(r); onResult?.Invoke(results); }
        }
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (p.Pending > 0 && DateTime.UtcNow < deadline) if (p.TryTake(out var r, 1000)) { results.Add(r); onResult?.Invoke(results); }
        Assert.Equal(0, p.Pending);
        return results;
    }

    public static string Md5(string path) => Convert.ToHexString(MD5.HashData(File.ReadAllBytes(path))).ToLowerInvariant();

    /// <summary>No temporary file anywhere, and every cached audio file has a sidecar whose size matches.</summary>
    public static void AssertCacheConsistent(ArtifactStore store)
    {
        if (!Directory.Exists(store.AudioCacheDir)) return;
        Assert.Empty(Directory.GetFiles(store.AudioCacheDir, "*" + AtomicFileWriter.TempSuffix, SearchOption.AllDirectories));
        foreach (var f in Directory.GetFiles(store.AudioCacheDir, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(AudioCacheEntry.Suffix)))
        {
            var entry = ArtifactJson.Read<AudioCacheEntry>(f + AudioCacheEntry.Suffix);
            Assert.Equal(entry.Size, new FileInfo(f).Length);
        }
    }
}

[Collection("moto")]
public class S3FetchTests : IClassFixture<MotoFixture>
{
    private readonly MotoFixture _moto;
    public S3FetchTests(MotoFixture moto) => _moto = moto;

    [Fact]
    public async Task Fresh_download_then_a_rerun_downloads_nothing_and_a_changed_object_is_fetched_again()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        var objects = Enumerable.Range(0, 6).Select(i => ($"audio/t{i}.mp3", S3Tests.Bytes(100_000 + i, i))).ToList();
        await S3Tests.Seed(_moto.Client, "fresh", objects);
        var tracks = objects.Select((o, i) => S3Tests.Track($"t{i}", "s3://fresh/" + o.Item1)).ToList();

        using (var f = S3Tests.Fetcher(store, _moto.Server))
        {
            var first = S3Tests.Run(f, tracks);
            Assert.All(first, r => Assert.Null(r.Error));
            Assert.All(first, r => Assert.Equal(FetchOutcome.Downloaded, r.Fetch));
            Assert.Equal(objects.Sum(o => (long)o.Item2.Length), first.Sum(r => r.BytesDownloaded));
            foreach (var r in first)
            {
                int i = int.Parse(r.Track.TrackId[1..]);
                Assert.Equal(store.AudioCachePath("alb", $"t{i}", ".mp3"), r.Track.AudioPath);
                Assert.Equal(objects[i].Item2, File.ReadAllBytes(r.Track.AudioPath!));
                Assert.Equal(MessTrackStatus.Fetched, r.Track.Status);
            }
            S3Tests.AssertCacheConsistent(store);
        }

        // Second run: everything cached, nothing downloaded, files untouched.
        var stamp = File.GetLastWriteTimeUtc(store.AudioCachePath("alb", "t0", ".mp3"));
        using (var f = S3Tests.Fetcher(store, _moto.Server))
        {
            var second = S3Tests.Run(f, tracks);
            Assert.All(second, r => Assert.Equal(FetchOutcome.Cached, r.Fetch));
            Assert.Equal(0, second.Sum(r => r.BytesDownloaded));
        }
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(store.AudioCachePath("alb", "t0", ".mp3")));

        // t2 changes (new ETag, same size): only it is fetched again. -Force fetches everything.
        var changed = S3Tests.Bytes(100_002, 999);
        await _moto.Client.PutObjectAsync(new PutObjectRequest { BucketName = "fresh", Key = "audio/t2.mp3", InputStream = new MemoryStream(changed) });
        using (var f = S3Tests.Fetcher(store, _moto.Server))
        {
            var third = S3Tests.Run(f, tracks);
            Assert.Equal(new[] { "t2" }, third.Where(r => r.Fetch == FetchOutcome.Downloaded).Select(r => r.Track.TrackId));
            Assert.Equal(5, third.Count(r => r.Fetch == FetchOutcome.Cached));
        }
        Assert.Equal(changed, File.ReadAllBytes(store.AudioCachePath("alb", "t2", ".mp3")));
        using (var f = S3Tests.Fetcher(store, _moto.Server, force: true))
            Assert.All(S3Tests.Run(f, tracks), r => Assert.Equal(FetchOutcome.Downloaded, r.Fetch));
        // A damaged cached file (size differs) is fetched again.
        File.WriteAllBytes(store.AudioCachePath("alb", "t3", ".mp3"), new byte[10]);
        using (var f = S3Tests.Fetcher(store, _moto.Server))
            Assert.Equal(new[] { "t3" }, S3Tests.Run(f, tracks).Where(r => r.Fetch == FetchOutcome.Downloaded).Select(r => r.Track.TrackId));
        S3Tests.AssertCacheConsistent(store);
    }

    [Fact]
    public async Task Missing_and_forbidden_objects_are_errors_naming_track_bucket_and_key_and_are_not_retried()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        await S3Tests.Seed(_moto.Client, "perm", new[] { ("ok/a.wav", S3Tests.Bytes(5000, 1)), ("secret/b.wav", S3Tests.Bytes(5000, 2)) });
        // moto 5.2 enforces an explicit Deny in a bucket policy on object reads: GET answers 403 AccessDenied.
        _moto.Server.PutBucketPolicy("perm", MotoServer.DenyGetPolicy("perm", "secret/"));
        var tracks = new[]
        {
            S3Tests.Track("good", "ok/a.wav"),
            S3Tests.Track("missing", "ok/nope.wav"),
            S3Tests.Track("denied", "secret/b.wav"),
            S3Tests.Track("nobucket", "s3://no-such-bucket-x/k.wav"),
        };
        using var f = S3Tests.Fetcher(store, _moto.Server, retries: 3, bucket: "perm");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var results = S3Tests.Run(f, tracks).ToDictionary(r => r.Track.TrackId);
        Assert.Null(results["good"].Error);
        var missing = results["missing"].Error!;
        Assert.Equal("AudioObjectNotFound", missing.ErrorId);
        Assert.Contains("'missing'", missing.Message);
        Assert.Contains("bucket 'perm'", missing.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("key 'ok/nope.wav'", missing.Message);
        var denied = results["denied"].Error!;
        Assert.Equal("AudioAccessDenied", denied.ErrorId);
        Assert.Equal(MessTools.Core.Common.MessErrorKind.PermissionDenied, denied.Kind);
        Assert.Contains("'denied'", denied.Message);
        Assert.Contains("key 'secret/b.wav'", denied.Message);
        Assert.Equal("AudioObjectNotFound", results["nobucket"].Error!.ErrorId);
        Assert.Contains("no-such-bucket-x", results["nobucket"].Error!.Message);
        Assert.Equal(MessTrackStatus.Failed, results["denied"].Track.Status);
        Assert.False(File.Exists(store.AudioCachePath("alb", "denied", ".wav")));
        S3Tests.AssertCacheConsistent(store);
    }

    [Fact]
    public async Task ThrottleLimit_1_and_8_give_the_same_files()
    {
        using var tmp = new TempDir();
        var objects = Enumerable.Range(0, 16).Select(i => ($"k/{i:00}.flac", S3Tests.Bytes(20_000 + 997 * i, 100 + i))).ToList();
        await S3Tests.Seed(_moto.Client, "throttle", objects);
        var tracks = objects.Select((o, i) => S3Tests.Track($"t{i:00}", "s3://throttle/" + o.Item1, album: i % 2 == 0 ? "even" : "odd")).ToList();
        var listings = new List<string[]>();
        foreach (int limit in new[] { 1, 8 })
        {
            var store = new ArtifactStore(tmp[$"art{limit}"]);
            using var f = S3Tests.Fetcher(store, _moto.Server);
            var results = S3Tests.Run(f, tracks, throttle: limit);
            Assert.All(results, r => Assert.Null(r.Error));
            listings.Add(Directory.GetFiles(store.AudioCacheDir, "*", SearchOption.AllDirectories)
                .Where(p => !p.EndsWith(AudioCacheEntry.Suffix))
                .Select(p => Path.GetRelativePath(store.Root, p) + ":" + S3Tests.Md5(p)).OrderBy(x => x, StringComparer.Ordinal).ToArray());
        }
        Assert.Equal(16, listings[0].Length);
        Assert.Equal(listings[0], listings[1]);
    }

    [Fact]
    public async Task Http_urls_are_fetched_and_revalidated_with_their_ETag()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        var body = S3Tests.Bytes(30_000, 7);
        await _moto.Client.PutBucketAsync(new PutBucketRequest { BucketName = "web" });
        // Unsigned GETs of a private object get 403 from moto (as from S3): the object is public-read.
        await _moto.Client.PutObjectAsync(new PutObjectRequest { BucketName = "web", Key = "pub/x.ogg", InputStream = new MemoryStream(body), CannedACL = S3CannedACL.PublicRead });
        await _moto.Client.PutObjectAsync(new PutObjectRequest { BucketName = "web", Key = "pub/private.ogg", InputStream = new MemoryStream(body) });
        var track = S3Tests.Track("x", $"{_moto.Server.Endpoint}/web/pub/x.ogg");
        using var f = S3Tests.Fetcher(store, _moto.Server);
        var r1 = S3Tests.Run(f, new[] { track }).Single();
        Assert.Null(r1.Error);
        Assert.Equal(FetchOutcome.Downloaded, r1.Fetch);
        Assert.Equal(body, File.ReadAllBytes(store.AudioCachePath("alb", "x", ".ogg")));
        Assert.Equal(FetchOutcome.Cached, S3Tests.Run(f, new[] { track }).Single().Fetch);
        var missing = S3Tests.Run(f, new[] { S3Tests.Track("y", $"{_moto.Server.Endpoint}/web/pub/none.ogg") }).Single();
        Assert.Equal("AudioObjectNotFound", missing.Error!.ErrorId);
        var denied = S3Tests.Run(f, new[] { S3Tests.Track("z", $"{_moto.Server.Endpoint}/web/pub/private.ogg") }).Single();
        Assert.Equal("AudioAccessDenied", denied.Error!.ErrorId);
    }
}

/// <summary>Tests that stop their own moto_server: they cannot share the class fixture.</summary>
[Collection("moto")]
public class S3OutageTests
{
    static S3OutageTests()
    {
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "testing");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "testing-secret");
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
    }

    [Fact]
    public async Task Server_stopped_mid_run_gives_errors_no_partial_files_and_a_rerun_completes()
    {
        using var tmp = new TempDir();
        using var moto = new MotoServer();
        using var s3 = S3Tests.ClientFor(moto);
        var objects = Enumerable.Range(0, 40).Select(i => ($"o/{i:00}.mp3", S3Tests.Bytes(400_000, 500 + i))).ToList();
        await S3Tests.Seed(s3, "outage", objects);
        var tracks = objects.Select((o, i) => S3Tests.Track($"t{i:00}", "s3://outage/" + o.Item1)).ToList();
        var store = new ArtifactStore(tmp["art"]);
        int port = moto.Port;

        List<AudioJobResult> first;
        using (var f = S3Tests.Fetcher(store, moto, retries: 1))
            first = S3Tests.Run(f, tracks, throttle: 3, onResult: rs => { if (rs.Count == 5) moto.Stop(); });
        int ok = first.Count(r => r.Error is null);
        var failed = first.Where(r => r.Error is not null).ToList();
        Assert.InRange(ok, 5, 39);
        Assert.NotEmpty(failed);
        Assert.All(failed, r => Assert.Equal("AudioFetchFailed", r.Error!.ErrorId));
        Assert.All(failed, r => Assert.Contains("s3://outage/", r.Error!.Message));
        foreach (var r in failed) Assert.False(File.Exists(store.AudioCachePath("alb", r.Track.TrackId, ".mp3")), r.Track.TrackId);
        S3Tests.AssertCacheConsistent(store);

        // The server comes back (empty: moto keeps no state), the same objects are uploaded again, the rerun completes.
        moto.Start(port);
        using var s3b = S3Tests.ClientFor(moto);
        await S3Tests.Seed(s3b, "outage", objects);
        using (var f = S3Tests.Fetcher(store, moto))
        {
            var second = S3Tests.Run(f, tracks, throttle: 3);
            Assert.All(second, r => Assert.Null(r.Error));
            Assert.Equal(ok, second.Count(r => r.Fetch == FetchOutcome.Cached));
            Assert.Equal(40 - ok, second.Count(r => r.Fetch == FetchOutcome.Downloaded));
        }
        foreach (var (o, i) in objects.Select((o, i) => (o, i)))
            Assert.Equal(o.Item2, File.ReadAllBytes(store.AudioCachePath("alb", $"t{i:00}", ".mp3")));
        S3Tests.AssertCacheConsistent(store);
    }

    [Fact]
    public async Task Cancelling_mid_run_stops_promptly_and_leaves_the_cache_consistent()
    {
        using var tmp = new TempDir();
        using var moto = new MotoServer();
        using var s3 = S3Tests.ClientFor(moto);
        var objects = Enumerable.Range(0, 12).Select(i => ($"c/{i:00}.wav", S3Tests.Bytes(2_000_000, 900 + i))).ToList();
        await S3Tests.Seed(s3, "cancel", objects);
        var store = new ArtifactStore(tmp["art"]);
        using var f = S3Tests.Fetcher(store, moto);
        using var cts = new CancellationTokenSource();
        using var p = new AudioPipeline(f, null, 4, cancellationToken: cts.Token);
        foreach (var (o, i) in objects.Select((o, i) => (o, i))) p.Post(S3Tests.Track($"t{i:00}", "s3://cancel/" + o.Item1));
        while (p.BytesDownloaded < 1_000_000) Thread.Sleep(5);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        cts.Cancel();
        Assert.True(p.WaitIdle(TimeSpan.FromSeconds(10)));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"stopping took {sw.Elapsed}");
        int cancelled = 0;
        while (p.TryTake(out var r, 0)) if (r.Cancelled) cancelled++;
        Assert.True(cancelled > 0);
        S3Tests.AssertCacheConsistent(store);
    }
}

[CollectionDefinition("moto", DisableParallelization = false)]
public class MotoCollection { }

[Collection("moto")]
public class S3StaleTemporaryTests : IClassFixture<MotoFixture>
{
    private readonly MotoFixture _moto;
    public S3StaleTemporaryTests(MotoFixture moto) => _moto = moto;

    [Fact]
    public async Task Temporaries_a_killed_run_left_are_removed_when_old_and_kept_when_young()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        await S3Tests.Seed(_moto.Client, "stale", new[] { ("a.mp3", S3Tests.Bytes(1000, 1)) });
        string folder = Path.GetDirectoryName(store.AudioCachePath("alb", "a", ".mp3"))!;
        Directory.CreateDirectory(folder);
        string old = Path.Combine(folder, ".a.mp3.0123456789abcdef" + AtomicFileWriter.TempSuffix);
        string young = Path.Combine(folder, ".b.mp3.fedcba9876543210" + AtomicFileWriter.TempSuffix);
        File.WriteAllBytes(old, new byte[10]);
        File.WriteAllBytes(young, new byte[10]);
        File.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddHours(-2));
        using var f = S3Tests.Fetcher(store, _moto.Server);
        Assert.All(S3Tests.Run(f, new[] { S3Tests.Track("a", "s3://stale/a.mp3") }), r => Assert.Null(r.Error));
        Assert.False(File.Exists(old));
        Assert.True(File.Exists(young)); // another run may still be writing it
    }
}
