using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Embedding;

namespace MessTools.Core.Index;

public sealed class IndexBuildOptions
{
    public IndexKind Kind { get; set; } = IndexKind.Hnsw;
    public HnswParameters Parameters { get; set; } = new();
    /// <summary>Threads for insertion and recall measurement; 0 = all cores.</summary>
    public int MaxThreads { get; set; }
    /// <summary>Bring an existing index up to date with the embeddings instead of rebuilding it.</summary>
    public bool Append { get; set; }
    /// <summary>How many indexed tracks are used as queries to measure recall@10 (0: skip).</summary>
    public int RecallSampleSize { get; set; } = 1000;
}

public sealed class IndexBuildResult
{
    public required VectorIndex Index { get; init; }
    public required MessIndexInfo Info { get; init; }
    public required string IndexPath { get; init; }
    /// <summary>False when -Append found nothing to change.</summary>
    public bool Changed { get; init; } = true;
    public List<string> Warnings { get; } = new();
}

/// <summary>
/// New-MessIndex's engine: reads the embedding artifacts, builds an HNSW or flat index (or brings an existing one
/// up to date: new tracks inserted, changed ones replaced, vanished ones tombstoned), measures recall@10 against
/// exact search, and writes index/&lt;kind&gt;.index then index/index_meta.json, each atomically.
/// </summary>
public static class IndexBuilder
{
    /// <summary>Above this share of tombstones an -Append suggests a rebuild.</summary>
    public const double CompactionAdvice = 0.25;

    /// <summary>Lower-case hex SHA-256 of the embedding rows as they are stored in embeddings.f32.</summary>
    public static string Sha256Of(float[] data) =>
        Convert.ToHexString(SHA256.HashData(MemoryMarshal.AsBytes(data.AsSpan()))).ToLowerInvariant();

