using MessTools.Core.Common;

namespace MessTools.Core.Artifacts;

/// <summary>
/// One versioned artifact folder (artifacts/v1_model_&lt;MODEL&gt;/) and where each stage's files live in it:
/// metadata/, audio_cache/&lt;album_id&gt;/, audio_wav/, embeddings/, index/, eval/, runs/ and cache/.
/// Every path built from data goes through <see cref="SafePath"/>.
/// </summary>
public sealed class ArtifactStore
{
    public const string EnvironmentVariable = "MESS_ARTIFACT_PATH";
    public const string DefaultModel = "builtin";

    public string Root { get; }

    public ArtifactStore(string root)
    {
        if (string.IsNullOrWhiteSpace(root))
            throw new MessException(MessErrorIds.ArtifactPathEmpty, MessErrorKind.InvalidArgument, "The artifact path is empty.");
        Root = Path.GetFullPath(root);
    }

    /// <summary>
    /// The folder a run uses: the explicit path, else $env:MESS_ARTIFACT_PATH, else
    /// &lt;currentDirectory&gt;/artifacts/v1_model_&lt;model&gt;.
    /// </summary>
    public static ArtifactStore Resolve(string? explicitPath, string currentDirectory, string? model = null)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath))
            return new ArtifactStore(Path.IsPathRooted(explicitPath) ? explicitPath : Path.Combine(currentDirectory, explicitPath));
        string? env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env))
            return new ArtifactStore(Path.IsPathRooted(env) ? env : Path.Combine(currentDirectory, env));
        return new ArtifactStore(Path.Combine(currentDirectory, "artifacts", SafePath.ModelFolderName(model ?? DefaultModel)));
    }

    /// <summary>
    /// Where a model's embeddings go when the tracks came from <paramref name="trackFolder"/>: that folder itself, unless
    /// it is another model's default folder (v1_model_&lt;other&gt;), whose sibling v1_model_&lt;model&gt; then takes them,
    /// so each model keeps a folder of its own.
    /// </summary>
    public static string FolderForModel(string trackFolder, string model)
    {
        string full = Path.GetFullPath(trackFolder).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        string name = Path.GetFileName(full);
        string own = SafePath.ModelFolderName(model);
        if (!ArtifactLayout.IsModelFolder(name) || name == own) return full;
        return Path.Combine(Path.GetDirectoryName(full) ?? full, own);
    }

    /// <summary>
    /// True for a file that is a run's working state, never part of an artifact set that is published, imported, merged
    /// or described by a manifest: hidden files (the writer lock and its holder, temporaries of atomic writes) and the
    /// embedding journal, which exists only while a run has tracks not yet saved.
    /// </summary>
    public static bool IsWorkingFile(string fileName) =>
        fileName.StartsWith('.') || fileName.EndsWith(AtomicFileWriter.TempSuffix, StringComparison.Ordinal) ||
        fileName == ArtifactLayout.JournalFileName;

    public string MetadataDir => Path.Combine(Root, ArtifactLayout.MetadataFolder);
    public string MetadataCsv => Path.Combine(MetadataDir, ArtifactLayout.MetadataFileName);
    public string AudioCacheDir => Path.Combine(Root, ArtifactLayout.AudioCacheFolder);
    public string AudioWavDir => Path.Combine(Root, ArtifactLayout.AudioWavFolder);
    public string EmbeddingsDir => Path.Combine(Root, ArtifactLayout.EmbeddingsFolder);
    public string EmbeddingsFile => Path.Combine(EmbeddingsDir, ArtifactLayout.EmbeddingsFileName);
    public string TrackIdsFile => Path.Combine(EmbeddingsDir, ArtifactLayout.TrackIdsFileName);
    public string EmbeddingsMetaFile => Path.Combine(EmbeddingsDir, ArtifactLayout.EmbeddingsMetaFileName);
    public string IndexDir => Path.Combine(Root, ArtifactLayout.IndexFolder);
    public string HnswIndexFile => Path.Combine(IndexDir, ArtifactLayout.HnswIndexFileName);
    public string FlatIndexFile => Path.Combine(IndexDir, ArtifactLayout.FlatIndexFileName);
    public string IndexMetaFile => Path.Combine(IndexDir, ArtifactLayout.IndexMetaFileName);
    public string TrackTableFile => Path.Combine(IndexDir, ArtifactLayout.TrackTableFileName);


    /// <summary>The index file a query opens: hnsw.index if present, else flat.index.</summary>
    public string PrimaryIndexFile()
    {
        if (File.Exists(HnswIndexFile)) return HnswIndexFile;
        if (File.Exists(FlatIndexFile)) return FlatIndexFile;
        throw new MessException(MessErrorIds.IndexMissing, MessErrorKind.ObjectNotFound,
            $"There is no index in '{IndexDir}'. Run New-MessIndex first.", IndexDir);
    }
    public string EvalDir => Path.Combine(Root, ArtifactLayout.EvalFolder);
    public string EvalResultsFile => Path.Combine(EvalDir, ArtifactLayout.EvalResultsFileName);
    public string RunsDir => Path.Combine(Root, ArtifactLayout.RunsFolder);
    /// <summary>What can be regenerated; <c>Clear-MessCache</c> empties it.</summary>
    public string CacheDir => Path.Combine(Root, ArtifactLayout.CacheFolder);

    /// <summary>audio_cache/&lt;album_id&gt;/&lt;track_id&gt;&lt;extension&gt;, refusing ids that would leave the folder.</summary>
    public string AudioCachePath(string albumId, string trackId, string extension)
    {
        SafePath.RequireSegment(albumId, "Album id");
        SafePath.RequireSegment(trackId, "Track id");
        return SafePath.Combine(AudioCacheDir, albumId, trackId + NormaliseExtension(extension));
    }

    /// <summary>audio_wav/&lt;track_id&gt;.wav.</summary>
    public string WavPath(string trackId)
    {
        SafePath.RequireSegment(trackId, "Track id");
        return SafePath.Combine(AudioWavDir, trackId + ".wav");
    }

    private static string NormaliseExtension(string extension)
    {
        if (string.IsNullOrEmpty(extension)) return "";
        string ext = extension.StartsWith('.') ? extension : "." + extension;
        if (ext.Length > 12 || ext[1..].Any(c => !char.IsAsciiLetterOrDigit(c)))
            throw new MessException(MessErrorIds.UnsafeExtension, MessErrorKind.InvalidData,
                $"The file extension '{SafePath.Printable(extension)}' is not a plain extension.", extension);
        return ext.ToLowerInvariant();
    }

    public void EnsureCreated() => Directory.CreateDirectory(Root);
}
