using System.Security.Cryptography;
using System.Text.Json;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Embedding;

namespace MessTools.Core.Sharding;

/// <summary>
/// shards/&lt;i&gt;-of-&lt;n&gt;/embeddings/shard_manifest.json: what one shard holds (inside embeddings/, so it travels
/// with the embeddings when the shard is published to S3). Written by ConvertTo-MessEmbedding after the
/// shard's embeddings, last, so a shard with a manifest is complete. Holds no timestamps or run counts: a re-run
/// of the same shard writes the same bytes (what a run did is in the shard's runs/ folder).
/// </summary>
public sealed class ShardManifest
{
    public const string FileName = "shard_manifest.json";
    public const string CurrentFormat = "messtools-shard/1";

    public string Format { get; set; } = CurrentFormat;
    public int ShardIndex { get; set; }
    public int ShardCount { get; set; }
    /// <summary>How tracks are assigned to shards (<see cref="ShardSpec.HashName"/>).</summary>
    public string Hash { get; set; } = ShardSpec.HashName;
    public string Model { get; set; } = "";
    public string? ModelSha256 { get; set; }
    /// <summary>SHA-256 over the model's SHA-256 and its profile: shards merge only when it is the same.</summary>
    public string ModelKey { get; set; } = "";
    public JsonElement? Profile { get; set; }
    public int Dim { get; set; }
    /// <summary>The embedded tracks (rows of embeddings.f32), in row order.</summary>
    public List<string> TrackIds { get; set; } = new();
    /// <summary>Tracks of this shard that reached the embedding stage and failed there, with the error id (sorted by track id).</summary>
    public SortedDictionary<string, string> Failed { get; set; } = new(StringComparer.Ordinal);
    /// <summary>SHA-256 of every file of the shard's embeddings/ folder, by path relative to the shard folder ('/' separated).</summary>
    public SortedDictionary<string, string> Files { get; set; } = new(StringComparer.Ordinal);

    public ShardSpec Spec => new(ShardIndex, ShardCount);

    /// <summary>
    /// Writes the manifest of the shard set in <paramref name="shardStore"/> after <paramref name="run"/> saved its
    /// embeddings (or of an empty shard, when none of its tracks was embedded, so the merge can tell it ran).
    /// </summary>
    public static ShardManifest Write(ArtifactStore shardStore, ShardSpec spec, EmbeddingRun run) =>
        Write(shardStore, spec, run.ModelKey, run.Set.Count > 0, run.Failures, run.BuildMeta);

    /// <summary>As above, from the parts of a run: its model key, whether it saved rows, its failures and its model's description.</summary>
    internal static ShardManifest Write(ArtifactStore shardStore, ShardSpec spec, string modelKey, bool hasRows,
        IReadOnlyDictionary<string, string> failures, Func<EmbeddingsMeta> describeModel)
    {
        var m = new ShardManifest { ShardIndex = spec.Index, ShardCount = spec.Count, ModelKey = modelKey };
        if (hasRows && File.Exists(shardStore.EmbeddingsMetaFile))
        {
            var meta = ArtifactJson.Read<EmbeddingsMeta>(shardStore.EmbeddingsMetaFile);
            (m.Model, m.ModelSha256, m.Profile, m.Dim) = (meta.Model, meta.ModelSha256, meta.Profile, meta.Dim);
            m.TrackIds = EmbeddingMatrix.ReadTrackIds(shardStore.TrackIdsFile).ToList();
            foreach (var f in EmbeddingFiles(shardStore)) m.Files[Relative(shardStore, f)] = Sha256(f);
        }
        else
        {
            var meta = describeModel();
            (m.Model, m.ModelSha256, m.Profile) = (meta.Model, meta.ModelSha256, meta.Profile);
        }
        foreach (var (id, error) in failures) m.Failed[id] = error;
        foreach (var id in m.TrackIds) m.Failed.Remove(id); // embedded after all (an earlier run of the shard kept it)
        ArtifactJson.Write(PathIn(shardStore.Root), m);
        return m;
    }

