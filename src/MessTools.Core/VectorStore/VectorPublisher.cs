using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Embedding;
using MessTools.Core.Index;
using Npgsql;
using Pgvector;

namespace MessTools.Core.VectorStore;

/// <summary>What Publish-MessVector is asked to do.</summary>
public sealed class VectorPublishOptions
{
    public string? Table { get; set; }
    /// <summary>HNSW graph degree (pgvector's m, 2..100).</summary>
    public int M { get; set; } = 16;
    /// <summary>HNSW build candidate list (pgvector's ef_construction, at least 2 x M, at most 1000).</summary>
    public int EfConstruction { get; set; } = 64;
    /// <summary>Rows per INSERT statement and per transaction.</summary>
    public int BatchSize { get; set; } = 500;

    public const int MaxBatchSize = 5000; // 7 parameters a row; PostgreSQL takes at most 65,535 per statement

    public void Validate()
    {
        if (M is < 2 or > 100)
            throw new MessException(MessErrorIds.InvalidHnswParameter, MessErrorKind.InvalidArgument, $"-M {M} is out of range: pgvector takes 2 to 100.", M);
        if (EfConstruction < 2 * M || EfConstruction > 1000)
            throw new MessException(MessErrorIds.InvalidHnswParameter, MessErrorKind.InvalidArgument,
                $"-EfConstruction {EfConstruction} is out of range: pgvector takes 2 x M ({2 * M}) to 1000.", EfConstruction);
        if (BatchSize is < 1 or > MaxBatchSize)
            throw new MessException(MessErrorIds.InvalidBatchSize, MessErrorKind.InvalidArgument, $"-BatchSize {BatchSize} is out of range: 1 to {MaxBatchSize}.", BatchSize);
    }
}

/// <summary>Where a publish is: its phase and how many of the phase's items are done.</summary>
public readonly record struct VectorPublishProgress(string Phase, long Done, long Total, long Written);

/// <summary>
/// Publish-MessVector's engine: every track of an artifact folder (embeddings plus catalogue metadata) into a pgvector
/// table, as one version. Each row carries the SHA-256 of what it holds, so a run sends only new and changed rows; a
/// second run writes nothing. A run that changes anything builds the new version in &lt;table&gt;_next (the unchanged rows
/// copied inside the server, the new and changed ones in batched multi-row INSERTs with parameters, then the HNSW index)
/// and swaps it in with the metadata row in one transaction: readers see the old version or the new one, never a mix,
/// and a run killed at any point leaves the old version answering and the metadata row true (the next run starts the
/// staging table again). The price: the HNSW index is rebuilt on every run that changes something. Binary COPY is not
/// used (PGlite's wire server cannot take it).
/// </summary>
public static class VectorPublisher
{
    private const int ColumnsPerRow = 7;

