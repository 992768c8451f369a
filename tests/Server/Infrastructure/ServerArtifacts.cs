using MessTools.Core.Artifacts;
using MessTools.Core.Catalog;
using MessTools.Core.Embedding;
using MessTools.Core.Evaluation;
using MessTools.Core.Index;

namespace MessTools.Tests.Server.Infrastructure;

/// <summary>
/// Small artifact folders made through the Core entry points the cmdlets use (embeddings, metadata, New-MessIndex's
/// IndexBuilder, Invoke-MessEvaluation's EvaluationJob): synthetic clustered vectors with a composer per cluster and
/// albums of a few tracks. A "demo-like" set has the composer-dev shape: 62 tracks, 10 composers.
/// </summary>
public static class ServerArtifacts
{
    public static string[] Composers { get; } = { "Bach", "Beethoven", "Brahms", "Chopin", "Debussy", "Liszt", "Mozart", "Rachmaninoff", "Ravel", "Schubert" };

    /// <summary>Writes v1_model_&lt;model&gt; under <paramref name="root"/> with <paramref name="n"/> tracks and returns its store.</summary>
    public static ArtifactStore Write(string root, string model = "builtin", int n = 62, int dim = 24, int seed = 7, bool evaluate = true, bool index = true, string titlePrefix = "")
    {
        var store = new ArtifactStore(Path.Combine(root, "v1_model_" + model));
        var ids = TrackIds(n);
        var rng = new Random(seed);
        // One cluster per composer: track i is by composer i % 10, so a composer's tracks are close.
        var centers = SyntheticVectors.Clustered(Composers.Length, dim, Composers.Length, 0.0, seed);
        var data = new float[n * dim];
        for (int i = 0; i < n; i++)
        {
            int c = i % Composers.Length;
            double norm = 0;
            for (int d = 0; d < dim; d++)
            {
                double x = centers[c * dim + d] + 0.35 * SyntheticVectors.Gauss(rng);
                data[i * dim + d] = (float)x;
                norm += x * x;
            }
            for (int d = 0; d < dim; d++) data[i * dim + d] = (float)(data[i * dim + d] / Math.Sqrt(norm));
        }
        new EmbeddingMatrix(ids, data, dim).Save(store, new EmbeddingsMeta { Model = model });
        using (var w = new MetadataCsv.Writer(store.MetadataCsv))
        {
            for (int i = 0; i < n; i++)
                w.Write(new MessTrack
                {
                    TrackId = ids[i], AlbumId = Album(i), Composer = Composers[i % Composers.Length], Title = $"{titlePrefix}Piece {i}",
                    AudioUri = $"s3://music/{ids[i]}.flac", TrackNo = i % 4 + 1,
                });
            w.Commit();
        }
        if (index) BuildIndex(store);
        if (evaluate)
        {
            var run = EvaluationJob.Run(new EvaluationRequest { ArtifactPaths = new[] { store.Root }, Options = new EvaluationOptions { Ks = new[] { 1, 5 } } });
            EvaluationJob.Write(run);
        }
        return store;
    }

    public static void BuildIndex(ArtifactStore store, int seed = 42)
    {
        var result = IndexBuilder.Build(store, new IndexBuildOptions { Parameters = new HnswParameters { M = 8, EfConstruction = 100, EfSearch = 64, Seed = seed }, MaxThreads = 1 });
        IndexBuilder.Write(store, result);
    }

    public static string[] TrackIds(int n) => Enumerable.Range(0, n).Select(i => $"trk-{i:D3}").ToArray();

    /// <summary>Albums of four consecutive tracks of one composer: tracks i, i+10, i+20, i+30 share an album.</summary>
    public static string Album(int i) => $"alb-{i % Composers.Length:D2}-{i / 40}";
}
