using MessTools.Core.Artifacts;
using MessTools.Core.Catalog;
using MessTools.Core.Common;

namespace MessTools.Core.Jobs;

/// <summary>What Export-MessMetadata (or any front end) asks of <see cref="ExportJob"/>.</summary>
public sealed record ExportRequest
{
    public required ArtifactStore Store { get; init; }
    public ColumnMap Columns { get; init; } = new(null);
    public ComposerNormalizer Composers { get; init; } = new(null);
    public TimeSpan LockTimeout { get; init; }
}

/// <summary>
/// The Export stage, a streaming job: under the folder's writer lock it reads the catalogue, hands each exported track
/// to the front end as it goes (<c>emit</c>: the pipeline's next stage starts at once), reports each bad row as an item
/// error, commits metadata/tracks_metadata.csv atomically at the end (nothing under -WhatIf), brings an existing
/// index/track_table.bin up to date with it, and fills the run record.
/// </summary>
public static class ExportJob
{
    public const string Activity = "Export-MessMetadata";

    public static void Run(ExportRequest request, ICatalogSource source, IMessJobHost host, Action<MessTrack> emit)
    {
        var store = request.Store;
        using var folder = JobFolder.Lock(store, host, request.LockTimeout);
        string target = store.MetadataCsv;
        bool write = host.ShouldProcess(target, "Write track metadata");
        host.Verbose($"Reading {source.Description}");
        var exporter = new MetadataExporter(request.Columns, request.Composers);
        using var writer = write ? new MetadataCsv.Writer(target) : null;
        long rows = 0, exported = 0, failed = 0;
        foreach (var item in exporter.Read(source, host.Cancellation))
        {
            rows++;
            if (item.Error is not null)
            {
                failed++;
                host.ItemError(item.Error);
            }
            else
            {
                var track = item.Track!;
                track.ArtifactPath = store.Root;
                writer?.Write(track);
                exported++;
                emit(track);
            }
            host.Progress(Activity, $"{rows:N0} rows read, {exported:N0} exported, {failed:N0} rejected");
        }
        if (rows == 0) host.Warning($"{source.Description} has no rows.");
        if (writer is not null)
        {
            try { writer.Commit(); }
            catch (IOException ex) { throw new MessException(MessErrorIds.MetadataWriteFailed, MessErrorKind.WriteError, $"Writing '{target}' failed: {ex.Message}", target, ex); }
            host.Verbose($"Wrote {exported:N0} tracks to {target}");
            if (File.Exists(store.TrackTableFile)) TrackTableRefresh.Run(store, host);
        }
        if (host.Run is { } run)
        {
            run.Count(("rows", rows), ("exported", exported), ("rejected", failed));
            run.Results["metadata_csv"] = target;
        }
        folder.SaveRun("completed");
    }
}