    public static VectorPublishResult Publish(ArtifactStore store, VectorTable table, VectorPublishOptions options,
        Action<VectorPublishProgress>? progress = null, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        var source = ArtifactRows.Open(store, log);
        var result = new VectorPublishResult
        {
            Table = table.Name, Server = table.Description, Model = source.Model, Dimension = source.Matrix.Dimension,
            Tracks = source.Matrix.Count, EmbeddingsSha256 = source.EmbeddingsSha256,
        };
        using var connection = table.Open();
        try
        {
            table.RequireExtension(connection, create: true);
            CheckShape(connection, table, source);
            CreateMetaTable(connection, table);
            // One publisher of a table at a time (session-level advisory lock, released with the connection): two
            // publishes never share the staging table.
            VectorTable.Execute(connection, $"SELECT pg_advisory_lock(hashtext('mess_vector_publish:' || {Literal(table.Sql)}))");
            bool exists = table.Exists(connection);
            var existing = exists ? ReadDigests(connection, table, cancellationToken) : new Dictionary<string, string>(StringComparer.Ordinal);
            var meta = table.ReadMeta(connection);
            var writes = PlanWrites(source, existing);
            var removed = existing.Keys.Order(StringComparer.Ordinal).ToArray(); // what is left: in the table, not in the artifacts
            bool indexCurrent = exists && IndexMatches(connection, table, options);
            bool metaCurrent = meta is not null && meta.Model == source.Model && meta.Dimension == source.Matrix.Dimension
                && meta.EmbeddingsSha256 == source.EmbeddingsSha256 && meta.TrackCount == source.Matrix.Count
                && meta.HnswM == options.M && meta.HnswEfConstruction == options.EfConstruction;
            if (writes.Count + removed.Length > 0 || !indexCurrent)
            {
                // A new version of the table is built beside the live one and swapped in with the meta row in one
                // transaction: readers see the old version or the new one, never a mix, and a publish killed before the
                // swap leaves the old version answering and its meta row true.
                Stage(connection, table, source, writes, removed, exists, options, result, progress, log, cancellationToken);
                FaultInjection.Hit("vector.staged");
                Swap(connection, table, source, exists, options, progress);
                result.IndexBuilt = true;
            }
            else if (!metaCurrent) WriteMeta(connection, table, source, options, null);
            result.Unchanged = source.Matrix.Count - result.Inserted - result.Updated;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            throw table.Failed("VectorPublishFailed", "Publishing to", ex);
        }
        finally
        {
            connection.Close();
            // A server that takes one connection at a time (PGlite) must not be left holding this one in the pool.
            NpgsqlConnection.ClearPool(connection);
        }
        result.Seconds = Math.Round(clock.Elapsed.TotalSeconds, 3);
        return result;
    }

    /// <summary>A table that exists must hold the same dimension and model as the artifacts; the error names both.</summary>
    private static void CheckShape(NpgsqlConnection connection, VectorTable table, ArtifactRows source)
    {
        int d = source.Matrix.Dimension;
        int? tableDim = table.Dimension(connection);
        if (tableDim is not null && tableDim != d)
            throw new MessException(MessErrorIds.VectorTableMismatch, MessErrorKind.InvalidOperation,
                $"{Capital(table.Description)} holds {tableDim}-dimensional embeddings, but the artifacts in '{source.Folder}' are {d}-dimensional (model '{source.Model}'). " +
                "Publish to another -Table, or drop that table first.", table.Name);
        var meta = table.ReadMeta(connection);
        string? tableModel = meta?.Model;
        if (tableModel is null && tableDim is not null)
            tableModel = VectorTable.Scalar<string>(connection, $"SELECT model FROM {table.Sql} WHERE model <> @m LIMIT 1", ("m", source.Model));
        if (tableModel is not null && tableModel != source.Model)
            throw new MessException(MessErrorIds.VectorTableMismatch, MessErrorKind.InvalidOperation,
                $"{Capital(table.Description)} holds embeddings of model '{tableModel}', but the artifacts in '{source.Folder}' are of model '{source.Model}'. " +
                "Vectors of two models cannot be compared: publish to another -Table.", table.Name);
    }

