using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Publishing;

namespace MessTools.Core.Jobs;

/// <summary>
/// The Import stage, the only way a front end imports a published version: Import-MessArtifact, the server's
/// <c>s3://</c> artifact path and Merge-MessEmbedding's S3 shards. It takes the target folder's writer lock (so a second
/// import, or any stage writing the folder, waits or refuses), downloads and verifies into staging, swaps the version in
/// with the lock carried across the swap, writes the run record, and only then lets the lock go. A failed import into a
/// folder that did not exist leaves no folder behind.
/// </summary>
public static class ImportJob
{
    public static async Task<ImportResult> RunAsync(ArtifactRemote remote, ImportRequest request, IMessJobHost host, IProgress<ArtifactProgress>? progress = null)
    {
        var store = new ArtifactStore(Path.TrimEndingDirectorySeparator(Path.GetFullPath(request.ArtifactPath)));
        using var folder = JobFolder.Lock(store, host, request.LockTimeout);
        string status = "failed";
        try
        {
            var result = await ArtifactImporter.ImportAsync(remote, request, progress, host.Cancellation).ConfigureAwait(false);
            if (host.Run is { } run)
            {
                run.Count(("files", result.Files), ("downloaded", result.DownloadedFiles), ("reused", result.ReusedFiles), ("bytes_downloaded", result.DownloadedBytes));
                run.Results["version_id"] = result.VersionId;
                run.Results["uri"] = result.Uri;
            }
            status = "completed";
            return result;
        }
        catch (OperationCanceledException) { status = "stopped"; throw; }
        finally { folder.SaveRun(status); }
    }
}
