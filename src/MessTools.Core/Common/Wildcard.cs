using System.Text;
using System.Text.RegularExpressions;

namespace MessTools.Core.Common;

/// <summary>
/// PowerShell wildcard patterns without PowerShell (so the cmdlets and the HTTP server match the same way):
/// <c>*</c> any run of characters, <c>?</c> one character, <c>[abc]</c> / <c>[a-c]</c> one of a set, a backtick escapes
/// the next character; case-insensitive, whole-string.
/// </summary>
public sealed class Wildcard
{
    private readonly Regex _regex;

    public Wildcard(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var sb = new StringBuilder("^");
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '`' && i + 1 < pattern.Length) { sb.Append(Regex.Escape(pattern[++i].ToString())); continue; }
            if (c == '*') { sb.Append(".*"); continue; }
            if (c == '?') { sb.Append('.'); continue; }
            if (c == '[')
            {
                int close = pattern.IndexOf(']', i + 1);
                if (close > i + 1)
                {
                    sb.Append('[');
                    foreach (char m in pattern.AsSpan(i + 1, close - i - 1))
                        sb.Append(m == '-' ? "-" : Regex.Escape(m.ToString()).Replace("]", "\\]"));
                    sb.Append(']');
                    i = close;
                    continue;
                }
            }
            sb.Append(Regex.Escape(c.ToString()));
        }
        sb.Append('$');
        try
        {
            _regex = new Regex(sb.ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException ex)
        {
            // A set the regex engine refuses, such as the backwards range [z-a]: the user's pattern is wrong, not the program.
            throw new MessException(MessErrorIds.InvalidWildcardPattern, MessErrorKind.InvalidArgument,
                $"'{SafeText(pattern)}' is not a valid wildcard pattern ({(ex is RegexParseException rp ? rp.Error.ToString() : "invalid")}): use * for any run of characters, ? for one, [abc] or [a-c] for one of a set (ranges ascending), and a backtick to match one of those characters literally.", pattern, ex);
        }
    }

    private static string SafeText(string s) => new(s.Take(100).Select(c => char.IsControl(c) ? '?' : c).ToArray());

    public bool IsMatch(string value) => _regex.IsMatch(value);

    /// <summary>The names that match any of <paramref name="patterns"/>; patterns that match none go to <paramref name="unmatched"/>.</summary>
    public static HashSet<string> Expand(IEnumerable<string> names, IEnumerable<string> patterns, List<string>? unmatched = null)
    {
        var list = names as IReadOnlyCollection<string> ?? names.ToList();
        var chosen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (string pattern in patterns)
        {
            var w = new Wildcard(pattern.Trim());
            bool matched = false;
            foreach (string name in list)
                if (w.IsMatch(name)) { chosen.Add(name); matched = true; }
            if (!matched) unmatched?.Add(pattern);
        }
        return chosen;
    }
}
