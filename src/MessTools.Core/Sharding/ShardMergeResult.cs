namespace MessTools;

/// <summary>What Merge-MessEmbedding wrote into the artifact folder.</summary>
public sealed class ShardMergeResult
{
    public string ArtifactPath { get; init; } = "";
    public int Shards { get; init; }
    /// <summary>Rows of the merged embeddings.f32 (embedded tracks).</summary>
    public int Rows { get; init; }
    public int Dimension { get; init; }
    public string Model { get; init; } = "";
    /// <summary>Tracks that failed in their shard (track id -> error id), as one process would have reported them.</summary>
    public SortedDictionary<string, string> Failed { get; init; } = new(StringComparer.Ordinal);
    public int FailedTracks => Failed.Count;
    /// <summary>Run records of the shards, copied to runs/shards/&lt;i&gt;-of-&lt;n&gt;/ of the artifact folder.</summary>
    public List<string> RunRecords { get; init; } = new();
    public double Seconds { get; set; }

    public override string ToString() => $"{Shards} shards merged: {Rows} x {Dimension} embeddings of {Model}, {FailedTracks} tracks failed";
}
