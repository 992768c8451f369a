using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using MessTools.Core.Aws;
using MessTools.Core.Common;
using MessTools.Core.Jobs;
using MessTools.Core.Publishing;
using MessTools.Tests.Unit.Audio;

namespace MessTools.Tests.Unit.Publishing;

/// <summary>A synthetic artifact folder: what each stage writes, plus what must never be published.</summary>
internal static class ArtifactFolder
{
    public static string Make(string root, int seed = 1, int embeddingBytes = 200_000)
    {
        void Write(string rel, byte[] bytes)
        {
            string p = Path.Combine(root, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(p)!);
            File.WriteAllBytes(p, bytes);
        }
        void Text(string rel, string text) => Write(rel, System.Text.Encoding.UTF8.GetBytes(text));
        Text("metadata/tracks_metadata.csv", "track_id,album_id,composer\nt1,a1,Bach\nt2,a1,Bach\n");
        Write("embeddings/embeddings.f32", S3Tests.Bytes(embeddingBytes, seed));
        Text("embeddings/track_ids.json", "[\"t1\",\"t2\"]");
        Text("embeddings/embeddings_meta.json", "{\"model\": \"builtin\", \"dim\": 256}");
        Write("embeddings/segments/seg.npy", S3Tests.Bytes(3000, seed + 1));
        Write("index/hnsw.index", S3Tests.Bytes(50_000, seed + 2));
        Text("index/index_meta.json", "{\"kind\":\"hnsw\"}");
        Text("eval/eval_results.json", "{\"hit_at_10\": 0.5}");
        Text("runs/20261125T100000.000Z_ConvertTo-MessEmbedding.json", "{\"command\":\"ConvertTo-MessEmbedding\"}");
        // Never published:
        Text("runs/20261125T110000.000Z_Publish-MessArtifact.json", "{\"command\":\"Publish-MessArtifact\"}");
        Write("audio_wav/t1.wav", S3Tests.Bytes(1000, seed + 3));
        Write("audio_cache/a1/t1.mp3", S3Tests.Bytes(1000, seed + 4));
        Write("cache/scratch.bin", S3Tests.Bytes(100, seed + 5));
        Write("embeddings/.embeddings.f32.0123.messtmp", S3Tests.Bytes(10, seed + 6));
        return root;
    }

    /// <summary>Relative path -> SHA-256 of every file under <paramref name="root"/> but the writer lock's (an import takes the lock like every writer).</summary>
    public static Dictionary<string, string> Snapshot(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != ".lock").ToDictionary(
            f => Path.GetRelativePath(root, f).Replace('\\', '/'), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
}

public sealed class PublishingTests : IClassFixture<MotoFixture>
{
    private readonly MotoFixture _moto;
    public PublishingTests(MotoFixture moto) => _moto = moto;

    private ArtifactRemote Remote(string bucket, string prefix = "vector-artifacts", int retries = 1) => new()
    {
        Connection = new S3Connection { EndpointUrl = _moto.Server.Endpoint },
        Bucket = bucket, Prefix = prefix, ThrottleLimit = 4,
        Retry = new RetryBackoff { MaxRetries = retries, BaseDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(50) },
        MultipartThreshold = 5L << 20, PartSize = 5L << 20, RangeSize = 5L << 20,
    };

    private string NewBucket()
    {
        string b = "pub-" + Guid.NewGuid().ToString("N")[..10];
        _moto.Server.CreateBucket(b);
        return b;
    }

    /// <summary>Object uploads (PUT, and multipart POSTs) to <paramref name="bucket"/> logged after <paramref name="mark"/>.</summary>
    private List<string> Uploads(string bucket, int mark) => _moto.Server.RequestLog().Skip(mark)
        .Where(r => (r.Method == "PUT" || r.Method == "POST") && r.Path.StartsWith($"/{bucket}/", StringComparison.Ordinal))
        .Select(r => r.Path).ToList();

    private static async Task<int> Settled(MotoServer s)
    {
        await Task.Delay(300); // werkzeug logs a request after answering it
        return s.RequestCount;
    }

    [Fact]
    public async Task Publish_then_import_gives_byte_identical_files_and_leaves_out_audio_cache_temporaries_and_publish_records()
    {
        using var tmp = new TempDir();
        string src = ArtifactFolder.Make(tmp["src/v1_model_builtin"]);
        string bucket = NewBucket();
        var result = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src });
        Assert.Equal("builtin", result.Model);
        Assert.Matches("^v[0-9a-f]{20}$", result.VersionId);
        Assert.Equal($"s3://{bucket}/vector-artifacts/v1_model_builtin/{result.VersionId}/", result.Uri);
        var expected = new[]
        {
            "embeddings/embeddings.f32", "embeddings/embeddings_meta.json", "embeddings/segments/seg.npy", "embeddings/track_ids.json",
            "eval/eval_results.json", "index/hnsw.index", "index/index_meta.json", "metadata/tracks_metadata.csv",
            "runs/20261125T100000.000Z_ConvertTo-MessEmbedding.json",
        };
        Assert.Equal(expected, result.Manifest.Files.Select(f => f.Path));
        Assert.Equal(expected.Length, result.UploadedFiles);
        Assert.True(result.ManifestUploaded && result.PointerUpdated);
        Assert.Equal(new[] { "runs/20261125T100000.000Z_ConvertTo-MessEmbedding.json" }, result.Manifest.SourceRuns);

