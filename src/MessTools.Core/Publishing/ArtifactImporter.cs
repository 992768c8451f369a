using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Publishing;

/// <summary>What to import.</summary>
public sealed class ImportRequest
{
    public string Model { get; init; } = "";
    /// <summary>"latest" (the pointer) or a version id.</summary>
    public string Version { get; init; } = "latest";
    /// <summary>The local artifact folder that receives the version.</summary>
    public string ArtifactPath { get; init; } = "";
    /// <summary>How long to wait for another writer of the folder (zero: refuse at once).</summary>
    public TimeSpan LockTimeout { get; init; }
}

/// <summary>What an import did.</summary>
public sealed class ImportResult
{
    public string Model { get; init; } = "";
    public string VersionId { get; init; } = "";
    public string Uri { get; init; } = "";
    public string ArtifactPath { get; init; } = "";
    public int Files { get; init; }
    public long Bytes { get; init; }
    public int DownloadedFiles { get; init; }
    public long DownloadedBytes { get; init; }
    /// <summary>Files already present locally with the right SHA-256 (not downloaded again).</summary>
    public int ReusedFiles { get; init; }
    public ArtifactManifest Manifest { get; init; } = new();
}

/// <summary>
/// Imports a published version into a local artifact folder (the Core entry point of Import-MessArtifact, the server's
/// s3:// artifact path and the SHARDS merge). Every file is downloaded into a staging folder beside the target
/// (.&lt;name&gt;.messimport) and its SHA-256 checked against the manifest; files already present (in the target or a
/// staging folder a killed import left) with the right hash are reused, not downloaded. Only when every file is verified is the
/// staging folder swapped with the target in one rename, so a reader sees the old set or the new one. Local parts the
/// published set does not own (audio_cache, audio_wav, cache, other folders) are carried over from the old folder; its run
/// records that are not the version's move to superseded_runs/, so runs/ says which runs made the files it sits beside. A mismatch, a missing object or a too-new manifest is an error naming the file; nothing is swapped.
/// </summary>
public static class ArtifactImporter
{
    /// <summary>Where an import puts the run records of the folder it replaced (never published).</summary>
    public const string SupersededRunsFolder = "superseded_runs";

    /// <summary>Reads and checks the manifest of <paramref name="version"/> ("latest" follows the pointer).</summary>
    public static async Task<ArtifactManifest> GetManifestAsync(ArtifactRemote remote, string model, string version = "latest", CancellationToken ct = default)
    {
        using var bucket = new ArtifactBucket(remote);
        return await GetManifestAsync(bucket, model, version, ct).ConfigureAwait(false);
    }

    private static async Task<ArtifactManifest> GetManifestAsync(ArtifactBucket bucket, string model, string version, CancellationToken ct)
    {
        var remote = bucket.Remote;
        ArtifactSelection.RequireModelName(model, "Import");
        string versionId = version;
        if (string.Equals(version, "latest", StringComparison.OrdinalIgnoreCase))
        {
            var bytes = await bucket.TryGetBytesAsync(remote.PointerKey(model), ct).ConfigureAwait(false)
                ?? throw new MessException(MessErrorIds.ArtifactVersionNotFound, MessErrorKind.ObjectNotFound,
                    $"No version of model '{model}' is published under {remote.Display} ({remote.Uri(remote.PointerKey(model))} does not exist). Bucket '{remote.Bucket}', prefix '{remote.Prefix}'.", remote.Display);
            var pointer = ArtifactPublisher.ReadPointer(bytes);
            if (pointer is null || pointer.FormatVersion > ArtifactManifest.CurrentFormatVersion || pointer.Model != model || !IsVersionId(pointer.VersionId))
                throw new MessException(pointer?.FormatVersion > ArtifactManifest.CurrentFormatVersion ? MessErrorIds.ArtifactManifestTooNew : MessErrorIds.ArtifactPointerInvalid, MessErrorKind.InvalidData,
                    $"The pointer {remote.Uri(remote.PointerKey(model))} is not a valid format-{ArtifactManifest.CurrentFormatVersion} pointer of model '{model}'.", remote.PointerKey(model));
            versionId = pointer.VersionId;
        }
        else if (!IsVersionId(version))
            throw new MessException(MessErrorIds.InvalidVersionId, MessErrorKind.InvalidArgument, $"'{SafePath.Printable(version)}' is not 'latest' or a version id (v + 20 hex digits).", version);
        string key = remote.ManifestKey(model, versionId);
        var manifest = await bucket.TryGetBytesAsync(key, ct).ConfigureAwait(false)
            ?? throw new MessException(MessErrorIds.ArtifactVersionNotFound, MessErrorKind.ObjectNotFound,
                $"Version '{versionId}' of model '{model}' does not exist: {remote.Uri(key)} is missing. Bucket '{remote.Bucket}', prefix '{remote.Prefix}'.", key);
        return ArtifactManifest.Parse(manifest, remote.Uri(key), model, versionId);
    }

