using System.Collections.Concurrent;
using MessTools.Core.Common;

namespace MessTools.Core.Publishing;

/// <summary>What to publish.</summary>
public sealed class PublishRequest
{
    /// <summary>The local artifact folder (artifacts/v1_model_&lt;MODEL&gt;).</summary>
    public string ArtifactPath { get; init; } = "";
    /// <summary>The model the version is published under; null: detected (<see cref="ArtifactSelection.DetectModel"/>).</summary>
    public string? Model { get; init; }
    /// <summary>Also publish audio_cache/ and audio_wav/.</summary>
    public bool IncludeAudio { get; init; }
    public ArtifactEncryption Encryption { get; init; } = new();
    /// <summary>Plan only: hash, compare with the bucket, upload nothing (the result lists what would be uploaded).</summary>
    public bool DryRun { get; init; }
    /// <summary>How long to wait for a writer of the folder to finish (zero: refuse at once).</summary>
    public TimeSpan LockTimeout { get; init; }
}

/// <summary>What a publish did (or, with DryRun, would do).</summary>
public sealed class PublishResult
{
    public string Model { get; init; } = "";
    public string VersionId { get; init; } = "";
    /// <summary>s3://bucket/prefix/v1_model_&lt;MODEL&gt;/&lt;version-id&gt;/ (its manifest.json lists the files).</summary>
    public string Uri { get; init; } = "";
    public int Files { get; init; }
    public long Bytes { get; init; }
    /// <summary>Files whose bytes were uploaded (would be, with DryRun).</summary>
    public int UploadedFiles { get; init; }
    public long UploadedBytes { get; init; }
    /// <summary>Files whose bytes were already in the bucket (same SHA-256).</summary>
    public int PresentFiles { get; init; }
    /// <summary>The version was already complete (its manifest existed): nothing but perhaps the pointer was written.</summary>
    public bool AlreadyPublished { get; init; }
    public bool ManifestUploaded { get; init; }
    public bool PointerUpdated { get; init; }
    public bool DryRun { get; init; }
    /// <summary>The files that were (or would be) uploaded.</summary>
    public IReadOnlyList<ArtifactFileEntry> Uploads { get; init; } = Array.Empty<ArtifactFileEntry>();
    public ArtifactManifest Manifest { get; init; } = new();
}

/// <summary>
/// Publishes an artifact folder as one immutable version (the Core entry point of Publish-MessArtifact and the SHARDS helper).
/// Order: hash every file; upload the bytes the bucket lacks (content-addressed blobs, in parallel, multipart when large,
/// SHA-256 checked by S3); then the version's manifest.json; then latest.json. A run killed at any moment leaves the previous
/// pointer naming a complete version; a rerun uploads only what is missing. The same content gives the same version id, so a
/// republish without change uploads nothing.
/// </summary>
public static class ArtifactPublisher
{
    /// <summary>The publish itself; <see cref="Jobs.PublishJob"/> holds the folder's writer lock around it.</summary>
    public static async Task<PublishResult> PublishAsync(ArtifactRemote remote, PublishRequest request, IProgress<ArtifactProgress>? progress = null, CancellationToken ct = default)
    {
        request.Encryption.Validate();
        string root = Path.GetFullPath(request.ArtifactPath);
        var files = ArtifactSelection.Collect(root, request.IncludeAudio);
        string model = request.Model ?? ArtifactSelection.DetectModel(root)
            ?? throw new MessException(MessErrorIds.ArtifactModelUnknown, MessErrorKind.InvalidArgument,
                $"The model of '{root}' cannot be told (no embeddings/embeddings_meta.json, and the folder is not named v1_model_<MODEL>): pass -Model.", root);
        ArtifactSelection.RequireModelName(model, "Publish");
        if (files.Count == 0)
            throw new MessException(MessErrorIds.ArtifactSetEmpty, MessErrorKind.InvalidData, $"'{root}' holds no files to publish (metadata, embeddings, index, eval, runs).", root);

        using var bucket = new ArtifactBucket(remote);
        // Fail early on a missing bucket or a denied prefix, before hashing gigabytes.
        var existingTask = bucket.ListAsync(remote.BlobPrefix(model), foldersOnly: false, ct);

        long totalBytes = files.Sum(f => f.Size), hashed = 0;
        int hashedFiles = 0;
        var entries = new ArtifactFileEntry[files.Count];
        await Parallel.ForAsync(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Min(remote.ThrottleLimit, Environment.ProcessorCount), CancellationToken = ct }, async (i, c) =>
        {
            var (rel, full, _) = files[i];
            long size = 0;
            string sha;
            try
            {
                sha = await ArtifactBucket.HashFileAsync(full, n =>
                {
                    size += n;
                    progress?.Report(new ArtifactProgress("Hashing", Volatile.Read(ref hashedFiles), files.Count, Interlocked.Add(ref hashed, n), totalBytes, rel));
                }, c).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw new MessException(MessErrorIds.ArtifactFileUnreadable, MessErrorKind.ReadError, $"The file '{full}' cannot be read: {ex.Message}", full, ex);
            }
            entries[i] = new ArtifactFileEntry { Path = rel, Size = size, Sha256 = sha };
            Interlocked.Increment(ref hashedFiles);
        }).ConfigureAwait(false);

