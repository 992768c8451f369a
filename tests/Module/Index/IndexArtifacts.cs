using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace MessTools.Tests.Module.Index;

/// <summary>
/// Writes embedding artifacts (embeddings.f32, track_ids.json, embeddings_meta.json) and tracks_metadata.csv the way
/// the embedding and export stages do, without referencing the engine (the module loads it in its own context).
/// </summary>
internal static class IndexArtifacts
{
    public const int Dim = 24;

    /// <summary>n clustered unit vectors; every track of album a{i/8} shares a cluster tendency.</summary>
    public static float[] Clustered(int n, int dim, int clusters, int seed) => SyntheticVectors.Clustered(n, dim, clusters, 0.6, seed);

    public static string[] Ids(int n) => Enumerable.Range(0, n).Select(i => $"t{i:D4}").ToArray();
    public static string Album(int i) => $"a{i / 8:D3}";
    public static string Composer(int i) => (i % 3) switch { 0 => "Chopin", 1 => "Liszt", _ => "Rachmaninoff" };

    public static void WriteEmbeddings(string artifactRoot, string[] ids, float[] data, int dim)
    {
        string dir = Path.Combine(artifactRoot, "embeddings");
        Directory.CreateDirectory(dir);
        var bytes = MemoryMarshal.AsBytes(data.AsSpan()).ToArray();
        File.WriteAllBytes(Path.Combine(dir, "embeddings.f32"), bytes);
        File.WriteAllText(Path.Combine(dir, "track_ids.json"), JsonSerializer.Serialize(ids));
        var meta = new Dictionary<string, object>
        {
            ["model"] = "test",
            ["dim"] = dim,
            ["count"] = ids.Length,
            ["normalization"] = "l2",
            ["embeddings_sha256"] = Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant(),
        };
        File.WriteAllText(Path.Combine(dir, "embeddings_meta.json"), JsonSerializer.Serialize(meta));
    }

    public static void WriteMetadata(string artifactRoot, string[] ids)
    {
        string dir = Path.Combine(artifactRoot, "metadata");
        Directory.CreateDirectory(dir);
        var sb = new StringBuilder("track_id,album_id,track_no,title,composer,audio_s3_key,duration_sec\n");
        for (int i = 0; i < ids.Length; i++)
            sb.Append($"{ids[i]},{Album(i)},{i % 8 + 1},Piece {i},{Composer(i)},s3://bucket/{ids[i]}.wav,61.5\n");
        File.WriteAllText(Path.Combine(dir, "tracks_metadata.csv"), sb.ToString());
    }

    /// <summary>An artifact folder with n tracks (embeddings + metadata) under <paramref name="root"/>/art.</summary>
    public static (string Art, string[] Ids, float[] Data) Create(string root, int n = 400, int seed = 3)
    {
        string art = Path.Combine(root, "art");
        var ids = Ids(n);
        var data = Clustered(n, Dim, 12, seed);
        WriteEmbeddings(art, ids, data, Dim);
        WriteMetadata(art, ids);
        return (art, ids, data);
    }

    public static int[] BruteForce(float[] data, int dim, int query, int k, Func<int, bool> allow)
    {
        int n = data.Length / dim;
        return Enumerable.Range(0, n).Where(i => i != query && allow(i))
            .Select(i => (S: Enumerable.Range(0, dim).Sum(d => (double)data[i * dim + d] * data[query * dim + d]), I: i))
            .OrderByDescending(x => x.S).ThenBy(x => x.I).Take(k).Select(x => x.I).ToArray();
    }
}
