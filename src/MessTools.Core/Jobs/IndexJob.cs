using MessTools.Core.Artifacts;
using MessTools.Core.Index;

namespace MessTools.Core.Jobs;

/// <summary>What New-MessIndex (or any front end) asks of <see cref="IndexJob"/>.</summary>
public sealed record IndexRequest
{
    public required ArtifactStore Store { get; init; }
    public IndexBuildOptions Options { get; init; } = new();
    public TimeSpan LockTimeout { get; init; }
}

/// <summary>
/// The Index stage: under the folder's writer lock, reads the embeddings (<see cref="Embedding.EmbeddingsFolder"/>, rows
/// checked), builds or appends to the index (<see cref="IndexBuilder"/>), replaces index file and meta atomically, brings
/// index/track_table.bin up to date with the metadata CSV (<see cref="TrackTableFile"/>), and writes the run record. Null when the host declined the change (-WhatIf).
/// </summary>
public static class IndexJob
{
    public const string Activity = "New-MessIndex";

    public static MessIndexInfo? Run(IndexRequest request, IMessJobHost host)
    {
        var store = request.Store;
        using var folder = JobFolder.Lock(store, host, request.LockTimeout, mustExist: true);
        var options = request.Options;
        string target = store.IndexFile(options.Kind);
        bool appending = options.Append && File.Exists(target);
        if (options.Append && !appending) host.Verbose($"{target} does not exist yet: building it from scratch.");
        if (!host.ShouldProcess(target, appending ? "Add new and changed embeddings to the index" : "Build the index from the embeddings"))
            return null;

        var result = IndexBuilder.Build(store, options, (status, percent) => host.Progress(Activity, status, percent), host.Cancellation);
        foreach (string w in result.Warnings) host.Warning(w);
        var info = result.Info;
        bool rewritten = IndexBuilder.Write(store, result);
        // The served metadata columns in binary beside the index, so a server start or a cold query skips the CSV.
        TrackTableRefresh.Run(store, host);
        if (!result.Changed)
        {
            host.Verbose($"{target} already matches the embeddings (SHA-256 {info.EmbeddingsSha256[..12]}…): nothing to add.");
            if (rewritten) host.Warning($"{store.IndexMetaFile} did not describe {target} (missing, or left by a run killed between its two renames): rewritten.");
        }
        else
            host.Verbose($"Wrote {target} ({info.TrackCount:N0} tracks, {info.Dim} dims) and {store.IndexMetaFile} in {info.BuildSeconds:N1} s" +
                (info.RecallAt10 is { } r ? $"; recall@10 {r:F4} over {info.RecallQueries} queries" : ""));
        if (host.Run is { } run)
        {
            run.Count(("tracks", info.TrackCount), ("added", info.Added), ("replaced", info.Replaced), ("removed", info.Removed));
            run.Results["index_file"] = target;
            run.Results["index_type"] = info.IndexType;
            run.Results["build_seconds"] = info.BuildSeconds;
            run.Results["recall_at_10"] = info.RecallAt10;
        }
        folder.SaveRun("completed");
        return info;
    }
}
