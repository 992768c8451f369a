using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Embedding;
using MessTools.Core.Sharding;

namespace MessTools.Tests.Unit.Sharding;

public class ShardSpecTests
{
    // Pinned: computed independently with Python's hashlib
    // (int.from_bytes(sha256(id.encode('utf-8')).digest()[:8], 'little') % n). Changing the split breaks every
    // merge of shards made by an earlier version, so these must never change.
    [Theory]
    [InlineData("pmd-beethoven-beethoven-opus22-1", 1628927251664923446UL, 0, 6, 446)]
    [InlineData("t1", 8856836013881396066UL, 2, 6, 66)]
    [InlineData("chopin-op28-4", 10263475024103761803UL, 0, 3, 803)]
    [InlineData("Ünïcode-ид", 969293998829287974UL, 0, 4, 974)]
    [InlineData("a", 14608863320967583690UL, 1, 0, 690)]
    public void Split_IsPinned(string trackId, ulong hash, int of3, int of10, int of1000)
    {
        Assert.Equal(hash, ShardSpec.Hash(trackId));
        Assert.Equal(of3, ShardSpec.ShardOf(trackId, 3));
        Assert.Equal(of10, ShardSpec.ShardOf(trackId, 10));
        Assert.Equal(of1000, ShardSpec.ShardOf(trackId, 1000));
        Assert.Equal(0, ShardSpec.ShardOf(trackId, 1));
        Assert.True(new ShardSpec(of3, 3).Contains(trackId));
        Assert.False(new ShardSpec((of3 + 1) % 3, 3).Contains(trackId));
    }

    [Fact]
    public void Split_SpreadsTracksEvenly()
    {
        var counts = new int[4];
        for (int i = 0; i < 4000; i++) counts[ShardSpec.ShardOf($"track-{i:D5}", 4)]++;
        Assert.All(counts, c => Assert.InRange(c, 900, 1100));
    }

