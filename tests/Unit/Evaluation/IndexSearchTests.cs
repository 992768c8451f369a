using MessTools.Core.Artifacts;
using MessTools.Core.Catalog;
using MessTools.Core.Common;
using MessTools.Core.Embedding;
using MessTools.Core.Evaluation;
using MessTools.Core.Index;

namespace MessTools.Tests.Unit.Evaluation;

public class IndexSearchTests
{
    /// <summary>400 tracks of 12 composers (albums of 5), float vectors without ties, and an HNSW index over them.</summary>
    private static ArtifactStore StoreWithIndex(string root, int n = 400, int dim = 24)
    {
        var rng = new Random(3);
        var ids = Enumerable.Range(0, n).Select(i => $"tr{(i * 7919) % 100000:D5}").ToArray();
        var v = new float[n * dim];
        for (int i = 0; i < n; i++)
        {
            int composer = i / 5 % 12;
            double norm = 0;
            for (int d = 0; d < dim; d++) { v[i * dim + d] = (float)(rng.NextDouble() - 0.5 + (d % 12 == composer ? 0.8 : 0)); norm += v[i * dim + d] * v[i * dim + d]; }
            for (int d = 0; d < dim; d++) v[i * dim + d] = (float)(v[i * dim + d] / Math.Sqrt(norm));
        }
        var store = new ArtifactStore(root);
        using (var w = new MetadataCsv.Writer(store.MetadataCsv))
        {
            for (int i = 0; i < n; i++)
                w.Write(new MessTrack { TrackId = ids[i], AlbumId = $"alb{i / 5}", Composer = $"Composer {i / 5 % 12}", AudioUri = $"s3://b/{ids[i]}.wav" });
            w.Commit();
        }
        new EmbeddingMatrix(ids, v, dim).Save(store, new EmbeddingsMeta { Model = "test" });
        var built = IndexBuilder.Build(store, new IndexBuildOptions { Parameters = new HnswParameters { M = 16, EfConstruction = 200 }, RecallSampleSize = 0, MaxThreads = 1 });
        IndexBuilder.Write(store, built);
        return store;
    }

    [Fact]
    public void Index_search_with_recall_one_gives_the_exact_figures()
    {
        using var tmp = new TempDir();
        var store = StoreWithIndex(tmp["art"]);
        var data = EvaluationData.Load(store);
        var opt = new EvaluationOptions { Ks = new[] { 1, 5, 10 }, SampleCount = 5 };
        var exact = Evaluator.Evaluate(data, opt);
        // ef far above N: the graph search visits every reachable node, so it is exhaustive.
        var index = IndexFile.Load(store.HnswIndexFile);
        var viaIndex = Evaluator.Evaluate(data, new EvaluationOptions
        {
            Ks = opt.Ks, SampleCount = 5, IndexSearch = IndexSearch.Create(index, data, ef: 2000, store.HnswIndexFile),
        });
        Assert.All(viaIndex.Results, r => Assert.Equal("Index", r.Search));
        Assert.All(viaIndex.Results, r => Assert.Equal(1.0, r.IndexRecallAtK));
        Assert.All(exact.Results, r => Assert.Null(r.IndexRecallAtK));
        foreach (var (e, i) in exact.Results.Zip(viaIndex.Results))
        {
            Assert.Equal((e.K, e.ExcludeSameAlbum), (i.K, i.ExcludeSameAlbum));
            Assert.Equal(e.PrecisionAtK, i.PrecisionAtK);
            Assert.Equal(e.HitRateAtK, i.HitRateAtK);
            Assert.Equal(e.NdcgAtK, i.NdcgAtK);
            Assert.Equal(e.PerComposer.Select(c => c.PrecisionAtK), i.PerComposer.Select(c => c.PrecisionAtK));
        }
        Assert.Equal(exact.Samples.Select(s => (s.QueryTrackId, s.TrackId)), viaIndex.Samples.Select(s => (s.QueryTrackId, s.TrackId)));
    }

    [Fact]
    public void Recall_on_a_sample_of_queries_matches_recall_on_all_of_them_when_the_index_is_exact()
    {
        using var tmp = new TempDir();
        var store = StoreWithIndex(tmp["art"]);
        var data = EvaluationData.Load(store);
        var search = IndexSearch.Create(IndexFile.Load(store.HnswIndexFile), data, ef: 2000);
        var sampled = Evaluator.Evaluate(data, new EvaluationOptions { Ks = new[] { 5 }, SampleCount = 0, IndexSearch = search, RecallSampleSize = 37 });
        var full = Evaluator.Evaluate(data, new EvaluationOptions { Ks = new[] { 5 }, SampleCount = 0 });
        Assert.All(sampled.Results, r => { Assert.Equal(1.0, r.IndexRecallAtK); Assert.Equal(37, r.IndexRecallQueries); });
        Assert.Equal(full.Results.Select(r => r.PrecisionAtK), sampled.Results.Select(r => r.PrecisionAtK));

        // With a weak index the sampled recall is an estimate of the full one.
        var weak = IndexSearch.Create(IndexFile.Load(store.HnswIndexFile), data, ef: 5);
        var all = Evaluator.Evaluate(data, new EvaluationOptions { Ks = new[] { 10 }, SampleCount = 0, IndexSearch = weak, ExcludeSameAlbum = false });
        var some = Evaluator.Evaluate(data, new EvaluationOptions { Ks = new[] { 10 }, SampleCount = 0, IndexSearch = weak, ExcludeSameAlbum = false, RecallSampleSize = 200 });
        Assert.Equal(400, all.Results[0].IndexRecallQueries);
        Assert.InRange(some.Results[0].IndexRecallAtK!.Value, all.Results[0].IndexRecallAtK!.Value - 0.1, all.Results[0].IndexRecallAtK!.Value + 0.1);
    }

    [Fact]
    public void A_small_ef_lowers_recall_and_it_is_reported()
    {
        using var tmp = new TempDir();
        var store = StoreWithIndex(tmp["art"], n: 2000, dim: 32);
        var data = EvaluationData.Load(store);
        var o = Evaluator.Evaluate(data, new EvaluationOptions
        {
            Ks = new[] { 10 }, IncludeSameAlbum = true, ExcludeSameAlbum = false, SampleCount = 0,
            IndexSearch = IndexSearch.Create(IndexFile.Load(store.HnswIndexFile), data, ef: 10),
        });
        double recall = o.Results.Single().IndexRecallAtK!.Value;
        Assert.InRange(recall, 0.3, 1.0);
    }

    [Fact]
    public void An_index_that_misses_tracks_or_was_built_from_other_embeddings_is_refused()
    {
        using var tmp = new TempDir();
        var store = StoreWithIndex(tmp["art"], n: 60, dim: 8);
        var index = IndexFile.Load(store.HnswIndexFile);
        var data = EvaluationData.Load(store);
        Assert.True(index.Remove(data.TrackIds[7]));
        index.EmbeddingsSha256 = "";
        var ex = Assert.Throws<MessException>(() => IndexSearch.Create(index, data));
        Assert.Equal("IndexOutOfStep", ex.ErrorId);
        Assert.Contains($"'{data.TrackIds[7]}'", ex.Message);

        var fresh = IndexFile.Load(store.HnswIndexFile);
        fresh.EmbeddingsSha256 = new string('a', 64);
        Assert.Equal("IndexOutOfStep", Assert.Throws<MessException>(() => IndexSearch.Create(fresh, data)).ErrorId);
    }
}
