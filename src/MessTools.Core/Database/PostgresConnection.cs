using System.Globalization;
using System.Text.RegularExpressions;
using MessTools.Core.Common;
using Npgsql;

namespace MessTools.Core.Database;

/// <summary>
/// How every stage that talks to a PostgreSQL server (the catalogue, the vector store) turns what the user gave
/// into a connection: the explicit connection string, else an environment variable; key=value or postgres:// URI;
/// a user name and password given apart (-Credential) win over the string's; errors that name host, port and
/// database and never the password; table names checked and quoted before they go into SQL.
/// </summary>
public static partial class PostgresConnection
{
    /// <summary>The explicit connection string, else the environment variable; an error saying both when neither is set.</summary>
    public static string Resolve(string? connectionString, string environmentVariable, string errorId, string howToName)
    {
        if (!string.IsNullOrWhiteSpace(connectionString)) return connectionString;
        string? env = Environment.GetEnvironmentVariable(environmentVariable);
        if (!string.IsNullOrWhiteSpace(env)) return env;
        throw new MessException(errorId, MessErrorKind.InvalidArgument, $"{howToName}, or set ${environmentVariable}.");
    }

    /// <summary>A checked Npgsql connection string with the separate user name and password applied.</summary>
    public static NpgsqlConnectionStringBuilder Build(string connectionString, string? userName = null, string? password = null)
    {
        NpgsqlConnectionStringBuilder builder;
        try { builder = new NpgsqlConnectionStringBuilder(ToNpgsql(connectionString)); }
        catch (ArgumentException ex)
        {
            throw new MessException(MessErrorIds.InvalidConnectionString, MessErrorKind.InvalidArgument,
                $"The connection string is not valid: {SecretRedactor.Redact(ex.Message)}", SecretRedactor.Redact(connectionString), ex);
        }
        if (userName is not null) builder.Username = userName;
        if (password is not null) builder.Password = password;
        builder.ApplicationName ??= "MessTools";
        return builder;
    }

    /// <summary>host:port/database, for messages (never the user or password).</summary>
    public static string Describe(NpgsqlConnectionStringBuilder builder) => $"{builder.Host}:{builder.Port}/{builder.Database}";

    /// <summary>Opens a connection; a failure (refused, wrong password, timeout) is <paramref name="errorId"/> with the password masked.</summary>
    public static NpgsqlConnection Open(NpgsqlDataSource dataSource, string what, string errorId)
    {
        try { return dataSource.OpenConnection(); }
        catch (Exception ex) when (IsConnectFailure(ex))
        {
            throw ConnectFailed(ex, what, errorId);
        }
    }

    /// <summary>As <see cref="Open(NpgsqlDataSource, string, string)"/> for a plain connection string.</summary>
    public static NpgsqlConnection Open(NpgsqlConnectionStringBuilder builder, string what, string errorId)
    {
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch (Exception ex) when (IsConnectFailure(ex))
        {
            connection.Dispose();
            throw ConnectFailed(ex, what, errorId);
        }
    }

    public static bool IsConnectFailure(Exception ex) => ex is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException;

    private static MessException ConnectFailed(Exception ex, string what, string errorId) =>
        new(errorId, MessErrorKind.ConnectionError, $"Connecting to {what} failed: {SecretRedactor.Redact(ex.Message)}", what, ex);

    /// <summary>Accepts postgres://user:pass@host:port/db as well as Npgsql's key=value form.</summary>
    internal static string ToNpgsql(string connectionString)
    {
        var m = PostgresUri().Match(connectionString.Trim());
        if (!m.Success) return connectionString;
        var b = new NpgsqlConnectionStringBuilder { Host = m.Groups["host"].Value };
        if (m.Groups["port"].Success)
        {
            string port = m.Groups["port"].Value;
            if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p < 1 || p > 65535)
                throw new MessException(MessErrorIds.InvalidConnectionString, MessErrorKind.InvalidArgument,
                    $"The postgres:// URI has the port '{port}', which is not a number from 1 to 65535.", SecretRedactor.Redact(connectionString));
            b.Port = p;
        }

        if (m.Groups["user"].Success) b.Username = Uri.UnescapeDataString(m.Groups["user"].Value);
        if (m.Groups["pass"].Success) b.Password = Uri.UnescapeDataString(m.Groups["pass"].Value);
        if (m.Groups["db"].Success) b.Database = Uri.UnescapeDataString(m.Groups["db"].Value);
        string rest = m.Groups["rest"].Value;
        if (rest.Length > 0 && rest[0] != '?')
            throw new MessException(MessErrorIds.InvalidConnectionString, MessErrorKind.InvalidArgument,
                "The postgres:// URI could not be read after its host: expected postgres://user:password@host:port/database?option=value.",
                SecretRedactor.Redact(connectionString));
        foreach (string pair in rest.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=');
            string key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]), value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            try { b[key] = value; }
            catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException)
            {
                throw new MessException(MessErrorIds.InvalidConnectionString, MessErrorKind.InvalidArgument,
                    $"The postgres:// URI option '{key}' is not valid: {ex.Message}", SecretRedactor.Redact(connectionString));
            }
        }
        return b.ConnectionString;
    }

    /// <summary>A table name made safe to put in SQL: [schema.]table, each part an identifier, double-quoted.</summary>
    public static string QuoteTable(string table, string? hint = " Use -Query for anything else.")
    {
        var parts = SplitTable(table, hint);
        return string.Join('.', parts.Select(p => "\"" + p + "\""));
    }

    /// <summary>The checked parts of [schema.]table.</summary>
    public static string[] SplitTable(string table, string? hint = null)
    {
        var parts = table.Split('.');
        if (parts.Length > 2 || parts.Any(p => !Identifier().IsMatch(p)))
            throw new MessException(MessErrorIds.InvalidTableName, MessErrorKind.InvalidArgument,
                $"'{table}' is not a table name (letters, digits and underscores, optionally schema.table).{hint}", table);
        return parts;
    }

    [GeneratedRegex(@"^postgres(?:ql)?://(?:(?<user>[^:@/]+)(?::(?<pass>[^@/]*))?@)?(?<host>[^:/?]+)(?::(?<port>[^/?]*))?(?:/(?<db>[^?]*))?(?<rest>.*)$", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex PostgresUri();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex Identifier();
}
