using System.Text.RegularExpressions;
using MessTools.Core.Common;

namespace MessTools.Core.Artifacts;

/// <summary>
/// Names that come from data (track ids, album ids, model names) become file names only through here:
/// anything that could leave its folder or mean something special to a file system is refused.
/// </summary>
public static partial class SafePath
{
    private static readonly HashSet<string> ReservedDeviceNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
        "COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
        "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
        // Windows treats the superscript digits as digits here: COM¹ is COM1.
        "COM\u00B9", "COM\u00B2", "COM\u00B3", "LPT\u00B9", "LPT\u00B2", "LPT\u00B3",
    };

    public const int MaxSegmentLength = 200;

    /// <summary>Why <paramref name="value"/> cannot be one path segment, or null when it can.</summary>
    public static string? Problem(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return "it is empty";
        if (value.Length > MaxSegmentLength) return $"it is longer than {MaxSegmentLength} characters";
        if (value == "." || value == "..") return "it is a relative folder reference";
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (char.IsControl(c)) return $"it contains the control character U+{(int)c:X4}";
            var category = char.GetUnicodeCategory(c);
            if (category == System.Globalization.UnicodeCategory.Format)
                return $"it contains the invisible formatting character U+{(int)c:X4}" + (IsBidiControl(c) ? " (a bidirectional text control, which can make a name display as another)" : "");
            if (category is System.Globalization.UnicodeCategory.LineSeparator or System.Globalization.UnicodeCategory.ParagraphSeparator)
                return $"it contains the line separator U+{(int)c:X4}";
            if (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[++i])))
                return "it contains an unpaired UTF-16 surrogate";
            if (c is '/' or '\\') return "it contains a path separator";
            if (c is ':' or '*' or '?' or '"' or '<' or '>' or '|') return $"it contains '{c}', which is not allowed in file names";
        }
        if (value != value.Trim()) return "it starts or ends with white space";
        if (value.EndsWith('.')) return "it ends with a dot";
        // Windows ignores spaces before the extension: "COM1 .txt" is COM1 too.
        string stem = value.Split('.')[0].TrimEnd(' ');
        if (ReservedDeviceNames.Contains(stem)) return $"'{stem}' is a reserved device name on Windows";
        return null;
    }

    private static bool IsBidiControl(char c) => c is '\u061C' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');

    public static bool IsSafeSegment(string? value) => Problem(value) is null;

    /// <summary>Throws a <see cref="MessException"/> naming <paramref name="what"/> when the value is unsafe.</summary>
    public static string RequireSegment(string? value, string what)
    {
        string? problem = Problem(value);
        if (problem is not null)
            throw new MessException(MessErrorIds.UnsafeName, MessErrorKind.InvalidData,
                $"{what} '{Printable(value)}' cannot be used as a file name: {problem}.", value);
        return value!;
    }

    /// <summary>Joins validated segments under <paramref name="root"/> and proves the result stays there.</summary>
    public static string Combine(string root, params string[] segments)
    {
        string fullRoot = Path.GetFullPath(root);
        string path = fullRoot;
        foreach (var s in segments) path = Path.Combine(path, RequireSegment(s, "Path segment"));
        path = Path.GetFullPath(path);
        string rootWithSep = Path.EndsInDirectorySeparator(fullRoot) ? fullRoot : fullRoot + Path.DirectorySeparatorChar;
        if (!path.StartsWith(rootWithSep, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
            throw new MessException(MessErrorIds.PathEscapesFolder, MessErrorKind.InvalidData,
                $"The path '{path}' would leave the folder '{fullRoot}'.", path);
        return path;
    }

    /// <summary>A model name (e.g. from an ONNX file name) made safe for v1_model_&lt;MODEL&gt;.</summary>
    public static string ModelFolderName(string model)
    {
        string name = UnsafeModelChars().Replace(model.Trim(), "-").Trim('-', '.');
        if (name.Length == 0) name = "model";
        if (name.Length > 100) name = name[..100];
        return ArtifactLayout.ModelFolder(name);
    }

    internal static string Printable(string? value)
    {
        if (value is null) return "(null)";
        var sb = new System.Text.StringBuilder();
        foreach (char c in value.Length > 120 ? value[..120] + "…" : value)
            sb.Append(char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format ? $"\\u{(int)c:X4}" : c.ToString());
        return sb.ToString();
    }

    [GeneratedRegex(@"[^A-Za-z0-9._-]+")]
    private static partial Regex UnsafeModelChars();
}
