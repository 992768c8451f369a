using System.Management.Automation;
using MessTools.Cmdlets.Common;

namespace MessTools.Cmdlets;

/// <summary>
/// Clear-MessCache: empties the artifact folder's cache/ (what can be regenerated) and removes temporary
/// files that killed writers left behind. Never touches metadata, audio, embeddings, index, eval or runs.
/// </summary>
[Cmdlet(VerbsCommon.Clear, "MessCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = "https://github.com/messtools/MessTools/blob/main/docs/artifacts.md")]
[OutputType(typeof(FileSystemInfo))]
public sealed class ClearMessCacheCommand : MessCmdlet
{
    /// <summary>Emit each removed file or folder.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Also remove temporary files younger than an hour (another run may still be writing them).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override bool ReadsExistingArtifacts => true;

    protected override void ProcessRecord()
    {
        RequireArtifacts(Store.Root);
        var cache = new DirectoryInfo(Store.CacheDir);
        long removed = 0;
        if (cache.Exists)
        {
            foreach (var entry in cache.EnumerateFileSystemInfos())
            {
                if (!ShouldProcess(entry.FullName, "Remove cached item")) continue;
                try
                {
                    if (entry is DirectoryInfo d) d.Delete(recursive: true); else entry.Delete();
                    removed++;
                    if (PassThru) WriteObject(entry);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    WriteItemError(new Core.Common.MessException("CacheRemoveFailed", Core.Common.MessErrorKind.WriteError,
                        $"Could not remove '{entry.FullName}': {ex.Message}", entry.FullName, ex));
                }
            }
        }
        else WriteVerbose($"{cache.FullName} does not exist: nothing to clear.");

        // Temporaries of atomic writes a killed run left anywhere in the artifact folder.
        if (Directory.Exists(Store.Root))
        {
            var age = Force ? TimeSpan.Zero : TimeSpan.FromHours(1);
            foreach (var file in Directory.EnumerateFiles(Store.Root, "*" + Core.Artifacts.AtomicFileWriter.TempSuffix, SearchOption.AllDirectories))
            {
                var info = new FileInfo(file);
                if (DateTime.UtcNow - info.LastWriteTimeUtc < age) continue;
                if (!ShouldProcess(file, "Remove stale temporary file")) continue;
                try { info.Delete(); removed++; if (PassThru) WriteObject(info); }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    WriteItemError(new Core.Common.MessException("CacheRemoveFailed", Core.Common.MessErrorKind.WriteError,
                        $"Could not remove '{file}': {ex.Message}", file, ex));
                }
            }
        }
        Run.Count("removed", removed);
        WriteVerbose($"Removed {removed} item(s).");
    }
}
