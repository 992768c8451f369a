using System.Management.Automation;
using MessTools.Core.Common;
using MessTools.Core.Sharding;

namespace MessTools.Cmdlets.Common;

/// <summary>
/// A track stage that can run as one shard of many (AWS Batch array children, Kubernetes Indexed Jobs, Azure Batch
/// tasks): -ShardIndex/-ShardCount, defaulting to AWS_BATCH_JOB_ARRAY_INDEX/AWS_BATCH_JOB_ARRAY_SIZE or
/// JOB_COMPLETION_INDEX (see <see cref="ShardSpec.Resolve(int?, int?)"/>). A sharded run works in
/// &lt;artifact folder&gt;/shards/&lt;i&gt;-of-&lt;n&gt;/ and drops the tracks of other shards before any work.
/// </summary>
public abstract class ShardedTrackCmdlet : TrackInputCmdlet
{
    /// <summary>This process's shard, 0 .. ShardCount-1 (default: $env:AWS_BATCH_JOB_ARRAY_INDEX, else $env:JOB_COMPLETION_INDEX).</summary>
    [Parameter]
    [ValidateRange(0, ShardSpec.MaxCount - 1)]
    public int? ShardIndex { get; set; }

    /// <summary>How many shards the run is split into (default: $env:AWS_BATCH_JOB_ARRAY_SIZE).</summary>
    [Parameter]
    [ValidateRange(1, ShardSpec.MaxCount)]
    public int? ShardCount { get; set; }

    /// <summary>The shard of this run, or null when it is not sharded.</summary>
    protected ShardSpec? Shard { get; private set; }

    /// <summary>Tracks dropped because they belong to another shard.</summary>
    protected long OtherShardTracks { get; private set; }

    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        try { Shard = ShardSpec.Resolve(ShardIndex, ShardCount); }
        catch (MessException ex) { ThrowTerminating(ex); }
        if (Shard is { } s)
        {
            RetargetArtifactPath(s.StoreUnder(Store).Root);
            Run.Parameters["ShardIndex"] = s.Index;
            Run.Parameters["ShardCount"] = s.Count;
            Run.Results["shard"] = s.FolderName;
            WriteVerbose($"{s}: only the tracks whose id hashes to {s.Index} (mod {s.Count}); artifacts in {Store.Root}");
        }
    }

    /// <summary>True when the track belongs to another shard (counted, and skipped before any work).</summary>
    /// <summary>
    /// The folder this shard writes for tracks that came from <paramref name="folder"/>: its shards/&lt;i&gt;-of-&lt;n&gt;/
    /// subfolder (the folder itself when it already is this shard's, as for tracks of a sharded Get-MessAudio).
    /// </summary>
    protected string ShardFolderOf(string folder)
    {
        if (Shard is not { } s) return folder;
        string full = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        if (Path.GetFileName(full) == s.FolderName && Path.GetFileName(Path.GetDirectoryName(full)) == ShardSpec.ShardsFolderName) return full;
        return s.StoreUnder(new Core.Artifacts.ArtifactStore(full)).Root;
    }

    protected bool InOtherShard(string trackId)
    {
        if (Shard is not { } s || string.IsNullOrEmpty(trackId) || s.Contains(trackId.Trim())) return false;
        OtherShardTracks++;
        return true;
    }

    protected override void EndProcessing()
    {
        if (Shard is not null)
        {
            Run.Count("other_shards", OtherShardTracks);
            WriteVerbose($"{OtherShardTracks} tracks belong to other shards and were skipped.");
        }
        base.EndProcessing();
    }
}
