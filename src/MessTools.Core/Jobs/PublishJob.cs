using MessTools.Core.Artifacts;
using MessTools.Core.Publishing;

namespace MessTools.Core.Jobs;

/// <summary>
/// The Publish stage, the only way a front end publishes an artifact folder (Publish-MessArtifact). It holds the
/// folder's writer lock while it hashes and uploads, so a writer running meanwhile (New-MessIndex, an import ...) makes it
/// wait or refuse and a version never pairs new bytes with old hashes. A dry run (-WhatIf) writes nothing, not even the
/// lock file, and takes no lock. The run record stays with the front end, which may publish several folders in one run.
/// </summary>
public static class PublishJob
{
    public static async Task<PublishResult> RunAsync(ArtifactRemote remote, PublishRequest request, IMessJobHost host, IProgress<ArtifactProgress>? progress = null)
    {
        if (request.DryRun) return await ArtifactPublisher.PublishAsync(remote, request, progress, host.Cancellation).ConfigureAwait(false);
        using var folder = JobFolder.Lock(new ArtifactStore(request.ArtifactPath), host, request.LockTimeout, mustExist: true);
        return await ArtifactPublisher.PublishAsync(remote, request, progress, host.Cancellation).ConfigureAwait(false);
    }
}
