using System.Diagnostics;
using System.Management.Automation;
using MessTools.Cmdlets.Common;
using MessTools.Core.Catalog;
using MessTools.Core.Common;
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
    /// of the artifact folder, when it exists.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Catalog { get; set; }

    /// <summary>For s3:// paths: a profile of the shared AWS credentials/config files.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ProfileName { get; set; }

    /// <summary>For s3:// paths: the bucket's region.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Region { get; set; }

    /// <summary>For s3:// paths: an S3-compatible endpoint (MinIO, Ceph, LocalStack, moto).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? EndpointUrl { get; set; }

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
                    throw new MessException("ShardPathInvalid", MessErrorKind.InvalidArgument, $"-Path '{p}' is not a file-system path.", p);
                _folders.AddRange(resolved.Where(Directory.Exists));
                if (!resolved.Any(Directory.Exists))
                    throw new MessException("ShardPathInvalid", MessErrorKind.InvalidArgument, $"-Path '{p}' names no folder.", p);
            }
            catch (ItemNotFoundException)
            {
                WriteItemError(new MessException("ShardPathNotFound", MessErrorKind.ObjectNotFound, $"-Path '{p}' does not exist.", p), p);
            }
            catch (MessException ex) { WriteItemError(ex, p); }
        }
    }

    protected override void EndProcessing()
    {
        var clock = Stopwatch.StartNew();
        IReadOnlyCollection<string>? catalog = null;
        string? catalogPath = Catalog is null ? (File.Exists(Store.MetadataCsv) ? Store.MetadataCsv : null) : ResolveUserPath(Catalog);
        try
        {
            if (catalogPath is not null)
            {
                catalog = MetadataCsv.Read(catalogPath).Select(t => t.TrackId).ToList();
                WriteVerbose($"Catalogue {catalogPath}: {catalog.Count} tracks, each must be in exactly one shard.");
            }
            else Warn($"No catalogue ({Store.MetadataCsv} does not exist and -Catalog was not given): the shards are checked against each other only, not for catalogue tracks that no shard holds.");
        }
        catch (MessException ex) { ThrowTerminating(ex); }

        if (_uris.Count > 0 && !ImportShards()) return; // -WhatIf (or declined): nothing imported, nothing to check
        ReportProgress(1, "Merge-MessEmbedding", $"Checking {_folders.Count} shard folders", force: true);
        var check = ShardMerger.Check(_folders, catalog);
        foreach (var problem in check.Problems) WriteItemError(problem);
        if (!check.Ok)
            ThrowTerminating(new MessException("ShardMergeRefused", MessErrorKind.InvalidData,
                $"{check.Problems.Count + check.ProblemsNotListed} problems with the shards (listed above); nothing was written to '{Store.EmbeddingsDir}'.", Store.Root));
        if (!ShouldProcess(Store.EmbeddingsDir, $"Merge {check.Shards.Count} shards of {check.ShardCount}")) return;
        ShardMergeResult result;
        try
        {
            ReportProgress(1, "Merge-MessEmbedding", $"Writing the merged embeddings of {check.Shards.Count} shards", force: true);
            result = ShardMerger.Write(check, Store);
        }
        catch (MessException ex) { ThrowTerminating(ex); return; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ThrowTerminating(new MessException("EmbeddingsWriteFailed", MessErrorKind.WriteError,
                $"Writing the merged embeddings to '{Store.EmbeddingsDir}' failed: {ex.Message}. The previous complete set is kept.", Store.EmbeddingsDir, ex));
            return;
        }
        CompleteProgress(1, "Merge-MessEmbedding");
        result.Seconds = Math.Round(clock.Elapsed.TotalSeconds, 3);
        Run.Count("shards", result.Shards);
        Run.Count("rows", result.Rows);
        Run.Count("failed", result.FailedTracks);
        foreach (var (id, errorId) in result.Failed) Run.AddError(errorId, $"Track '{id}' failed in its shard ({errorId}).", id);
        Run.Results["shard_count"] = check.ShardCount;
        Run.Results["model"] = result.Model;
        Run.Results["dim"] = result.Dimension;
        Run.Results["shard_run_records"] = result.RunRecords;
        Run.Results["merge_seconds"] = result.Seconds;
        WriteVerbose($"Merged {result.Shards} shards: {result.Rows} x {result.Dimension} embeddings in {Store.EmbeddingsFile} ({result.FailedTracks} tracks failed in their shards).");
        WriteObject(result);
        base.EndProcessing();
    }

    /// <summary>Imports the shards published under each s3:// -Path into shards/ of the artifact folder (Publish-/Import-MessArtifact's engine).</summary>
    private bool ImportShards()
    {
        var connection = new Core.Aws.S3Connection { ProfileName = ProfileName, Region = Region, EndpointUrl = EndpointUrl };
        foreach (var uri in _uris)
        {
            if (!ShouldProcess(uri, $"Import the shards into {System.IO.Path.Combine(Store.Root, ShardSpec.ShardsFolderName)}")) return false;
            try
            {
                var (run, only) = ShardExchange.ParseUri(uri, connection);
                ReportProgress(1, "Merge-MessEmbedding", $"Importing the shards published under {uri}", force: true);
                var folders = ShardExchange.ImportAsync(run, only, Store, null, Cancellation).GetAwaiter().GetResult();
                foreach (var f in folders) WriteVerbose($"Imported {System.IO.Path.GetFileName(f)} from {uri} into {f}");
                _folders.AddRange(folders);
                Run.Results["imported_from"] = uri;
            }
            catch (MessException ex) { ThrowTerminating(ex); }
        }
        return true;
    }
}
