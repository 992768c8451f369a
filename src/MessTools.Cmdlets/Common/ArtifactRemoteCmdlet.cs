using System.Management.Automation;
using MessTools.Core.Aws;
using MessTools.Core.Common;
using MessTools.Core.Publishing;

namespace MessTools.Cmdlets.Common;

/// <summary>
/// What Publish-/Import-MessArtifact and Get-MessArtifactVersion share: the bucket and prefix, the S3 connection parameters
/// (as Get-MessAudio's), transfer settings, and running one Core call on a worker while the pipeline thread writes progress.
/// </summary>
public abstract class ArtifactRemoteCmdlet : MessCmdlet
{
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Bucket { get; set; } = "";

    /// <summary>Key prefix under which v1_model_&lt;MODEL&gt;/ folders live.</summary>
    [Parameter]
    [AllowEmptyString]
    public string Prefix { get; set; } = ArtifactRemote.DefaultPrefix;

    protected override bool ReachesS3 => true;

    /// <summary>The remote these parameters name; a bad value is a terminating error.</summary>
    protected ArtifactRemote BuildRemote(int throttleLimit = 4)
    {
        var remote = new ArtifactRemote
        {
            Connection = S3.Connection(),
            Bucket = Bucket.Trim(),
            Prefix = Prefix.Trim().Trim('/'),
            ThrottleLimit = throttleLimit,
            Retry = S3.Retry(),
        };
        try { remote.Validate(); }
        catch (MessException ex) { ThrowTerminating(ex); }
        return remote;
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the thread pool and waits, writing its progress (files and bytes) from this thread;
    /// an engine error is terminating, Ctrl+C cancels the transfers.
    /// </summary>
    protected T RunRemote<T>(string activity, Func<IProgress<ArtifactProgress>, CancellationToken, Task<T>> work)
    {
        var progress = new LatestProgress();
        try
        {
            return AwaitWithProgress(Task.Run(() => work(progress, Cancellation), Cancellation), 2, activity, () =>
                progress.Latest is { } p
                    ? ($"{p.Phase}: {p.FilesDone:N0} of {p.FilesTotal:N0} files, {p.BytesDone / 1048576.0:N1} of {p.BytesTotal / 1048576.0:N1} MB" +
                       (p.CurrentFile is null ? "" : $" ({p.CurrentFile})"), p.BytesTotal > 0 ? (double)p.BytesDone / p.BytesTotal : -1)
                    : ("", -1));
        }
        catch (MessException me)
        {
            ThrowTerminating(me);
            throw;
        }
        catch (OperationCanceledException) when (Cancellation.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A local file-system failure (disk full, permissions) while staging or swapping.
            ThrowTerminating(new MessException(MessErrorIds.ArtifactLocalIOError, MessErrorKind.WriteError,
                $"{activity} failed on the local file system: {SecretRedactor.Redact(ex.Message)}", null, ex));
            throw;
        }
        finally
        {
            CompleteProgress(2, activity);
        }
    }

    private sealed class LatestProgress : IProgress<ArtifactProgress>
    {
        private ArtifactProgress? _latest;
        private readonly object _lock = new();
        public ArtifactProgress? Latest { get { lock (_lock) return _latest; } }
        public void Report(ArtifactProgress value) { lock (_lock) _latest = value; }
    }

    protected static string Mb(long bytes) => (bytes / 1048576.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
}
