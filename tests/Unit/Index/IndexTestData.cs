using MessTools.Core.Artifacts;
using MessTools.Core.Catalog;
using MessTools.Core.Embedding;

namespace MessTools.Tests.Unit.Index;

/// <summary>Synthetic clustered, L2-normalised vectors and artifact folders holding them.</summary>
internal static class IndexTestData
{
    public static float[] Clustered(int n, int dim, int clusters, double noise, int seed) => SyntheticVectors.Clustered(n, dim, clusters, noise, seed);

    public static string[] Ids(int n, string prefix = "t") => Enumerable.Range(0, n).Select(i => $"{prefix}{i:D5}").ToArray();

    /// <summary>Ground truth by a plain loop (test code only): the k best rows by inner product, ties by lower row.</summary>
    public static int[] BruteForce(float[] data, int dim, ReadOnlySpan<float> q, int k, Func<int, bool>? allow = null)
    {
        int n = data.Length / dim;
        var scored = new List<(float S, int I)>(n);
        for (int i = 0; i < n; i++)
        {
            if (allow is not null && !allow(i)) continue;
            float s = 0;
            for (int d = 0; d < dim; d++) s += data[i * dim + d] * q[d];
            scored.Add((s, i));
        }
        return scored.OrderByDescending(x => x.S).ThenBy(x => x.I).Take(k).Select(x => x.I).ToArray();
    }

    /// <summary>Writes embeddings (and, unless null, metadata) into a fresh artifact folder.</summary>
    public static ArtifactStore WriteStore(string root, string[] ids, float[] data, int dim, Func<int, (string Album, string Composer)>? meta = null)
    {
        var store = new ArtifactStore(root);
        new EmbeddingMatrix(ids, data, dim).Save(store, new EmbeddingsMeta { Model = "test" });
        if (meta is not null)
        {
            using var w = new MetadataCsv.Writer(store.MetadataCsv);
            for (int i = 0; i < ids.Length; i++)
            {
                var (album, composer) = meta(i);
                w.Write(new MessTrack { TrackId = ids[i], AlbumId = album, Composer = composer, Title = "Title " + ids[i], AudioUri = $"s3://b/{ids[i]}.wav", TrackNo = 1 });
            }
            w.Commit();
        }
        return store;
    }
}