    /// <summary>The import itself; the caller (<see cref="Jobs.ImportJob"/>) holds the target folder's writer lock.</summary>
    internal static async Task<ImportResult> ImportAsync(ArtifactRemote remote, ImportRequest request, IProgress<ArtifactProgress>? progress = null, CancellationToken ct = default)
    {
        string target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(request.ArtifactPath));
        string parent = Path.GetDirectoryName(target) ?? throw new MessException(MessErrorIds.ArtifactPathInvalid, MessErrorKind.InvalidArgument, $"'{target}' has no parent folder.", target);
        using var bucket = new ArtifactBucket(remote);
        var manifest = await GetManifestAsync(bucket, request.Model, request.Version, ct).ConfigureAwait(false);

        Directory.CreateDirectory(parent);
        string staging = Path.Combine(parent, "." + Path.GetFileName(target) + ".messimport");
        Directory.CreateDirectory(staging);
        long total = manifest.TotalBytes, done = 0, downloadedBytes = 0;
        int filesDone = 0, downloaded = 0, reused = 0;
        void Report(string file) => progress?.Report(new ArtifactProgress("Downloading", Volatile.Read(ref filesDone), manifest.Files.Count, Volatile.Read(ref done), total, file));

        await Parallel.ForEachAsync(manifest.Files, new ParallelOptions { MaxDegreeOfParallelism = remote.ThrottleLimit, CancellationToken = ct }, async (e, c) =>
        {
            string segs = e.Path;
            string dest = SafePath.Combine(staging, segs.Split('/'));
            string current = SafePath.Combine(target, segs.Split('/'));
            if (await HasContentAsync(dest, e, c).ConfigureAwait(false)) Interlocked.Increment(ref reused);
            else if (await HasContentAsync(current, e, c).ConfigureAwait(false)) { FolderSwap.LinkOrCopy(current, dest); Interlocked.Increment(ref reused); }
            else
            {
                await bucket.DownloadFileAsync(remote.BlobKey(manifest.Model, e.Sha256), e, dest, n =>
                {
                    Interlocked.Add(ref done, n);
                    Interlocked.Add(ref downloadedBytes, n);
                    Report(e.Path);
                }, c).ConfigureAwait(false);
                Interlocked.Increment(ref downloaded);
                Interlocked.Add(ref done, -e.Size); // counted again below with the reused files
            }
            Interlocked.Add(ref done, e.Size);
            Interlocked.Increment(ref filesDone);
            Report(e.Path);
        }).ConfigureAwait(false);

        // Leftovers of another version's attempt in the folders the set owns do not belong in it; anything else there is
        // an old folder's local part (a kill between the swap and the carry-over) and is kept.
        var wanted = new HashSet<string>(manifest.Files.Select(f => Path.Combine(staging, f.Path.Replace('/', Path.DirectorySeparatorChar))), StringComparer.Ordinal);
        var owned = OwnedFolders(manifest);
        foreach (var f in Directory.EnumerateFiles(staging, "*", SearchOption.AllDirectories))
            if (!wanted.Contains(f) && owned.Contains(Path.GetRelativePath(staging, f).Split(Path.DirectorySeparatorChar)[0])) File.Delete(f);
        ct.ThrowIfCancellationRequested();

