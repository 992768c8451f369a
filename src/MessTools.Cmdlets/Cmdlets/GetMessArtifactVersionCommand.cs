using System.Management.Automation;
using MessTools.Cmdlets.Common;
using MessTools.Core.Publishing;

namespace MessTools.Cmdlets;

/// <summary>Get-MessArtifactVersion: lists the published models and versions under a bucket and prefix (<see cref="ArtifactVersions"/>).</summary>
[Cmdlet(VerbsCommon.Get, "MessArtifactVersion", HelpUri = "https://github.com/messtools/MessTools/blob/main/docs/publishing.md")]
[OutputType(typeof(ArtifactVersionInfo))]
public sealed class GetMessArtifactVersionCommand : ArtifactRemoteCmdlet
{
    /// <summary>Only this model's versions (default: every model under the prefix).</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Model { get; set; }

    protected override bool WritesRunRecord => false;

    protected override void EndProcessing()
    {
        var remote = BuildRemote();
        var versions = RunRemote("Get-MessArtifactVersion", (_, ct) => ArtifactVersions.ListAsync(remote, Model, ct));
        foreach (var v in versions) WriteObject(v);
        base.EndProcessing();
    }
}
