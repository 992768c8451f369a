using System.Text;
using MessTools.Core.Artifacts;
using MessTools.Core.Catalog;
using MessTools.Core.Common;
using MessTools.Core.Index;

namespace MessTools.Tests.Unit.Index;

public class IndexSupportTests
{
    // The index checksum is System.IO.Hashing's XxHash64 (seed 0): the reference vectors of XXH64, which files written
    // with the earlier hand-written implementation used (see IndexFileFixtureTests).
    [Theory]
    [InlineData("", 0xEF46DB3751D8E999UL)]
    [InlineData("a", 0xD24EC4F1A98C6E5BUL)]
    [InlineData("abc", 0x44BC2CF5AD770999UL)]
    public void The_index_checksum_is_XXH64(string text, ulong expected) =>
        Assert.Equal(expected, System.IO.Hashing.XxHash64.HashToUInt64(Encoding.ASCII.GetBytes(text)));

    [Fact]
    public void TrackInfoTable_reads_what_MetadataCsv_writes_exactly()
    {
        using var tmp = new TempDir();
        string path = tmp["tracks_metadata.csv"];
        var tracks = new[]
        {
            new MessTrack { TrackId = "t1", AlbumId = "a1", Title = "Ballade, \"No. 1\"", Composer = "Chopin", AudioUri = "s3://b/1.wav" },
            new MessTrack { TrackId = "=t2", AlbumId = "+a2", Title = "-Line, break", Composer = "Dvořák", AudioUri = "s3://b/2.wav" },
            new MessTrack { TrackId = "t3", AlbumId = "a3", Title = null, Composer = "@Liszt", AudioUri = "s3://b/3.wav" },
        };
        using (var w = new MetadataCsv.Writer(path))
        {
            foreach (var t in tracks) w.Write(t);
            w.Commit();
        }
        var table = TrackInfoTable.Read(path);
        Assert.Equal(3, table.Count);
        foreach (var expected in MetadataCsv.Read(path))
        {
            Assert.True(table.TryGetRow(expected.TrackId, out int row), expected.TrackId);
            Assert.Equal(expected.AlbumId, table.AlbumId(row));
            Assert.Equal(expected.Title ?? "", table.Title(row));
            Assert.Equal(expected.Composer, table.Composer(row));
        }
        Assert.True(table.TryGetRow("=t2", out int r2));
        Assert.Equal("-Line, break", table.Title(r2));
        Assert.Equal("Ballade, \"No. 1\"", table.Title(0));
    }

