using System.Diagnostics;
using MessTools.Core.Artifacts;
using MessTools.Core.Aws;
using MessTools.Core.Catalog;
using MessTools.Core.Common;
using MessTools.Core.Sharding;

namespace MessTools.Core.Jobs;

/// <summary>What Merge-MessEmbedding (or any front end) asks of <see cref="MergeJob"/>.</summary>
public sealed record MergeRequest
{
    public required ArtifactStore Store { get; init; }
    /// <summary>Local shard folders.</summary>
    public IReadOnlyList<string> Folders { get; init; } = Array.Empty<string>();
    /// <summary>s3:// run URIs whose shards are imported into shards/ first.</summary>
    public IReadOnlyList<string> Uris { get; init; } = Array.Empty<string>();
    /// <summary>The catalogue every track must be in (null: metadata/tracks_metadata.csv of the folder, when it exists).</summary>
    public string? CatalogPath { get; init; }
    public S3Connection? Connection { get; init; }
    public RetryBackoff? Retry { get; init; }
    public TimeSpan LockTimeout { get; init; }
}

/// <summary>
/// The Merge stage: under the folder's writer lock, imports S3 shards (through <see cref="ImportJob"/>), checks every
/// shard against the others and the catalogue (<see cref="ShardMerger"/>; each problem an item error, then a refusal
/// naming the folder), writes the merged set and the run record. Null when the host declined (-WhatIf).
/// </summary>
public static class MergeJob
{
    public const string Activity = "Merge-MessEmbedding";

    public static ShardMergeResult? Run(MergeRequest request, IMessJobHost host)
    {
        var clock = Stopwatch.StartNew();
        var store = request.Store;
        using var folder = JobFolder.Lock(store, host, request.LockTimeout);
        IReadOnlyCollection<string>? catalog = null;
        List<MessTrack>? carried = null;
        string? catalogPath = request.CatalogPath ?? (File.Exists(store.MetadataCsv) ? store.MetadataCsv : null);
        if (catalogPath is not null)
        {
            var tracks = MetadataCsv.Read(catalogPath).ToList();
            catalog = tracks.Select(t => t.TrackId).ToList();
            host.Verbose($"Catalogue {catalogPath}: {catalog.Count} tracks, each must be in exactly one shard.");
            // -Catalog is the catalogue of the run: the merged folder gets it where the later stages read it
            if (!SamePath(catalogPath, store.MetadataCsv)) carried = tracks;
        }
        else host.Warning($"No catalogue ({store.MetadataCsv} does not exist and -Catalog was not given): the shards are checked against each other only, not for catalogue tracks that no shard holds, and Invoke-MessEvaluation and Find-MessNeighbor will lack composers until you run Export-MessMetadata -ArtifactPath '{store.Root}' (or merge again with -Catalog).");

        var folders = new List<string>(request.Folders);
        foreach (var uri in request.Uris)
        {
            if (!host.ShouldProcess(uri, $"Import the shards into {Path.Combine(store.Root, ShardSpec.ShardsFolderName)}")) return null;
            var (run, only) = ShardExchange.ParseUri(uri, request.Connection ?? new S3Connection(), request.Retry);
            host.Progress(Activity, $"Importing the shards published under {uri}");
            var imported = ShardExchange.ImportAsync(run, only, store, null, host.Cancellation).GetAwaiter().GetResult();
            foreach (var f in imported) host.Verbose($"Imported {Path.GetFileName(f)} from {uri} into {f}");
            folders.AddRange(imported);
            if (host.Run is { } r) r.Results["imported_from"] = uri;
        }

        host.Progress(Activity, $"Checking {folders.Count} shard folders");
        var check = ShardMerger.Check(folders, catalog);
        foreach (var problem in check.Problems) host.ItemError(problem);
        if (!check.Ok)
            throw new MessException(MessErrorIds.ShardMergeRefused, MessErrorKind.InvalidData,
                $"{check.Problems.Count + check.ProblemsNotListed} problems with the shards (listed above); nothing was written to '{store.EmbeddingsDir}'.", store.Root);
        if (!host.ShouldProcess(store.EmbeddingsDir, $"Merge {check.Shards.Count} shards of {check.ShardCount}")) return null;
        if (carried is not null)
        {
            try { CarryCatalog(carried, catalogPath!, store, host); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new MessException(MessErrorIds.MetadataWriteFailed, MessErrorKind.WriteError,
                    $"Writing the catalogue to '{store.MetadataCsv}' failed: {ex.Message}. Nothing was merged.", store.MetadataCsv, ex);
            }
        }
        ShardMergeResult result;
        try
        {
            host.Progress(Activity, $"Writing the merged embeddings of {check.Shards.Count} shards");
            result = ShardMerger.Write(check, store);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MessException(MessErrorIds.EmbeddingsWriteFailed, MessErrorKind.WriteError,
                $"Writing the merged embeddings to '{store.EmbeddingsDir}' failed: {ex.Message}. The previous complete set is kept.", store.EmbeddingsDir, ex);
        }
        result.Seconds = Math.Round(clock.Elapsed.TotalSeconds, 3);
        if (host.Run is { } record)
        {
            record.Count(("shards", result.Shards), ("rows", result.Rows), ("failed", result.FailedTracks));
            foreach (var (id, errorId) in result.Failed) record.AddError(errorId, $"Track '{id}' failed in its shard ({errorId}).", id);
            record.Results["shard_count"] = check.ShardCount;
            record.Results["model"] = result.Model;
            record.Results["dim"] = result.Dimension;
            record.Results["shard_run_records"] = result.RunRecords;
            record.Results["merge_seconds"] = result.Seconds;
            if (carried is not null) record.Results["metadata_csv"] = store.MetadataCsv;
        }
        host.Verbose($"Merged {result.Shards} shards: {result.Rows} x {result.Dimension} embeddings in {store.EmbeddingsFile} ({result.FailedTracks} tracks failed in their shards).");
        folder.SaveRun("completed");
        return result;
    }

    /// <summary>
    /// Writes the catalogue given with -Catalog to metadata/tracks_metadata.csv of the merged folder (atomically, as
    /// Export-MessMetadata writes it) before the embeddings, so the folder never holds embeddings without the
    /// catalogue they were checked against: evaluation and neighbour queries find every track's composer.
    /// </summary>
    private static void CarryCatalog(IReadOnlyList<MessTrack> tracks, string catalogPath, ArtifactStore store, IMessJobHost host)
    {
        host.Progress(Activity, $"Writing the catalogue {catalogPath} to {store.MetadataCsv}");
        using var writer = new MetadataCsv.Writer(store.MetadataCsv);
        foreach (var t in tracks) writer.Write(t);
        writer.Commit();
        host.Verbose($"Wrote the {tracks.Count} tracks of {catalogPath} to {store.MetadataCsv}.");
    }

    private static bool SamePath(string a, string b) =>
        string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
}
