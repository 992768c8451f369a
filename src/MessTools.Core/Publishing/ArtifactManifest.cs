using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Publishing;

/// <summary>One file of a published artifact set: its path under the artifact folder ('/'-separated), size and SHA-256.</summary>
public sealed class ArtifactFileEntry
{
    public string Path { get; set; } = "";
    public long Size { get; set; }
    /// <summary>Lower-case hex SHA-256 of the file's bytes; also the name of the object that holds them.</summary>
    public string Sha256 { get; set; } = "";
}

/// <summary>
/// manifest.json of one published version (format 1): every file with size and SHA-256, the model, the module version that
/// published it and the run records of the stages that made the files. The version id is derived from the model and the file
/// list only (<see cref="ComputeVersionId"/>), so the same content always has the same id and a republish is a no-op.
/// </summary>
public sealed class ArtifactManifest
{
    /// <summary>The newest manifest format this module reads; a newer one is refused (ArtifactManifestTooNew).</summary>
    public const int CurrentFormatVersion = 1;

    public int FormatVersion { get; set; } = CurrentFormatVersion;
    public string VersionId { get; set; } = "";
    public string Model { get; set; } = "";
    public string ModuleVersion { get; set; } = ModuleInfo.Version;
    public long TotalBytes { get; set; }
    /// <summary>The run records (runs/...json) among the files: which stage runs made this set.</summary>
    public List<string> SourceRuns { get; set; } = new();
    public List<ArtifactFileEntry> Files { get; set; } = new();

    /// <summary>
    /// "v" + the first 20 hex digits of SHA-256 over "model\n" and one "path\tsize\tsha256\n" line per file in ordinal path order.
    /// </summary>
    public static string ComputeVersionId(string model, IEnumerable<ArtifactFileEntry> files)
    {
        var sb = new StringBuilder();
        sb.Append("mess-artifacts-1\n").Append(model).Append('\n');
        foreach (var f in files.OrderBy(f => f.Path, StringComparer.Ordinal))
            sb.Append(f.Path).Append('\t').Append(f.Size.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\t').Append(f.Sha256).Append('\n');
        return "v" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())))[..20].ToLowerInvariant();
    }

    /// <summary>A manifest for these files (sorted), with its version id, total and source runs filled in.</summary>
    public static ArtifactManifest Create(string model, IEnumerable<ArtifactFileEntry> files)
    {
        var list = files.OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
        return new ArtifactManifest
        {
            Model = model,
            Files = list,
            TotalBytes = list.Sum(f => f.Size),
            VersionId = ComputeVersionId(model, list),
            SourceRuns = list.Where(f => f.Path.StartsWith(ArtifactSelection.RunsFolder + "/", StringComparison.Ordinal)).Select(f => f.Path).ToList(),
        };
    }

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, ArtifactJson.Options);

    /// <summary>
    /// Parses and checks a manifest read from <paramref name="where"/> (for messages): format version, model, every path
    /// (safe segments, no duplicates), sizes, hashes, and that the version id matches the file list.
    /// </summary>
    public static ArtifactManifest Parse(ReadOnlySpan<byte> json, string where, string? expectedModel = null, string? expectedVersion = null)
    {
        ArtifactManifest? m;
        try
        {
            using var doc = JsonDocument.Parse(json.ToArray());
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("format_version", out var fv)
                && fv.TryGetInt32(out int format) && format > CurrentFormatVersion)
                throw new MessException(MessErrorIds.ArtifactManifestTooNew, MessErrorKind.InvalidData,
                    $"The manifest {where} has format version {format}; this MessTools ({ModuleInfo.Version}) reads format {CurrentFormatVersion} at most. Update the module.", where);
            m = doc.RootElement.Deserialize<ArtifactManifest>(ArtifactJson.Options);
        }
        catch (JsonException ex)
        {
            throw new MessException(MessErrorIds.ArtifactManifestMalformed, MessErrorKind.InvalidData, $"The manifest {where} is not valid JSON of the expected shape: {ex.Message}", where, ex);
        }
        if (m is null) throw Bad(where, "it holds null");
        if (m.FormatVersion < 1) throw Bad(where, $"format_version {m.FormatVersion} is not a format version");
        ArtifactSelection.RequireModelName(m.Model, $"The manifest {where}");
        if (expectedModel is not null && m.Model != expectedModel) throw Bad(where, $"it is of model '{m.Model}', not '{expectedModel}'");
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var f in m.Files ?? throw Bad(where, "it has no file list"))
        {
            if (f is null) throw Bad(where, "its file list has an empty entry");
            string? problem = ArtifactSelection.PathProblem(f.Path);
            if (problem is not null) throw Bad(where, $"the file path '{SafePath.Printable(f.Path)}' is not allowed: {problem}");
            if (!seen.Add(f.Path)) throw Bad(where, $"the file '{f.Path}' is listed twice");
            if (f.Size < 0) throw Bad(where, $"the file '{f.Path}' has a negative size");
            if (!IsSha256(f.Sha256)) throw Bad(where, $"the file '{f.Path}' has no valid SHA-256 ('{SafePath.Printable(f.Sha256)}')");
        }
        string id = ComputeVersionId(m.Model, m.Files);
        if (m.VersionId != id) throw Bad(where, $"its version id '{SafePath.Printable(m.VersionId)}' does not match its file list (expected '{id}'): the manifest was altered");
        if (expectedVersion is not null && m.VersionId != expectedVersion) throw Bad(where, $"it describes version '{m.VersionId}', not '{expectedVersion}'");
        m.SourceRuns ??= new();
        return m;
    }

    internal static bool IsSha256(string? s) => s is { Length: 64 } && s.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    private static MessException Bad(string where, string why) =>
        new(MessErrorIds.ArtifactManifestInvalid, MessErrorKind.InvalidData, $"The manifest {where} is invalid: {why}.", where);
}

/// <summary>latest.json beside the versions: names the version readers get. Replaced last, after the manifest is in place.</summary>
public sealed class ArtifactPointer
{
    public int FormatVersion { get; set; } = ArtifactManifest.CurrentFormatVersion;
    public string Model { get; set; } = "";
    public string VersionId { get; set; } = "";
    /// <summary>The key of the version's manifest.</summary>
    public string Manifest { get; set; } = "";
    public DateTime PublishedUtc { get; set; }
    public string ModuleVersion { get; set; } = ModuleInfo.Version;
}
