using MessTools.Core.Artifacts;
using MessTools.Core.Evaluation;
using MessTools.Core.Index;

namespace MessTools.Server.Artifacts;

/// <summary>
/// One model folder as loaded at one moment: the neighbour search (index + metadata, checked against the embeddings),
/// the index and embeddings facts, and the evaluation files. Immutable: a reload builds a new snapshot and swaps it
/// in, so a request that took this one sees one complete version from start to end.
/// </summary>
public sealed class ModelSnapshot
{
    public required string Name { get; init; }
    public required ArtifactStore Store { get; init; }
    public required INeighborCatalog Search { get; init; }
    /// <summary>The file stamp this snapshot was loaded from (changes when any file is replaced).</summary>
    public required string Stamp { get; init; }
    public required int Version { get; init; }
    public MessIndexInfo? IndexInfo { get; init; }
    public string? EmbeddingsSha256 { get; init; }
    public DateTime LoadedUtc { get; init; } = DateTime.UtcNow;
    /// <summary>eval/eval_results.json, null when the folder was never evaluated.</summary>
    public EvaluationDocument? Evaluation { get; init; }
    /// <summary>eval/report.html as written, served as is.</summary>
    public byte[]? ReportHtml { get; init; }
}