    /// <summary>Builds (or appends to) the index in memory; nothing is written.</summary>
    public static IndexBuildResult Build(ArtifactStore store, IndexBuildOptions options, Action<string, int>? progress = null,
        CancellationToken cancellation = default)
    {
        options.Parameters.Validate();
        if (options.MaxThreads < 0)
            throw new MessException(MessErrorIds.InvalidIndexParameter, MessErrorKind.InvalidArgument, $"MaxThreads must be 0 (all cores) or more (got {options.MaxThreads}).", "MaxThreads");
        int threads = options.MaxThreads > 0 ? options.MaxThreads : Environment.ProcessorCount;
        progress?.Invoke("Reading embeddings", -1);
        var set = EmbeddingsFolder.Open(store);
        var matrix = set.Matrix;
        var meta = set.Meta;
        string sha = set.Sha256;
        IndexConsistency.RequireEmbeddingsMatchMeta(store, meta?.EmbeddingsSha256, sha);
        string path = store.IndexFile(options.Kind);
        long bytes = 4L * matrix.Data.Length;
        var clock = Stopwatch.StartNew();
        var result = options.Append && File.Exists(path)
            ? AppendTo(path, matrix, options, sha, bytes, threads, progress, cancellation)
            : BuildNew(path, matrix, options, sha, bytes, threads, progress, cancellation);
        var index = result.Index;
        var info = result.Info;
        info.BuildSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3);
        info.Model = meta?.Model;
        info.Threads = threads;
        info.TrackCount = index.LiveCount;
        info.Nodes = index.Count;
        info.Tombstones = index.DeletedCount;
        info.Dim = index.Dimension;
        info.EmbeddingsSha256 = sha;
        info.EmbeddingsBytes = bytes;
        info.IndexFile = Path.GetFileName(path);
        info.Path = path;
        if (index is HnswIndex h)
        {
            info.IndexType = "hnsw";
            info.M = h.Parameters.M;
            info.EfConstruction = h.Parameters.EfConstruction;
            info.EfSearch = h.Parameters.EfSearch;
            info.Seed = h.Parameters.Seed;
            if (result.Changed && options.RecallSampleSize > 0)
            {
                progress?.Invoke("Measuring recall@10 against exact search", -1);
                (info.RecallAt10, info.RecallQueries) = MeasureRecall(h, options.RecallSampleSize, 10, h.Parameters.EfSearch, h.Parameters.Seed, threads);
                info.RecallEfSearch = h.Parameters.EfSearch;
            }
            else if (!result.Changed && File.Exists(store.IndexMetaFile))
            {
                var old = ReadCurrentInfo(store, path); // a stale meta's recall belongs to another index
                info.RecallAt10 = old?.RecallAt10;
                info.RecallQueries = old?.RecallQueries ?? 0;
                info.RecallEfSearch = old?.RecallEfSearch;
            }
        }
        else
        {
            info.IndexType = "flat";
            info.RecallAt10 = index.LiveCount > 1 ? 1.0 : null; // exact by construction
            info.RecallQueries = 0;
        }
        if (index.Count > 0 && (double)index.DeletedCount / index.Count > CompactionAdvice)
            result.Warnings.Add($"{index.DeletedCount} of {index.Count} nodes of the index are tombstones of removed or replaced tracks; run New-MessIndex without -Append to compact it.");
        return result;
    }

    /// <summary>
    /// Writes the index file, then index_meta.json naming it by its checksum (each atomic: a kill between the two
    /// renames leaves a meta whose checksum does not match, which <see cref="ReadCurrentInfo"/> detects and the next
    /// run rewrites). When nothing changed only a missing or stale meta is rewritten; returns whether the meta was.
    /// </summary>
    public static bool Write(ArtifactStore store, IndexBuildResult result)
    {
        try
        {
            Directory.CreateDirectory(store.IndexDir);
            if (result.Changed)
            {
                result.Info.IndexXxh64 = IndexFile.Save(result.Index, result.IndexPath).ToString("x16");
                FaultInjection.Hit("index.between-renames");
            }
            else
            {
                if (ReadCurrentInfo(store, result.IndexPath) is not null) return false;
                result.Info.IndexXxh64 = IndexFile.ReadChecksum(result.IndexPath)?.ToString("x16");
            }
            ArtifactJson.Write(store.IndexMetaFile, result.Info);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MessException(MessErrorIds.IndexWriteFailed, MessErrorKind.WriteError, $"Writing the index to '{store.IndexDir}' failed: {ex.Message}", store.IndexDir, ex);
        }
    }

    /// <summary>
    /// index_meta.json if it describes the index file at <paramref name="indexPath"/> (its recorded checksum equals the
    /// file's), else null: missing, malformed, or left beside another index by a killed run.
    /// </summary>
    public static MessIndexInfo? ReadCurrentInfo(ArtifactStore store, string indexPath)
    {
        MessIndexInfo info;
        try
        {
            if (!File.Exists(store.IndexMetaFile)) return null;
            info = ArtifactJson.Read<MessIndexInfo>(store.IndexMetaFile);
        }
        catch (MessException) { return null; }
        if (!string.Equals(info.IndexFile, Path.GetFileName(indexPath), StringComparison.Ordinal)) return null;
        string? actual = IndexFile.ReadChecksum(indexPath)?.ToString("x16");
        return actual is not null && string.Equals(info.IndexXxh64, actual, StringComparison.OrdinalIgnoreCase) ? info : null;
    }

    private static IndexBuildResult BuildNew(string path, EmbeddingMatrix matrix, IndexBuildOptions o, string sha, long bytes, int threads,
        Action<string, int>? progress, CancellationToken ct)
    {
        VectorIndex index;
        int n = matrix.Count;
        if (o.Kind == IndexKind.Hnsw)
        {
            progress?.Invoke("Inserting tracks", 0);
            index = HnswIndex.Build(matrix.TrackIds, matrix.Data, matrix.Dimension, o.Parameters, threads,
                done => progress?.Invoke($"Inserting tracks ({done:N0} of {n:N0})", (int)(100L * done / Math.Max(1, n))), ct);
        }
        else index = FlatIndex.Build(matrix.TrackIds, matrix.Data, matrix.Dimension);
        index.EmbeddingsSha256 = sha;
        index.EmbeddingsBytes = bytes;
        return new IndexBuildResult
        {
            Index = index,
            IndexPath = path,
            Info = new MessIndexInfo { Mode = "build", Added = n },
        };
    }

    private static IndexBuildResult AppendTo(string path, EmbeddingMatrix matrix, IndexBuildOptions o, string sha, long bytes, int threads,
        Action<string, int>? progress, CancellationToken ct)
    {
        progress?.Invoke("Reading the existing index", -1);
        var index = IndexFile.Load(path);
        if (index.Dimension != matrix.Dimension)
            throw new MessException(MessErrorIds.IndexIncompatible, MessErrorKind.InvalidData,
                $"The index '{path}' holds {index.Dimension}-dimensional vectors but the embeddings have {matrix.Dimension}: the model changed. Run New-MessIndex without -Append to rebuild it.", path);
        var result = new IndexBuildResult { Index = index, IndexPath = path, Info = new MessIndexInfo { Mode = "append" }, Changed = index.EmbeddingsSha256 != sha };
        if (index is HnswIndex existing && existing.Parameters with { EfSearch = o.Parameters.EfSearch } != o.Parameters with { EfSearch = o.Parameters.EfSearch })
            result.Warnings.Add($"-Append keeps the existing index's parameters (M {existing.Parameters.M}, EfConstruction {existing.Parameters.EfConstruction}, seed {existing.Parameters.Seed}); rebuild without -Append to change them.");
        if (!result.Changed) return result;

        // What changed: new ids are inserted, ids whose vector changed are replaced (tombstone + insert), ids gone are tombstoned.
        var present = new HashSet<string>(StringComparer.Ordinal);
        var toAdd = new List<int>();
        int replaced = 0, removed = 0;
        int dim = matrix.Dimension;
        for (int i = 0; i < matrix.Count; i++)
        {
            string id = matrix.TrackIds[i];
            present.Add(id);
            if (index.TryGetNode(id, out int node))
            {
                if (index.Vector(node).SequenceEqual(matrix.Row(i))) continue;
                index.Remove(id);
                replaced++;
            }
            toAdd.Add(i);
        }
        foreach (string id in index.LiveTrackIds().Where(id => !present.Contains(id)).ToList())
        {
            index.Remove(id);
            removed++;
        }
        var ids = new string[toAdd.Count];
        var rows = new float[(long)toAdd.Count * dim];
        for (int j = 0; j < toAdd.Count; j++)
        {
            ids[j] = matrix.TrackIds[toAdd[j]];
            matrix.Row(toAdd[j]).CopyTo(rows.AsSpan(j * dim, dim));
        }
        if (index is HnswIndex hnsw)
            hnsw.Append(ids, rows, threads, done => progress?.Invoke($"Inserting new tracks ({done:N0} of {ids.Length:N0})", (int)(100L * done / Math.Max(1, ids.Length))), ct);
        else ((FlatIndex)index).Append(ids, rows);
        index.EmbeddingsSha256 = sha;
        index.EmbeddingsBytes = bytes;
        result.Info.Added = toAdd.Count - replaced;
        result.Info.Replaced = replaced;
        result.Info.Removed = removed;
        return result;
    }

    /// <summary>
    /// Mean recall@k of the HNSW index against exact search, with up to <paramref name="sampleSize"/> live tracks
    /// (drawn with the seed) as queries and each query's own track excluded from both answers.
    /// </summary>
    public static (double? Recall, int Queries) MeasureRecall(HnswIndex index, int sampleSize, int k, int efSearch, int seed, int threads)
    {
        var live = new List<int>(index.LiveCount);
        for (int i = 0; i < index.Count; i++) if (!index.IsDeleted(i)) live.Add(i);
        int kk = Math.Min(k, live.Count - 1);
        if (kk < 1 || sampleSize < 1) return (null, 0);
        var rng = new Random(seed);
        var sample = live.ToArray();
        rng.Shuffle(sample);
        int s = Math.Min(sampleSize, sample.Length);
        int dim = index.Dimension;
        var queries = new float[(long)s * dim];
        for (int q = 0; q < s; q++) index.Vector(sample[q]).CopyTo(queries.AsSpan(q * dim, dim));
        var exact = index.SearchExactBatch(queries, s, kk, (q, c) => c != sample[q], threads);
        long hits = 0;
        var approx = new Search.Neighbor[kk];
        for (int q = 0; q < s; q++)
        {
            int self = sample[q];
            int found = index.Search(queries.AsSpan(q * dim, dim), kk, approx, n => n != self, efSearch);
            var truth = exact[q];
            for (int i = 0; i < found; i++)
                for (int j = 0; j < truth.Length; j++)
                    if (truth[j].Id == approx[i].Id) { hits++; break; }
        }
        return (Math.Round((double)hits / ((long)s * kk), 4), s);
    }
}
