using System.Text;
using System.Text.RegularExpressions;

namespace MessTools.Core.Catalog;

/// <summary>
/// One spelling per composer, so the evaluation's labels mean what they say: trim, collapse white space,
/// Unicode NFC, 'Last, First' to 'First Last', then the user's alias map (e.g. Rachmaninov to Rachmaninoff).
/// </summary>
public sealed partial class ComposerNormalizer
{
    private readonly Dictionary<string, string> _aliases;

    public ComposerNormalizer(IReadOnlyDictionary<string, string>? aliases = null)
    {
        _aliases = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (aliases is null) return;
        foreach (var (from, to) in aliases)
        {
            string key = Basic(from);
            string value = Basic(to);
            if (key.Length == 0 || value.Length == 0)
                throw new Common.MessException("EmptyComposerAlias", Common.MessErrorKind.InvalidArgument,
                    $"The composer alias '{from}' = '{to}' has an empty side.", from);
            _aliases[key] = value;
        }
    }

    /// <summary>The standard spelling, or "" when nothing is left.</summary>
    public string Normalize(string? raw)
    {
        string name = Basic(raw);
        if (name.Length == 0) return name;
        if (_aliases.TryGetValue(name, out var direct)) return direct;
        int comma = name.IndexOf(',');
        if (comma > 0 && comma == name.LastIndexOf(','))
        {
            string last = name[..comma].Trim(), first = name[(comma + 1)..].Trim();
            if (last.Length > 0 && first.Length > 0) name = first + " " + last;
        }
        return _aliases.TryGetValue(name, out var mapped) ? mapped : name;
    }

    private static string Basic(string? raw)
    {
        if (string.IsNullOrEmpty(raw)) return "";
        string s = raw.Normalize(NormalizationForm.FormC);
        return Whitespace().Replace(s, " ").Trim();
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
