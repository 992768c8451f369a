using System.Text.Json.Serialization;

namespace MessTools;

/// <summary>
/// index/index_meta.json, and what New-MessIndex emits: how the index was built and how good it is
/// (recall@10 against exact search, measured at build time on a sample of the indexed tracks).
/// </summary>
public sealed class MessIndexInfo
{
    /// <summary>hnsw or flat.</summary>
    public string IndexType { get; set; } = "hnsw";
    /// <summary>Always cosine: inner product over L2-normalised vectors.</summary>
    public string Metric { get; set; } = "cosine";
    /// <summary>The index file, relative to the index folder (hnsw.index or flat.index).</summary>
    public string IndexFile { get; set; } = "hnsw.index";
    /// <summary>The checksum (XXH64, hex) in the trailer of the index file this meta describes: a meta left beside
    /// another index (a run killed between the two renames) is detected by it.</summary>
    public string? IndexXxh64 { get; set; }
    public int? M { get; set; }
    public int? EfConstruction { get; set; }
    public int? EfSearch { get; set; }
    public int? Seed { get; set; }
    /// <summary>
    /// Tracks a query can return. Not named Count: on an array of results $r.Count is the array's length
    /// (index_meta.json keeps the key "count").
    /// </summary>
    [JsonPropertyName("count")]
    public int TrackCount { get; set; }
    /// <summary>Nodes in the file, tombstoned ones included (they go on rebuild).</summary>
    public int Nodes { get; set; }
    public int Tombstones { get; set; }
    public int Dim { get; set; }
    /// <summary>build (from scratch) or append (incremental).</summary>
    public string Mode { get; set; } = "build";
    public int Added { get; set; }
    public int Replaced { get; set; }
    public int Removed { get; set; }
    public int Threads { get; set; }
    public double BuildSeconds { get; set; }
    public string EmbeddingsSha256 { get; set; } = "";
    public long EmbeddingsBytes { get; set; }
    public string? Model { get; set; }
    public string ModuleVersion { get; set; } = Core.Artifacts.ModuleInfo.Version;
    /// <summary>Mean recall@10 of the index against exact search on <see cref="RecallQueries"/> indexed tracks (self excluded).</summary>
    [JsonPropertyName("recall_at_10")]
    public double? RecallAt10 { get; set; }
    public int RecallQueries { get; set; }
    /// <summary>efSearch the recall was measured at.</summary>
    public int? RecallEfSearch { get; set; }
    public DateTime CreatedUtc { get; set; } = DateTime.UtcNow;

    /// <summary>The full path of the index file (not stored).</summary>
    [JsonIgnore]
    public string? Path { get; set; }

    public override string ToString() => $"{IndexType} index of {TrackCount} tracks x {Dim} ({Mode}), {Path}";
}
