using System.Management.Automation;
using MessTools.Cmdlets.Common;
using MessTools.Core.Catalog;
using MessTools.Core.Common;
using MessTools.Core.Jobs;
using MessTools.Core.Sharding;

namespace MessTools.Cmdlets;

/// <summary>
/// Merge-MessEmbedding: joins the shard sets written by Get-MessAudio | ConvertTo-MessEmbedding -ShardIndex i
/// -ShardCount n (shards/&lt;i&gt;-of-&lt;n&gt;/) into the artifact folder's embeddings, exactly as one process would
/// have written them. Every missing shard, duplicate track and model/profile/dimension mismatch is an error naming
/// it, and nothing is written unless all checks pass. The engine is <see cref="ShardMerger"/>.
/// </summary>
[Cmdlet(VerbsData.Merge, "MessEmbedding", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = "https://github.com/messtools/MessTools/blob/main/docs/sharding.md")]
[OutputType(typeof(ShardMergeResult))]
public sealed class MergeMessEmbeddingCommand : MessCmdlet
{
    /// <summary>Writes the merged embeddings into the artifact folder: takes its writer lock like every writing stage.</summary>
    protected override bool WritesArtifacts => true;

    /// <summary>
    /// Shard folders (wildcards allowed, e.g. ./artifacts/v1_model_builtin/shards/*), a shards/ folder, or the S3 URI
    /// the shards were published under with ConvertTo-MessEmbedding -PublishPath (s3://bucket/prefix; one shard:
    /// s3://bucket/prefix/shards/&lt;i&gt;-of-&lt;n&gt;). S3 shards are imported into shards/ of the artifact folder first.
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>
    /// The catalogue every track must be accounted for in (tracks_metadata.csv); default: metadata/tracks_metadata.csv
    /// of the artifact folder, when it exists. A -Catalog from elsewhere is also written to the artifact folder's
    /// metadata/tracks_metadata.csv (atomically, before the embeddings), so a merge into a fresh folder can be
    /// evaluated and queried at once.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Catalog { get; set; }

    /// <summary>For s3:// paths: -ProfileName -Region -EndpointUrl -RetryCount (<see cref="S3Parameters"/>).</summary>
    protected override bool ReachesS3 => true;

    private readonly List<string> _folders = new();
    private readonly List<string> _uris = new();

    protected override void ProcessRecord()
    {
        foreach (var p in Path)
        {
            if (p.StartsWith("s3://", StringComparison.OrdinalIgnoreCase)) { _uris.Add(p); continue; }
            try
            {
                var resolved = SessionState.Path.GetResolvedProviderPathFromPSPath(p, out var provider);
                if (provider.Name != "FileSystem")
                    throw new MessException(MessErrorIds.ShardPathInvalid, MessErrorKind.InvalidArgument, $"-Path '{p}' is not a file-system path.", p);
                _folders.AddRange(resolved.Where(Directory.Exists));
                if (!resolved.Any(Directory.Exists))
                    throw new MessException(MessErrorIds.ShardPathInvalid, MessErrorKind.InvalidArgument, $"-Path '{p}' names no folder.", p);
            }
            catch (ItemNotFoundException)
            {
                WriteItemError(new MessException(MessErrorIds.ShardPathNotFound, MessErrorKind.ObjectNotFound, $"-Path '{p}' does not exist.", p), p);
            }
            catch (MessException ex) { WriteItemError(ex, p); }
        }
    }

    protected override void EndProcessing()
    {
        ShardMergeResult? result;
        try
        {
            result = MergeJob.Run(new MergeRequest
            {
                Store = Store, Folders = _folders, Uris = _uris, CatalogPath = Catalog is null ? null : ResolveUserPath(Catalog),
                Connection = S3.Connection(), Retry = S3.Retry(), LockTimeout = LockTimeout,
            }, JobHost);
        }
        catch (MessException ex) { ThrowTerminating(ex); return; }
        finally { CompleteProgress(1, MergeJob.Activity); }
        if (result is not null) WriteObject(result);
        base.EndProcessing();
    }
}
