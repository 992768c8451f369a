using System.Text.RegularExpressions;

namespace MessTools.Core.Common;

/// <summary>Keeps secrets out of run records, errors and logs: passwords in connection strings, keys, tokens.</summary>
public static partial class SecretRedactor
{
    public const string Mask = "***";

    private static readonly string[] SecretWords =
        { "password", "passwd", "pwd", "secret", "token", "accesskey", "secretkey", "apikey", "sessiontoken", "credential" };

    /// <summary>True when a parameter or key of that name holds a secret.</summary>
    public static bool IsSecretName(string name)
    {
        string n = name.Replace("_", "").Replace("-", "").ToLowerInvariant();
        return SecretWords.Any(n.Contains) || n == "connectionstring";
    }

    /// <summary>Masks key=value secrets (connection strings, URLs with user:password@, AWS keys) in free text.</summary>
    public static string Redact(string text)
    {
        if (string.IsNullOrEmpty(text)) return text;
        text = KeyValueSecret().Replace(text, m => m.Groups[1].Value + Mask);
        text = UrlPassword().Replace(text, "$1" + Mask + "@");
        text = AwsAccessKey().Replace(text, Mask);
        text = SecretParameter().Replace(text, m => m.Groups[1].Value + Mask);
        return text;
    }

    /// <summary>A connection string with its password (and any other secret key) masked.</summary>
    public static string RedactConnectionString(string connectionString) => Redact(connectionString);

    [GeneratedRegex(@"(?i)\b((?:password|passwd|pwd|secret|token|api[_-]?key|secret[_-]?key|access[_-]?key|session[_-]?token)\s*=\s*)(?:""[^""]*""|'[^']*'|[^;\s'""]+)")]
    private static partial Regex KeyValueSecret();

    [GeneratedRegex(@"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@")]
    private static partial Regex UrlPassword();

    [GeneratedRegex(@"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")]
    private static partial Regex AwsAccessKey();

    [GeneratedRegex(@"(?i)(-(?:Password|SecretKey|AccessKey|SessionToken|Token|ConnectionString|Credential)\s+)(?:""[^""]*""|'[^']*'|\S+)")]
    private static partial Regex SecretParameter();
}
