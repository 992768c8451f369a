using System.Management.Automation;
using MessTools.Cmdlets.Common;
using MessTools.Core.Common;
using MessTools.Core.Jobs;

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

    /// <summary>The job takes the lock (of a folder that must exist).</summary>
    protected override bool LockAtBegin => false;

    protected override void ProcessRecord()
    {
        var request = new CacheRequest { Store = Store, Force = Force, LockTimeout = LockTimeout };
        try { CacheJob.Run(request, JobHost, entry => { if (PassThru) WriteObject(entry); }); }
        catch (MessException ex) { ThrowTerminating(ex); }
        catch (OperationCanceledException) { throw new PipelineStoppedException(); }
    }
}
