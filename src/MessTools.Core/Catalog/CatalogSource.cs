using System.Data.Common;
using System.Globalization;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using MessTools.Core.Common;
using MessTools.Core.Database;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace MessTools.Core.Catalog;

/// <summary>
/// One raw catalogue row: its 1-based data row number and its values as text (null for SQL NULL). <see cref="Problem"/>
/// is wrong with the row as a whole (a malformed CSV record); <see cref="ColumnProblems"/>, when set, says per column why
/// a value could not be read as text (a BLOB that is not UTF-8, an array), so only a column that is used fails the row.
/// </summary>
public readonly record struct RawCatalogRow(long RowNumber, string?[] Values, string? Problem = null, string?[]? ColumnProblems = null);

/// <summary>A catalogue read row by row, never all at once.</summary>
public interface ICatalogSource : IDisposable
{
    /// <summary>How errors name the source: a file path or a redacted connection string and table.</summary>
    string Description { get; }
    IReadOnlyList<string> Columns { get; }
    IEnumerable<RawCatalogRow> ReadRows(CancellationToken cancellationToken);
    /// <summary>
    /// True for CSV files, where a title may carry the leading apostrophe of the spreadsheet-formula escape
    /// (<see cref="MetadataCsv.EscapeFormula"/>): the exporter takes it off, so a re-export does not add a second one.
    /// </summary>
    bool TitlesMayBeFormulaEscaped => false;
}

public enum CatalogProvider { Auto, Sqlite, Csv, PostgreSql }

/// <summary>Opens the right <see cref="ICatalogSource"/> for a file or a connection string.</summary>
public static class CatalogSourceFactory
{
    /// <summary>SQLite or CSV, by the file's first bytes, then its extension.</summary>
    public static ICatalogSource OpenFile(string path, string? table, string? query, CatalogProvider provider = CatalogProvider.Auto)
    {
        if (!File.Exists(path))
            throw new MessException(MessErrorIds.CatalogFileNotFound, MessErrorKind.ObjectNotFound, $"The catalogue file '{path}' does not exist.", path);
        if (provider == CatalogProvider.Auto) provider = DetectFileProvider(path);
        return provider switch
        {
            CatalogProvider.Sqlite => DbCatalogSource.OpenSqlite(path, table, query),
            CatalogProvider.Csv => table is null && query is null
                ? new CsvCatalogSource(path)
                : throw new MessException(MessErrorIds.CsvTakesNoTable, MessErrorKind.InvalidArgument,
                    $"'{path}' is a CSV file: it has no tables, so -Table and -Query do not apply.", path),
            _ => throw new MessException(MessErrorIds.UnsupportedCatalogFile, MessErrorKind.InvalidArgument,
                $"'{path}' is not a SQLite database or a CSV file.", path),
        };
    }

    /// <summary>The tables and views of a SQLite catalogue, for tab completion; empty when the file is not SQLite.</summary>
    public static IReadOnlyList<string> ListSqliteTables(string path)
    {
        if (!File.Exists(path) || DetectFileProviderOrNull(path) != CatalogProvider.Sqlite) return Array.Empty<string>();
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT name FROM sqlite_master WHERE type IN ('table','view') AND name NOT LIKE 'sqlite_%' ORDER BY name";
        var names = new List<string>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) names.Add(r.GetString(0));
        return names;
    }

    private static CatalogProvider? DetectFileProviderOrNull(string path)
    {
        try { return DetectFileProvider(path); }
        catch (MessException) { return null; }
    }

    public static CatalogProvider DetectFileProvider(string path)
    {
        Span<byte> head = stackalloc byte[16];
        int n;
        using (var fs = File.OpenRead(path)) n = fs.ReadAtLeast(head, 16, throwOnEndOfStream: false);
        if (n == 16 && Encoding.ASCII.GetString(head[..15]) == "SQLite format 3") return CatalogProvider.Sqlite;
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is ".sqlite" or ".sqlite3" or ".db")
            throw new MessException(MessErrorIds.NotASqliteFile, MessErrorKind.InvalidData,
                $"'{path}' is named like a SQLite database but does not start with the SQLite header.", path);
        return CatalogProvider.Csv;
    }

    /// <summary>A server catalogue (PostgreSQL, e.g. RDS) or a SQLite connection string.</summary>
    public static ICatalogSource OpenConnection(string connectionString, string? table, string? query,
        CatalogProvider provider = CatalogProvider.Auto, string? userName = null, string? password = null)
    {
        if (provider == CatalogProvider.Auto)
            provider = connectionString.Contains("Data Source", StringComparison.OrdinalIgnoreCase) && !connectionString.Contains("Host", StringComparison.OrdinalIgnoreCase)
                ? CatalogProvider.Sqlite : CatalogProvider.PostgreSql;
        return provider switch
        {
            CatalogProvider.PostgreSql => DbCatalogSource.OpenPostgres(connectionString, table, query, userName, password),
            CatalogProvider.Sqlite => DbCatalogSource.OpenSqliteConnection(connectionString, table, query),
            _ => throw new MessException(MessErrorIds.UnsupportedProvider, MessErrorKind.InvalidArgument,
                $"A connection string cannot be read as {provider}.", provider.ToString()),
        };
    }

    /// <summary>A table name made safe to put in SQL: [schema.]table, each part an identifier, double-quoted.</summary>
    public static string QuoteTable(string table) => PostgresConnection.QuoteTable(table);
}

