using System.Globalization;
using MessTools.Core.Common;
using MessTools.Core.Database;
using Npgsql;

namespace MessTools.Core.VectorStore;

/// <summary>
/// One table of embeddings in a PostgreSQL server with pgvector, and what publishing and querying share: the
/// connection (through <see cref="PostgresConnection"/>, so -Credential and the URI form work as for the catalogue),
/// the quoted table, index and metadata-table names, the extension check, and the table's recorded model and dimension.
/// Columns: track_id (primary key), album_id, composer, title, model, embedding vector(D), digest (SHA-256 of what
/// the row holds, so a rerun sees what changed), updated_at. The metadata table &lt;schema.&gt;mess_vector_meta has one row per table.
/// </summary>
public sealed class VectorTable : IDisposable
{
    public const string DefaultTable = "mess_tracks";
    public const string MetaTableName = "mess_vector_meta";
    public const string ConnectionEnvironmentVariable = "MESS_VECTOR_CONNECTION";

    public NpgsqlDataSource DataSource { get; }
    /// <summary>The table as the user named it (schema.table or table).</summary>
    public string Name { get; }
    /// <summary>"schema"."table", safe in SQL.</summary>
    public string Sql { get; }
    public string MetaSql { get; }
    /// <summary>The HNSW index's bare name (CREATE INDEX puts it in the table's schema) and its qualified, quoted name.</summary>
    public string IndexName { get; }
    public string IndexSql { get; }
    /// <summary>How messages name it: the table at host:port/database (never credentials).</summary>
    public string Description { get; }
    /// <summary>The table's bare name (without schema), its schema prefix ("schema". or empty).</summary>
    public string BareName { get; }
    private readonly string _schemaPrefix;

    /// <summary>
    /// The staging table a publish fills (bare name and quoted, qualified name) and the names it and its index take until
    /// they are swapped in (<see cref="VectorPublisher"/>): <c>&lt;table&gt;_next</c>, <c>&lt;table&gt;_next_hnsw</c>, <c>&lt;table&gt;_next_pkey</c>.
    /// </summary>
    public string NextName => BareName + NextSuffix;
    public string NextSql => Qualify(NextName);
    public string NextIndexName => BareName + NextSuffix + "_hnsw";
    public string NextKeyName => BareName + NextSuffix + "_pkey";
    /// <summary>The live table's primary key name once a staging table is swapped in.</summary>
    public string KeyName => BareName + "_pkey";

    /// <summary>A name in the table's schema, quoted.</summary>
    public string Qualify(string bareName) => _schemaPrefix + "\"" + bareName + "\"";

    private const string NextSuffix = "_next";
    private const string IndexSuffix = "_embedding_hnsw";
    /// <summary>PostgreSQL's identifier limit (NAMEDATALEN - 1): a longer name is cut silently, so derived names would collide.</summary>
    public const int MaxIdentifierBytes = 63;
    private static readonly int LongestSuffix = new[] { IndexSuffix, NextSuffix + "_hnsw", NextSuffix + "_pkey" }.Max(x => x.Length);

    private VectorTable(NpgsqlDataSource dataSource, string name, string bareName, string schemaPrefix, string description)
    {
        DataSource = dataSource;
        Name = name;
        BareName = bareName;
        _schemaPrefix = schemaPrefix;
        Sql = schemaPrefix + "\"" + bareName + "\"";
        MetaSql = schemaPrefix + "\"" + MetaTableName + "\"";
        IndexName = bareName + IndexSuffix;
        IndexSql = schemaPrefix + "\"" + IndexName + "\"";
        Description = description;
    }

    /// <summary>Checks the names (including every name derived from the table's) and makes the data source (no connection yet).</summary>
    public static VectorTable Create(string connectionString, string? table, string? userName = null, string? password = null)
    {
        string name = string.IsNullOrWhiteSpace(table) ? DefaultTable : table.Trim();
        var parts = PostgresConnection.SplitTable(name);
        int max = MaxIdentifierBytes - LongestSuffix;
        if (parts[^1].Length > max || parts[0].Length > MaxIdentifierBytes)
            throw new MessException(MessErrorIds.InvalidTableName, MessErrorKind.InvalidArgument,
                $"The table name '{name}' is too long: PostgreSQL cuts names at {MaxIdentifierBytes} bytes, and the names derived from it " +
                $"('{parts[^1]}{IndexSuffix}', '{parts[^1]}{NextSuffix}_pkey' ...) must stay whole, so the table may have at most {max} characters (the schema {MaxIdentifierBytes}).", name);
        string schema = parts.Length == 2 ? "\"" + parts[0] + "\"." : "";
        var builder = PostgresConnection.Build(connectionString, userName, password);
        var dataSourceBuilder = new NpgsqlDataSourceBuilder(builder.ConnectionString);
        dataSourceBuilder.UseVector();
        var dataSource = dataSourceBuilder.Build();
        return new VectorTable(dataSource, name, parts[^1], schema, $"the vector table '{name}' at {PostgresConnection.Describe(builder)}");
    }

    /// <summary>Opens a connection; connection failures (refused, wrong password) never show the password.</summary>
    public NpgsqlConnection Open() => PostgresConnection.Open(DataSource, Description, "VectorStoreConnectFailed");

