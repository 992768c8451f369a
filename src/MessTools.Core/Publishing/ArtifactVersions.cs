using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Publishing;

/// <summary>One published version, as Get-MessArtifactVersion lists it.</summary>
public sealed class ArtifactVersionInfo
{
    public string Model { get; init; } = "";
    public string VersionId { get; init; } = "";
    /// <summary>The pointer (latest.json) names this version.</summary>
    public bool IsLatest { get; init; }
    /// <summary>When its manifest was written (the version became visible).</summary>
    public DateTime? PublishedUtc { get; init; }
    public int Files { get; init; }
    public long Bytes { get; init; }
    public string ModuleVersion { get; init; } = "";
    public string Uri { get; init; } = "";
}

/// <summary>Lists the published models and versions under a bucket and prefix (the Core entry point of Get-MessArtifactVersion).</summary>
public static class ArtifactVersions
{
    /// <summary>Every version of <paramref name="model"/> (all models when null), newest first within a model.</summary>
    public static async Task<IReadOnlyList<ArtifactVersionInfo>> ListAsync(ArtifactRemote remote, string? model = null, CancellationToken ct = default)
    {
        using var bucket = new ArtifactBucket(remote);
        var models = new List<string>();
        if (model is not null) models.Add(ArtifactSelection.RequireModelName(model, "Get-MessArtifactVersion"));
        else
        {
            string root = remote.Prefix.Length == 0 ? "" : remote.Prefix + "/";
            var (_, folders) = await bucket.ListAsync(root, foldersOnly: true, ct).ConfigureAwait(false);
            foreach (var f in folders)
            {
                string name = f[root.Length..].TrimEnd('/');
                if (ArtifactLayout.ModelOfFolder(name) is { } m) models.Add(m);
            }
        }
        var result = new List<ArtifactVersionInfo>();
        foreach (string m in models.OrderBy(x => x, StringComparer.Ordinal))
        {
            string modelKey = remote.ModelKey(m);
            var (objects, _) = await bucket.ListAsync(modelKey, foldersOnly: false, ct).ConfigureAwait(false);
            var pointerBytes = await bucket.TryGetBytesAsync(remote.PointerKey(m), ct).ConfigureAwait(false);
            string? latest = pointerBytes is null ? null : ArtifactPublisher.ReadPointer(pointerBytes)?.VersionId;
            var versions = new List<ArtifactVersionInfo>();
            foreach (var o in objects.Where(o => o.Key.EndsWith("/manifest.json", StringComparison.Ordinal)))
            {
                string id = o.Key[modelKey.Length..^"/manifest.json".Length];
                if (!ArtifactImporter.IsVersionId(id)) continue;
                ArtifactManifest? manifest = null;
                if (await bucket.TryGetBytesAsync(o.Key, ct).ConfigureAwait(false) is { } bytes)
                {
                    try { manifest = ArtifactManifest.Parse(bytes, remote.Uri(o.Key), m, id); }
                    catch (MessException) { continue; } // not a valid version: not listed
                }
                if (manifest is null) continue;
                versions.Add(new ArtifactVersionInfo
                {
                    Model = m, VersionId = id, IsLatest = id == latest, PublishedUtc = o.LastModified?.ToUniversalTime(),
                    Files = manifest.Files.Count, Bytes = manifest.TotalBytes, ModuleVersion = manifest.ModuleVersion,
                    Uri = remote.Uri(modelKey + id + "/"),
                });
            }
            result.AddRange(versions.OrderByDescending(v => v.PublishedUtc).ThenBy(v => v.VersionId, StringComparer.Ordinal));
        }
        return result;
    }
}
