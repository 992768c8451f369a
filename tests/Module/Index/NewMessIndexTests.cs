using System.Management.Automation;
using System.Text.Json;
using MessTools.Tests.Module.Infrastructure;

namespace MessTools.Tests.Module.Index;

public class NewMessIndexTests
{
    private static JsonElement Meta(string art) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(art, "index", "index_meta.json"))).RootElement;

    [Fact]
    public void Builds_hnsw_index_and_meta_with_measured_recall()
    {
        using var tmp = new TempDir();
        var (art, ids, _) = IndexArtifacts.Create(tmp.Path);
        using var ps = new ModuleRunspace(tmp.Path);
        var info = Assert.Single(ps.InvokeClean("New-MessIndex -ArtifactPath art -M 12 -EfConstruction 120 -Seed 7"));
        Assert.Equal("MessTools.MessIndexInfo", info.BaseObject.GetType().FullName);
        Assert.Equal("hnsw", info.Properties["IndexType"].Value);
        Assert.Equal(ids.Length, info.Properties["TrackCount"].Value);
        Assert.True(File.Exists(Path.Combine(art, "index", "hnsw.index")));
        var meta = Meta(art);
        Assert.Equal("hnsw", meta.GetProperty("index_type").GetString());
        Assert.Equal("cosine", meta.GetProperty("metric").GetString());
        Assert.Equal(12, meta.GetProperty("m").GetInt32());
        Assert.Equal(120, meta.GetProperty("ef_construction").GetInt32());
        Assert.Equal(100, meta.GetProperty("ef_search").GetInt32());
        Assert.Equal(ids.Length, meta.GetProperty("count").GetInt32());
        Assert.Equal(IndexArtifacts.Dim, meta.GetProperty("dim").GetInt32());
        Assert.True(meta.GetProperty("build_seconds").GetDouble() >= 0);
        Assert.Equal(64, meta.GetProperty("embeddings_sha256").GetString()!.Length);
        Assert.False(string.IsNullOrEmpty(meta.GetProperty("module_version").GetString()));
        Assert.Equal(ids.Length, meta.GetProperty("recall_queries").GetInt32());
        Assert.True(meta.GetProperty("recall_at_10").GetDouble() >= 0.99, meta.GetProperty("recall_at_10").ToString());
        // A run record, since New-MessIndex writes.
        Assert.Single(Directory.GetFiles(Path.Combine(art, "runs"), "*New-MessIndex.json"));
    }

    [Fact]
    public void Flat_index_is_written_beside_and_WhatIf_writes_nothing()
    {
        using var tmp = new TempDir();
        var (art, _, _) = IndexArtifacts.Create(tmp.Path, 120);
        using var ps = new ModuleRunspace(tmp.Path);
        ps.InvokeClean("$null = New-MessIndex -ArtifactPath art -WhatIf");
        Assert.False(Directory.Exists(Path.Combine(art, "index")));
        var info = Assert.Single(ps.InvokeClean("New-MessIndex Flat -ArtifactPath art"));
        Assert.Equal("flat", info.Properties["IndexType"].Value);
        Assert.True(File.Exists(Path.Combine(art, "index", "flat.index")));
        Assert.Equal(1.0, Meta(art).GetProperty("recall_at_10").GetDouble());
        // Find-MessNeighbor answers from the flat index when there is no HNSW index.
        var res = ps.InvokeClean("Find-MessNeighbor t0001 -ArtifactPath art -K 3");
        Assert.Equal(3, res.Count);
    }

    [Fact]
    public void Append_inserts_new_replaces_changed_and_removes_gone_tracks()
    {
        using var tmp = new TempDir();
        string art = Path.Combine(tmp.Path, "art");
        var all = IndexArtifacts.Clustered(300, IndexArtifacts.Dim, 10, 5);
        var ids = IndexArtifacts.Ids(300);
        int d = IndexArtifacts.Dim;
        IndexArtifacts.WriteEmbeddings(art, ids[..250], all[..(250 * d)], d);
        IndexArtifacts.WriteMetadata(art, ids);
        using var ps = new ModuleRunspace(tmp.Path);
        ps.InvokeClean("$null = New-MessIndex -ArtifactPath art");
        Assert.Contains("UnknownTrackId", UnknownError(ps, "t0260"));

        // Catalogue update: t0250..t0299 new, t0010 gone, t0020 re-embedded with t0299's vector.
        var keep = Enumerable.Range(0, 300).Where(i => i != 10).ToArray();
        var newIds = keep.Select(i => ids[i]).ToArray();
        var newData = keep.SelectMany(i => all.AsSpan(i * d, d).ToArray()).ToArray();
        int pos20 = Array.IndexOf(newIds, "t0020");
        Array.Copy(all, 299 * d, newData, pos20 * d, d);
        IndexArtifacts.WriteEmbeddings(art, newIds, newData, d);
        Assert.Contains("IndexOutOfStep", UnknownError(ps, "t0001"));

        var info = Assert.Single(ps.InvokeClean("New-MessIndex -ArtifactPath art -Append"));
        Assert.Equal("append", info.Properties["Mode"].Value);
        Assert.Equal(50, info.Properties["Added"].Value);
        Assert.Equal(1, info.Properties["Replaced"].Value);
        Assert.Equal(1, info.Properties["Removed"].Value);
        Assert.Equal(299, info.Properties["TrackCount"].Value);
        Assert.Equal(301, info.Properties["Nodes"].Value);
        Assert.Equal(2, info.Properties["Tombstones"].Value);

        var res = ps.InvokeClean("Find-MessNeighbor t0260 -ArtifactPath art -K 298"); // every other live track: K runs to N-1 (the one rule of Core's NeighborRequest)
        Assert.Equal(298, res.Count);
        var found = res.Select(r => (string)r.Properties["TrackId"].Value).ToList();
        Assert.DoesNotContain("t0010", found);
        Assert.DoesNotContain("t0260", found);
        Assert.Equal(found.Count, found.Distinct().Count());
        // t0020 now carries t0299's vector: they are each other's nearest neighbour, at similarity 1.
        var twin = ps.InvokeClean("Find-MessNeighbor t0299 -ArtifactPath art -K 1");
        Assert.Equal("t0020", Assert.Single(twin).Properties["TrackId"].Value);
        Assert.Equal(1.0, (double)twin[0].Properties["Similarity"].Value, 4);
        Assert.Contains("UnknownTrackId", UnknownError(ps, "t0010"));

        // Nothing changed: a second -Append is a no-op; a rebuild compacts the tombstones away.
        var again = Assert.Single(ps.InvokeClean("New-MessIndex -ArtifactPath art -Append"));
        Assert.Equal(0, again.Properties["Added"].Value);
        var rebuilt = Assert.Single(ps.InvokeClean("New-MessIndex -ArtifactPath art"));
        Assert.Equal(0, rebuilt.Properties["Tombstones"].Value);
        Assert.Equal(299, rebuilt.Properties["Nodes"].Value);
    }

    private static string UnknownError(ModuleRunspace ps, string id)
    {
        var e = FindMessNeighborTests.Fails(ps, $"Find-MessNeighbor {id} -ArtifactPath art");
        return e.FullyQualifiedErrorId + ": " + e.Exception.Message;
    }

    [Fact]
    public void Missing_or_inconsistent_embeddings_stop_the_build_with_a_clear_error()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        var ex = FindMessNeighborTests.Fails(ps, "New-MessIndex -ArtifactPath art");
        Assert.StartsWith("ArtifactsNotFound", ex.FullyQualifiedErrorId); // a mistyped folder: nothing is created
        Assert.False(Directory.Exists(tmp["art"]));
        Directory.CreateDirectory(tmp["art"]);
        ex = FindMessNeighborTests.Fails(ps, "New-MessIndex -ArtifactPath art");
        Assert.StartsWith("EmbeddingsMissing", ex.FullyQualifiedErrorId);
        var (art, _, _) = IndexArtifacts.Create(tmp.Path, 50);
        // embeddings.f32 rewritten behind the meta's back.
        var f32 = Path.Combine(art, "embeddings", "embeddings.f32");
        var bytes = File.ReadAllBytes(f32);
        bytes[100] ^= 0x40;
        File.WriteAllBytes(f32, bytes);
        var ex2 = FindMessNeighborTests.Fails(ps, "New-MessIndex -ArtifactPath art");
        Assert.StartsWith("EmbeddingsOutOfStep", ex2.FullyQualifiedErrorId);
        Assert.Contains("ConvertTo-MessEmbedding", ex2.Exception.Message);
        Assert.IsAssignableFrom<ParameterBindingException>(FindMessNeighborTests.Fails(ps, "New-MessIndex -ArtifactPath art -M 1").Exception);
    }
}
