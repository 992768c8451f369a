using System.Net;
using Amazon.S3;
using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Aws;
using MessTools.Core.Common;

namespace MessTools.Tests.Unit.Audio;

public class AudioSourceAndRetryTests
{
    [Theory]
    [InlineData("s3://bucket-a/x/y.MP3", null, "S3", "bucket-a", "x/y.MP3", ".mp3")]
    [InlineData("x/y.flac", "my-bucket", "S3", "my-bucket", "x/y.flac", ".flac")]
    [InlineData("/x/y.flac", "my-bucket", "S3", "my-bucket", "x/y.flac", ".flac")]
    [InlineData("https://host.example/a/b.m4a?sig=secret", null, "Http", null, null, ".m4a")]
    [InlineData("audio/A/t1.wav", null, "Local", null, null, ".wav")]
    [InlineData("file:///data/t1.ogg", null, "Local", null, null, ".ogg")]
    [InlineData("s3://b-1/noext", null, "S3", "b-1", "noext", "")]
    public void Locations_parse_into_their_kind(string text, string? bucket, string kind, string? expBucket, string? expKey, string ext)
    {
        var s = AudioSource.Parse(text, bucket, "/root");
        Assert.Equal(kind, s.Kind.ToString());
        Assert.Equal(expBucket, s.Bucket);
        Assert.Equal(expKey, s.Key);
        Assert.Equal(ext, s.Extension);
        Assert.DoesNotContain("secret", s.Display);
        if (s.Kind == AudioSourceKind.Local && !text.StartsWith("file:")) Assert.Equal(Path.GetFullPath("/root/" + text), s.LocalPath);
    }

    [Theory]
    [InlineData("", "NoAudioSource")]
    [InlineData("   ", "NoAudioSource")]
    [InlineData("gs://bucket/key.mp3", "UnsupportedAudioScheme")]
    [InlineData("s3://bucket", "InvalidAudioSource")]
    [InlineData("s3://bucket/folder/", "InvalidAudioSource")]
    [InlineData("s3://a/k.mp3", "InvalidBucketName")]
    [InlineData("s3://bad bucket/k.mp3", "InvalidBucketName")]
    [InlineData("a\u0001b.mp3", "InvalidAudioSource")]
    public void Bad_locations_are_refused_with_an_id(string text, string id)
    {
        var ex = Assert.Throws<MessException>(() => AudioSource.Parse(text, null, "/root"));
        Assert.Equal(id, ex.ErrorId);
    }

    [Fact]
    public void Unsafe_album_ids_and_extensions_never_leave_the_cache_folder()
    {
        using var tmp = new TempDir();
        using var f = new AudioFetcher(new ArtifactStore(tmp.Path), new AudioFetchOptions());
        var src = AudioSource.Parse("s3://bucket/k.mp3", null, tmp.Path);
        Assert.Equal("UnsafeName", Assert.Throws<MessException>(() => f.CachePath(new MessTrack { TrackId = "t", AlbumId = ".." }, src)).ErrorId);
        Assert.Equal("UnsafeName", Assert.Throws<MessException>(() => f.CachePath(new MessTrack { TrackId = "a/b", AlbumId = "x" }, src)).ErrorId);
        Assert.EndsWith(Path.Combine("audio_cache", "_", "t.mp3"), f.CachePath(new MessTrack { TrackId = "t" }, src));
    }

    [Fact]
    public void Only_throttling_5xx_timeouts_and_dropped_connections_are_transient()
    {
        AmazonS3Exception S3(HttpStatusCode code, string err) => new("x") { StatusCode = code, ErrorCode = err };
        Assert.True(AudioFetcher.IsTransient(S3(HttpStatusCode.ServiceUnavailable, "SlowDown")));
        Assert.True(AudioFetcher.IsTransient(S3(HttpStatusCode.InternalServerError, "InternalError")));
        Assert.True(AudioFetcher.IsTransient(S3((HttpStatusCode)429, "TooManyRequests")));
        Assert.True(AudioFetcher.IsTransient(S3(HttpStatusCode.BadRequest, "RequestTimeout")));
        Assert.False(AudioFetcher.IsTransient(S3(HttpStatusCode.NotFound, "NoSuchKey")));
        Assert.False(AudioFetcher.IsTransient(S3(HttpStatusCode.Forbidden, "AccessDenied")));
        Assert.True(AudioFetcher.IsTransient(new HttpRequestException("connection refused")));
        Assert.True(AudioFetcher.IsTransient(new IOException("the connection ended after 10 of 20 bytes")));
        Assert.True(AudioFetcher.IsTransient(new TimeoutException()));
        Assert.True(AudioFetcher.IsTransient(new Amazon.Runtime.AmazonClientException("Expected hash not equal to calculated hash")));
        Assert.False(AudioFetcher.IsTransient(new InvalidOperationException("bug")));
    }

