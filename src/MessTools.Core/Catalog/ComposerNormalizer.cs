using System.Text;

namespace MessTools.Core.Catalog;

/// <summary>
/// One spelling per composer, so the evaluation's labels mean what they say: trim, collapse white space,
/// Unicode NFC, 'Last, First' to 'First Last', then the user's alias map (e.g. Rachmaninov to Rachmaninoff).
/// </summary>
public sealed class ComposerNormalizer
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
                throw new Common.MessException(Common.MessErrorIds.EmptyComposerAlias, Common.MessErrorKind.InvalidArgument,
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

    /// <summary>
    /// NFC, white space runs collapsed to one space, trimmed. Run for every row of every metadata read (a served catalogue
    /// of 100,000 tracks at start-up), so the common case costs one scan: ASCII needs no normalisation (and a string
    /// already in NFC is not rebuilt), and a name whose only white space is single inner spaces is returned as it is.
    /// The collapse is char.IsWhiteSpace, the same set as the regex \s it replaces ([\f\n\r\t\v\x85\p{Z}]).
    /// </summary>
    private static string Basic(string? raw)
    {
        if (string.IsNullOrEmpty(raw)) return "";
        string s = System.Text.Ascii.IsValid(raw) || raw.IsNormalized(NormalizationForm.FormC) ? raw : raw.Normalize(NormalizationForm.FormC);
        if (!NeedsCollapse(s)) return s;
        var sb = new StringBuilder(s.Length);
        bool pendingSpace = false;
        foreach (char c in s)
        {
            if (char.IsWhiteSpace(c)) { pendingSpace = sb.Length > 0; continue; }
            if (pendingSpace) sb.Append(' ');
            pendingSpace = false;
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>True when the name has white space other than single spaces between other characters.</summary>
    private static bool NeedsCollapse(string s)
    {
        if (char.IsWhiteSpace(s[0]) || char.IsWhiteSpace(s[^1])) return true;
        for (int i = 1; i < s.Length - 1; i++)
        {
            char c = s[i];
            if (c == ' ') { if (s[i + 1] == ' ' || char.IsWhiteSpace(s[i + 1])) return true; }
            else if (c > ' ' && c < '\u0080') continue;
            else if (char.IsWhiteSpace(c)) return true;
        }
        return false;
    }
}
