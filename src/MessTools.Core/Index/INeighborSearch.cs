namespace MessTools.Core.Index;

/// <summary>
/// A neighbour search by track id (or by vector) that gives <see cref="NeighborResult"/>s: the index file
/// (<see cref="NeighborFinder"/>) or a pgvector table (<see cref="VectorStore.VectorStoreFinder"/>). What the cmdlet and
/// the HTTP server call, whichever backend serves; both leave the query track out and apply the same filters.
/// </summary>
public interface INeighborSearch
{
    /// <summary>How many tracks a query can return at most.</summary>
    int Count { get; }
    int Dimension { get; }
    /// <summary>True when album and composer are known, so -ExcludeSameAlbum and -Composer can filter.</summary>
    bool HasMetadata { get; }
    /// <summary>Composer names of the searchable tracks, as stored.</summary>
    IReadOnlyList<string> Composers { get; }
    IReadOnlyList<NeighborResult> ByTrackId(string trackId, NeighborQuery query);
    IReadOnlyList<NeighborResult> ByVector(ReadOnlySpan<float> vector, string queryLabel, string? albumId, NeighborQuery query);
}
