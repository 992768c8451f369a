using System.Text.Json.Serialization;

namespace MessTools;

/// <summary>One neighbour of a query track, as Find-MessNeighbor emits it (rank 1 = most similar).</summary>
public sealed class NeighborResult
{
    /// <summary>The track asked about (for -AudioPath: the audio file).</summary>
    public string QueryTrackId { get; set; } = "";
    /// <summary>
    /// 1 = most similar. Not named Rank: on an array of results PowerShell's member enumeration would give
    /// System.Array.Rank (1) instead of the ranks. In -AsJson output the key stays "rank".
    /// </summary>
    [JsonPropertyName("rank")]
    public int NeighborRank { get; set; }
    public string TrackId { get; set; } = "";
    /// <summary>Cosine similarity to the query (inner product of L2-normalised embeddings), -1..1.</summary>
    public double Similarity { get; set; }
    public string? Composer { get; set; }
    public string? Title { get; set; }
    public string? AlbumId { get; set; }

    public override string ToString() => TrackId;
}
