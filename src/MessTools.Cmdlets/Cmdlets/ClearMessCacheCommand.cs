using System.Management.Automation;
using MessTools.Cmdlets.Common;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Cmdlets;

/// <summary>
/// Clear-MessCache: empties the artifact folder's cache/ (what can be regenerated) and removes temporary
/// files that killed writers left behind. Never touches metadata, audio, embeddings, index, eval or runs.
/// </summary>
[Cmdlet(VerbsCommon.Clear, "MessCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = "https://github.com/messtools/MessTools/blob/main/docs/artifacts.md")]
[OutputType(typeof(FileSystemInfo))]
public sealed class ClearMessCacheCommand : MessCmdlet
{
    protected override bool WritesArtifacts => true;

    /// <summary>Emit each removed file or folder.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Also remove temporary files younger than an hour. Only matters when another stage of the same
    /// pipeline shares the writer lock: taking the lock fresh removes every temporary killed writers left.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override bool ReadsExistingArtifacts => true;

    protected override void ProcessRecord()
    {
        // Taking the writer lock already removed the temporaries killed writers left: they count as removed here.
        long removed = RemovedTemporaries.Count;
        if (PassThru) foreach (string f in RemovedTemporaries) WriteObject(new FileInfo(f));
        var entries = ArtifactCleanup.CacheEntries(Store.CacheDir);
        if (entries.Count == 0) WriteVerbose($"{Store.CacheDir} is empty or does not exist: nothing to clear.");
        foreach (var entry in entries)
            if (Remove(entry, ArtifactCleanup.IsLink(entry) ? "Remove cached link (not what it points to)" : "Remove cached item")) removed++;

        // Temporaries of atomic writes that killed runs left anywhere in the folder (links are never entered).
        // Taking the writer lock fresh already removed every one (no other writer can be writing them); this scan
        // matters when the lock was shared with another stage of this pipeline, which may still be writing its own.
        foreach (var file in ArtifactCleanup.StaleTemporaries(Store.Root, Force ? TimeSpan.Zero : TimeSpan.FromHours(1)))
            if (Remove(file, "Remove stale temporary file")) removed++;
        Run.Count("removed", removed);
        WriteVerbose($"Removed {removed} item(s).");
    }

    private bool Remove(FileSystemInfo entry, string action)
    {
        if (!ShouldProcess(entry.FullName, action)) return false;
        try
        {
            ArtifactCleanup.Remove(entry);
            FaultInjection.Hit("cache.removed");
            if (PassThru) WriteObject(entry);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            WriteItemError(new MessException("CacheRemoveFailed", MessErrorKind.WriteError,
                $"Could not remove '{entry.FullName}': {ex.Message}", entry.FullName, ex));
            return false;
        }
    }
}
