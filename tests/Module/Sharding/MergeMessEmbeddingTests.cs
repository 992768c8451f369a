using MessTools.Tests.Module.Embedding;
using MessTools.Tests.Module.Infrastructure;

namespace MessTools.Tests.Module.Sharding;

/// <summary>Sharded ConvertTo-MessEmbedding and Merge-MessEmbedding in the hosted engine (built-in model, WAVs made here).</summary>
public class MergeMessEmbeddingTests
{
    private static readonly string[] Ids = { "m-a1", "m-a2", "m-b1", "m-b2", "m-c1", "m-c2", "m-d1" };

    private static string Tracks(TempDir tmp)
    {
        const int sr = 22050;
        var rows = new List<string>();
        for (int k = 0; k < Ids.Length; k++)
        {
            double f = 150 + 40 * k;
            var x = Enumerable.Range(0, 3 * sr).Select(i => (float)(0.3 * Math.Sin(2 * Math.PI * f * i / sr) + 0.15 * Math.Sin(2 * Math.PI * 1.5 * f * i / sr))).ToArray();
            ConvertToMessEmbeddingTests.WriteWav(tmp[Ids[k] + ".wav"], x, sr);
            rows.Add($"[pscustomobject]@{{ track_id = '{Ids[k]}'; wav_path = '{tmp[Ids[k] + ".wav"]}' }}");
        }
        return "@(" + string.Join(", ", rows) + ")";
    }

    [Fact]
    public void ThreeShards_MergeIntoTheBytesOfOneProcess_AndAMissingShardIsNamed()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        string tracks = Tracks(tmp);
        ps.InvokeClean($"{tracks} | ConvertTo-MessEmbedding -ArtifactPath single | Out-Null");
        int seen = 0;
        for (int i = 0; i < 3; i++)
        {
            var emitted = ps.InvokeClean($"{tracks} | ConvertTo-MessEmbedding -ArtifactPath sharded -ShardIndex {i} -ShardCount 3");
            seen += emitted.Count;
            Assert.True(File.Exists(tmp[$"sharded/shards/{i}-of-3/embeddings/shard_manifest.json"]));
        }
        Assert.Equal(Ids.Length, seen); // each track embedded by exactly one shard

        string? refused = null;
        try { Assert.Empty(ps.Invoke("Merge-MessEmbedding -Path sharded/shards/0-of-3, sharded/shards/2-of-3 -ArtifactPath merged")); }
        catch (System.Management.Automation.RuntimeException ex) { refused = ex.ErrorRecord.FullyQualifiedErrorId; }
        Assert.Contains(ps.Errors, e => e.FullyQualifiedErrorId.StartsWith("ShardMissing,") && e.Exception.Message.Contains("1-of-3"));
        refused ??= ps.Errors.Last().FullyQualifiedErrorId;
        Assert.StartsWith("ShardMergeRefused,", refused);
        Assert.False(File.Exists(tmp["merged/embeddings/embeddings.f32"]));

        var result = ps.InvokeClean("Merge-MessEmbedding -Path sharded/shards/* -ArtifactPath merged");
        Assert.Single(result);
        Assert.Equal("MessTools.ShardMergeResult", result[0].BaseObject.GetType().FullName);
        Assert.Equal(Ids.Length, (int)result[0].Properties["Rows"].Value);
        foreach (var f in new[] { "embeddings.f32", "track_ids.json", "embeddings_meta.json", "rows.json" })
            Assert.Equal(File.ReadAllBytes(tmp[$"single/embeddings/{f}"]), File.ReadAllBytes(tmp[$"merged/embeddings/{f}"]));
        // one run record of the refused merge, one of the merge that wrote
        var records = Directory.GetFiles(tmp["merged/runs"], "*Merge-MessEmbedding*.json").Select(File.ReadAllText).ToList();
        Assert.Equal(2, records.Count);
        Assert.Contains(records, r => r.Contains("\"status\": \"failed\"") && r.Contains("ShardMissing"));
        Assert.Contains(records, r => r.Contains("\"status\": \"completed\""));
    }
}