    private static Func<string, string?> Env(params (string Name, string Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Resolve_ExplicitValues_Win()
    {
        var s = ShardSpec.Resolve(1, 3, Env(("AWS_BATCH_JOB_ARRAY_INDEX", "2"), ("AWS_BATCH_JOB_ARRAY_SIZE", "5")))!;
        Assert.Equal((1, 3), (s.Index, s.Count));
        Assert.Equal("1-of-3", s.FolderName);
    }

    [Fact]
    public void Resolve_Unsharded_WithoutValuesOrVariables()
    {
        Assert.Null(ShardSpec.Resolve(null, null, Env()));
    }

    [Fact]
    public void Resolve_AwsBatchVariables()
    {
        var s = ShardSpec.Resolve(null, null, Env(("AWS_BATCH_JOB_ARRAY_INDEX", "2"), ("AWS_BATCH_JOB_ARRAY_SIZE", "5")))!;
        Assert.Equal((2, 5), (s.Index, s.Count));
        var t = ShardSpec.Resolve(null, 4, Env(("AWS_BATCH_JOB_ARRAY_INDEX", "3")))!;
        Assert.Equal((3, 4), (t.Index, t.Count));
    }

    [Fact]
    public void Resolve_KubernetesIndex_NeedsShardCount()
    {
        var s = ShardSpec.Resolve(null, 3, Env(("JOB_COMPLETION_INDEX", "1")))!;
        Assert.Equal((1, 3), (s.Index, s.Count));
        var ex = Assert.Throws<MessException>(() => ShardSpec.Resolve(null, null, Env(("JOB_COMPLETION_INDEX", "1"))));
        Assert.Equal("ShardCountMissing", ex.ErrorId);
        Assert.Contains("JOB_COMPLETION_INDEX", ex.Message);
    }

    [Theory]
    [InlineData(null, 3, new string[0], "ShardIndexMissing")]
    [InlineData(2, null, new string[0], "ShardCountMissing")]
    [InlineData(3, 3, new string[0], "ShardIndexInvalid")]
    [InlineData(0, 0, new string[0], "ShardCountInvalid")]
    [InlineData(null, null, new[] { "AWS_BATCH_JOB_ARRAY_INDEX", "x1", "AWS_BATCH_JOB_ARRAY_SIZE", "3" }, "ShardVariableInvalid")]
    [InlineData(null, null, new[] { "AWS_BATCH_JOB_ARRAY_INDEX", "-1", "AWS_BATCH_JOB_ARRAY_SIZE", "3" }, "ShardVariableInvalid")]
    [InlineData(null, null, new[] { "AWS_BATCH_JOB_ARRAY_INDEX", "4", "AWS_BATCH_JOB_ARRAY_SIZE", "3" }, "ShardIndexInvalid")]
    public void Resolve_BadInput_NamesTheProblem(int? index, int? count, string[] env, string errorId)
    {
        var vars = new List<(string, string)>();
        for (int i = 0; i < env.Length; i += 2) vars.Add((env[i], env[i + 1]));
        var ex = Assert.Throws<MessException>(() => ShardSpec.Resolve(index, count, Env(vars.ToArray())));
        Assert.Equal(errorId, ex.ErrorId);
    }

    [Theory]
    [InlineData("0-of-3", 0, 3)]
    [InlineData("12-of-100", 12, 100)]
    public void ParseFolderName_ReadsShardFolders(string name, int i, int n)
    {
        var s = ShardSpec.ParseFolderName(name)!;
        Assert.Equal((i, n), (s.Index, s.Count));
    }

    [Theory]
    [InlineData("3-of-3")]
    [InlineData("x-of-3")]
    [InlineData("1of3")]
    [InlineData("-1-of-3")]
    [InlineData("embeddings")]
    public void ParseFolderName_RefusesOthers(string name) => Assert.Null(ShardSpec.ParseFolderName(name));
}

/// <summary>Single-process output does not depend on the order results arrive in (issue 9) and shards merge into it.</summary>
public class DeterministicOutputTests
{
    internal static EmbeddedTrack Row(string id, int dim, int seed)
    {
        var rng = new Random(seed);
        var v = new float[dim];
        for (int d = 0; d < dim; d++) v[d] = (float)(rng.NextDouble() - 0.5);
        float norm = MathF.Sqrt(v.Sum(x => x * x));
        for (int d = 0; d < dim; d++) v[d] /= norm;
        return new EmbeddedTrack
        {
            Info = new EmbeddingRowInfo { TrackId = id, AudioSha256 = new string((char)('a' + seed % 6), 64), AudioBytes = 1000 + seed, DurationSec = 30 },
            Vector = v,
        };
    }

    internal static readonly string[] Ids = Enumerable.Range(0, 24).Select(i => $"trk-{(i * 7919) % 1000:D3}").ToArray();

    internal static EmbeddingsMeta Meta(string model = "synthetic") => new() { Model = model, ModelSha256 = new string('0', 64), Pooling = "mean", SampleRate = 22050 };

    internal static void SaveSet(ArtifactStore store, IEnumerable<string> ids, string model = "synthetic", string key = "key-a", int dim = 8)
    {
        var set = EmbeddingSet.Empty(model, key, null);
        foreach (var id in ids) set.Put(Row(id, dim, Array.IndexOf(Ids, id) + 1));
        set.Save(store, Meta(model), writeNpy: false);
    }

    [Fact]
    public void SameTracksInAnotherCompletionOrder_GiveTheSameBytes()
    {
        using var dir = new TempDir();
        var a = new ArtifactStore(dir["a"]);
        var b = new ArtifactStore(dir["b"]);
        SaveSet(a, Ids);
        Thread.Sleep(20); // a timestamp in the meta would now differ
        SaveSet(b, Ids.Reverse().ToArray());
        foreach (var f in new[] { "embeddings.f32", "track_ids.json", "embeddings_meta.json", "rows.json" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(a.EmbeddingsDir, f)), File.ReadAllBytes(Path.Combine(b.EmbeddingsDir, f)));
        Assert.Equal(Ids.OrderBy(i => i, StringComparer.Ordinal), EmbeddingMatrix.Load(a).TrackIds);
    }
}

public class ShardMergeTests
{
    private static readonly string[] Catalog = DeterministicOutputTests.Ids;

    /// <summary>Writes shard <paramref name="spec"/> of the catalogue as ConvertTo-MessEmbedding does (its own tracks only).</summary>
    private static string Shard(ArtifactStore baseStore, ShardSpec spec, IEnumerable<string>? ids = null, string model = "synthetic", string key = "key-a",
        int dim = 8, IReadOnlyDictionary<string, string>? failed = null)
    {
        var store = spec.StoreUnder(baseStore);
        var mine = (ids ?? Catalog.Where(spec.Contains)).Where(id => failed is null || !failed.ContainsKey(id)).ToList();
        if (mine.Count > 0) DeterministicOutputTests.SaveSet(store, mine, model, key, dim);
        ShardManifest.Write(store, spec, key, mine.Count > 0, failed ?? new Dictionary<string, string>(), () => DeterministicOutputTests.Meta(model));
        return store.Root;
    }

    private static List<string> AllShards(ArtifactStore baseStore, int n) =>
        Enumerable.Range(0, n).Select(i => Shard(baseStore, new ShardSpec(i, n))).ToList();

    [Fact]
    public void Merge_OfThreeShards_IsByteIdenticalToOneProcess()
    {
        using var dir = new TempDir();
        var single = new ArtifactStore(dir["single"]);
        DeterministicOutputTests.SaveSet(single, Catalog);
        var sharded = new ArtifactStore(dir["sharded"]);
        var shards = AllShards(sharded, 3);
        Assert.All(shards, s => Assert.True(File.Exists(ShardManifest.PathIn(s))));

        var check = ShardMerger.Check(new[] { Path.Combine(sharded.Root, "shards") }, Catalog);
        Assert.Empty(check.Problems);
        Assert.Equal(3, check.Shards.Count);
        var result = ShardMerger.Write(check, sharded);
        Assert.Equal(Catalog.Length, result.Rows);
        foreach (var f in new[] { "embeddings.f32", "track_ids.json", "embeddings_meta.json", "rows.json" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(single.EmbeddingsDir, f)), File.ReadAllBytes(Path.Combine(sharded.EmbeddingsDir, f)));
        Assert.False(File.Exists(ShardManifest.PathIn(sharded.Root)));
    }

    [Fact]
    public void ShardRerun_WritesTheSameManifest()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        string s = Shard(store, new ShardSpec(1, 3));
        byte[] first = File.ReadAllBytes(ShardManifest.PathIn(s));
        Shard(store, new ShardSpec(1, 3));
        Assert.Equal(first, File.ReadAllBytes(ShardManifest.PathIn(s)));
    }

    private static MessException Single(ShardMergeCheck check, string errorId)
    {
        Assert.False(check.Ok);
        var hits = check.Problems.Where(p => p.ErrorId == errorId).ToList();
        Assert.True(hits.Count == 1, $"expected one {errorId}, got: {string.Join(" | ", check.Problems.Select(p => p.ErrorId + ": " + p.Message))}");
        return hits[0];
    }

    [Fact]
    public void MissingShard_IsAnErrorNamingIt()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        var shards = AllShards(store, 3);
        var check = ShardMerger.Check(new[] { shards[0], shards[2] }, null);
        var ex = Single(check, "ShardMissing");
        Assert.Contains("1-of-3", ex.Message);
        Assert.Equal("1-of-3", ex.Target);
        Assert.Throws<InvalidOperationException>(() => ShardMerger.Write(check, store));
        Assert.False(File.Exists(store.EmbeddingsFile));
    }

