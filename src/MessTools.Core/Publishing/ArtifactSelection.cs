using System.Text.RegularExpressions;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Publishing;

/// <summary>
/// Which files of an artifact folder make up its published set: metadata/, embeddings/ (segments and .npy included),
/// index/, eval/ and runs/ (the last completed run record of each stage, the one that made its files; failed and stopped
/// runs, earlier runs and Publish-/Import-MessArtifact's own records stay local), plus audio_cache/ and audio_wav/ with
/// <c>includeAudio</c>. cache/, temporaries (*.messtmp) and hidden files never.
/// </summary>
public static partial class ArtifactSelection
{
    public const string RunsFolder = ArtifactLayout.RunsFolder;
    public static readonly IReadOnlyList<string> DataFolders = new[] { ArtifactLayout.MetadataFolder, ArtifactLayout.EmbeddingsFolder, ArtifactLayout.IndexFolder, ArtifactLayout.EvalFolder };
    public static readonly IReadOnlyList<string> AudioFolders = new[] { ArtifactLayout.AudioCacheFolder, ArtifactLayout.AudioWavFolder };

    /// <summary>Commands whose run records are never published (publishing unchanged content again stays a no-op).</summary>
    public static readonly IReadOnlyList<string> LocalOnlyCommands = new[] { "Publish-MessArtifact", "Import-MessArtifact", "Get-MessArtifactVersion" };

    /// <summary>The files to publish from <paramref name="root"/>, as '/'-separated relative paths in ordinal order.</summary>
    public static List<(string RelativePath, string FullPath, long Size)> Collect(string root, bool includeAudio)
    {
        string fullRoot = Path.GetFullPath(root);
        if (!Directory.Exists(fullRoot))
            throw new MessException(MessErrorIds.ArtifactPathNotFound, MessErrorKind.ObjectNotFound, $"The artifact folder '{fullRoot}' does not exist.", fullRoot);
        var folders = DataFolders.Append(RunsFolder).Concat(includeAudio ? AudioFolders : Array.Empty<string>());
        var result = new List<(string, string, long)>();
        foreach (string folder in folders)
        {
            string dir = Path.Combine(fullRoot, folder);
            if (!Directory.Exists(dir)) continue;
            foreach (var file in new DirectoryInfo(dir).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = false }))
            {
                if (ArtifactStore.IsWorkingFile(file.Name)) continue;
                string rel = Path.GetRelativePath(fullRoot, file.FullName).Replace('\\', '/');
                if (rel.Split('/').Any(s => s.StartsWith('.'))) continue;
                if (folder == RunsFolder && LocalOnlyCommands.Any(c => file.Name.Contains("_" + c, StringComparison.OrdinalIgnoreCase))) continue;
                string? problem = PathProblem(rel);
                if (problem is not null)
                    throw new MessException(MessErrorIds.UnsafeName, MessErrorKind.InvalidData, $"The file '{file.FullName}' cannot be published: {problem}.", file.FullName);
                result.Add((rel, file.FullName, file.Length));
            }
        }
        var stale = SupersededRuns(result.Where(r => r.Item1.StartsWith(RunsFolder + "/", StringComparison.Ordinal)).Select(r => (r.Item1, r.Item2)));
        result.RemoveAll(r => stale.Contains(r.Item1));
        result.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
        return result;
    }

    /// <summary>
    /// The run records that did not make the files being published: runs that failed or were stopped, and every run of a
    /// stage but its last completed one (records are named by start time, so the last in ordinal order is the latest).
    /// A version's runs/ then says which run of each stage made it, not every run the folder has seen. A record that
    /// cannot be read is kept (nothing is dropped on a guess).
    /// </summary>
    internal static HashSet<string> SupersededRuns(IEnumerable<(string RelativePath, string FullPath)> runs)
    {
        var drop = new HashSet<string>(StringComparer.Ordinal);
        var latest = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (rel, full) in runs.OrderBy(r => r.RelativePath, StringComparer.Ordinal))
        {
            string? command = null, status = null;
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(full));
                if (doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object)
                {
                    if (doc.RootElement.TryGetProperty("command", out var c)) command = c.GetString();
                    if (doc.RootElement.TryGetProperty("status", out var st)) status = st.GetString();
                }
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or IOException or InvalidOperationException) { continue; }
            if (command is null || status is null) continue;
            if (status is not ("completed" or "completed_with_errors")) { drop.Add(rel); continue; }
            if (latest.TryGetValue(command, out var earlier)) drop.Add(earlier);
            latest[command] = rel;
        }
        return drop;
    }

    /// <summary>Why a manifest path is not allowed (null when it is): safe segments under a published folder.</summary>
    public static string? PathProblem(string? path)
    {
        if (string.IsNullOrEmpty(path)) return "it is empty";
        if (path.Length > 1024) return "it is longer than 1024 characters";
        var segments = path.Split('/');
        if (segments.Length < 2) return "it is not inside one of the published folders";
        if (!DataFolders.Contains(segments[0]) && segments[0] != RunsFolder && !AudioFolders.Contains(segments[0]))
            return $"'{segments[0]}' is not a published folder ({string.Join(", ", DataFolders.Append(RunsFolder).Concat(AudioFolders))})";
        foreach (var s in segments)
            if (SafePath.Problem(s) is { } p) return $"the segment '{SafePath.Printable(s)}': {p}";
        return null;
    }

    /// <summary>Model names become S3 key segments and folder names: letters, digits, '.', '_' and '-' only.</summary>
    public static string RequireModelName(string? model, string what)
    {
        if (string.IsNullOrWhiteSpace(model) || model.Length > 100 || !ModelName().IsMatch(model) || model.Trim('.', '-').Length == 0)
            throw new MessException(MessErrorIds.InvalidModelName, MessErrorKind.InvalidArgument,
                $"{what}: the model name '{SafePath.Printable(model)}' is not valid (1-100 of A-Z a-z 0-9 . _ -).", model);
        return model;
    }

    /// <summary>
    /// The model of an artifact folder: embeddings/embeddings_meta.json's model (made safe as for v1_model_&lt;MODEL&gt;),
    /// else the folder's own name when it is v1_model_&lt;MODEL&gt;; null when neither says.
    /// </summary>
    public static string? DetectModel(string root)
    {
        string meta = new ArtifactStore(root).EmbeddingsMetaFile;
        if (File.Exists(meta))
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(meta));
                if (doc.RootElement.TryGetProperty("model", out var m) && m.GetString() is { Length: > 0 } name)
                    return ArtifactLayout.ModelOfFolder(SafePath.ModelFolderName(name));
            }
            catch (System.Text.Json.JsonException) { }
        }
        string folder = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)));
        return ArtifactLayout.ModelOfFolder(folder);
    }

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex ModelName();
}
