namespace MessTools;

/// <summary>What one Publish-MessVector run did to the table.</summary>
public sealed class VectorPublishResult
{
    public string Table { get; set; } = "";
    /// <summary>The table and server (host:port/database; never credentials).</summary>
    public string Server { get; set; } = "";
    public string Model { get; set; } = "";
    public int Dimension { get; set; }
    /// <summary>Tracks in the artifacts, and so in the table after the run.</summary>
    public int Tracks { get; set; }
    public int Inserted { get; set; }
    public int Updated { get; set; }
    public int Deleted { get; set; }
    public int Unchanged { get; set; }
    /// <summary>True when the HNSW index was built (or rebuilt with other parameters) by this run.</summary>
    public bool IndexBuilt { get; set; }
    public string EmbeddingsSha256 { get; set; } = "";
    public double Seconds { get; set; }
}