    [Fact]
    public void MissingShard_WithCatalog_IsOneErrorWithTheCountOfItsTracks_NotOnePerTrack()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        var shards = AllShards(store, 3);
        var check = ShardMerger.Check(new[] { shards[0], shards[2] }, Catalog);
        var ex = Single(check, "ShardMissing");
        int held = Catalog.Count(new ShardSpec(1, 3).Contains);
        Assert.True(held > 1);
        Assert.Contains($"it holds {held} of the catalogue's {Catalog.Length} tracks", ex.Message);
        Assert.DoesNotContain(check.Problems, p => p.ErrorId == "TrackNotInAnyShard");
        Assert.Single(check.Problems);
    }

    [Fact]
    public void KilledShard_WithoutManifest_IsMissing_AndMergesOnceRerun()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        var shards = AllShards(store, 3);
        ShardManifest.Remove(new ArtifactStore(shards[1])); // what a child killed while writing leaves
        var check = ShardMerger.Check(new[] { Path.Combine(store.Root, "shards") }, Catalog);
        Assert.Contains(check.Problems, p => p.ErrorId == "ShardManifestMissing" && p.Message.Contains("1-of-3"));
        Single(check, "ShardMissing");
        Shard(store, new ShardSpec(1, 3)); // the engine retries the child
        Assert.True(ShardMerger.Check(new[] { Path.Combine(store.Root, "shards") }, Catalog).Ok);
    }

    [Fact]
    public void ShardOfAnotherModel_IsAnErrorNamingIt()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        var s0 = Shard(store, new ShardSpec(0, 3));
        var s1 = Shard(store, new ShardSpec(1, 3), model: "other-model", key: "key-b");
        var s2 = Shard(store, new ShardSpec(2, 3));
        var ex = Single(ShardMerger.Check(new[] { s0, s1, s2 }, Catalog), "ShardModelMismatch");
        Assert.StartsWith("shard 1-of-3", ex.Message);
        Assert.Contains("other-model", ex.Message);
        Assert.Contains("synthetic", ex.Message);
    }

    [Fact]
    public void FirstShardOfAnotherModel_IsTheOneNamed()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        var s0 = Shard(store, new ShardSpec(0, 3), model: "other-model", key: "key-b");
        var s1 = Shard(store, new ShardSpec(1, 3));
        var s2 = Shard(store, new ShardSpec(2, 3));
        var ex = Single(ShardMerger.Check(new[] { s0, s1, s2 }, Catalog), "ShardModelMismatch");
        Assert.StartsWith("shard 0-of-3", ex.Message);
        Assert.Equal(s0, ex.Target);
    }

    [Fact]
    public void ShardOfAnotherDimension_IsAnErrorNamingIt()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        var s0 = Shard(store, new ShardSpec(0, 2));
        var s1 = Shard(store, new ShardSpec(1, 2), dim: 12);
        var ex = Single(ShardMerger.Check(new[] { s0, s1 }, Catalog), "ShardDimensionMismatch");
        Assert.Contains("shard 1-of-2", ex.Message);
        Assert.Contains("12-dimensional", ex.Message);
    }

    [Fact]
    public void TrackInTwoShards_IsAnErrorNamingTheTrackAndBothShards()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        string stray = Catalog.First(new ShardSpec(0, 3).Contains);
        var s0 = Shard(store, new ShardSpec(0, 3));
        var s1 = Shard(store, new ShardSpec(1, 3), Catalog.Where(new ShardSpec(1, 3).Contains).Append(stray));
        var s2 = Shard(store, new ShardSpec(2, 3));
        var check = ShardMerger.Check(new[] { s0, s1, s2 }, Catalog);
        var ex = Single(check, "TrackInTwoShards");
        Assert.Equal(stray, ex.Target);
        Assert.Contains("shard 0-of-3", ex.Message);
        Assert.Contains("shard 1-of-3", ex.Message);
    }

    [Fact]
    public void ShardsOfDifferentCounts_AndDuplicates_AreErrors()
    {
        using var dir = new TempDir();
        var a = new ArtifactStore(dir["a"]);
        var b = new ArtifactStore(dir["b"]);
        var three = AllShards(a, 3);
        var two = Shard(b, new ShardSpec(0, 2));
        Assert.Contains(ShardMerger.Check(three.Append(two), null).Problems, p => p.ErrorId == "ShardCountMismatch" && p.Message.Contains("0-of-2"));
        var copy = new ArtifactStore(dir["c"]);
        var again = Shard(copy, new ShardSpec(2, 3));
        var ex = Single(ShardMerger.Check(three.Append(again), null), "ShardDuplicate");
        Assert.Contains("2-of-3", ex.Message);
    }

    [Fact]
    public void ChangedShardFile_IsAnErrorNamingIt()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        var shards = AllShards(store, 2);
        string f32 = Path.Combine(shards[1], "embeddings", "embeddings.f32");
        var bytes = File.ReadAllBytes(f32);
        bytes[5] ^= 0x40;
        File.WriteAllBytes(f32, bytes);
        var ex = Single(ShardMerger.Check(shards, Catalog), "ShardFileMismatch");
        Assert.Contains("embeddings.f32", ex.Message);
    }

    [Fact]
    public void FailedTracks_AreAccountedFor_AndReported()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        string bad = Catalog.First(new ShardSpec(1, 2).Contains);
        var s0 = Shard(store, new ShardSpec(0, 2));
        var s1 = Shard(store, new ShardSpec(1, 2), failed: new Dictionary<string, string> { [bad] = "AudioSilent" });
        var check = ShardMerger.Check(new[] { s0, s1 }, Catalog);
        Assert.Empty(check.Problems);
        var result = ShardMerger.Write(check, store);
        Assert.Equal(Catalog.Length - 1, result.Rows);
        Assert.Equal("AudioSilent", result.Failed[bad]);
        Assert.DoesNotContain(bad, EmbeddingMatrix.Load(store).TrackIds);
    }

    [Fact]
    public void TrackOutsideTheCatalog_OrInTheWrongShard_IsAnError()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        var shards = AllShards(store, 2);
        var ex = Single(ShardMerger.Check(shards, Catalog.Skip(1).ToArray()), "TrackNotInCatalog");
        Assert.Equal(Catalog[0], ex.Target);
        var other = new ArtifactStore(dir["other"]);
        string wrong = Catalog.First(new ShardSpec(1, 2).Contains);
        var w0 = Shard(other, new ShardSpec(0, 2), Catalog.Where(new ShardSpec(0, 2).Contains).Append(wrong));
        var w1 = Shard(other, new ShardSpec(1, 2), Catalog.Where(new ShardSpec(1, 2).Contains).Where(i => i != wrong));
        var ex2 = Single(ShardMerger.Check(new[] { w0, w1 }, Catalog), "TrackInWrongShard");
        Assert.Equal(wrong, ex2.Target);
    }
}