/// <summary>A catalogue table or query read through ADO.NET (SQLite or PostgreSQL), streaming.</summary>
public sealed class DbCatalogSource : ICatalogSource
{
    private readonly DbConnection _connection;
    private readonly DbCommand _command;
    private DbDataReader? _reader;

    public string Description { get; }
    public IReadOnlyList<string> Columns { get; }

    private DbCatalogSource(DbConnection connection, string sql, string description)
    {
        _connection = connection;
        Description = description;
        _command = connection.CreateCommand();
        _command.CommandText = sql;
        _command.CommandTimeout = 0;
        try
        {
            _reader = _command.ExecuteReader();
        }
        catch (DbException ex)
        {
            Dispose();
            throw new MessException(MessErrorIds.CatalogQueryFailed, MessErrorKind.InvalidData,
                $"Reading {description} failed: {SecretRedactor.Redact(ex.Message)}", description, ex);
        }
        Columns = Enumerable.Range(0, _reader.FieldCount).Select(_reader.GetName).ToArray();
    }

    private static string Sql(string? table, string? query)
    {
        if (!string.IsNullOrWhiteSpace(query))
        {
            if (!string.IsNullOrWhiteSpace(table))
                throw new MessException(MessErrorIds.TableAndQuery, MessErrorKind.InvalidArgument, "Give either -Table or -Query, not both.");
            return query;
        }
        if (string.IsNullOrWhiteSpace(table))
            throw new MessException(MessErrorIds.TableOrQueryRequired, MessErrorKind.InvalidArgument,
                "A database catalogue needs -Table (e.g. -Table tracks) or -Query.");
        return "SELECT * FROM " + CatalogSourceFactory.QuoteTable(table);
    }