        var imported = await ImportJob.RunAsync(Remote(bucket), new ImportRequest { Model = "builtin", ArtifactPath = tmp["dst/v1_model_builtin"] }, new NullJobHost());
        Assert.Equal(result.VersionId, imported.VersionId);
        Assert.Equal(expected.Length, imported.DownloadedFiles);
        var source = ArtifactFolder.Snapshot(src);
        var copy = ArtifactFolder.Snapshot(tmp["dst/v1_model_builtin"]);
        Assert.Equal(expected, copy.Keys.Order(StringComparer.Ordinal));
        foreach (var (path, hash) in copy) Assert.Equal(source[path], hash);
        Assert.False(Directory.Exists(tmp["dst/.v1_model_builtin.messimport"]));

        // With -Include Audio the audio folders travel too.
        var withAudio = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src, IncludeAudio = true });
        Assert.Contains(withAudio.Manifest.Files, f => f.Path == "audio_wav/t1.wav");
        Assert.Contains(withAudio.Manifest.Files, f => f.Path == "audio_cache/a1/t1.mp3");
        Assert.NotEqual(result.VersionId, withAudio.VersionId);
        Assert.Equal(2, withAudio.UploadedFiles);
    }

    [Fact]
    public async Task Republishing_unchanged_content_uploads_nothing_and_one_changed_file_uploads_only_it_manifest_and_pointer()
    {
        using var tmp = new TempDir();
        string src = ArtifactFolder.Make(tmp["v1_model_builtin"]);
        string bucket = NewBucket();
        var first = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src });

        int mark = await Settled(_moto.Server);
        // A publish's own run record stays local: writing one does not change the version.
        File.WriteAllText(Path.Combine(src, "runs", "20261125T120000.000Z_Publish-MessArtifact.json"), "{}");
        var again = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src });
        await Settled(_moto.Server);
        Assert.Equal(first.VersionId, again.VersionId);
        Assert.True(again.AlreadyPublished);
        Assert.Equal(0, again.UploadedFiles);
        Assert.False(again.PointerUpdated);
        Assert.Empty(Uploads(bucket, mark));
        Assert.Contains(_moto.Server.RequestLog().Skip(mark), r => r.Method == "GET"); // the log did record this run's requests

        mark = _moto.Server.RequestCount;
        File.WriteAllText(Path.Combine(src, "eval", "eval_results.json"), "{\"hit_at_10\": 0.75}");
        var changed = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src });
        await Settled(_moto.Server);
        Assert.NotEqual(first.VersionId, changed.VersionId);
        string sha = changed.Manifest.Files.Single(f => f.Path == "eval/eval_results.json").Sha256;
        var uploads = Uploads(bucket, mark);
        Assert.Equal(new[]
        {
            $"/{bucket}/vector-artifacts/v1_model_builtin/blobs/sha256/{sha}",
            $"/{bucket}/vector-artifacts/v1_model_builtin/{changed.VersionId}/manifest.json",
            $"/{bucket}/vector-artifacts/v1_model_builtin/latest.json",
        }, uploads);
        Assert.Equal(1, changed.UploadedFiles);
        Assert.Equal(changed.Files - 1, changed.PresentFiles);
    }

    [Fact]
    public async Task DryRun_uploads_nothing_but_lists_what_would_be_uploaded()
    {
        using var tmp = new TempDir();
        string src = ArtifactFolder.Make(tmp["v1_model_builtin"]);
        string bucket = NewBucket();
        int mark = await Settled(_moto.Server);
        var plan = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src, DryRun = true });
        await Settled(_moto.Server);
        Assert.Empty(Uploads(bucket, mark));
        Assert.Equal(9, plan.Uploads.Count);
        Assert.True(plan.DryRun);
        using var s3 = S3Tests.ClientFor(_moto.Server);
        Assert.Empty((await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket })).S3Objects ?? new List<S3Object>());
    }

    [Fact]
    public async Task Large_files_go_up_in_parts_and_come_down_in_ranges_with_AES256_encryption()
    {
        using var tmp = new TempDir();
        string src = ArtifactFolder.Make(tmp["v1_model_builtin"], embeddingBytes: 12 * 1024 * 1024 + 7);
        string bucket = NewBucket();
        int mark = await Settled(_moto.Server);
        var r = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src, Encryption = new ArtifactEncryption("AES256") });
        await Settled(_moto.Server);
        string sha = r.Manifest.Files.Single(f => f.Path == "embeddings/embeddings.f32").Sha256;
        string blob = $"vector-artifacts/v1_model_builtin/blobs/sha256/{sha}";
        var log = _moto.Server.RequestLog().Skip(mark).ToList();
        Assert.Equal(3, log.Count(l => l.Method == "PUT" && l.Path.StartsWith($"/{bucket}/{blob}?", StringComparison.Ordinal) && l.Path.Contains("partNumber=")));
        using var s3 = S3Tests.ClientFor(_moto.Server);
        var head = await s3.GetObjectMetadataAsync(bucket, blob);
        Assert.Equal(ServerSideEncryptionMethod.AES256, head.ServerSideEncryptionMethod);
        var small = await s3.GetObjectMetadataAsync(bucket, $"vector-artifacts/v1_model_builtin/{r.VersionId}/manifest.json");
        Assert.Equal(ServerSideEncryptionMethod.AES256, small.ServerSideEncryptionMethod);

        mark = await Settled(_moto.Server);
        var imported = await ImportJob.RunAsync(Remote(bucket), new ImportRequest { Model = "builtin", ArtifactPath = tmp["dst"] }, new NullJobHost());
        await Settled(_moto.Server);
        Assert.Equal(3, _moto.Server.RequestLog().Skip(mark).Count(l => l.Method == "GET" && l.Path == $"/{bucket}/{blob}"));
        Assert.Equal(File.ReadAllBytes(Path.Combine(src, "embeddings/embeddings.f32")), File.ReadAllBytes(tmp["dst/embeddings/embeddings.f32"]));
    }

    [Fact]
    public async Task A_publish_stopped_during_a_multipart_upload_aborts_it_and_leaves_no_parts_or_version_behind()
    {
        using var tmp = new TempDir();
        string src = ArtifactFolder.Make(tmp["v1_model_builtin"], embeddingBytes: 16 * 1024 * 1024 + 3); // four parts of 5 MiB
        string bucket = NewBucket();
        using var cts = new CancellationTokenSource();
        // Cancelled from inside the upload, as Ctrl+C or a runbook's timeout would, once the first part's bytes move.
        var stop = new StopOnUpload(cts);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src }, stop, cts.Token));
        Assert.True(stop.Stopped);
        using var s3 = S3Tests.ClientFor(_moto.Server);
        var open = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = bucket });
        Assert.Empty(open.MultipartUploads ?? new List<MultipartUpload>());
        var keys = ((await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket })).S3Objects ?? new List<S3Object>()).Select(o => o.Key).ToList();
        Assert.DoesNotContain(keys, k => k.EndsWith("latest.json", StringComparison.Ordinal) || k.EndsWith("manifest.json", StringComparison.Ordinal));

        // The next publish completes it, and the blob holds the file's bytes.
        var r = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src });
        string sha = r.Manifest.Files.Single(f => f.Path == "embeddings/embeddings.f32").Sha256;
        using var got = await s3.GetObjectAsync(bucket, Remote(bucket).BlobKey("builtin", sha));
        Assert.Equal(sha, (await ArtifactBucket.CopyHashingAsync(got.ResponseStream, null, null, default)).Sha256);
    }

    private sealed class StopOnUpload(CancellationTokenSource cts) : IProgress<ArtifactProgress>
    {
        public bool Stopped { get; private set; }
        public void Report(ArtifactProgress p)
        {
            if (p.Phase != "Uploading" || p.BytesDone == 0 || Stopped) return;
            Stopped = true;
            cts.Cancel();
        }
    }

    [Fact]
    public async Task Every_object_is_encrypted_with_the_named_KMS_key_and_bad_encryption_settings_are_refused()
    {
        using var tmp = new TempDir();
        string src = ArtifactFolder.Make(tmp["v1_model_builtin"]);
        string bucket = NewBucket();
        var r = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src, Encryption = new ArtifactEncryption("aws:kms", "alias/mess-test") });
        using var s3 = S3Tests.ClientFor(_moto.Server);
        var keys = (await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket })).S3Objects.Select(o => o.Key).ToList();
        Assert.Equal(r.UploadedFiles + 2, keys.Count);
        foreach (var key in keys)
        {
            var head = await s3.GetObjectMetadataAsync(bucket, key);
            Assert.Equal(ServerSideEncryptionMethod.AWSKMS, head.ServerSideEncryptionMethod);
            Assert.Contains("mess-test", head.ServerSideEncryptionKeyManagementServiceKeyId);
        }
        Assert.Equal("KmsKeyWithoutKms", (await Assert.ThrowsAsync<MessException>(() => ArtifactPublisher.PublishAsync(Remote(bucket),
            new PublishRequest { ArtifactPath = src, Encryption = new ArtifactEncryption("AES256", "alias/x") }))).ErrorId);
        Assert.Equal("InvalidServerSideEncryption", (await Assert.ThrowsAsync<MessException>(() => ArtifactPublisher.PublishAsync(Remote(bucket),
            new PublishRequest { ArtifactPath = src, Encryption = new ArtifactEncryption("rot13") }))).ErrorId);
    }

    [Fact]
    public async Task A_corrupted_object_fails_the_import_naming_the_file_and_the_target_folder_stays_unchanged()
    {
        using var tmp = new TempDir();
        string src = ArtifactFolder.Make(tmp["src"]);
        string bucket = NewBucket();
        var first = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src, Model = "builtin" });
        await ImportJob.RunAsync(Remote(bucket), new ImportRequest { Model = "builtin", ArtifactPath = tmp["dst"] }, new NullJobHost());
        Directory.CreateDirectory(tmp["dst/cache"]);
        File.WriteAllText(tmp["dst/cache/local.txt"], "mine");

        File.WriteAllText(Path.Combine(src, "eval", "eval_results.json"), "{\"hit_at_10\": 0.99}");
        var second = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src, Model = "builtin" });
        // The one file the target lacks (the others are reused from it, not downloaded).
        var entry = second.Manifest.Files.Single(f => f.Path == "eval/eval_results.json");
        var bytes = File.ReadAllBytes(Path.Combine(src, "eval", "eval_results.json"));
        bytes[5] ^= 0x01; // same size, other bytes
        using var s3 = S3Tests.ClientFor(_moto.Server);
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = $"vector-artifacts/v1_model_builtin/blobs/sha256/{entry.Sha256}", InputStream = new MemoryStream(bytes) });

        var before = ArtifactFolder.Snapshot(tmp["dst"]);
        var ex = await Assert.ThrowsAsync<MessException>(() => ImportJob.RunAsync(Remote(bucket), new ImportRequest { Model = "builtin", ArtifactPath = tmp["dst"] }, new NullJobHost()));
        Assert.Equal("ArtifactChecksumMismatch", ex.ErrorId);
        Assert.Contains("'eval/eval_results.json'", ex.Message);
        Assert.Equal(before, ArtifactFolder.Snapshot(tmp["dst"]));

        // A missing object is an error naming its file too, and still nothing is swapped.
        await s3.DeleteObjectAsync(bucket, $"vector-artifacts/v1_model_builtin/blobs/sha256/{entry.Sha256}");
        var missing = await Assert.ThrowsAsync<MessException>(() => ImportJob.RunAsync(Remote(bucket), new ImportRequest { Model = "builtin", ArtifactPath = tmp["dst"] }, new NullJobHost()));
        Assert.Equal("ArtifactObjectNotFound", missing.ErrorId);
        Assert.Equal(before, ArtifactFolder.Snapshot(tmp["dst"]));

        // The earlier version still imports; the local cache folder and this folder's own files are carried over.
        var back = await ImportJob.RunAsync(Remote(bucket), new ImportRequest { Model = "builtin", Version = first.VersionId, ArtifactPath = tmp["dst"] }, new NullJobHost());
        Assert.Equal(first.Files, back.ReusedFiles);
        Assert.Equal(0, back.DownloadedFiles);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(tmp["dst"], "cache", "local.txt")));
    }

    [Fact]
    public async Task Import_reuses_files_already_present_and_carries_over_local_folders_and_run_records()
    {
        using var tmp = new TempDir();
        string src = ArtifactFolder.Make(tmp["src/v1_model_builtin"]);
        string bucket = NewBucket();
        await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src });
        string dst = tmp["dst"];
        await ImportJob.RunAsync(Remote(bucket), new ImportRequest { Model = "builtin", ArtifactPath = dst }, new NullJobHost());
        Directory.CreateDirectory(Path.Combine(dst, "audio_wav"));
        File.WriteAllText(Path.Combine(dst, "audio_wav", "t9.wav"), "wav");
        File.WriteAllText(Path.Combine(dst, "runs", "20261125T130000.000Z_Import-MessArtifact.json"), "{}");
        File.WriteAllText(Path.Combine(dst, "eval", "stale.csv"), "not in the version");

        File.WriteAllBytes(Path.Combine(src, "index", "hnsw.index"), S3Tests.Bytes(60_000, 99));
        var v2 = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src });
        var r = await ImportJob.RunAsync(Remote(bucket), new ImportRequest { Model = "builtin", ArtifactPath = dst }, new NullJobHost());
        Assert.Equal(v2.VersionId, r.VersionId);
        Assert.Equal(1, r.DownloadedFiles);
        Assert.Equal(v2.Files - 1, r.ReusedFiles);
        Assert.Equal("wav", File.ReadAllText(Path.Combine(dst, "audio_wav", "t9.wav")));
        // runs/ holds the version's records; the folder's own earlier ones are kept aside, never published.
        Assert.False(File.Exists(Path.Combine(dst, "runs", "20261125T130000.000Z_Import-MessArtifact.json")));
        Assert.True(File.Exists(Path.Combine(dst, ArtifactImporter.SupersededRunsFolder, "20261125T130000.000Z_Import-MessArtifact.json")));
        Assert.Equal(new[] { "20261125T100000.000Z_ConvertTo-MessEmbedding.json" }, Directory.GetFiles(Path.Combine(dst, "runs")).Select(Path.GetFileName));
        Assert.False(File.Exists(Path.Combine(dst, "eval", "stale.csv")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(src, "index", "hnsw.index")), File.ReadAllBytes(Path.Combine(dst, "index", "hnsw.index")));
    }

    [Fact]
    public async Task A_republish_uploads_again_a_blob_that_does_not_hold_its_keys_bytes_and_marks_sound_legacy_blobs()
    {
        using var tmp = new TempDir();
        string src = ArtifactFolder.Make(tmp["src/v1_model_builtin"], embeddingBytes: 6_000_000); // one multipart blob
        string bucket = NewBucket();
        var v1 = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src });
        using var s3 = S3Tests.ClientFor(_moto.Server);
        string Key(string path) => Remote(bucket).BlobKey("builtin", v1.Manifest.Files.Single(f => f.Path == path).Sha256);
        foreach (var f in v1.Manifest.Files)
        {
            var head = await s3.GetObjectMetadataAsync(bucket, Remote(bucket).BlobKey("builtin", f.Sha256));
            Assert.Equal(f.Sha256, head.Metadata[ArtifactBucket.ContentSha256Metadata]);
        }
        // What an earlier release could leave: a blob holding other bytes of the same size, and a sound blob without the metadata.
        var bad = S3Tests.Bytes(50_000, 77);
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = Key("index/hnsw.index"), InputStream = new MemoryStream(bad) });
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = Key("eval/eval_results.json"), InputStream = new MemoryStream(File.ReadAllBytes(Path.Combine(src, "eval", "eval_results.json"))) });
        var broken = await Assert.ThrowsAsync<MessException>(() => ArtifactImporter.ImportAsync(Remote(bucket), new ImportRequest { Model = "builtin", ArtifactPath = tmp["broken"] }));
        Assert.Equal("ArtifactChecksumMismatch", broken.ErrorId);
        Assert.Contains("Publish-MessArtifact", broken.Message);

        var dry = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src, DryRun = true });
        Assert.Equal(new[] { "index/hnsw.index" }, dry.Uploads.Select(u => u.Path));
        Assert.Null((await s3.GetObjectMetadataAsync(bucket, Key("eval/eval_results.json"))).Metadata[ArtifactBucket.ContentSha256Metadata]); // a dry run writes nothing

        var repair = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src });
        Assert.Equal(v1.VersionId, repair.VersionId);
        Assert.Equal(new[] { "index/hnsw.index" }, repair.Uploads.Select(u => u.Path));
        Assert.Equal(repair.Files - 1, repair.PresentFiles);
        Assert.Equal(v1.Manifest.Files.Single(f => f.Path == "eval/eval_results.json").Sha256,
            (await s3.GetObjectMetadataAsync(bucket, Key("eval/eval_results.json"))).Metadata[ArtifactBucket.ContentSha256Metadata]);
        await ArtifactImporter.ImportAsync(Remote(bucket), new ImportRequest { Model = "builtin", ArtifactPath = tmp["fixed"] });
        Assert.Equal(File.ReadAllBytes(Path.Combine(src, "index", "hnsw.index")), File.ReadAllBytes(Path.Combine(tmp["fixed"], "index", "hnsw.index")));
        Assert.Equal(0, (await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src })).UploadedFiles);
    }

    /// <summary>Every part of a multipart blob carries its CRC32, over http too, so S3 keeps the parts' composite CRC32
    /// (the CRC32 of their CRC32s). Without it S3 keeps a full-object CRC64NVME, for which moto copies every part into one
    /// buffer at completion: publishing ran at 0.57 of boto3's upload_file instead of 0.81 (ArtifactBench, quiet).</summary>
    [Fact]
    public async Task Every_part_of_a_multipart_blob_carries_its_crc32_over_http_too()
    {
        using var tmp = new TempDir();
        const int size = 12_000_000; // three 5 MiB parts
        string src = ArtifactFolder.Make(tmp["src/v1_model_builtin"], embeddingBytes: size);
        string bucket = NewBucket();
        var v1 = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src });
        using var s3 = S3Tests.ClientFor(_moto.Server);
        string sha = v1.Manifest.Files.Single(f => f.Path == "embeddings/embeddings.f32").Sha256;
        var head = await s3.GetObjectMetadataAsync(new GetObjectMetadataRequest
        {
            BucketName = bucket, Key = Remote(bucket).BlobKey("builtin", sha), ChecksumMode = ChecksumMode.ENABLED,
        });
        var bytes = File.ReadAllBytes(Path.Combine(src, "embeddings", "embeddings.f32"));
        var partCrcs = new List<byte>();
        for (int start = 0; start < size; start += 5 << 20)
        {
            var crc = System.IO.Hashing.Crc32.Hash(bytes.AsSpan(start, Math.Min(5 << 20, size - start)));
            Array.Reverse(crc);
            partCrcs.AddRange(crc);
        }
        var composite = System.IO.Hashing.Crc32.Hash(partCrcs.ToArray());
        Array.Reverse(composite);
        Assert.False(string.IsNullOrEmpty(head.ChecksumCRC32), "the blob has no CRC32: its parts were sent without one");
        Assert.StartsWith(Convert.ToBase64String(composite), head.ChecksumCRC32);
    }

    /// <summary>The part checksum sent over https: CRC-32 (IEEE) of the part's bytes, big-endian, base64, as S3 computes
    /// it; "123456789" has the standard check value 0xCBF43926.</summary>
    [Fact]
    public async Task A_parts_crc32_is_the_standard_crc_of_exactly_its_bytes()
    {
        using var tmp = new TempDir();
        string path = tmp["part.bin"];
        File.WriteAllBytes(path, System.Text.Encoding.ASCII.GetBytes("xx123456789yy"));
        Assert.Equal(Convert.ToBase64String(new byte[] { 0xCB, 0xF4, 0x39, 0x26 }), await ArtifactBucket.PartCrc32Async(path, 2, 9, default));
        var big = new byte[3_000_000];
        new Random(5).NextBytes(big);
        File.WriteAllBytes(path, big);
        var expected = System.IO.Hashing.Crc32.Hash(big.AsSpan(1_000_001, 1_500_000));
        Array.Reverse(expected);
        Assert.Equal(Convert.ToBase64String(expected), await ArtifactBucket.PartCrc32Async(path, 1_000_001, 1_500_000, default));
        await Assert.ThrowsAsync<EndOfStreamException>(() => ArtifactBucket.PartCrc32Async(path, 2_000_000, 1_500_000, default));
    }

    [Fact]
    public void A_version_carries_the_last_completed_run_of_each_stage_not_every_run_the_folder_has_seen()
    {
        using var tmp = new TempDir();
        string src = ArtifactFolder.Make(tmp["src/v1_model_builtin"]);
        void Run(string name, string command, string status) =>
            File.WriteAllText(Path.Combine(src, "runs", name), $"{{\"command\":\"{command}\",\"status\":\"{status}\"}}");
        Run("20261125T090000.000Z_New-MessIndex.json", "New-MessIndex", "completed");          // replaced by a later run
        Run("20261125T120000.000Z_New-MessIndex.json", "New-MessIndex", "completed");
        Run("20261125T130000.000Z_New-MessIndex.json", "New-MessIndex", "failed");             // made nothing
        Run("20261125T140000.000Z_Invoke-MessEvaluation.json", "Invoke-MessEvaluation", "stopped");
        Run("20261125T150000.000Z_Get-MessAudio.json", "Get-MessAudio", "completed_with_errors");
        File.WriteAllText(Path.Combine(src, "runs", "20261125T160000.000Z_Odd.json"), "not json"); // unreadable: kept
        var runs = ArtifactSelection.Collect(src, includeAudio: false).Select(f => f.RelativePath).Where(p => p.StartsWith("runs/")).ToList();
        Assert.Equal(new[]
        {
            "runs/20261125T100000.000Z_ConvertTo-MessEmbedding.json",
            "runs/20261125T120000.000Z_New-MessIndex.json",
            "runs/20261125T150000.000Z_Get-MessAudio.json",
            "runs/20261125T160000.000Z_Odd.json",
        }, runs);
    }

    [Fact]
    public async Task An_import_killed_between_swap_and_carry_over_loses_no_local_folder_on_the_next_import()
    {
        using var tmp = new TempDir();
        string src = ArtifactFolder.Make(tmp["src/v1_model_builtin"]);
        string bucket = NewBucket();
        await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src });
        await ImportJob.RunAsync(Remote(bucket), new ImportRequest { Model = "builtin", ArtifactPath = tmp["dst"] }, new NullJobHost());
        // What such a kill leaves: the old folder (with its local audio cache) at the staging path.
        string staging = tmp[".dst.messimport"];
        Directory.CreateDirectory(Path.Combine(staging, "audio_cache", "a1"));
        File.WriteAllText(Path.Combine(staging, "audio_cache", "a1", "t7.mp3"), "cached");
        Directory.CreateDirectory(Path.Combine(staging, "eval"));
        File.WriteAllText(Path.Combine(staging, "eval", "stale.json"), "{}");
        var r = await ImportJob.RunAsync(Remote(bucket), new ImportRequest { Model = "builtin", ArtifactPath = tmp["dst"] }, new NullJobHost());
        Assert.Equal(0, r.DownloadedFiles);
        Assert.Equal("cached", File.ReadAllText(tmp["dst/audio_cache/a1/t7.mp3"]));
        Assert.False(File.Exists(tmp["dst/eval/stale.json"]));
        Assert.False(Directory.Exists(staging));
    }

    [Fact]
    public async Task A_Deny_bucket_policy_is_a_clear_access_denied_error_naming_bucket_and_prefix()
    {
        using var tmp = new TempDir();
        string src = ArtifactFolder.Make(tmp["v1_model_builtin"]);
        string bucket = NewBucket();
        await ArtifactPublisher.PublishAsync(Remote(bucket, "team/arts"), new PublishRequest { ArtifactPath = src });
        _moto.Server.PutBucketPolicy(bucket, MotoServer.DenyPolicy(bucket, "s3:*", "team/"));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var pub = await Assert.ThrowsAsync<MessException>(() => ArtifactPublisher.PublishAsync(Remote(bucket, "team/arts", retries: 3), new PublishRequest { ArtifactPath = src }));
        Assert.Equal("ArtifactAccessDenied", pub.ErrorId);
        Assert.Equal(MessErrorKind.PermissionDenied, pub.Kind);
        Assert.Contains($"Bucket '{bucket}'", pub.Message);
        Assert.Contains("prefix 'team/arts'", pub.Message);
        var imp = await Assert.ThrowsAsync<MessException>(() => ImportJob.RunAsync(Remote(bucket, "team/arts", retries: 3), new ImportRequest { Model = "builtin", ArtifactPath = tmp["dst"] }, new NullJobHost()));
        Assert.Equal("ArtifactAccessDenied", imp.ErrorId);
        Assert.Contains("prefix 'team/arts'", imp.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), "403 is not retried");
        Assert.False(Directory.Exists(tmp["dst"]));
    }

    [Fact]
    public async Task A_missing_bucket_is_an_error_naming_bucket_and_prefix()
    {
        using var tmp = new TempDir();
        string src = ArtifactFolder.Make(tmp["v1_model_builtin"]);
        var ex = await Assert.ThrowsAsync<MessException>(() => ArtifactPublisher.PublishAsync(Remote("no-such-bucket-zz"), new PublishRequest { ArtifactPath = src }));
        Assert.Equal("ArtifactBucketNotFound", ex.ErrorId);
        Assert.Contains("'no-such-bucket-zz'", ex.Message);
        Assert.Contains("prefix 'vector-artifacts'", ex.Message);
        var list = await Assert.ThrowsAsync<MessException>(() => ArtifactVersions.ListAsync(Remote("no-such-bucket-zz")));
        Assert.Equal("ArtifactBucketNotFound", list.ErrorId);
    }

    [Fact]
    public async Task Import_refuses_a_manifest_of_a_newer_format_an_altered_manifest_and_an_unknown_version()
    {
        using var tmp = new TempDir();
        string src = ArtifactFolder.Make(tmp["v1_model_builtin"]);
        string bucket = NewBucket();
        var r = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src });
        string key = $"vector-artifacts/v1_model_builtin/{r.VersionId}/manifest.json";
        using var s3 = S3Tests.ClientFor(_moto.Server);
        string json;
        using (var o = await s3.GetObjectAsync(bucket, key)) json = await new StreamReader(o.ResponseStream).ReadToEndAsync();

        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, ContentBody = json.Replace("\"format_version\": 1", "\"format_version\": 2") });
        var newer = await Assert.ThrowsAsync<MessException>(() => ImportJob.RunAsync(Remote(bucket), new ImportRequest { Model = "builtin", ArtifactPath = tmp["dst"] }, new NullJobHost()));
        Assert.Equal("ArtifactManifestTooNew", newer.ErrorId);
        Assert.Contains("format version 2", newer.Message);

        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, ContentBody = json.Replace("\"eval/eval_results.json\"", "\"../../etc/passwd\"") });
        var altered = await Assert.ThrowsAsync<MessException>(() => ImportJob.RunAsync(Remote(bucket), new ImportRequest { Model = "builtin", ArtifactPath = tmp["dst"] }, new NullJobHost()));
        Assert.Equal("ArtifactManifestInvalid", altered.ErrorId);
        Assert.Contains("../../etc/passwd", altered.Message);

        var unknown = await Assert.ThrowsAsync<MessException>(() => ImportJob.RunAsync(Remote(bucket), new ImportRequest { Model = "builtin", Version = "v00000000000000000000", ArtifactPath = tmp["dst"] }, new NullJobHost()));
        Assert.Equal("ArtifactVersionNotFound", unknown.ErrorId);
        var bad = await Assert.ThrowsAsync<MessException>(() => ImportJob.RunAsync(Remote(bucket), new ImportRequest { Model = "builtin", Version = "../x", ArtifactPath = tmp["dst"] }, new NullJobHost()));
        Assert.Equal("InvalidVersionId", bad.ErrorId);
        var none = await Assert.ThrowsAsync<MessException>(() => ImportJob.RunAsync(Remote(bucket), new ImportRequest { Model = "other", ArtifactPath = tmp["dst"] }, new NullJobHost()));
        Assert.Equal("ArtifactVersionNotFound", none.ErrorId);
        Assert.Contains("model 'other'", none.Message);
        Assert.False(Directory.Exists(tmp["dst"]));
    }

    [Fact]
    public async Task Versions_are_listed_per_model_with_the_latest_marked()
    {
        using var tmp = new TempDir();
        string src = ArtifactFolder.Make(tmp["v1_model_builtin"]);
        string bucket = NewBucket();
        var v1 = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src });
        File.WriteAllText(Path.Combine(src, "eval", "eval_results.json"), "{}");
        var v2 = await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src });
        await ArtifactPublisher.PublishAsync(Remote(bucket), new PublishRequest { ArtifactPath = src, Model = "mert-v1" });
        var all = await ArtifactVersions.ListAsync(Remote(bucket));
        Assert.Equal(new[] { "builtin", "builtin", "mert-v1" }, all.Select(v => v.Model));
        Assert.Equal(v2.VersionId, all.Single(v => v.Model == "builtin" && v.IsLatest).VersionId);
        Assert.False(all.Single(v => v.VersionId == v1.VersionId).IsLatest);
        Assert.Equal(v1.Files, all.Single(v => v.VersionId == v1.VersionId).Files);
        Assert.Single(await ArtifactVersions.ListAsync(Remote(bucket), "mert-v1"));
        Assert.Empty(await ArtifactVersions.ListAsync(Remote(bucket), "nothing-here"));
    }

    [Fact]
    public void Artifact_uris_parse_into_bucket_prefix_model_and_version_and_bad_ones_are_refused()
    {
        var (r, m, v) = ArtifactRemote.Parse("s3://bkt/vector-artifacts/v1_model_builtin");
        Assert.Equal(("bkt", "vector-artifacts", "builtin", (string?)null), (r.Bucket, r.Prefix, m, v));
        (r, m, v) = ArtifactRemote.Parse("s3://bkt/a/b/v1_model_mert-v1/v0123456789abcdef0123");
        Assert.Equal(("a/b", "mert-v1", "v0123456789abcdef0123"), (r.Prefix, m, v));
        (r, m, _) = ArtifactRemote.Parse("s3://bkt");
        Assert.Equal(("", (string?)null), (r.Prefix, m));
        Assert.Equal("bkt/v1_model_x/latest.json".Replace("bkt/", ""), r.PointerKey("x"));
        Assert.Equal("InvalidArtifactUri", Assert.Throws<MessException>(() => ArtifactRemote.Parse("https://bkt/x")).ErrorId);
        Assert.Equal("InvalidBucketName", Assert.Throws<MessException>(() => ArtifactRemote.Parse("s3://a")).ErrorId);
        Assert.Equal("InvalidModelName", Assert.Throws<MessException>(() => ArtifactRemote.Parse("s3://bkt/v1_model_a b")).ErrorId);
        Assert.Equal("InvalidPrefix", Assert.Throws<MessException>(() => new ArtifactRemote { Bucket = "bkt", Prefix = "a/../b" }.Validate()).ErrorId);
    }

    [Fact]
    public void Manifests_with_unsafe_or_duplicate_paths_or_bad_hashes_are_refused()
    {
        var good = ArtifactManifest.Create("builtin", new[] { new ArtifactFileEntry { Path = "eval/a.json", Size = 3, Sha256 = new string('a', 64) } });
        Assert.Equal(good.VersionId, ArtifactManifest.Parse(good.ToBytes(), "m").VersionId);
        foreach (var (path, sha, why) in new[]
        {
            ("../a.json", new string('a', 64), "not a published folder"),
            ("eval/../../x", new string('a', 64), "relative folder"),
            ("eval", new string('a', 64), "not inside"),
            ("eval/a.json", "xyz", "SHA-256"),
            ("secrets/a", new string('a', 64), "not a published folder"),
        })
        {
            var m = ArtifactManifest.Create("builtin", new[] { new ArtifactFileEntry { Path = path, Size = 3, Sha256 = sha } });
            var ex = Assert.Throws<MessException>(() => ArtifactManifest.Parse(m.ToBytes(), "m"));
            Assert.Equal("ArtifactManifestInvalid", ex.ErrorId);
            Assert.Contains(why, ex.Message);
        }
        var dup = ArtifactManifest.Create("builtin", new[] { good.Files[0], good.Files[0] });
        Assert.Contains("twice", Assert.Throws<MessException>(() => ArtifactManifest.Parse(dup.ToBytes(), "m")).Message);
        Assert.Equal("ArtifactManifestMalformed", Assert.Throws<MessException>(() => ArtifactManifest.Parse("{"u8, "m")).ErrorId);
    }
}
