using MessTools.Core.Artifacts;
using MessTools.Core.VectorStore;

namespace MessTools.Core.Jobs;

/// <summary>
/// The PublishVector stage (Publish-MessVector): reads the folder's embeddings (<see cref="Embedding.EmbeddingsFolder"/>,
/// rows checked; a reader, so no lock) and brings the pgvector table up to date (<see cref="VectorPublisher"/>), filling
/// the run record. Null when the host declined (-WhatIf).
/// </summary>
public static class PublishVectorJob
{
    public const string Activity = "Publish-MessVector";

    public static VectorPublishResult? Run(ArtifactStore store, VectorTable table, VectorPublishOptions options, IMessJobHost host)
    {
        if (!host.ShouldProcess(table.Description, $"Publish the embeddings of '{store.Root}'")) return null;
        var result = VectorPublisher.Publish(store, table, options,
            p => host.Progress(Activity, $"{p.Phase}: {p.Done:N0} of {p.Total:N0} ({p.Written:N0} written)", p.Total > 0 ? (int)(100 * p.Done / p.Total) : -1),
            host.Verbose, host.Cancellation);
        if (host.Run is { } run)
        {
            run.Count(("tracks", result.Tracks), ("inserted", result.Inserted), ("updated", result.Updated), ("deleted", result.Deleted), ("unchanged", result.Unchanged));
            run.Results["table"] = result.Table;
            run.Results["server"] = result.Server;
            run.Results["model"] = result.Model;
            run.Results["embeddings_sha256"] = result.EmbeddingsSha256;
            run.Results["index_built"] = result.IndexBuilt;
        }
        return result;
    }
}
