using System.Management.Automation;
using MessTools.Core.Sharding;

namespace MessTools.Cmdlets.Common;

/// <summary>
/// A track stage that can run as one shard of many (AWS Batch array children, Kubernetes Indexed Jobs, Azure Batch
/// tasks): -ShardIndex/-ShardCount, defaulting to AWS_BATCH_JOB_ARRAY_INDEX/AWS_BATCH_JOB_ARRAY_SIZE or
/// JOB_COMPLETION_INDEX. The job decides the shard and its folder (Core.Jobs.TrackFolders): a sharded run works in
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
}
