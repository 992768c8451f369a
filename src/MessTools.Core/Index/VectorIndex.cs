using System.Runtime.InteropServices;
using MessTools.Core.Common;
using MessTools.Core.Search;

namespace MessTools.Core.Index;

/// <summary>
/// True when the node may be returned as a result (it is still walked through either way): the one filter contract
/// of every search (an allow-filter, as hnswlib's); <see cref="PairFilter"/> is the same for a batch of queries.
/// </summary>
public delegate bool NodeFilter(int node);

/// <summary>Where each kind of index lives in an artifact folder (the names come from <see cref="Artifacts.ArtifactLayout"/>).</summary>
public static class IndexKindFiles
{
    /// <summary>The index file of one kind.</summary>
    public static string IndexFile(this Artifacts.ArtifactStore store, IndexKind kind) => kind == IndexKind.Hnsw ? store.HnswIndexFile : store.FlatIndexFile;
}

/// <summary>The two kinds of index: an HNSW graph, and the exact (flat) index that is the ground truth.</summary>
public enum IndexKind
{
    Hnsw = 1,
    Flat = 2,
}

/// <summary>
/// What both index kinds share: the track ids and their L2-normalised vectors in one contiguous row-major
/// array (node i = row i), tombstones for removed or replaced tracks, the SHA-256 of the embeddings.f32 the
/// index was last synchronised with, and exact search through the blocked SIMD kernel of
/// <see cref="ExactSearch"/>. Node numbers are internal; callers speak track ids.
/// </summary>
public abstract class VectorIndex
{
    /// <summary>The rows: an array, or the memory-mapped vector section of the index file it was loaded from.</summary>
    private protected Memory<float> _vectors;
    private protected string[] _ids;
    private protected byte[] _deleted;
    private protected int _count;
    private protected int _deletedCount;
    private Dictionary<string, int>? _byId;

    private protected VectorIndex(string[] ids, Memory<float> vectors, byte[] deleted, int count, int dimension)
    {
        if (dimension <= 0) throw new ArgumentOutOfRangeException(nameof(dimension));
        if (count < 0 || ids.Length < count || (long)vectors.Length < (long)count * dimension || deleted.Length < count)
            throw new ArgumentException("The id, vector and tombstone arrays are shorter than the count.");
        _ids = ids;
        _vectors = vectors;
        _deleted = deleted;
        _count = count;
        Dimension = dimension;
        for (int i = 0; i < count; i++) if (deleted[i] != 0) _deletedCount++;
    }

    public abstract IndexKind Kind { get; }
    public int Dimension { get; }
    /// <summary>Nodes, tombstoned ones included.</summary>
    public int Count => _count;
    /// <summary>Tracks a search can return.</summary>
    public int LiveCount => _count - _deletedCount;
    public int DeletedCount => _deletedCount;
    /// <summary>Lower-case hex SHA-256 of the embeddings.f32 this index was built or last appended from.</summary>
    public string EmbeddingsSha256 { get; set; } = "";
    /// <summary>Size in bytes of that embeddings.f32.</summary>
    public long EmbeddingsBytes { get; set; }

    public string TrackId(int node) => _ids[node];
    public bool IsDeleted(int node) => _deleted[node] != 0;
    public ReadOnlySpan<float> Vector(int node) => _vectors.Span.Slice(node * Dimension, Dimension);

    /// <summary>The contiguous vector storage (Count x Dimension valid rows; may be longer): an array, or the index file's mapped section.</summary>
    public ReadOnlyMemory<float> VectorStorage => _vectors;

    /// <summary>True when the rows are the index file's memory-mapped section (held by the page cache, not copied).</summary>
    public bool IsMapped => !MemoryMarshal.TryGetArray((ReadOnlyMemory<float>)_vectors, out _);