    /// <summary>Deletes the shard's manifest (a run of the shard is starting: until it ends, the shard is incomplete).</summary>
    public static void Remove(ArtifactStore shardStore)
    {
        string path = PathIn(shardStore.Root);
        if (File.Exists(path)) File.Delete(path);
    }

    /// <summary>Reads and checks a shard folder's manifest; ShardManifestMissing / ShardManifestInvalid name the folder.</summary>
    public static ShardManifest Read(string shardFolder)
    {
        string path = PathIn(shardFolder);
        if (!File.Exists(path))
            throw new MessException(MessErrorIds.ShardManifestMissing, MessErrorKind.ObjectNotFound,
                $"'{shardFolder}' has no embeddings/{FileName}: the shard did not finish (re-run it) or the folder is not a shard.", shardFolder);
        ShardManifest m;
        try { m = ArtifactJson.Read<ShardManifest>(path); }
        catch (MessException ex) { throw new MessException(MessErrorIds.ShardManifestInvalid, MessErrorKind.InvalidData, ex.Message, path, ex); }
        if (m.Format != CurrentFormat)
            throw new MessException(MessErrorIds.ShardManifestInvalid, MessErrorKind.InvalidData, $"'{path}' is of format '{m.Format}', not {CurrentFormat}.", path);
        if (m.Hash != ShardSpec.HashName)
            throw new MessException(MessErrorIds.ShardManifestInvalid, MessErrorKind.InvalidData, $"'{path}' was split with '{m.Hash}', not {ShardSpec.HashName}.", path);
        try { _ = m.Spec; }
        catch (MessException ex) { throw new MessException(MessErrorIds.ShardManifestInvalid, MessErrorKind.InvalidData, $"'{path}': {ex.Message}", path, ex); }
        foreach (var rel in m.Files.Keys)
            if (rel.Split('/').Any(s => SafePath.Problem(s) is not null))
                throw new MessException(MessErrorIds.ShardManifestInvalid, MessErrorKind.InvalidData, $"'{path}' lists the file '{SafePath.Printable(rel)}', which is not a plain relative path.", path);
        return m;
    }

    /// <summary>Checks every file the manifest lists against its SHA-256; ShardFileMismatch names the file.</summary>
    public void Verify(string shardFolder)
    {
        foreach (var (rel, sha) in Files)
        {
            string f = SafePath.Combine(shardFolder, rel.Split('/'));
            if (!File.Exists(f))
                throw new MessException(MessErrorIds.ShardFileMismatch, MessErrorKind.InvalidData, $"'{f}' is listed in the {ToString()} manifest but missing.", f);
            string actual = Sha256(f);
            if (!string.Equals(actual, sha, StringComparison.OrdinalIgnoreCase))
                throw new MessException(MessErrorIds.ShardFileMismatch, MessErrorKind.InvalidData,
                    $"'{f}' has SHA-256 {actual[..12]}..., the {ToString()} manifest says {sha[..Math.Min(12, sha.Length)]}...: the shard was changed or copied incompletely.", f);
        }
    }

    public override string ToString() => $"shard {ShardIndex}-of-{ShardCount}";

    /// <summary>Where the manifest of the shard folder <paramref name="shardFolder"/> is.</summary>
    public static string PathIn(string shardFolder) => Path.Combine(shardFolder, "embeddings", FileName);

    private static IEnumerable<string> EmbeddingFiles(ArtifactStore store) =>
        Directory.EnumerateFiles(store.EmbeddingsDir, "*", SearchOption.TopDirectoryOnly)
            .Where(f => !ArtifactStore.IsWorkingFile(Path.GetFileName(f)) && Path.GetFileName(f) != FileName)
            .OrderBy(f => f, StringComparer.Ordinal);

    private static string Relative(ArtifactStore store, string file) => Path.GetRelativePath(store.Root, file).Replace('\\', '/');

    private static string Sha256(string file)
    {
        using var fs = File.OpenRead(file);
        return Convert.ToHexString(SHA256.HashData(fs)).ToLowerInvariant();
    }
}
