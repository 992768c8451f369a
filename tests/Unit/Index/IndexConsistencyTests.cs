using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Index;

namespace MessTools.Tests.Unit.Index;

/// <summary>The one check that an index matches its embeddings, and the one owner of the index file paths.</summary>
public class IndexConsistencyTests
{
    private static ArtifactStore Built(TempDir tmp, int seed)
    {
        var ids = IndexTestData.Ids(40);
        var store = IndexTestData.WriteStore(tmp["art"], ids, IndexTestData.Clustered(40, 8, 4, 0.3, seed), 8);
        IndexBuilder.Write(store, IndexBuilder.Build(store, new IndexBuildOptions { MaxThreads = 1, RecallSampleSize = 0 }));
        return store;
    }

    [Fact]
    public void An_index_of_the_current_embeddings_passes_and_of_other_embeddings_is_IndexOutOfStep()
    {
        using var tmp = new TempDir();
        var store = Built(tmp, 1);
        var index = IndexFile.Load(store.PrimaryIndexFile());
        IndexConsistency.Require(store, index, store.HnswIndexFile);
        Assert.Equal(index.EmbeddingsSha256, IndexConsistency.VerifyEmbeddingsFile(store));

        // New embeddings (and their meta) without a new index.
        IndexTestData.WriteStore(tmp["art"], IndexTestData.Ids(40), IndexTestData.Clustered(40, 8, 4, 0.3, 2), 8);
        var ex = Assert.Throws<MessException>(() => IndexConsistency.Require(store, index, store.HnswIndexFile));
        Assert.Equal("IndexOutOfStep", ex.ErrorId);
        Assert.Contains("New-MessIndex", ex.Message);
        var dim = Assert.Throws<MessException>(() => IndexConsistency.Require(index, null, 9, "x", "the embeddings"));
        Assert.Equal("IndexOutOfStep", dim.ErrorId);
    }

    [Fact]
    public void Embeddings_that_differ_from_their_meta_are_EmbeddingsOutOfStep()
    {
        using var tmp = new TempDir();
        var store = Built(tmp, 3);
        var bytes = File.ReadAllBytes(store.EmbeddingsFile);
        bytes[10] ^= 1;
        File.WriteAllBytes(store.EmbeddingsFile, bytes);
        var ex = Assert.Throws<MessException>(() => IndexConsistency.VerifyEmbeddingsFile(store));
        Assert.Equal("EmbeddingsOutOfStep", ex.ErrorId);
        Assert.Equal("EmbeddingsOutOfStep", Assert.Throws<MessException>(() => IndexBuilder.Build(store, new IndexBuildOptions())).ErrorId);
    }

    [Fact]
    public void The_store_names_every_index_file_and_prefers_hnsw()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        Assert.Equal(Path.Combine(store.IndexDir, "hnsw.index"), store.IndexFile(IndexKind.Hnsw));
        Assert.Equal(Path.Combine(store.IndexDir, "flat.index"), store.IndexFile(IndexKind.Flat));
        Assert.Equal("IndexMissing", Assert.Throws<MessException>(() => store.PrimaryIndexFile()).ErrorId);
        Directory.CreateDirectory(store.IndexDir);
        File.WriteAllText(store.FlatIndexFile, "");
        Assert.Equal(store.FlatIndexFile, store.PrimaryIndexFile());
        File.WriteAllText(store.HnswIndexFile, "");
        Assert.Equal(store.HnswIndexFile, store.PrimaryIndexFile());
    }
}