        // The writer lock lives in the folder: the new folder gets the same lock file (a hard link to the locked inode), so
        // the lock still covers the target after the swap and no other writer slips in before it is released.
        FolderSwap.CarryLock(target, staging);
        FaultInjection.Hit("import.before-swap");
        FolderSwap.Exchange(staging, target);
        if (Directory.Exists(staging))
        {
            CarryOver(staging, target, manifest);
            Directory.Delete(staging, recursive: true);
        }
        // Every file of the version is in place (each was hashed before the swap; the writer lock keeps the folder still).
        foreach (var e in manifest.Files)
        {
            var fi = new FileInfo(SafePath.Combine(target, e.Path.Split('/')));
            if (!fi.Exists || fi.Length != e.Size)
                throw new MessException(MessErrorIds.ArtifactImportIncomplete, MessErrorKind.InvalidData,
                    $"After the import of {manifest.Model} {manifest.VersionId}, '{fi.FullName}' is {(fi.Exists ? $"{fi.Length:N0} bytes instead of {e.Size:N0}" : "missing")}: another writer changed the folder. Import again.", fi.FullName);
        }
        return new ImportResult
        {
            Model = manifest.Model, VersionId = manifest.VersionId, Uri = remote.Uri(remote.ModelKey(manifest.Model) + manifest.VersionId + "/"),
            ArtifactPath = target, Files = manifest.Files.Count, Bytes = manifest.TotalBytes,
            DownloadedFiles = downloaded, DownloadedBytes = Volatile.Read(ref downloadedBytes), ReusedFiles = reused, Manifest = manifest,
        };
    }

    /// <summary>Moves what the published set does not own from the old folder into the new one (renames, no copies).</summary>
    private static void CarryOver(string oldRoot, string newRoot, ArtifactManifest manifest)
    {
        var owned = OwnedFolders(manifest);
        foreach (var entry in new DirectoryInfo(oldRoot).EnumerateFileSystemInfos())
        {
            string dest = Path.Combine(newRoot, entry.Name);
            if (entry.Name == ArtifactSelection.RunsFolder && entry is DirectoryInfo runs)
            {
                // runs/ now holds the version's own run records, so the next publish's provenance is true; the folder's
                // earlier records (the runs that made the replaced files) are kept aside, never published.
                string aside = Path.Combine(newRoot, SupersededRunsFolder);
                foreach (var r in runs.EnumerateFiles())
                {
                    if (File.Exists(Path.Combine(dest, r.Name))) continue;
                    Directory.CreateDirectory(aside);
                    if (!File.Exists(Path.Combine(aside, r.Name))) r.MoveTo(Path.Combine(aside, r.Name));
                }
                continue;
            }
            if (owned.Contains(entry.Name) || Path.Exists(dest)) continue;
            if (entry is DirectoryInfo d) d.MoveTo(dest); else ((FileInfo)entry).MoveTo(dest);
        }
    }

    /// <summary>The top-level folders an imported version replaces whole (runs/ is merged file by file instead).</summary>
    private static HashSet<string> OwnedFolders(ArtifactManifest manifest)
    {
        var owned = new HashSet<string>(ArtifactSelection.DataFolders, StringComparer.Ordinal);
        foreach (var f in manifest.Files) owned.Add(f.Path.Split('/')[0]);
        owned.Remove(ArtifactSelection.RunsFolder);
        return owned;
    }

    private static async Task<bool> HasContentAsync(string path, ArtifactFileEntry e, CancellationToken ct)
    {
        var fi = new FileInfo(path);
        if (!fi.Exists || fi.Length != e.Size) return false;
        try { return await ArtifactBucket.HashFileAsync(path, null, ct).ConfigureAwait(false) == e.Sha256; }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    internal static bool IsVersionId(string? s) => s is { Length: 21 } && s[0] == 'v' && s[1..].All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
