using MessTools.Tests.Module.Embedding;
using MessTools.Tests.Module.Infrastructure;

namespace MessTools.Tests.Module.Sharding;

/// <summary>Sharded ConvertTo-MessEmbedding and Merge-MessEmbedding in the hosted engine (built-in model, WAVs made here).</summary>
public class MergeMessEmbeddingTests
{
    private static readonly string[] Ids = { "m-a1", "m-a2", "m-b1", "m-b2", "m-c1", "m-c2", "m-d1" };

    internal static string Tracks(TempDir tmp)
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

    /// <summary>The catalogue of <see cref="Ids"/>: composers A, B, C (two tracks each) and D.</summary>
    private static string Catalogue(TempDir tmp)
    {
        var lines = new List<string> { "track_id,album_id,composer,audio_s3_key" };
        lines.AddRange(Ids.Select(id => $"{id},album-{id},Composer {char.ToUpperInvariant(id[2])},s3://bucket/{id}.wav"));
        File.WriteAllLines(tmp["catalog.csv"], lines);
        return tmp["catalog.csv"];
    }

    [Fact]
    public void MergeIntoAFreshFolder_CarriesTheCatalogue_SoEvaluationAndNeighboursWork()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        string tracks = Tracks(tmp);
        string catalog = Catalogue(tmp);
        for (int i = 0; i < 2; i++) ps.InvokeClean($"{tracks} | ConvertTo-MessEmbedding -ArtifactPath sharded -ShardIndex {i} -ShardCount 2 | Out-Null");

        ps.InvokeClean("Merge-MessEmbedding -Path sharded/shards -ArtifactPath fresh -Catalog $c | Out-Null", ("c", catalog));
        Assert.True(File.Exists(tmp["fresh/metadata/tracks_metadata.csv"]));
        Assert.Empty(Directory.GetFiles(tmp["fresh/metadata"], "*.tmp*")); // written atomically, nothing left behind
        var evaluation = ps.InvokeClean("Invoke-MessEvaluation -ArtifactPath fresh -K 1 -SampleCount 0");
        Assert.NotEmpty(evaluation);
        Assert.Equal(Ids.Length, (int)evaluation[0].Properties["Queries"].Value);
        ps.InvokeClean("New-MessIndex -ArtifactPath fresh -Type Flat | Out-Null");
        var neighbours = ps.InvokeClean("Find-MessNeighbor -ArtifactPath fresh -TrackId m-a1 -K 3");
        Assert.Equal(3, neighbours.Count);
        Assert.All(neighbours, n => Assert.StartsWith("Composer ", (string)n.Properties["Composer"].Value));
        // the carried catalogue is the one Export-MessMetadata writes for the same file
        ps.InvokeClean("Export-MessMetadata -Path $c -ArtifactPath exported | Out-Null", ("c", catalog));
        Assert.Equal(File.ReadAllBytes(tmp["exported/metadata/tracks_metadata.csv"]), File.ReadAllBytes(tmp["fresh/metadata/tracks_metadata.csv"]));
    }

    [Fact]
    public void AMissingShard_IsOneErrorNamingItAndTheTracksItHeld_NotOnePerTrack()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        string tracks = Tracks(tmp);
        string catalog = Catalogue(tmp);
        int held = 0;
        for (int i = 0; i < 3; i++)
        {
            int n = ps.InvokeClean($"{tracks} | ConvertTo-MessEmbedding -ArtifactPath sharded -ShardIndex {i} -ShardCount 3").Count;
            if (i == 1) held = n;
        }
        Assert.True(held > 1, "the test needs a missing shard that holds more than one track");

        string? refused = null;
        try { Assert.Empty(ps.Invoke("Merge-MessEmbedding -Path sharded/shards/0-of-3, sharded/shards/2-of-3 -ArtifactPath merged -Catalog $c", ("c", catalog))); }
        catch (System.Management.Automation.RuntimeException ex) { refused = ex.ErrorRecord.Exception.Message; }
        refused ??= ps.Errors.Last().Exception.Message;
        var missing = Assert.Single(ps.Errors, e => e.FullyQualifiedErrorId.StartsWith("ShardMissing,"));
        Assert.Contains("Shard 1-of-3 is missing", missing.Exception.Message);
        Assert.Contains($"it holds {held} of the catalogue's {Ids.Length} tracks", missing.Exception.Message);
        Assert.DoesNotContain(ps.Errors, e => e.FullyQualifiedErrorId.StartsWith("TrackNotInAnyShard,"));
        Assert.Contains("1 problems", refused);
        Assert.False(File.Exists(tmp["merged/embeddings/embeddings.f32"]));
        Assert.False(File.Exists(tmp["merged/metadata/tracks_metadata.csv"])); // a refused merge writes nothing
    }
}
