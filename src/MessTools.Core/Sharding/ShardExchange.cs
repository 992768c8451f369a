using MessTools.Core.Artifacts;
using MessTools.Core.Aws;
using MessTools.Core.Common;
using MessTools.Core.Publishing;

namespace MessTools.Core.Sharding;

/// <summary>
/// Shards through S3, with the Publish-/Import-MessArtifact engine (<see cref="ArtifactPublisher"/>,
/// <see cref="ArtifactImporter"/>); no transfer code of its own. Shard i of n of a run at s3://bucket/prefix is
/// published as an ordinary artifact version under s3://bucket/prefix/shards/&lt;i&gt;-of-&lt;n&gt;/v1_model_&lt;MODEL&gt;/.
/// </summary>
public static class ShardExchange
{
    /// <summary>The remote of one shard under a run's remote: prefix/shards/&lt;i&gt;-of-&lt;n&gt;.</summary>
    public static ArtifactRemote ShardRemote(ArtifactRemote run, ShardSpec spec) => With(run, Join(run.Prefix, ShardSpec.ShardsFolderName, spec.FolderName));

    /// <summary>Publishes the shard set in <paramref name="shardStore"/> (manifest written) to the run's remote.</summary>
    public static Task<PublishResult> PublishAsync(ArtifactRemote run, ArtifactStore shardStore, ShardSpec spec, CancellationToken ct = default)
    {
        var manifest = ShardManifest.Read(shardStore.Root);
        return ArtifactPublisher.PublishAsync(ShardRemote(run, spec), new PublishRequest
        {
            ArtifactPath = shardStore.Root,
            Model = ArtifactSelection.RequireModelName(ArtifactLayout.ModelOfFolder(SafePath.ModelFolderName(manifest.Model)), "The shard's model"),
        }, null, ct);
    }

    /// <summary>
    /// Parses s3://bucket/prefix (the run), s3://bucket/prefix/shards (the same) or s3://bucket/prefix/shards/&lt;i&gt;-of-&lt;n&gt;
    /// (one shard): the run's remote, and the one shard when a shard was named.
    /// </summary>
    public static (ArtifactRemote Run, ShardSpec? Only) ParseUri(string uri, S3Connection connection, RetryBackoff? retry = null)
    {
        var (parsed, model, _) = ArtifactRemote.Parse(uri, connection);
        if (retry is not null) parsed = With(parsed, parsed.Prefix, retry);
        if (model is not null)
            throw new MessException(MessErrorIds.InvalidShardUri, MessErrorKind.InvalidArgument,
                $"'{uri}' names a model folder; give the run's s3://bucket/prefix (its shards are under prefix/shards/<i>-of-<n>/).", uri);
        var parts = parsed.Prefix.Split('/', StringSplitOptions.RemoveEmptyEntries).ToList();
        ShardSpec? only = null;
        if (parts.Count >= 2 && parts[^2] == ShardSpec.ShardsFolderName && ShardSpec.ParseFolderName(parts[^1]) is { } s)
        {
            only = s;
            parts.RemoveRange(parts.Count - 2, 2);
        }
        else if (parts.Count >= 1 && parts[^1] == ShardSpec.ShardsFolderName) parts.RemoveAt(parts.Count - 1);
        return (With(parsed, string.Join('/', parts)), only);
    }

    /// <summary>
    /// Imports every shard published under the run's remote (or only <paramref name="only"/>) into
    /// &lt;localRoot&gt;/shards/&lt;i&gt;-of-&lt;n&gt;/ and returns those folders. A shard prefix holding versions of
    /// more than one model is an error naming it.
    /// </summary>
    public static async Task<List<string>> ImportAsync(ArtifactRemote run, ShardSpec? only, ArtifactStore localRoot, Action<string>? report = null, CancellationToken ct = default)
    {
        var specs = new List<ShardSpec>();
        if (only is not null) specs.Add(only);
        else
        {
            string root = Join(run.Prefix, ShardSpec.ShardsFolderName) + "/";
            List<string> folders;
            using (var bucket = new ArtifactBucket(run)) (_, folders) = await bucket.ListAsync(root, foldersOnly: true, ct).ConfigureAwait(false);
            foreach (var f in folders)
                if (ShardSpec.ParseFolderName(f[root.Length..].TrimEnd('/')) is { } s) specs.Add(s);
            if (specs.Count == 0)
                throw new MessException(MessErrorIds.ShardNotFound, MessErrorKind.ObjectNotFound, $"No shard is published under {run.Uri(root)}.", run.Uri(root));
        }
        var result = new List<string>();
        foreach (var spec in specs.OrderBy(s => s.Count).ThenBy(s => s.Index))
        {
            var remote = ShardRemote(run, spec);
            var models = (await ArtifactVersions.ListAsync(remote, null, ct).ConfigureAwait(false)).Where(v => v.IsLatest).Select(v => v.Model).Distinct().ToList();
            if (models.Count == 0)
                throw new MessException(MessErrorIds.ShardNotFound, MessErrorKind.ObjectNotFound, $"{spec} has no published version under {remote.Display}.", remote.Display);
            if (models.Count > 1)
                throw new MessException(MessErrorIds.ShardModelMismatch, MessErrorKind.InvalidData,
                    $"{spec} under {remote.Display} was published for {models.Count} models ({string.Join(", ", models)}): one run's shards hold one model.", remote.Display);
            var local = spec.StoreUnder(localRoot);
            report?.Invoke($"Importing {spec} from {remote.Display} into {local.Root}");
            await Jobs.ImportJob.RunAsync(remote, new ImportRequest { Model = models[0], ArtifactPath = local.Root }, new Jobs.NullJobHost("Merge-MessEmbedding", ct)).ConfigureAwait(false);
            result.Add(local.Root);
        }
        return result;
    }

    private static ArtifactRemote With(ArtifactRemote r, string prefix, RetryBackoff? retry = null) => new()
    {
        Connection = r.Connection, Bucket = r.Bucket, Prefix = prefix, ThrottleLimit = r.ThrottleLimit, Retry = retry ?? r.Retry,
        MultipartThreshold = r.MultipartThreshold, PartSize = r.PartSize, RangeSize = r.RangeSize, PartConcurrency = r.PartConcurrency,
    };

    private static string Join(params string[] parts) => string.Join('/', parts.Where(p => p.Length > 0));
}
