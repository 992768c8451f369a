using System.Text.RegularExpressions;

namespace MessTools.Core.Common;

/// <summary>
/// Keeps secrets out of run records, errors and logs. It masks a value by what it is, not only by the parameter that
/// carried it: passwords in every connection-string form (key=value with quoted, doubled-quote or unterminated values,
/// user:password@ in URIs), AWS access key ids and secret keys, variables and environment variables named like a secret
/// (<c>$env:AWS_SECRET_ACCESS_KEY = '...'</c>), every argument of a command that uses <c>-AsPlainText</c>, URL signatures
/// and tokens (X-Amz-Signature, X-Amz-Security-Token, X-Amz-Credential, sig=, token=), bearer and basic authorisation,
/// and secret-named parameters (<c>-Password x</c>). Over-masking is preferred to a leak.
/// </summary>
public static partial class SecretRedactor
{
    public const string Mask = "***";

    private static readonly string[] SecretWords =
        { "password", "passwd", "pwd", "secret", "token", "accesskey", "secretkey", "apikey", "sessiontoken", "credential", "signature" };

    /// <summary>True when a parameter or key of that name holds a secret.</summary>
    public static bool IsSecretName(string name)
    {
        string n = name.Replace("_", "").Replace("-", "").ToLowerInvariant();
        return SecretWords.Any(n.Contains) || n == "connectionstring";
    }

    /// <summary>Masks every secret <see cref="SecretRedactor"/> recognises in free text (a command line, a message, a target).</summary>
    public static string Redact(string text)
    {
        if (string.IsNullOrEmpty(text)) return text;
        text = MaskPlainTextArguments(text);
        text = UrlSecretParameter().Replace(text, m => m.Groups[1].Value + Mask);
        text = KeyValueSecret().Replace(text, m => m.Groups[1].Value + Mask);
        text = UrlPassword().Replace(text, "$1" + Mask + "@");
        text = Authorization().Replace(text, m => m.Groups[1].Value + Mask);
        text = SecretParameter().Replace(text, m => m.Groups[1].Value + Mask);
        text = AwsAccessKey().Replace(text, Mask);
        text = AwsSecretKey().Replace(text, m => LooksLikeAwsSecret(m.Value) ? Mask : m.Value);
        return text;
    }

    /// <summary>A connection string with its password (and any other secret key) masked.</summary>
    public static string RedactConnectionString(string connectionString) => Redact(connectionString);

    /// <summary>The value of an error target or any other object about to be shown: strings redacted, the rest as is.</summary>
    public static object? RedactObject(object? value) => value is string s ? Redact(s) : value;

    // Every argument of a command segment (between | ; ( ) { } and line ends, outside quotes) that passes
    // -AsPlainText is masked, keeping the command name, parameter names, variables and '='.
    private static string MaskPlainTextArguments(string text)
    {
        if (text.IndexOf("-AsPlainText", StringComparison.OrdinalIgnoreCase) < 0) return text;
        var sb = new System.Text.StringBuilder(text.Length);
        int segStart = 0;
        char quote = '\0';
        for (int i = 0; i <= text.Length; i++)
        {
            char c = i < text.Length ? text[i] : '\n';
            if (quote != '\0') { if (c == quote) quote = '\0'; if (i < text.Length) continue; }
            else if (c is '\'' or '"') { quote = c; continue; }
            if (i < text.Length && c is not ('|' or ';' or '(' or ')' or '{' or '}' or '\n' or '\r')) continue;
            sb.Append(MaskSegment(text[segStart..i]));
            if (i < text.Length) sb.Append(c);
            segStart = i + 1;
        }
        return sb.ToString();
    }

    private static string MaskSegment(string segment)
    {
        var tokens = Argument().Matches(segment);
        if (!tokens.Any(t => t.Value.Equals("-AsPlainText", StringComparison.OrdinalIgnoreCase))) return segment;
        return Argument().Replace(segment, m =>
        {
            string v = m.Value;
            bool keep = v == "=" || v.StartsWith('$') || (v.Length > 1 && v[0] == '-' && char.IsLetter(v[1])) || VerbNoun().IsMatch(v);
            return keep ? v : Mask;
        });
    }

    // AWS secret access keys are 40 characters of base64; a 40-character hex digest (SHA-1, lower case) is not masked.
    private static bool LooksLikeAwsSecret(string s) =>
        s.Any(char.IsUpper) && s.Any(char.IsLower) && (s.Any(char.IsDigit) || s.Contains('/') || s.Contains('+'));

    // A value: quoted ('' or "" doubled inside), a quote never closed (masked to the end), or a bare word up to ; or space.
    private const string Value = @"(?:'(?:[^']|'')*'?|""(?:[^""]|"""")*""?|[^;\s'""&]+)";

    [GeneratedRegex(@"^[A-Za-z]+-[A-Za-z]+$")]
    private static partial Regex VerbNoun();

    [GeneratedRegex(@"'(?:[^']|'')*'?|""(?:[^""]|"""")*""?|[^\s'""]+")]
    private static partial Regex Argument();

    // key=value where the key names a secret: Password=, pwd=, AWS_SECRET_ACCESS_KEY=, $env:AWS_SESSION_TOKEN = , $password = ...
    [GeneratedRegex(@"(?i)((?<![\w-])(?:\$env:|\$)?[\w.]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|credential)[\w]*\s*=\s*)" + Value)]
    private static partial Regex KeyValueSecret();

    // Query parameters of presigned and SAS URLs.
    [GeneratedRegex(@"(?i)([?&](?:X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential|Signature|sig|token|access_token|code|key|AWSAccessKeyId)=)[^&\s'""#]+")]
    private static partial Regex UrlSecretParameter();

    [GeneratedRegex(@"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@")]
    private static partial Regex UrlPassword();

    [GeneratedRegex(@"(?i)\b((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]{8,}")]
    private static partial Regex Authorization();

    [GeneratedRegex(@"\b(?:AKIA|ASIA|AIDA|AROA|ABIA|ACCA)[0-9A-Z]{16}\b")]
    private static partial Regex AwsAccessKey();

    [GeneratedRegex(@"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")]
    private static partial Regex AwsSecretKey();

    [GeneratedRegex(@"(?i)(-(?:Password|SecretKey|SecretAccessKey|AccessKey|AccessKeyId|SessionToken|Token|ApiKey|ConnectionString|Credential)\s+)" + Value)]
    private static partial Regex SecretParameter();
}
