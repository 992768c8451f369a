namespace MessTools.Core.Artifacts;

/// <summary>
/// The one owner of the artifact folder's file and folder names and of the <c>v1_model_&lt;MODEL&gt;</c> rule. Every
/// other type asks here (or through <see cref="ArtifactStore"/>'s paths, built from these names) instead of spelling a
/// name itself, so a name changes in one place.
/// </summary>
public static class ArtifactLayout
{
    /// <summary>The prefix of a model's default folder and of its S3 key folder: v1_model_&lt;MODEL&gt;.</summary>
    public const string ModelFolderPrefix = "v1_model_";

    public const string MetadataFolder = "metadata";
    public const string MetadataFileName = "tracks_metadata.csv";
    public const string AudioCacheFolder = "audio_cache";
    public const string AudioWavFolder = "audio_wav";
    public const string EmbeddingsFolder = "embeddings";
    public const string EmbeddingsFileName = "embeddings.f32";
    public const string TrackIdsFileName = "track_ids.json";
    public const string EmbeddingsMetaFileName = "embeddings_meta.json";
    /// <summary>The embedding journal: tracks embedded but not yet saved in the set (a run's working state).</summary>
    public const string JournalFileName = "journal.bin";
    public const string IndexFolder = "index";
    public const string HnswIndexFileName = "hnsw.index";
    public const string FlatIndexFileName = "flat.index";
    public const string IndexMetaFileName = "index_meta.json";
    /// <summary>The metadata's served columns in binary, made by New-MessIndex for fast loads (see Index.TrackTableFile).</summary>
    public const string TrackTableFileName = "track_table.bin";
    public const string EvalFolder = "eval";
    public const string EvalResultsFileName = "eval_results.json";
    public const string RunsFolder = "runs";
    public const string CacheFolder = "cache";

    /// <summary>v1_model_&lt;name&gt; for a name that is already safe (see <see cref="SafePath.ModelFolderName"/> for any model name).</summary>
    public static string ModelFolder(string safeModelName) => ModelFolderPrefix + safeModelName;

    /// <summary>The model of a v1_model_&lt;MODEL&gt; folder or key segment; null for any other name.</summary>
    public static string? ModelOfFolder(string? name) =>
        name is not null && name.StartsWith(ModelFolderPrefix, StringComparison.Ordinal) && name.Length > ModelFolderPrefix.Length
            ? name[ModelFolderPrefix.Length..] : null;

    /// <summary>True when <paramref name="name"/> is some model's default folder name.</summary>
    public static bool IsModelFolder(string? name) => ModelOfFolder(name) is not null;

    /// <summary>The models whose v1_model_&lt;MODEL&gt; folders are directly under <paramref name="root"/>, in ordinal order.</summary>
    public static IReadOnlyList<string> ModelsUnder(string root) =>
        Directory.Exists(root)
            ? Directory.EnumerateDirectories(root, ModelFolderPrefix + "*").Select(d => ModelOfFolder(Path.GetFileName(d))).OfType<string>().Order(StringComparer.Ordinal).ToList()
            : Array.Empty<string>();

    /// <summary>True when <paramref name="root"/> holds a stage's output (metadata, embeddings or an index): one model's folder.</summary>
    public static bool HoldsArtifacts(string root) =>
        new[] { MetadataFolder, EmbeddingsFolder, IndexFolder }.Any(f => Directory.Exists(Path.Combine(root, f)));
}