    private static string Capital(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    private static string Literal(string s) => "'" + s.Replace("'", "''") + "'";

    private static void CreateMetaTable(NpgsqlConnection connection, VectorTable table) =>
        VectorTable.Execute(connection, $"""
            CREATE TABLE IF NOT EXISTS {table.MetaSql} (
              table_name text PRIMARY KEY,
              model text NOT NULL,
              dim integer NOT NULL,
              embeddings_sha256 text NOT NULL,
              track_count integer NOT NULL,
              hnsw_m integer NOT NULL,
              hnsw_ef_construction integer NOT NULL,
              module_version text NOT NULL,
              published_at timestamptz NOT NULL)
            """);

    private static Dictionary<string, string> ReadDigests(NpgsqlConnection connection, VectorTable table, CancellationToken ct)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        using var cmd = new NpgsqlCommand($"SELECT track_id, digest FROM {table.Sql}", connection) { CommandTimeout = 0 };
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            ct.ThrowIfCancellationRequested();
            map[r.GetString(0)] = r.GetString(1);
        }
        return map;
    }

    /// <summary>The artifact rows that are new or changed; what stays in <paramref name="existing"/> is in the table only.</summary>
    private static List<(int Row, string Digest, bool IsNew)> PlanWrites(ArtifactRows source, Dictionary<string, string> existing)
    {
        var writes = new List<(int, string, bool)>();
        for (int i = 0; i < source.Matrix.Count; i++)
        {
            string digest = source.Digest(i);
            bool known = existing.Remove(source.Matrix.TrackIds[i], out var old);
            if (!known || old != digest) writes.Add((i, digest, !known));
        }
        return writes;
    }

    /// <summary>
    /// Builds &lt;table&gt;_next: the live rows that stay (copied inside the server, nothing crosses the network), the new and
    /// changed rows in batches of one statement each, then its HNSW index.
    /// </summary>
    private static void Stage(NpgsqlConnection connection, VectorTable table, ArtifactRows source, List<(int Row, string Digest, bool IsNew)> writes,
        string[] removed, bool exists, VectorPublishOptions options, VectorPublishResult result, Action<VectorPublishProgress>? progress,
        Action<string>? log, CancellationToken ct)
    {
        VectorTable.Execute(connection, $"""
            DROP TABLE IF EXISTS {table.NextSql};
            CREATE TABLE {table.NextSql} (
              track_id text NOT NULL,
              album_id text,
              composer text,
              title text,
              model text NOT NULL,
              embedding vector({source.Matrix.Dimension.ToString(CultureInfo.InvariantCulture)}) NOT NULL,
              digest text NOT NULL,
              updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
              CONSTRAINT "{table.NextKeyName}" PRIMARY KEY (track_id))
            """);
        if (exists)
        {
            progress?.Invoke(new VectorPublishProgress("Copying the unchanged tracks", 0, 1, 0));
            using var copy = new NpgsqlCommand($"INSERT INTO {table.NextSql} SELECT track_id, album_id, composer, title, model, embedding, digest, updated_at " +
                $"FROM {table.Sql} WHERE NOT (track_id = ANY(@gone))", connection) { CommandTimeout = 0 };
            copy.Parameters.AddWithValue("gone", removed.Concat(writes.Where(w => !w.IsNew).Select(w => source.Matrix.TrackIds[w.Row])).ToArray());
            copy.ExecuteNonQuery();
            result.Deleted = removed.Length;
            if (removed.Length > 0) log?.Invoke($"Left out {removed.Length:N0} tracks that the artifacts no longer have.");
        }
        for (int start = 0; start < writes.Count; start += options.BatchSize)
        {
            ct.ThrowIfCancellationRequested();
            var batch = writes.GetRange(start, Math.Min(options.BatchSize, writes.Count - start));
            Insert(connection, table.NextSql, source, batch);
            foreach (var b in batch) { if (b.IsNew) result.Inserted++; else result.Updated++; }
            log?.Invoke($"Wrote a batch of {batch.Count} rows ({start + batch.Count:N0} of {writes.Count:N0} new and changed tracks).");
            progress?.Invoke(new VectorPublishProgress("Writing new and changed tracks", start + batch.Count, writes.Count, result.Inserted + result.Updated));
        }
        progress?.Invoke(new VectorPublishProgress("Building the HNSW index", 0, 1, 0));
        // m and ef_construction are validated integers: a storage parameter cannot be a bind parameter.
        VectorTable.Execute(connection, $"CREATE INDEX \"{table.NextIndexName}\" ON {table.NextSql} USING hnsw (embedding vector_cosine_ops) " +
            $"WITH (m = {options.M.ToString(CultureInfo.InvariantCulture)}, ef_construction = {options.EfConstruction.ToString(CultureInfo.InvariantCulture)})");
        progress?.Invoke(new VectorPublishProgress("Building the HNSW index", 1, 1, 0));
    }

    private static void Insert(NpgsqlConnection connection, string targetSql, ArtifactRows source, List<(int Row, string Digest, bool IsNew)> batch)
    {
        var sql = new StringBuilder($"INSERT INTO {targetSql} (track_id, album_id, composer, title, model, embedding, digest, updated_at) VALUES ");
        using var cmd = new NpgsqlCommand { Connection = connection, CommandTimeout = 0 };
        for (int b = 0; b < batch.Count; b++)
        {
            int p = b * ColumnsPerRow;
            if (b > 0) sql.Append(',');
            sql.Append(CultureInfo.InvariantCulture, $"(${p + 1},${p + 2},${p + 3},${p + 4},${p + 5},${p + 6},${p + 7},clock_timestamp())");
            int row = batch[b].Row;
            var (album, composer, title) = source.Info(row);
            cmd.Parameters.Add(new NpgsqlParameter { Value = source.Matrix.TrackIds[row] });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)album ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)composer ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)title ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            cmd.Parameters.Add(new NpgsqlParameter { Value = source.Model });
            cmd.Parameters.Add(new NpgsqlParameter { Value = new Vector(source.Matrix.Row(row).ToArray()) });
            cmd.Parameters.Add(new NpgsqlParameter { Value = batch[b].Digest });
        }
        cmd.CommandText = sql.ToString();
        cmd.ExecuteNonQuery();
    }

    /// <summary>
    /// One transaction: the live table goes, &lt;table&gt;_next takes its name, its index and key take the live names, and the
    /// meta row names the new set. A reader waits for the commit and then reads the new table.
    /// </summary>
    private static void Swap(NpgsqlConnection connection, VectorTable table, ArtifactRows source, bool exists, VectorPublishOptions options,
        Action<VectorPublishProgress>? progress)
    {
        progress?.Invoke(new VectorPublishProgress("Swapping in the new version", 0, 1, 0));
        using var tx = connection.BeginTransaction();
        if (exists) VectorTable.Execute(connection, $"DROP TABLE {table.Sql}", tx);
        VectorTable.Execute(connection, $"""
            ALTER TABLE {table.NextSql} RENAME TO "{table.BareName}";
            ALTER INDEX {table.Qualify(table.NextIndexName)} RENAME TO "{table.IndexName}";
            ALTER TABLE {table.Sql} RENAME CONSTRAINT "{table.NextKeyName}" TO "{table.KeyName}"
            """, tx);
        WriteMeta(connection, table, source, options, tx);
        tx.Commit();
        progress?.Invoke(new VectorPublishProgress("Swapping in the new version", 1, 1, 0));
    }

    /// <summary>True when the live table's HNSW index was built with these parameters.</summary>
    private static bool IndexMatches(NpgsqlConnection connection, VectorTable table, VectorPublishOptions options)
    {
        string want = $"m={options.M.ToString(CultureInfo.InvariantCulture)},ef_construction={options.EfConstruction.ToString(CultureInfo.InvariantCulture)}";
        using var cmd = new NpgsqlCommand("SELECT coalesce(c.reloptions, '{}') FROM pg_class c WHERE c.oid = to_regclass(@i)", connection);
        cmd.Parameters.AddWithValue("i", table.IndexSql);
        return cmd.ExecuteScalar() is string[] have && string.Join(',', have.Order(StringComparer.Ordinal).Reverse()) == want;
    }

    private static void WriteMeta(NpgsqlConnection connection, VectorTable table, ArtifactRows source, VectorPublishOptions options, NpgsqlTransaction? tx)
    {
        using var cmd = new NpgsqlCommand($"""
            INSERT INTO {table.MetaSql} (table_name, model, dim, embeddings_sha256, track_count, hnsw_m, hnsw_ef_construction, module_version, published_at)
            VALUES (@t, @model, @dim, @sha, @count, @m, @ef, @version, clock_timestamp())
            ON CONFLICT (table_name) DO UPDATE SET model = EXCLUDED.model, dim = EXCLUDED.dim, embeddings_sha256 = EXCLUDED.embeddings_sha256,
              track_count = EXCLUDED.track_count, hnsw_m = EXCLUDED.hnsw_m, hnsw_ef_construction = EXCLUDED.hnsw_ef_construction,
              module_version = EXCLUDED.module_version, published_at = EXCLUDED.published_at
            """, connection, tx);
        cmd.Parameters.AddWithValue("t", table.Name);
        cmd.Parameters.AddWithValue("model", source.Model);
        cmd.Parameters.AddWithValue("dim", source.Matrix.Dimension);
        cmd.Parameters.AddWithValue("sha", source.EmbeddingsSha256);
        cmd.Parameters.AddWithValue("count", source.Matrix.Count);
        cmd.Parameters.AddWithValue("m", options.M);
        cmd.Parameters.AddWithValue("ef", options.EfConstruction);
        cmd.Parameters.AddWithValue("version", ModuleInfo.Version);
        cmd.ExecuteNonQuery();
    }

    /// <summary>The artifact folder's embeddings (checked, with the .previous/ fallback) and metadata, and each row's digest.</summary>
    private sealed class ArtifactRows
    {
        public required EmbeddingMatrix Matrix { get; init; }
        public required string Model { get; init; }
        public required string EmbeddingsSha256 { get; init; }
        public required string Folder { get; init; }
        public TrackInfoTable? Metadata { get; init; }

        public static ArtifactRows Open(ArtifactStore store, Action<string>? log)
        {
            var set = EmbeddingsFolder.Open(store, log);
            var matrix = set.Matrix;
            string metaFile = set.MetaFile;
            var meta = set.Meta ?? throw new MessException(MessErrorIds.EmbeddingsMetaMissing, MessErrorKind.ObjectNotFound,
                    $"'{metaFile}' does not exist, so the model of the embeddings is unknown. Run ConvertTo-MessEmbedding first.", metaFile);
            if (string.IsNullOrWhiteSpace(meta.Model))
                throw new MessException(MessErrorIds.EmbeddingsMetaMalformed, MessErrorKind.InvalidData, $"'{metaFile}' names no model.", metaFile);
            string sha = string.IsNullOrEmpty(meta.EmbeddingsSha256) ? set.Sha256 : meta.EmbeddingsSha256;
            TrackInfoTable? info = TrackInfoTable.Load(store);
            if (info is null) log?.Invoke($"'{store.MetadataCsv}' does not exist: album_id, composer and title stay NULL.");
            return new ArtifactRows { Matrix = matrix, Model = meta.Model, EmbeddingsSha256 = sha, Folder = store.Root, Metadata = info };
        }

        public (string? Album, string? Composer, string? Title) Info(int row)
        {
            if (Metadata is null || !Metadata.TryGetRow(Matrix.TrackIds[row], out int r)) return (null, null, null);
            static string? Empty(string s) => s.Length == 0 ? null : s;
            return (Empty(Metadata.AlbumId(r)), Empty(Metadata.Composer(r).Trim()), Empty(Metadata.Title(r)));
        }

        /// <summary>SHA-256 of everything the row stores: model, metadata and the vector's bytes.</summary>
        public string Digest(int row)
        {
            var (album, composer, title) = Info(row);
            using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            h.AppendData(Encoding.UTF8.GetBytes($"{Model}\0{album}\0{composer}\0{title}\0"));
            h.AppendData(MemoryMarshal.AsBytes(Matrix.Row(row)));
            return Convert.ToHexString(h.GetHashAndReset()).ToLowerInvariant();
        }
    }
}
