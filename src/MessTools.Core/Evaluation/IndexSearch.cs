using MessTools.Core.Common;
using MessTools.Core.Index;
using MessTools.Core.Search;

namespace MessTools.Core.Evaluation;

/// <summary>
/// -Search Index: every evaluation query answered by the vector index (index/hnsw.index) instead of exact search.
/// The index's nodes are mapped to the evaluation's rows by track id; the query itself, tracks outside the evaluation
/// and excluded tracks are filtered inside the graph search, so the index still returns K eligible results.
/// </summary>
public static class IndexSearch
{
    /// <summary>
    /// Checks that <paramref name="index"/> covers <paramref name="data"/> (same dimension, every track present, built
    /// from the same embeddings when both checksums are known) and returns the search for <see cref="EvaluationOptions.IndexSearch"/>.
    /// </summary>
    public static AllPairsSearch Create(VectorIndex index, EvaluationData data, int ef = 0, string indexPath = "the index")
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(data);
        IndexConsistency.Require(index, data.EmbeddingsSha256, data.Dimension, indexPath, "the embeddings");
        // node -> evaluation row (-1: not evaluated), row -> node
        var rowOfNode = new int[index.Count];
        Array.Fill(rowOfNode, -1);
        var missing = new List<string>();
        for (int r = 0; r < data.Count; r++)
        {
            if (index.TryGetNode(data.TrackIds[r], out int node)) rowOfNode[node] = r;
            else missing.Add(data.TrackIds[r]);
        }
        if (missing.Count > 0)
            throw new MessException(MessErrorIds.IndexOutOfStep, MessErrorKind.InvalidData,
                $"{missing.Count} evaluated tracks are not in {indexPath}: {string.Join(", ", missing.Take(20).Select(m => "'" + m + "'"))}{(missing.Count > 20 ? $" and {missing.Count - 20} more" : "")}. Update the index with New-MessIndex.",
                missing[0]);

        return (d, k, allowPair, maxThreads, options) =>
        {
            if (!ReferenceEquals(d, data)) throw new ArgumentException("The index search was created for other data.", nameof(d));
            var results = new Neighbor[d.Count][];
            long done = 0;
            var po = new ParallelOptions
            {
                MaxDegreeOfParallelism = maxThreads > 0 ? maxThreads : Environment.ProcessorCount,
                CancellationToken = options.Cancellation,
            };
            Parallel.For(0, d.Count, po, q =>
            {
                NodeFilter allow = node =>
                {
                    int r = rowOfNode[node];
                    return r >= 0 && r != q && (allowPair is null || allowPair(q, r));
                };
                var found = index.Search(d.Row(q), k, allow, ef);
                var mapped = new Neighbor[found.Length];
                for (int i = 0; i < found.Length; i++) mapped[i] = new Neighbor(rowOfNode[found[i].Id], found[i].Score);
                // Ties by track_id (row order), as in exact search.
                Array.Sort(mapped, (x, y) => x.Score > y.Score ? -1 : x.Score < y.Score ? 1 : x.Id.CompareTo(y.Id));
                results[q] = mapped;
                long n = Interlocked.Increment(ref done);
                if (options.Progress is { } p && (n & 255) == 0) p((double)n / d.Count);
            });
            options.Progress?.Invoke(1.0);
            return results;
        };
    }
}
