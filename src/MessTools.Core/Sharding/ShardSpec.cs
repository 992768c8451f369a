using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Sharding;

/// <summary>
/// One shard of a run split across N processes (AWS Batch array children, Kubernetes Indexed Job pods, Azure
/// Batch tasks): shard <see cref="Index"/> of <see cref="Count"/>. A track belongs to shard
/// <c>ShardOf(track_id, n)</c> = (first 8 bytes of SHA-256(UTF-8 bytes of track_id), read as an unsigned
/// little-endian 64-bit integer) mod n. SHA-256 is the same on every platform, runtime and version, so every
/// child, and the merge, agree on the split without talking to each other. This class is the only place the
/// split is computed. (A class, not a struct: the cmdlets hold one, and a value type from the engine in a cmdlet
/// would make PowerShell load the engine before the module's load context exists.)
/// </summary>
public sealed record ShardSpec
{
    public const string AwsIndexVariable = "AWS_BATCH_JOB_ARRAY_INDEX";
    public const string AwsSizeVariable = "AWS_BATCH_JOB_ARRAY_SIZE";
    public const string KubernetesIndexVariable = "JOB_COMPLETION_INDEX";
    /// <summary>The folder of an artifact set that holds the shard sets: shards/&lt;i&gt;-of-&lt;n&gt;/.</summary>
    public const string ShardsFolderName = "shards";
    /// <summary>Named in shard manifests so a reader knows which split made them.</summary>
    public const string HashName = "sha256-utf8-first8-le-mod-n";
    public const int MaxCount = 100_000;

    public int Index { get; }
    public int Count { get; }

    public ShardSpec(int index, int count)
    {
        if (count < 1 || count > MaxCount)
            throw new MessException(MessErrorIds.ShardCountInvalid, MessErrorKind.InvalidArgument,
                $"The shard count {count} is not between 1 and {MaxCount}.", "ShardCount");
        if (index < 0 || index >= count)
            throw new MessException(MessErrorIds.ShardIndexInvalid, MessErrorKind.InvalidArgument,
                $"The shard index {index} is not between 0 and {count - 1} (shard count {count}).", "ShardIndex");
        Index = index;
        Count = count;
    }

    /// <summary>shards/&lt;i&gt;-of-&lt;n&gt; folder name, e.g. "0-of-3".</summary>
    public string FolderName => $"{Index}-of-{Count}";

    public override string ToString() => $"shard {FolderName}";

    /// <summary>The documented 64-bit hash of a track id (see the class summary).</summary>
    public static ulong Hash(string trackId)
    {
        ArgumentNullException.ThrowIfNull(trackId);
        Span<byte> sha = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(trackId), sha);
        return BinaryPrimitives.ReadUInt64LittleEndian(sha);
    }

    /// <summary>The shard (0 .. count-1) that owns <paramref name="trackId"/>.</summary>
    public static int ShardOf(string trackId, int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count));
        return (int)(Hash(trackId) % (ulong)count);
    }

    public bool Contains(string trackId) => ShardOf(trackId, Count) == Index;

    /// <summary>The shard's own artifact set under <paramref name="baseStore"/>: &lt;root&gt;/shards/&lt;i&gt;-of-&lt;n&gt;/.</summary>
    public ArtifactStore StoreUnder(ArtifactStore baseStore) =>
        new(SafePath.Combine(baseStore.Root, ShardsFolderName, FolderName));

    /// <summary>Parses "3-of-10" (a shard folder name); null when it is not one.</summary>
    public static ShardSpec? ParseFolderName(string name)
    {
        var parts = name.Split("-of-");
        if (parts.Length != 2) return null;
        if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int i)) return null;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n)) return null;
        if (n < 1 || n > MaxCount || i >= n) return null;
        return new ShardSpec(i, n);
    }

    /// <summary>
    /// The shard of this process, or null for an unsharded run. Explicit values win; otherwise the index comes
    /// from AWS_BATCH_JOB_ARRAY_INDEX (count: -ShardCount, else AWS_BATCH_JOB_ARRAY_SIZE) or from
    /// JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs; count: -ShardCount, which Kubernetes does not pass).
    /// Azure Batch has no such variable: its task command line passes -ShardIndex/-ShardCount.
    /// </summary>
    public static ShardSpec? Resolve(int? index, int? count, Func<string, string?> environment)
    {
        if (index is null)
        {
            if (environment(AwsIndexVariable) is { Length: > 0 } aws) index = ParseVariable(AwsIndexVariable, aws);
            else if (environment(KubernetesIndexVariable) is { Length: > 0 } k8s)
            {
                index = ParseVariable(KubernetesIndexVariable, k8s);
                if (count is null)
                    throw new MessException(MessErrorIds.ShardCountMissing, MessErrorKind.InvalidArgument,
                        $"{KubernetesIndexVariable} is {index}, but Kubernetes does not pass the number of completions: give -ShardCount (the Job's completions), or -ShardCount 1 to run unsharded.", "ShardCount");
            }
        }
        if (count is null && index is not null)
        {
            if (environment(AwsSizeVariable) is { Length: > 0 } size) count = ParseVariable(AwsSizeVariable, size);
            else
                throw new MessException(MessErrorIds.ShardCountMissing, MessErrorKind.InvalidArgument,
                    $"The shard index is {index} but no shard count was given: pass -ShardCount or set {AwsSizeVariable} (the array size given to submit-job).", "ShardCount");
        }
        if (index is null && count is not null)
            throw new MessException(MessErrorIds.ShardIndexMissing, MessErrorKind.InvalidArgument,
                $"-ShardCount {count} was given but no shard index: pass -ShardIndex, or run where {AwsIndexVariable} or {KubernetesIndexVariable} is set.", "ShardIndex");
        if (index is null) return null;
        return new ShardSpec(index.Value, count!.Value);
    }

    /// <summary><see cref="Resolve(int?, int?, Func{string, string?})"/> with the process environment.</summary>
    public static ShardSpec? Resolve(int? index, int? count) => Resolve(index, count, Environment.GetEnvironmentVariable);

    private static int ParseVariable(string name, string value)
    {
        if (!int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int v))
            throw new MessException(MessErrorIds.ShardVariableInvalid, MessErrorKind.InvalidArgument,
                $"The environment variable {name} is '{SafePath.Printable(value)}', not a non-negative whole number.", name);
        return v;
    }
}
