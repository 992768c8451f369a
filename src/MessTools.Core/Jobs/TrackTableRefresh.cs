using MessTools.Core.Artifacts;
using MessTools.Core.Index;

namespace MessTools.Core.Jobs;

/// <summary>
/// Brings index/track_table.bin up to date with the metadata CSV, inside a job that holds the folder's writer lock:
/// New-MessIndex always, Export-MessMetadata when a table is already there (an export after the index would otherwise
/// leave every later load reading the CSV until the next New-MessIndex). The table is derived data that readers can do
/// without, so failing to write it is a warning, never a failed run.
/// </summary>
internal static class TrackTableRefresh
{
    public static void Run(ArtifactStore store, IMessJobHost host)
    {
        string? noTable;
        try { noTable = TrackInfoTable.WriteTable(store); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            noTable = ex.Message;
            host.Warning($"{store.TrackTableFile} could not be written ({ex.Message}): queries read the metadata CSV, which is slower to load.");
        }
        host.Verbose(noTable is null
            ? $"{store.TrackTableFile} holds the served columns of {store.MetadataCsv} as it is now."
            : $"No {ArtifactLayout.TrackTableFileName} written ({noTable}): queries read the metadata CSV.");
    }
}
