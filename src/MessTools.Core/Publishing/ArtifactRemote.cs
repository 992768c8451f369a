using MessTools.Core.Artifacts;
using MessTools.Core.Aws;
using MessTools.Core.Common;

namespace MessTools.Core.Publishing;

/// <summary>
/// Where published artifact sets live: a bucket and a key prefix (default vector-artifacts), reached through an
/// <see cref="S3Connection"/>. Layout under the prefix, per model:
/// <code>
/// &lt;prefix&gt;/v1_model_&lt;MODEL&gt;/latest.json                   pointer to the current version (replaced last)
/// &lt;prefix&gt;/v1_model_&lt;MODEL&gt;/&lt;version-id&gt;/manifest.json    one immutable version: every file, size, SHA-256
/// &lt;prefix&gt;/v1_model_&lt;MODEL&gt;/blobs/sha256/&lt;sha256&gt;          the files' bytes, named by content, shared by versions
/// </code>
/// The caller names the transfer settings here too (parallelism, retries, multipart sizes).
/// </summary>
public sealed class ArtifactRemote
{
    public const string DefaultPrefix = "vector-artifacts";

    public S3Connection Connection { get; init; } = new();
    public string Bucket { get; init; } = "";
    /// <summary>Key prefix without leading or trailing '/'; "" for the bucket's root.</summary>
    public string Prefix { get; init; } = DefaultPrefix;
    /// <summary>Concurrent file transfers.</summary>
    public int ThrottleLimit { get; init; } = 4;
    public RetryBackoff Retry { get; init; } = new();
    /// <summary>Files at least this large are uploaded in parts of <see cref="PartSize"/> (multipart upload).</summary>
    /// <remarks>
    /// 8 MiB, as boto3's transfer defaults: measured against moto, 16 MiB parts cost the server a third more CPU per byte
    /// (ArtifactBench, 128 MB set, 2.4 against 1.7-1.9 CPU-s per publish).
    /// </remarks>
    public long MultipartThreshold { get; init; } = 8L << 20;
    public long PartSize { get; init; } = 8L << 20;
    /// <summary>Files at least this large are downloaded in ranges of this size, <see cref="PartConcurrency"/> at once (fewer, larger ranges cost the server less).</summary>
    public long RangeSize { get; init; } = 16L << 20;
    /// <summary>Concurrent parts of one large file.</summary>
    public int PartConcurrency { get; init; } = 8;

    /// <summary>
    /// Parses <c>s3://bucket[/prefix][/v1_model_MODEL[/version-id]]</c> (the server's artifact path). A trailing
    /// v1_model_&lt;MODEL&gt; segment gives the model, one more segment the version ("latest" or an id).
    /// </summary>
    public static (ArtifactRemote Remote, string? Model, string? Version) Parse(string uri, S3Connection? connection = null)
    {
        string t = (uri ?? "").Trim();
        if (!t.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
            throw new MessException(MessErrorIds.InvalidArtifactUri, MessErrorKind.InvalidArgument, $"'{SecretRedactor.Redact(t)}' is not an s3://bucket/prefix URI.", t);
        var parts = t[5..].Split('/', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (parts.Count == 0)
            throw new MessException(MessErrorIds.InvalidArtifactUri, MessErrorKind.InvalidArgument, $"'{t}' names no bucket.", t);
        string bucket = parts[0];
        parts.RemoveAt(0);
        string? model = null, version = null;
        int modelAt = parts.FindIndex(p => p.StartsWith(ArtifactLayout.ModelFolderPrefix, StringComparison.Ordinal));
        if (modelAt >= 0)
        {
            if (parts.Count > modelAt + 2)
                throw new MessException(MessErrorIds.InvalidArtifactUri, MessErrorKind.InvalidArgument, $"'{t}' has more after v1_model_<MODEL>/<version> than this module understands.", t);
            model = ArtifactSelection.RequireModelName(parts[modelAt][ArtifactLayout.ModelFolderPrefix.Length..], $"'{t}'");
            if (parts.Count == modelAt + 2) version = parts[modelAt + 1];
            parts = parts.Take(modelAt).ToList();
        }
        var remote = new ArtifactRemote { Connection = connection ?? new S3Connection(), Bucket = bucket, Prefix = string.Join('/', parts) };
        remote.Validate();
        return (remote, model, version);
    }

    /// <summary>Checks bucket, prefix and settings; throws MessException naming the bad value.</summary>
    public void Validate()
    {
        Connection.Validate();
        if (Bucket.Length is < 3 or > 255 || !Bucket.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
            throw new MessException(MessErrorIds.InvalidBucketName, MessErrorKind.InvalidArgument, $"'{Artifacts.SafePath.Printable(Bucket)}' is not a valid bucket name.", Bucket);
        if (Prefix.StartsWith('/') || Prefix.EndsWith('/') || Prefix.Contains("//") || Prefix.Any(char.IsControl) || Prefix.Split('/').Any(s => s is "." or ".."))
            throw new MessException(MessErrorIds.InvalidPrefix, MessErrorKind.InvalidArgument, $"The prefix '{Artifacts.SafePath.Printable(Prefix)}' must be key segments separated by '/', without leading or trailing '/', '.' or '..'.", Prefix);
        if (ThrottleLimit < 1 || PartConcurrency < 1 || PartSize < (5L << 20) || MultipartThreshold < PartSize || RangeSize < (1L << 20))
            throw new MessException(MessErrorIds.InvalidTransferSettings, MessErrorKind.InvalidArgument, "ThrottleLimit and PartConcurrency must be at least 1, PartSize at least 5 MiB, MultipartThreshold at least PartSize and RangeSize at least 1 MiB.");
    }

    /// <summary>"&lt;prefix&gt;/v1_model_&lt;model&gt;/" (or "v1_model_&lt;model&gt;/" without a prefix).</summary>
    public string ModelKey(string model) => (Prefix.Length == 0 ? "" : Prefix + "/") + ArtifactLayout.ModelFolder(model) + "/";
    public string PointerKey(string model) => ModelKey(model) + "latest.json";
    public string ManifestKey(string model, string versionId) => ModelKey(model) + versionId + "/manifest.json";
    public string BlobPrefix(string model) => ModelKey(model) + "blobs/sha256/";
    public string BlobKey(string model, string sha256) => BlobPrefix(model) + sha256;
    public string Uri(string key = "") => $"s3://{Bucket}/{key}";
    /// <summary>s3://bucket/prefix, for messages.</summary>
    public string Display => $"s3://{Bucket}/{Prefix}";
}

/// <summary>Progress of a publish or import, reported from worker threads.</summary>
public readonly record struct ArtifactProgress(string Phase, int FilesDone, int FilesTotal, long BytesDone, long BytesTotal, string? CurrentFile);
