using System.Management.Automation;
using MessTools.Cmdlets.Common;
using MessTools.Core.Jobs;
using MessTools.Core.Publishing;

namespace MessTools.Cmdlets;

/// <summary>
/// Import-MessArtifact: downloads a published version (latest by default), checks every file's SHA-256 against the manifest
/// and swaps the set into the artifact folder in one step. The work is done by <see cref="ArtifactImporter"/>.
/// </summary>
[Cmdlet(VerbsData.Import, "MessArtifact", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = "https://github.com/messtools/MessTools/blob/main/docs/publishing.md")]
[OutputType(typeof(ImportResult))]
public sealed class ImportMessArtifactCommand : ArtifactRemoteCmdlet
{
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Model { get; set; } = "";

    /// <summary>"latest" (what latest.json names) or a version id from Get-MessArtifactVersion.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Version { get; set; } = "latest";

    /// <summary>Concurrent file downloads.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = 4;

    protected override string? DefaultPathModel => Model;

    /// <summary>Writes the folder: -LockTimeout; the import job takes the lock itself (never under -WhatIf).</summary>
    protected override bool WritesArtifacts => true;
    protected override bool LockAtBegin => false;

    /// <summary>A failed import into a folder that does not exist leaves no folder behind (not even runs/).</summary>
    protected override bool WritesRunRecord => Directory.Exists(Store.Root);

    protected override void EndProcessing()
    {
        var remote = BuildRemote(ThrottleLimit);
        if (!ShouldProcess(Store.Root, $"Import version '{Version}' of model '{Model}' from {remote.Display}"))
        {
            base.EndProcessing();
            return;
        }
        var result = RunRemote("Import-MessArtifact", (p, ct) => ImportJob.RunAsync(remote,
            new ImportRequest { Model = Model, Version = Version, ArtifactPath = Store.Root, LockTimeout = LockTimeout }, JobHost, p));
        WriteVerbose($"Imported {result.Uri} into {result.ArtifactPath}: {result.Files} files ({Mb(result.Bytes)} MB), {result.DownloadedFiles} downloaded, {result.ReusedFiles} already present.");
        WriteObject(result);
        base.EndProcessing();
    }
}