    [Fact]
    public void TrackInfoTable_refuses_malformed_files()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["a.csv"], "album_id,composer\na1,Chopin\n");
        Assert.Equal("MetadataMalformed", Assert.Throws<MessException>(() => TrackInfoTable.Read(tmp["a.csv"])).ErrorId);
        const string header = "track_id,album_id,track_no,title,composer,audio_s3_key,duration_sec\n";
        File.WriteAllText(tmp["b.csv"], header + "t1,a,,\"never closed,Chopin,k.wav,\n");
        Assert.Equal("MetadataMalformed", Assert.Throws<MessException>(() => TrackInfoTable.Read(tmp["b.csv"])).ErrorId);
        File.WriteAllText(tmp["c.csv"], header + "t1,a,,x,Chopin,k.wav,\nt1,a,,y,Chopin,k2.wav,\n");
        Assert.Contains("already appeared in row 1", Assert.Throws<MessException>(() => TrackInfoTable.Read(tmp["c.csv"])).Message);
        Assert.Equal("MetadataMissing", Assert.Throws<MessException>(() => TrackInfoTable.Read(tmp["none.csv"])).ErrorId);
    }

    [Fact]
    public void Suggestions_rank_case_prefix_and_edit_distance()
    {
        var ids = new[] { "chopin_op10_no3", "chopin_op10_no4", "liszt_s139_4", "rach_op23_5", "T0002" };
        Assert.Equal("chopin_op10_no3", IdSuggester.Suggest(ids, "chopin_op10_n03")[0]);
        Assert.Equal("T0002", IdSuggester.Suggest(ids, "t0002")[0]);
        Assert.Equal(new[] { "chopin_op10_no3", "chopin_op10_no4" }, IdSuggester.Suggest(ids, "chopin_op10"));
        Assert.Empty(IdSuggester.Suggest(ids, "zzzzzzzz"));
        Assert.Equal(3, IdSuggester.BoundedDistance("kitten", "sitting", 5));
        Assert.Equal(3, IdSuggester.BoundedDistance("abcdef", "zzzzzz", 2));
    }

    [Fact]
    public void Partial_ids_are_suggested_by_substring_and_by_tokens()
    {
        var ids = new[] { "pmd-chopin-chpn-op35-2", "pmd-chopin-chpn-op35-1", "pmd-chopin-chpn-op27-1", "pmd-liszt-ls-op35-2", "pmd-beethoven-op35" };
        // Every token of 'chopin-op35-2' is one of the demo id's tokens (an edit distance of 9 finds nothing).
        Assert.Equal(new[] { "pmd-chopin-chpn-op35-2" }, IdSuggester.Suggest(ids, "chopin-op35-2"));
        // A substring: the ids that hold it, shortest difference first.
        Assert.Equal(new[] { "pmd-chopin-chpn-op35-1", "pmd-chopin-chpn-op35-2" }, IdSuggester.Suggest(ids, "chpn-op35"));
        // Tokens in another case and order.
        Assert.Equal(new[] { "pmd-liszt-ls-op35-2" }, IdSuggester.Suggest(ids, "OP35 liszt"));
        Assert.Empty(IdSuggester.Suggest(ids, "debussy-op35"));
    }

    [Fact]
    public void Builder_measures_recall_writes_meta_and_finder_answers_with_metadata()
    {
        using var tmp = new TempDir();
        int dim = 32, n = 1200;
        var data = IndexTestData.Clustered(n, dim, 12, 0.6, seed: 4);
        var ids = IndexTestData.Ids(n);
        var store = IndexTestData.WriteStore(tmp.Path, ids, data.ToArray(), dim, i => ($"alb{i / 10}", i % 2 == 0 ? "Chopin" : "Liszt"));
        var result = IndexBuilder.Build(store, new IndexBuildOptions { RecallSampleSize = 300 });
        IndexBuilder.Write(store, result);
        var info = ArtifactJson.Read<MessIndexInfo>(store.IndexMetaFile);
        Assert.Equal("hnsw", info.IndexType);
        Assert.Equal(300, info.RecallQueries);
        Assert.True(info.RecallAt10 >= 0.99, $"recall {info.RecallAt10}");
        Assert.Equal(IndexBuilder.Sha256Of(data), info.EmbeddingsSha256);
        Assert.Contains("\"recall_at_10\"", File.ReadAllText(store.IndexMetaFile));

        var finder = NeighborFinder.Open(store);
        var res = finder.ByTrackId(ids[7], new NeighborQuery { K = 10, ExcludeSameAlbum = true, Composers = new[] { "liszt" } });
        Assert.Equal(10, res.Count);
        Assert.All(res, r => Assert.Equal("Liszt", r.Composer));
        Assert.All(res, r => Assert.NotEqual("alb0", r.AlbumId));
        Assert.All(res, r => Assert.NotEqual(ids[7], r.TrackId));
        var truth = IndexTestData.BruteForce(data, dim, data.AsSpan(7 * dim, dim), 10, i => i != 7 && i % 2 == 1 && i / 10 != 0);
        Assert.Equal(truth.Select(i => ids[i]), res.Select(r => r.TrackId));
        Assert.Equal("Title " + res[0].TrackId, res[0].Title);

        var unknown = Assert.ThrowsAny<MessException>(() => finder.ByTrackId("t0O007", new NeighborQuery()));
        Assert.Equal("UnknownTrackId", unknown.ErrorId);
        Assert.Contains("'t00007'", unknown.Message);
        Assert.Equal("KOutOfRange", Assert.ThrowsAny<MessException>(() => finder.ByTrackId(ids[0], new NeighborQuery { K = n + 1 })).ErrorId);

        // By vector: a query that is not in the catalogue, normalised on the way in.
        var v = data.AsSpan(3 * dim, dim).ToArray().Select(x => x * 5).ToArray();
        var byVector = finder.ByVector(v, "outside.wav", null, new NeighborQuery { K = 3 });
        Assert.Equal(ids[3], byVector[0].TrackId);
        Assert.Equal(1.0, byVector[0].Similarity, 4);
        Assert.Equal("QueryDimensionMismatch", Assert.ThrowsAny<MessException>(() => finder.ByVector(new float[5], "x", null, new NeighborQuery())).ErrorId);
    }

    [Fact]
    public void The_meta_names_its_index_by_checksum_and_a_stale_meta_is_detected_and_rewritten()
    {
        using var tmp = new TempDir();
        int dim = 16;
        var data = IndexTestData.Clustered(200, dim, 4, 0.6, seed: 9);
        var ids = IndexTestData.Ids(200);
        var store = IndexTestData.WriteStore(tmp.Path, ids[..150], data[..(150 * dim)].ToArray(), dim);
        var first = IndexBuilder.Build(store, new IndexBuildOptions { RecallSampleSize = 50 });
        Assert.True(IndexBuilder.Write(store, first));
        var meta = IndexBuilder.ReadCurrentInfo(store, first.IndexPath);
        Assert.NotNull(meta);
        Assert.Equal(IndexFile.ReadChecksum(first.IndexPath)!.Value.ToString("x16"), meta!.IndexXxh64);

        // A run killed between the two renames: the new index is in place, the meta still describes the old one.
        IndexTestData.WriteStore(tmp.Path, ids, data, dim);
        var second = IndexBuilder.Build(store, new IndexBuildOptions { RecallSampleSize = 50 });
        IndexFile.Save(second.Index, second.IndexPath);
        Assert.Null(IndexBuilder.ReadCurrentInfo(store, second.IndexPath));
        Assert.Equal(150, ArtifactJson.Read<MessIndexInfo>(store.IndexMetaFile).TrackCount); // the stale meta

        // The next run finds the index up to date (nothing to add) but rewrites the meta that did not describe it.
        var third = IndexBuilder.Build(store, new IndexBuildOptions { Append = true });
        Assert.False(third.Changed);
        Assert.True(IndexBuilder.Write(store, third));
        var repaired = IndexBuilder.ReadCurrentInfo(store, third.IndexPath);
        Assert.NotNull(repaired);
        Assert.Equal(200, repaired!.TrackCount);
        Assert.Null(repaired.RecallAt10); // the stale meta's recall belonged to the old index
        Assert.False(IndexBuilder.Write(store, IndexBuilder.Build(store, new IndexBuildOptions { Append = true })));
    }

    [Fact]
    public void Flat_append_follows_the_embeddings_and_a_cancelled_build_writes_nothing()
    {
        using var tmp = new TempDir();
        int dim = 16;
        var data = IndexTestData.Clustered(300, dim, 6, 0.6, seed: 6);
        var ids = IndexTestData.Ids(300);
        var store = IndexTestData.WriteStore(tmp.Path, ids[..200], data[..(200 * dim)].ToArray(), dim);
        var flat = new IndexBuildOptions { Kind = IndexKind.Flat };
        IndexBuilder.Write(store, IndexBuilder.Build(store, flat));
        IndexTestData.WriteStore(tmp.Path, ids[100..], data[(100 * dim)..].ToArray(), dim);
        var result = IndexBuilder.Build(store, new IndexBuildOptions { Kind = IndexKind.Flat, Append = true });
        Assert.Equal((100, 0, 100), (result.Info.Added, result.Info.Replaced, result.Info.Removed));
        IndexBuilder.Write(store, result);
        var index = Assert.IsType<FlatIndex>(IndexFile.Load(store.FlatIndexFile));
        Assert.Equal(200, index.LiveCount);
        Assert.False(index.TryGetNode(ids[5], out _));
        var top = index.Search(data.AsSpan(250 * dim, dim), 3);
        Assert.Equal(ids[250], index.TrackId(top[0].Id));
        Assert.All(top, n => Assert.False(index.IsDeleted(n.Id)));

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => IndexBuilder.Build(store, new IndexBuildOptions(), null, cancelled.Token));
        Assert.False(File.Exists(store.HnswIndexFile));
    }
}
