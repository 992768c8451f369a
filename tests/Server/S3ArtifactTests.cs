using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using MessTools.Core.Artifacts;
using MessTools.Core.Aws;
using Microsoft.Extensions.DependencyInjection;
using MessTools.Core.Common;
using MessTools.Core.Index;
using MessTools.Core.Publishing;
using MessTools.Tests.Server.Infrastructure;

namespace MessTools.Tests.Server;

/// <summary>
/// An s3://bucket/prefix artifact path against a real S3 API (moto on loopback): the published set is imported at
/// start through the Core importer (downloaded, SHA-256 verified) and served; a tampered object stops the start.
/// </summary>
public sealed class S3ArtifactTests : IDisposable
{
    private readonly MotoServer _moto = new();
    private readonly TempDir _tmp = new();

    static S3ArtifactTests()
    {
        // moto accepts any key; the same values every S3 test of this repository sets.
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "testing");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "testing-secret");
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
    }

    public void Dispose()
    {
        _moto.Dispose();
        _tmp.Dispose();
    }

    private ArtifactRemote Remote => new() { Connection = new S3Connection { EndpointUrl = _moto.Endpoint }, Bucket = "mess-artifacts", Prefix = "prod" };

    [Fact]
    public async Task A_published_set_is_imported_verified_and_served()
    {
        _moto.CreateBucket("mess-artifacts");
        var source = ServerArtifacts.Write(_tmp["src"]);
        await ArtifactPublisher.PublishAsync(Remote, new PublishRequest { ArtifactPath = source.Root, Model = "builtin" });

        // Another import holds the download folder's writer lock: the server's import (a hosted service) waits for it,
        // while /livez answers and /readyz says "loading" (the import used to run inside the start, before anything answered).
        string local = Path.Combine(_tmp["dl"], "v1_model_builtin");
        Directory.CreateDirectory(local);
        var held = ArtifactWriterLock.Acquire(new ArtifactStore(local), "another-import", "Import-MessArtifact", TimeSpan.Zero);
        await using var f = ServerFactory.For("s3://mess-artifacts/prod", ("s3-endpoint-url", _moto.Endpoint), ("download-path", _tmp["dl"]));
        var early = f.CreateClient();
        Assert.Equal(200, (int)(await early.GetAsync("/livez")).StatusCode);
        for (int i = 0; i < 3; i++)
        {
            var ready = await early.GetAsync("/readyz");
            Assert.Equal(503, (int)ready.StatusCode);
            Assert.Equal("loading", (await Json.ReadAsync(ready)).GetProperty("status").GetString());
            await Json.ProblemAsync(await early.GetAsync("/tracks/trk-005/nearest"), System.Net.HttpStatusCode.ServiceUnavailable, "NotReady");
            await Task.Delay(100);
        }
        held.Dispose();
        var c = await f.ReadyClientAsync();
        var models = await c.GetFromJsonAsync<JsonElement>("/models");
        Assert.Equal("builtin", models[0].GetProperty("name").GetString());
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(source.HnswIndexFile)), SHA256.HashData(File.ReadAllBytes(Path.Combine(local, "index", "hnsw.index"))));
        var expected = NeighborFinder.Open(source).ByTrackId("trk-005", new NeighborQuery { K = 5 }).Select(r => r.TrackId);
        var got = (await c.GetFromJsonAsync<JsonElement>("/tracks/trk-005/nearest")).GetProperty("neighbors").EnumerateArray().Select(n => n.GetProperty("track_id").GetString());
        Assert.Equal(expected, got);
        Assert.Equal(200, (int)(await c.GetAsync("/eval/summary")).StatusCode);
    }

    [Fact]
    public async Task A_tampered_object_stops_the_start_with_the_checksum_error()
    {
        _moto.CreateBucket("mess-artifacts");
        var source = ServerArtifacts.Write(_tmp["src"], evaluate: false);
        await ArtifactPublisher.PublishAsync(Remote, new PublishRequest { ArtifactPath = source.Root, Model = "builtin" });
        string sha = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(source.HnswIndexFile))).ToLowerInvariant();
        var bytes = File.ReadAllBytes(source.HnswIndexFile);
        bytes[bytes.Length / 2] ^= 0x40;
        using (var s3 = Remote.Connection.CreateClient())
            await s3.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest { BucketName = "mess-artifacts", Key = Remote.BlobKey("builtin", sha), InputStream = new MemoryStream(bytes) });

        await using var f = ServerFactory.For("s3://mess-artifacts/prod", ("s3-endpoint-url", _moto.Endpoint), ("download-path", _tmp["dl"]));
        // The import runs in a hosted service: its failure stops the host (one line on stderr, exit code 1 from Program).
        var c = f.CreateClient();
        var catalog = f.Services.GetRequiredService<MessTools.Server.Artifacts.ArtifactCatalog>();
        var lifetime = f.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (catalog.StartFailure is null && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.NotNull(catalog.StartFailure);
        Assert.Equal("ArtifactChecksumMismatch", Unwrap(catalog.StartFailure).ErrorId);
        // The hosted service records the failure, writes its line, then asks the host to stop: wait for the last step.
        while (!lifetime.ApplicationStopping.IsCancellationRequested && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.True(lifetime.ApplicationStopping.IsCancellationRequested);
        Assert.False(catalog.Ready);
        Assert.False(Directory.Exists(Path.Combine(_tmp["dl"], "v1_model_builtin", "index")));
    }


    private static MessException Unwrap(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
            if (e is MessException m) return m;
        throw new Xunit.Sdk.XunitException("no MessException in " + ex);
    }
}