    /// <summary>
    /// The vector extension must be installed (with <paramref name="create"/>: CREATE EXTENSION IF NOT EXISTS vector first).
    /// A server that does not have it at all is one error saying so.
    /// </summary>
    public void RequireExtension(NpgsqlConnection connection, bool create)
    {
        bool available = Scalar<long>(connection, "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'") > 0;
        if (!available)
            throw new MessException(MessErrorIds.VectorExtensionMissing, MessErrorKind.NotInstalled,
                $"The PostgreSQL server of {Description} has no 'vector' extension (pgvector). Install pgvector on the server " +
                "(on Amazon RDS/Aurora it is available: CREATE EXTENSION vector), or use another server.", Description);
        bool installed = Scalar<long>(connection, "SELECT count(*) FROM pg_extension WHERE extname = 'vector'") > 0;
        if (installed) return;
        if (!create)
            throw new MessException(MessErrorIds.VectorExtensionMissing, MessErrorKind.NotInstalled,
                $"The 'vector' extension is not installed in the database of {Description}. Publish-MessVector installs it (CREATE EXTENSION vector).", Description);
        try { Execute(connection, "CREATE EXTENSION IF NOT EXISTS vector"); }
        catch (PostgresException ex)
        {
            throw new MessException(MessErrorIds.VectorExtensionMissing, MessErrorKind.NotInstalled,
                $"CREATE EXTENSION vector failed in {Description}: {SecretRedactor.Redact(ex.MessageText)}. Ask the database owner to run it.", Description, ex);
        }
        connection.ReloadTypes();
    }

    public bool Exists(NpgsqlConnection connection) =>
        Scalar<object>(connection, "SELECT to_regclass(@t)::text", ("t", Sql)) is string;

    /// <summary>The dimension of the embedding column (vector(D)), or null when the table does not exist.</summary>
    public int? Dimension(NpgsqlConnection connection)
    {
        var type = Scalar<object>(connection,
            "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = to_regclass(@t) AND a.attname = 'embedding' AND NOT a.attisdropped",
            ("t", Sql)) as string;
        if (type is null) return null;
        var digits = new string(type.Where(char.IsAsciiDigit).ToArray());
        if (!type.StartsWith("vector", StringComparison.Ordinal) || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int d))
            throw new MessException(MessErrorIds.VectorTableMalformed, MessErrorKind.InvalidData,
                $"The column embedding of {Description} is '{type}', not vector(D). Use another -Table.", Description);
        return d;
    }

    /// <summary>What was recorded for this table by the last complete publish, or null.</summary>
    public VectorTableMeta? ReadMeta(NpgsqlConnection connection)
    {
        if (Scalar<object>(connection, "SELECT to_regclass(@t)::text", ("t", MetaSql)) is not string) return null;
        using var cmd = new NpgsqlCommand($"SELECT model, dim, embeddings_sha256, track_count, hnsw_m, hnsw_ef_construction, published_at FROM {MetaSql} WHERE table_name = @t", connection);
        cmd.Parameters.AddWithValue("t", Name);
        using var r = cmd.ExecuteReader();
        if (!r.Read()) return null;
        return new VectorTableMeta
        {
            Model = r.GetString(0),
            Dimension = r.GetInt32(1),
            EmbeddingsSha256 = r.GetString(2),
            TrackCount = r.GetInt32(3),
            HnswM = r.GetInt32(4),
            HnswEfConstruction = r.GetInt32(5),
            PublishedUtc = r.GetDateTime(6),
        };
    }

    internal static void Execute(NpgsqlConnection connection, string sql, NpgsqlTransaction? tx = null)
    {
        using var cmd = new NpgsqlCommand(sql, connection, tx);
        cmd.CommandTimeout = 0;
        cmd.ExecuteNonQuery();
    }

    internal static T? Scalar<T>(NpgsqlConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        using var cmd = new NpgsqlCommand(sql, connection);
        foreach (var (n, v) in parameters) cmd.Parameters.AddWithValue(n, v);
        object? value = cmd.ExecuteScalar();
        return value is null or DBNull ? default : (T)value;
    }

    /// <summary>A server error during a publish or query, with the table named and secrets masked.</summary>
    internal MessException Failed(string errorId, string doing, Exception ex) =>
        new(errorId, PostgresConnection.IsConnectFailure(ex) && ex is not PostgresException ? MessErrorKind.ConnectionError : MessErrorKind.InvalidOperation,
            $"{doing} {Description} failed: {SecretRedactor.Redact(ex is PostgresException pg ? $"{pg.SqlState}: {pg.MessageText}" : ex.Message)}", Description, ex);

    public void Dispose() => DataSource.Dispose();
}

/// <summary>The row of mess_vector_meta for one table.</summary>
public sealed class VectorTableMeta
{
    public string Model { get; init; } = "";
    public int Dimension { get; init; }
    public string EmbeddingsSha256 { get; init; } = "";
    public int TrackCount { get; init; }
    public int HnswM { get; init; }
    public int HnswEfConstruction { get; init; }
    public DateTime PublishedUtc { get; init; }
}