        FaultInjection.Hit("publish.hashed");
        var manifest = ArtifactManifest.Create(model, entries);
        FaultInjection.Hit("publish.hashed");
        string manifestKey = remote.ManifestKey(model, manifest.VersionId);
        string versionUri = remote.Uri(remote.ModelKey(model) + manifest.VersionId + "/");

        var (existing, _) = await existingTask.ConfigureAwait(false);
        var present = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var o in existing) present[o.Key] = o.Size ?? -1;
        bool manifestThere = await bucket.TryGetBytesAsync(manifestKey, ct).ConfigureAwait(false) is { } mbytes
                             && TryParse(mbytes, manifestKey, model, manifest.VersionId);

        // One upload per distinct content. A blob that is there is checked by content, not by its presence or size alone
        // (ArtifactBucket.HoldsContentAsync): one that does not hold its key's bytes is uploaded again, which repairs a
        // version an earlier release published from a folder that changed under it.
        var distinct = manifest.Files.DistinctBy(e => e.Sha256).ToList();
        var sound = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(distinct.Where(e => present.TryGetValue(remote.BlobKey(model, e.Sha256), out long sz) && sz == e.Size),
            new ParallelOptions { MaxDegreeOfParallelism = remote.ThrottleLimit, CancellationToken = ct }, async (e, c) =>
            {
                if (await bucket.HoldsContentAsync(remote.BlobKey(model, e.Sha256), e, mark: !request.DryRun, request.Encryption, c).ConfigureAwait(false))
                    sound[e.Sha256] = true;
            }).ConfigureAwait(false);
        var uploads = distinct.Where(e => !sound.ContainsKey(e.Sha256)).ToList();
        int presentFiles = manifest.Files.Count - uploads.Count;
        var pointerBytes = await bucket.TryGetBytesAsync(remote.PointerKey(model), ct).ConfigureAwait(false);
        bool pointerCurrent = pointerBytes is not null && ReadPointer(pointerBytes)?.VersionId == manifest.VersionId;

        PublishResult Result(bool manifestUploaded, bool pointerUpdated) => new()
        {
            Model = model, VersionId = manifest.VersionId, Uri = versionUri, Files = manifest.Files.Count, Bytes = manifest.TotalBytes,
            UploadedFiles = uploads.Count, UploadedBytes = uploads.Sum(u => u.Size), PresentFiles = presentFiles,
            AlreadyPublished = manifestThere, ManifestUploaded = manifestUploaded, PointerUpdated = pointerUpdated,
            DryRun = request.DryRun, Uploads = uploads, Manifest = manifest,
        };
        if (request.DryRun) return Result(!manifestThere, !pointerCurrent);

        var fullPaths = files.ToDictionary(f => f.RelativePath, f => f.FullPath, StringComparer.Ordinal);
        long uploadTotal = uploads.Sum(u => u.Size), sent = 0;
        int doneFiles = 0;
        await Parallel.ForEachAsync(uploads, new ParallelOptions { MaxDegreeOfParallelism = remote.ThrottleLimit, CancellationToken = ct }, async (e, c) =>
        {
            await bucket.UploadFileAsync(remote.BlobKey(model, e.Sha256), fullPaths[e.Path], e.Sha256, e.Size, request.Encryption,
                n => progress?.Report(new ArtifactProgress("Uploading", Volatile.Read(ref doneFiles), uploads.Count, Interlocked.Add(ref sent, n), uploadTotal, e.Path)), c).ConfigureAwait(false);
            Interlocked.Increment(ref doneFiles);
            progress?.Report(new ArtifactProgress("Uploading", Volatile.Read(ref doneFiles), uploads.Count, Volatile.Read(ref sent), uploadTotal, e.Path));
        }).ConfigureAwait(false);

        // Only now is every byte in place: the manifest makes the version exist, then the pointer names it.
        if (!manifestThere) await bucket.PutBytesAsync(manifestKey, manifest.ToBytes(), request.Encryption, ct).ConfigureAwait(false);
        if (!pointerCurrent)
        {
            var pointer = new ArtifactPointer { Model = model, VersionId = manifest.VersionId, Manifest = manifestKey, PublishedUtc = DateTime.UtcNow };
            await bucket.PutBytesAsync(remote.PointerKey(model), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(pointer, Artifacts.ArtifactJson.Options), request.Encryption, ct).ConfigureAwait(false);
        }
        return Result(!manifestThere, !pointerCurrent);
    }

    private static bool TryParse(byte[] bytes, string key, string model, string versionId)
    {
        try { ArtifactManifest.Parse(bytes, key, model, versionId); return true; }
        catch (MessException) { return false; } // a damaged manifest is replaced
    }

    internal static ArtifactPointer? ReadPointer(byte[] bytes)
    {
        try { return System.Text.Json.JsonSerializer.Deserialize<ArtifactPointer>(bytes, Artifacts.ArtifactJson.Options); }
        catch (System.Text.Json.JsonException) { return null; }
    }
}
