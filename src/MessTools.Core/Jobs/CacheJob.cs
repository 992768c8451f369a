using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Jobs;

/// <summary>What Clear-MessCache (or any front end) asks of <see cref="CacheJob"/>.</summary>
public sealed record CacheRequest
{
    public required ArtifactStore Store { get; init; }
    /// <summary>Also remove temporary files younger than an hour (they matter only when the lock is shared within a pipeline).</summary>
    public bool Force { get; init; }
    public TimeSpan LockTimeout { get; init; }
}

/// <summary>
/// The cache-clearing job: under the folder's writer lock (the folder must exist), empties cache/ (what can be
/// regenerated) and removes the temporaries killed writers left; never touches metadata, audio, embeddings, index,
/// eval or runs. Each removed item is handed on (<c>emit</c>); one that cannot be removed is an item error.
/// </summary>
public static class CacheJob
{
    public static long Run(CacheRequest request, IMessJobHost host, Action<FileSystemInfo> emit)
    {
        var store = request.Store;
        using var folder = JobFolder.Lock(store, host, request.LockTimeout, mustExist: true);
        // Taking the writer lock already removed the temporaries killed writers left: they count as removed here.
        long removed = folder.RemovedTemporaries.Count;
        foreach (string f in folder.RemovedTemporaries) emit(new FileInfo(f));
        var entries = ArtifactCleanup.CacheEntries(store.CacheDir);
        if (entries.Count == 0) host.Verbose($"{store.CacheDir} is empty or does not exist: nothing to clear.");
        foreach (var entry in entries)
            if (Remove(entry, ArtifactCleanup.IsLink(entry) ? "Remove cached link (not what it points to)" : "Remove cached item", host, emit)) removed++;

        // Temporaries of atomic writes that killed runs left anywhere in the folder (links are never entered).
        // Taking the writer lock fresh already removed every one (no other writer can be writing them); this scan
        // matters when the lock was shared with another stage of this pipeline, which may still be writing its own.
        foreach (var file in ArtifactCleanup.StaleTemporaries(store.Root, request.Force ? TimeSpan.Zero : TimeSpan.FromHours(1)))
            if (Remove(file, "Remove stale temporary file", host, emit)) removed++;
        host.Run?.Count("removed", removed);
        host.Verbose($"Removed {removed} item(s).");
        folder.SaveRun("completed");
        return removed;
    }

    private static bool Remove(FileSystemInfo entry, string action, IMessJobHost host, Action<FileSystemInfo> emit)
    {
        if (!host.ShouldProcess(entry.FullName, action)) return false;
        try
        {
            ArtifactCleanup.Remove(entry);
            FaultInjection.Hit("cache.removed");
            emit(entry);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            host.ItemError(new MessException(MessErrorIds.CacheRemoveFailed, MessErrorKind.WriteError,
                $"Could not remove '{entry.FullName}': {ex.Message}", entry.FullName, ex), entry.FullName);
            return false;
        }
    }
}
