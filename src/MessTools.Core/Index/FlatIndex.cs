using MessTools.Core.Search;

namespace MessTools.Core.Index;

/// <summary>
/// The exact index: every query is compared with every live vector through the blocked SIMD kernel of
/// <see cref="ExactSearch"/>. Slower than HNSW on large catalogues, but it is the ground truth the HNSW index
/// is measured against, and what -Exact uses.
/// </summary>
public sealed class FlatIndex : VectorIndex
{
    public override IndexKind Kind => IndexKind.Flat;

    internal FlatIndex(string[] ids, Memory<float> vectors, byte[] deleted, int count, int dimension)
        : base(ids, vectors, deleted, count, dimension) { }

    /// <summary>An exact index over <paramref name="ids"/>.Length rows of <paramref name="vectors"/> (taken over, not copied).</summary>
    public static FlatIndex Build(string[] ids, float[] vectors, int dimension)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(vectors);
        if ((long)ids.Length * dimension != vectors.Length)
            throw new ArgumentException($"{ids.Length} ids x {dimension} dims != {vectors.Length} values.");
        return new FlatIndex(ids, vectors, new byte[ids.Length], ids.Length, dimension);
    }

    /// <summary>The exact view of any index: the same vectors, ids and tombstones, searched exhaustively.</summary>
    public static FlatIndex Over(VectorIndex index) =>
        index as FlatIndex ?? new FlatIndex(index.IdStorage, index.VectorMemory, index.DeletedStorage, index.Count, index.Dimension)
        {
            EmbeddingsSha256 = index.EmbeddingsSha256,
            EmbeddingsBytes = index.EmbeddingsBytes,
        };

    /// <summary>Adds rows at the end; returns the first new node.</summary>
    public int Append(string[] ids, ReadOnlySpan<float> rows)
    {
        if ((long)ids.Length * Dimension != rows.Length)
            throw new ArgumentException($"{ids.Length} ids x {Dimension} dims != {rows.Length} values.");
        int first = _count;
        int total = checked(first + ids.Length);
        if (_ids.Length < total)
        {
            Array.Resize(ref _ids, total);
            Array.Resize(ref _deleted, total);
        }
        EnsureVectorCapacity(total);
        Array.Copy(ids, 0, _ids, first, ids.Length);
        rows.CopyTo(_vectors.Span[(first * Dimension)..]);
        Array.Clear(_deleted, first, ids.Length);
        _count = total;
        for (int node = first; node < total; node++) RegisterLive(node);
        return first;
    }

    public override Neighbor[] Search(ReadOnlySpan<float> query, int k, NodeFilter? allow = null, int ef = 0)
    {
        CheckQuery(query);
        return SearchExact(query, k, allow, maxThreads: 0);
    }
}