    /// <summary>
    /// Room for <paramref name="rows"/> rows in an array of our own (an append never writes into a mapped file): grows the
    /// array, or copies the mapped rows into a new one.
    /// </summary>
    private protected void EnsureVectorCapacity(int rows)
    {
        long needed = (long)rows * Dimension;
        if (!IsMapped && _vectors.Length >= needed) return;
        var grown = new float[checked((int)needed)];
        _vectors.Span[..Math.Min(_vectors.Length, checked(_count * Dimension))].CopyTo(grown);
        _vectors = grown;
    }

    internal Memory<float> VectorMemory => _vectors;
    internal string[] IdStorage => _ids;
    internal byte[] DeletedStorage => _deleted;

    /// <summary>The live node of a track id.</summary>
    public bool TryGetNode(string trackId, out int node)
    {
        var map = _byId ??= BuildIdMap();
        return map.TryGetValue(trackId, out node);
    }

    /// <summary>Track ids a search can return, in node order.</summary>
    public IEnumerable<string> LiveTrackIds()
    {
        for (int i = 0; i < _count; i++) if (_deleted[i] == 0) yield return _ids[i];
    }

    /// <summary>For the loader, which builds the map while checking that live ids are unique.</summary>
    internal void UseIdMap(Dictionary<string, int> map) => _byId = map;

    private Dictionary<string, int> BuildIdMap()
    {
        var map = new Dictionary<string, int>(LiveCount, StringComparer.Ordinal);
        for (int i = 0; i < _count; i++) if (_deleted[i] == 0) map[_ids[i]] = i;
        return map;
    }

    /// <summary>Tombstones a track: it stays in the graph for navigation but is never returned. False if absent.</summary>
    public bool Remove(string trackId)
    {
        if (!TryGetNode(trackId, out int node)) return false;
        _deleted[node] = 1;
        _deletedCount++;
        _byId!.Remove(trackId);
        return true;
    }

    private protected void RegisterLive(int node)
    {
        if (_byId is not null) _byId[_ids[node]] = node;
    }

    /// <summary>The k nearest live nodes by inner product, best first (ties: lower node first).</summary>
    public abstract Neighbor[] Search(ReadOnlySpan<float> query, int k, NodeFilter? allow = null, int ef = 0);

    /// <summary>Exact search over every live node that <paramref name="allow"/> accepts, through <see cref="ExactSearch"/>.</summary>
    public Neighbor[] SearchExact(ReadOnlySpan<float> query, int k, NodeFilter? allow = null, int maxThreads = 1) =>
        SearchExactBatch(query.ToArray(), 1, k, allow is null ? null : (_, c) => allow(c), maxThreads)[0];

    /// <summary>
    /// Exact search of <paramref name="queryCount"/> queries (row-major) over the live nodes that <paramref name="allow"/>
    /// accepts per query.
    /// </summary>
    public Neighbor[][] SearchExactBatch(float[] queries, int queryCount, int k, PairFilter? allow = null, int maxThreads = 0)
    {
        if (queries.Length < (long)queryCount * Dimension)
            throw new ArgumentException($"{queryCount} queries of {Dimension} dims need {(long)queryCount * Dimension} values, got {queries.Length}.");
        ValidateK(k);
        PairFilter? filter = allow;
        if (_deletedCount > 0)
        {
            var deleted = _deleted;
            filter = allow is null ? (_, c) => deleted[c] == 0 : (q, c) => deleted[c] == 0 && allow(q, c);
        }
        return ExactSearch.Search((ReadOnlyMemory<float>)_vectors, _count, Dimension, queries, queryCount, k, filter, maxThreads);
    }

    private protected static void ValidateK(int k)
    {
        if (k < 1) throw new MessException(MessErrorIds.InvalidK, MessErrorKind.InvalidArgument, $"K must be at least 1 (got {k}).", k);
    }

    private protected void CheckQuery(ReadOnlySpan<float> query)
    {
        if (query.Length != Dimension)
            throw new MessException(MessErrorIds.QueryDimensionMismatch, MessErrorKind.InvalidArgument,
                $"The query has {query.Length} dimensions, the index {Dimension}.", query.Length);
    }
}
