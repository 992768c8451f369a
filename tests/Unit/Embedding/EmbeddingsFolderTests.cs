using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Embedding;
using MessTools.Core.Evaluation;
using MessTools.Core.Index;
using MessTools.Tests.Infrastructure;
using MessTools.Tests.Unit.Index;

namespace MessTools.Tests.Unit.Embedding;

/// <summary>
/// Issue 18, item 6: every reader opens a set through EmbeddingsFolder, which refuses rows of an l2 set that are not of
/// unit length (a row scaled x1000 with its checksum kept consistent) or are zero, naming the track.
/// </summary>
public class EmbeddingsFolderTests
{
    private static ArtifactStore Store(TempDir tmp, Action<float[], int>? tamper = null, string normalization = "l2")
    {
        const int n = 40, dim = 16;
        var data = IndexTestData.Clustered(n, dim, 4, 0.3, 7);
        tamper?.Invoke(data, dim);
        var ids = IndexTestData.Ids(n);
        // Saving computes the checksum: the set is consistent, only its rows are wrong.
        var store = IndexTestData.WriteStore(tmp["art"], ids, data, dim, i => ($"alb{i / 4}", $"Composer {i % 4}"));
        if (normalization != "l2")
        {
            var meta = ArtifactJson.Read<EmbeddingsMeta>(store.EmbeddingsMetaFile);
            meta.Normalization = normalization;
            ArtifactJson.Write(store.EmbeddingsMetaFile, meta);
        }
        return store;
    }

    private static void Scale(float[] data, int dim) { for (int d = 0; d < dim; d++) data[5 * dim + d] *= 1000; }
    private static void Zero(float[] data, int dim) => Array.Clear(data, 9 * dim, dim);

    [Fact]
    public void A_consistent_unit_set_opens_with_its_meta_and_checksum()
    {
        using var tmp = new TempDir();
        var store = Store(tmp);
        var set = EmbeddingsFolder.Open(store);
        Assert.Equal(40, set.Matrix.Count);
        Assert.Equal("test", set.Meta!.Model);
        Assert.Equal(set.Meta.EmbeddingsSha256, set.Sha256);
        Assert.Equal(store.EmbeddingsDir, set.Folder);
        Assert.Equal(set.Sha256, IndexConsistency.VerifyEmbeddingsFile(store));
    }

    [Fact]
    public void A_row_scaled_x1000_is_refused_by_every_reader_naming_the_track()
    {
        using var tmp = new TempDir();
        var store = Store(tmp, Scale);
        void Refused(Action read)
        {
            var ex = Assert.Throws<MessException>(read);
            Assert.Equal("EmbeddingNotUnitLength", ex.ErrorId);
            Assert.Contains("t00005", ex.Message);
            Assert.Equal("t00005", ex.Target);
        }
        Refused(() => EmbeddingsFolder.Open(store));
        Refused(() => IndexBuilder.Build(store, new IndexBuildOptions { Kind = IndexKind.Flat, RecallSampleSize = 0, MaxThreads = 1 }));
        Refused(() => EvaluationData.Load(store));
        Refused(() => IndexConsistency.VerifyEmbeddingsFile(store)); // the server's check at load
    }

    [Fact]
    public void A_zero_row_is_refused_naming_the_track()
    {
        using var tmp = new TempDir();
        var store = Store(tmp, Zero);
        var ex = Assert.Throws<MessException>(() => EmbeddingsFolder.Open(store));
        Assert.Equal("EmbeddingZero", ex.ErrorId);
        Assert.Contains("t00009", ex.Message);
        var server = Assert.Throws<MessException>(() => IndexConsistency.VerifyEmbeddingsFile(store));
        Assert.Equal("EmbeddingZero", server.ErrorId);
        Assert.Equal("t00009", server.Target);
    }

    [Fact]
    public void A_row_just_within_the_tolerance_is_accepted_and_a_set_not_marked_l2_is_not_checked()
    {
        using var tmp = new TempDir();
        var store = Store(tmp, (data, dim) => { for (int d = 0; d < dim; d++) data[3 * dim + d] *= 1.0004f; });
        Assert.Equal(40, EmbeddingsFolder.Open(store).Matrix.Count);
        using var tmp2 = new TempDir();
        var raw = Store(tmp2, Scale, normalization: "none");
        Assert.Equal(40, EmbeddingsFolder.Open(raw).Matrix.Count);
    }
}