    public static DbCatalogSource OpenSqlite(string path, string? table, string? query) =>
        OpenSqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly }.ToString(), table, query, path);

    public static DbCatalogSource OpenSqliteConnection(string connectionString, string? table, string? query, string? name = null)
    {
        var connection = new SqliteConnection(connectionString);
        string what = $"the SQLite catalogue '{name ?? SecretRedactor.Redact(connectionString)}'";
        try { connection.Open(); }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw new MessException(MessErrorIds.CatalogOpenFailed, MessErrorKind.ReadError, $"Opening {what} failed: {ex.Message}", name, ex);
        }
        return new DbCatalogSource(connection, Sql(table, query), what + (table is null ? " (query)" : $", table '{table}'"));
    }

    public static DbCatalogSource OpenPostgres(string connectionString, string? table, string? query, string? userName, string? password)
    {
        var builder = PostgresConnection.Build(connectionString, userName, password);
        string what = $"the PostgreSQL catalogue at {PostgresConnection.Describe(builder)}";
        var connection = PostgresConnection.Open(builder, what, "CatalogConnectFailed");
        return new DbCatalogSource(connection, Sql(table, query), what + (table is null ? " (query)" : $", table '{table}'"));
    }

    public IEnumerable<RawCatalogRow> ReadRows(CancellationToken cancellationToken)
    {
        var reader = _reader ?? throw new ObjectDisposedException(nameof(DbCatalogSource));
        long row = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            bool more;
            try { more = reader.Read(); }
            catch (DbException ex)
            {
                throw new MessException(MessErrorIds.CatalogReadFailed, MessErrorKind.ReadError,
                    $"Reading row {row + 1} of {Description} failed: {SecretRedactor.Redact(ex.Message)}", Description, ex);
            }
            if (!more) yield break;
            row++;
            var values = new string?[reader.FieldCount];
            string?[]? problems = null;
            for (int i = 0; i < values.Length; i++)
            {
                string? problem = null;
                try
                {
                    values[i] = reader.IsDBNull(i) ? null : DbValueText.ToText(reader.GetValue(i), out problem);
                }
                catch (Exception ex) when (ex is InvalidCastException or FormatException or DbException or OverflowException or NotSupportedException)
                {
                    problem = $"it could not be read: {SecretRedactor.Redact(ex.Message)}";
                }
                if (problem is not null) (problems ??= new string?[values.Length])[i] = problem;
            }
            yield return new RawCatalogRow(row, values, null, problems);
        }
    }

    public void Dispose()
    {
        _reader?.Dispose();
        _reader = null;
        _command.Dispose();
        _connection.Dispose();
    }
}

/// <summary>A CSV catalogue (comma or, for .tsv, tab separated; UTF-8) read record by record with CsvHelper.</summary>
public sealed class CsvCatalogSource : ICatalogSource
{
    private readonly StreamReader _text;
    private readonly CsvReader _csv;
    private string? _badData;

    public string Description { get; }
    public IReadOnlyList<string> Columns { get; }
    public bool TitlesMayBeFormulaEscaped => true;

    public CsvCatalogSource(string path)
    {
        Description = $"the CSV catalogue '{path}'";
        _text = new StreamReader(path, new UTF8Encoding(false, throwOnInvalidBytes: false), detectEncodingFromByteOrderMarks: true);
        var config = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            Delimiter = Path.GetExtension(path).Equals(".tsv", StringComparison.OrdinalIgnoreCase) ? "\t" : ",",
            BadDataFound = args => _badData ??= $"malformed CSV field near '{Truncate(args.Field)}'",
            MissingFieldFound = null,
            TrimOptions = TrimOptions.None,
            DetectColumnCountChanges = false,
        };
        _csv = new CsvReader(_text, config);
        if (!_csv.Read() || !_csv.ReadHeader())
        {
            Dispose();
            throw new MessException(MessErrorIds.CatalogEmptyFile, MessErrorKind.InvalidData, $"{Description} is empty: it has no header row.", path);
        }
        Columns = _csv.HeaderRecord ?? Array.Empty<string>();
    }

    private static string Truncate(string s) => s.Length > 40 ? s[..40] + "…" : s;

    public IEnumerable<RawCatalogRow> ReadRows(CancellationToken cancellationToken)
    {
        long row = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _badData = null;
            if (!_csv.Read()) yield break;
            row++;
            var values = new string?[Columns.Count];
            // The parser's fields as they are (no type conversion: every value is text, checked by the exporter); a
            // short row's missing fields are null. TryGetField<string> went through a type converter per field: a cold
            // read of 100,000 rows took 869 ms with it, 733 ms without (ServerBench startup, medians of 3, quiet).
            var parser = _csv.Parser;
            int count = Math.Min(values.Length, parser.Count);
            for (int i = 0; i < count; i++) values[i] = parser[i];
            string? problem = _badData is null ? null : $"{_badData} (line {_csv.Parser.RawRow})";
            if (problem is null && _csv.Parser.Count != Columns.Count)
                problem = $"it has {_csv.Parser.Count} fields where the header has {Columns.Count} (line {_csv.Parser.RawRow})";
            yield return new RawCatalogRow(row, values, problem);
        }
    }

    public void Dispose()
    {
        _csv.Dispose();
        _text.Dispose();
    }
}