    [Fact]
    public async Task Backoff_grows_exponentially_with_jitter_and_stops_at_non_transient_errors()
    {
        var p = new RetryBackoff { MaxRetries = 3, BaseDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromMilliseconds(250) };
        for (int i = 0; i < 200; i++)
        {
            Assert.InRange(p.Delay(1).TotalMilliseconds, 0, 100);
            Assert.InRange(p.Delay(2).TotalMilliseconds, 0, 200);
            Assert.InRange(p.Delay(5).TotalMilliseconds, 0, 250);
        }
        Assert.True(Enumerable.Range(0, 50).Select(_ => p.Delay(2).TotalMilliseconds).Distinct().Count() > 10); // jittered
        var fast = new RetryBackoff { MaxRetries = 3, BaseDelay = TimeSpan.FromMilliseconds(1) };
        int calls = 0;
        Assert.Equal(42, await fast.RunAsync(a => { calls++; return a < 3 ? throw new IOException("drop") : Task.FromResult(42); }, _ => true, default));
        Assert.Equal(3, calls);
        calls = 0;
        await Assert.ThrowsAsync<IOException>(() => fast.RunAsync<int>(_ => { calls++; throw new IOException("drop"); }, _ => true, default));
        Assert.Equal(4, calls); // 1 + 3 retries
        calls = 0;
        await Assert.ThrowsAsync<InvalidOperationException>(() => fast.RunAsync<int>(_ => { calls++; throw new InvalidOperationException(); }, _ => false, default));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task A_server_answering_503_twice_is_retried_until_it_delivers()
    {
        int port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var body = new byte[50_000];
        new Random(3).NextBytes(body);
        int requests = 0;
        var server = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await listener.GetContextAsync(); } catch (Exception) { return; }
                int n = Interlocked.Increment(ref requests);
                if (ctx.Request.Url!.AbsolutePath.Contains("forbidden")) ctx.Response.StatusCode = 403;
                else if (n <= 2) ctx.Response.StatusCode = 503;
                else
                {
                    ctx.Response.Headers["ETag"] = "\"v1\"";
                    ctx.Response.ContentLength64 = body.Length;
                    await ctx.Response.OutputStream.WriteAsync(body);
                }
                ctx.Response.Close();
            }
        });
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp.Path);
        using var f = new AudioFetcher(store, new AudioFetchOptions { Retry = new RetryBackoff { MaxRetries = 4, BaseDelay = TimeSpan.FromMilliseconds(10) } });
        var track = new MessTrack { TrackId = "r", AlbumId = "a", AudioUri = $"http://127.0.0.1:{port}/r.mp3" };
        var result = await f.FetchAsync(track, f.Resolve(track), null, default);
        Assert.Equal(FetchOutcome.Downloaded, result.Outcome);
        Assert.Equal(3, result.Attempts);
        Assert.Equal(body, File.ReadAllBytes(result.AudioPath));
        int before = requests;
        var denied = new MessTrack { TrackId = "f", AlbumId = "a", AudioUri = $"http://127.0.0.1:{port}/forbidden.mp3" };
        Assert.Equal("AudioAccessDenied", (await Assert.ThrowsAsync<MessException>(() => f.FetchAsync(denied, f.Resolve(denied), null, default))).ErrorId);
        Assert.Equal(before + 1, requests); // not retried
        listener.Stop();
    }

    private static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int p = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return p;
    }
}
