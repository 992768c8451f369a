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
            throw new MessException("InvalidHnswParameter", MessErrorKind.InvalidArgument, $"-M {M} is out of range: pgvector takes 2 to 100.", M);
        if (EfConstruction < 2 * M || EfConstruction > 1000)
            throw new MessException("InvalidHnswParameter", MessErrorKind.InvalidArgument,
                $"-EfConstruction {EfConstruction} is out of range: pgvector takes 2 x M ({2 * M}) to 1000.", EfConstruction);
        if (BatchSize is < 1 or > MaxBatchSize)
            throw new MessException("InvalidBatchSize", MessErrorKind.InvalidArgument, $"-BatchSize {BatchSize} is out of range: 1 to {MaxBatchSize}.", BatchSize);
    }
}

/// <summary>Where a publish is: its phase and how many of the phase's items are done.</summary>
public readonly record struct VectorPublishProgress(string Phase, long Done, long Total, long Written);

/// <summary>
/// Publish-MessVector's engine: every track of an artifact folder (embeddings plus catalogue metadata) into a pgvector
/// table, incrementally. Each row carries the SHA-256 of what it holds, so a run sends only new and changed rows (batched
/// multi-row INSERT ... ON CONFLICT with parameters, one transaction per batch) and deletes the tracks the artifacts no
/// longer have; a second run writes nothing. The HNSW index is made after the rows, and the metadata table records the
/// embeddings' SHA-256 and model last, so a run killed at any point is finished by the next one. Binary COPY is not used
/// (PGlite's wire server cannot take it).
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
            CreateTables(connection, table, source.Matrix.Dimension);
            var existing = ReadDigests(connection, table, cancellationToken);
            var meta = table.ReadMeta(connection);
            WriteRows(connection, table, source, existing, options.BatchSize, result, progress, log, cancellationToken);
            DeleteRemoved(connection, table, existing, options.BatchSize, result, progress, log, cancellationToken);
            result.IndexBuilt = EnsureIndex(connection, table, options, progress);
            bool changed = result.Inserted + result.Updated + result.Deleted > 0 || result.IndexBuilt || meta is null
                || meta.Model != source.Model || meta.Dimension != source.Matrix.Dimension || meta.EmbeddingsSha256 != source.EmbeddingsSha256
                || meta.TrackCount != source.Matrix.Count || meta.HnswM != options.M || meta.HnswEfConstruction != options.EfConstruction;
            if (changed) WriteMeta(connection, table, source, options);
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
            throw new MessException("VectorTableMismatch", MessErrorKind.InvalidOperation,
                $"{Capital(table.Description)} holds {tableDim}-dimensional embeddings, but the artifacts in '{source.Folder}' are {d}-dimensional (model '{source.Model}'). " +
                "Publish to another -Table, or drop that table first.", table.Name);
        var meta = table.ReadMeta(connection);
        string? tableModel = meta?.Model;
        if (tableModel is null && tableDim is not null)
            tableModel = VectorTable.Scalar<string>(connection, $"SELECT model FROM {table.Sql} WHERE model <> @m LIMIT 1", ("m", source.Model));
        if (tableModel is not null && tableModel != source.Model)
            throw new MessException("VectorTableMismatch", MessErrorKind.InvalidOperation,
                $"{Capital(table.Description)} holds embeddings of model '{tableModel}', but the artifacts in '{source.Folder}' are of model '{source.Model}'. " +
                "Vectors of two models cannot be compared: publish to another -Table.", table.Name);
    }

    private static string Capital(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    private static void CreateTables(NpgsqlConnection connection, VectorTable table, int dimension)
    {
        VectorTable.Execute(connection, $"""
            CREATE TABLE IF NOT EXISTS {table.Sql} (
              track_id text PRIMARY KEY,
              album_id text,
              composer text,
              title text,
              model text NOT NULL,
              embedding vector({dimension.ToString(CultureInfo.InvariantCulture)}) NOT NULL,
              digest text NOT NULL,
              updated_at timestamptz NOT NULL DEFAULT clock_timestamp());
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
    }

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

    /// <summary>Streams the artifact rows; new and changed ones go out in batches, each batch one statement and one transaction.</summary>
    private static void WriteRows(NpgsqlConnection connection, VectorTable table, ArtifactRows source, Dictionary<string, string> existing,
        int batchSize, VectorPublishResult result, Action<VectorPublishProgress>? progress, Action<string>? log, CancellationToken ct)
    {
        var matrix = source.Matrix;
        var batch = new List<(int Row, string Digest, bool IsNew)>(batchSize);
        for (int i = 0; i < matrix.Count; i++)
        {
            string id = matrix.TrackIds[i];
            string digest = source.Digest(i);
            bool known = existing.Remove(id, out var old);
            if (!known || old != digest) batch.Add((i, digest, !known));
            if (batch.Count == batchSize || (i == matrix.Count - 1 && batch.Count > 0))
            {
                ct.ThrowIfCancellationRequested();
                Upsert(connection, table, source, batch);
                foreach (var b in batch) { if (b.IsNew) result.Inserted++; else result.Updated++; }
                log?.Invoke($"Committed a batch of {batch.Count} rows ({i + 1:N0} of {matrix.Count:N0} tracks compared).");
                batch.Clear();
            }
            if ((i & 255) == 0 || i == matrix.Count - 1)
                progress?.Invoke(new VectorPublishProgress("Writing new and changed tracks", i + 1, matrix.Count, result.Inserted + result.Updated));
        }
    }

    private static void Upsert(NpgsqlConnection connection, VectorTable table, ArtifactRows source, List<(int Row, string Digest, bool IsNew)> batch)
    {
        var sql = new StringBuilder($"INSERT INTO {table.Sql} (track_id, album_id, composer, title, model, embedding, digest, updated_at) VALUES ");
        using var tx = connection.BeginTransaction();
        using var cmd = new NpgsqlCommand { Connection = connection, Transaction = tx, CommandTimeout = 0 };
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
        sql.Append(" ON CONFLICT (track_id) DO UPDATE SET album_id = EXCLUDED.album_id, composer = EXCLUDED.composer, title = EXCLUDED.title, " +
                   "model = EXCLUDED.model, embedding = EXCLUDED.embedding, digest = EXCLUDED.digest, updated_at = EXCLUDED.updated_at");
        cmd.CommandText = sql.ToString();
        cmd.ExecuteNonQuery();
        tx.Commit();
    }

    /// <summary>What is left in <paramref name="remaining"/> is in the table but not in the artifacts: deleted, a batch per transaction.</summary>
    private static void DeleteRemoved(NpgsqlConnection connection, VectorTable table, Dictionary<string, string> remaining, int batchSize,
        VectorPublishResult result, Action<VectorPublishProgress>? progress, Action<string>? log, CancellationToken ct)
    {
        var ids = remaining.Keys.Order(StringComparer.Ordinal).ToArray();
        for (int start = 0; start < ids.Length; start += batchSize)
        {
            ct.ThrowIfCancellationRequested();
            var chunk = ids[start..Math.Min(ids.Length, start + batchSize)];
            using var tx = connection.BeginTransaction();
            using var cmd = new NpgsqlCommand($"DELETE FROM {table.Sql} WHERE track_id = ANY(@ids)", connection, tx) { CommandTimeout = 0 };
            cmd.Parameters.AddWithValue("ids", chunk);
            result.Deleted += cmd.ExecuteNonQuery();
            tx.Commit();
            log?.Invoke($"Deleted {chunk.Length} tracks that the artifacts no longer have.");
            progress?.Invoke(new VectorPublishProgress("Deleting removed tracks", start + chunk.Length, ids.Length, result.Deleted));
        }
    }

    /// <summary>The HNSW index with these parameters: made if missing, remade if it was built with others. True when it was (re)built.</summary>
    private static bool EnsureIndex(NpgsqlConnection connection, VectorTable table, VectorPublishOptions options, Action<VectorPublishProgress>? progress)
    {
        string want = $"m={options.M.ToString(CultureInfo.InvariantCulture)},ef_construction={options.EfConstruction.ToString(CultureInfo.InvariantCulture)}";
        string[]? have;
        using (var cmd = new NpgsqlCommand("SELECT coalesce(c.reloptions, '{}') FROM pg_class c WHERE c.oid = to_regclass(@i)", connection))
        {
            cmd.Parameters.AddWithValue("i", table.IndexSql);
            have = cmd.ExecuteScalar() as string[];
        }
        if (have is not null && string.Join(',', have.Order(StringComparer.Ordinal).Reverse()) == want) return false;
        progress?.Invoke(new VectorPublishProgress("Building the HNSW index", 0, 1, 0));
        using (var tx = connection.BeginTransaction())
        {
            if (have is not null) VectorTable.Execute(connection, $"DROP INDEX {table.IndexSql}", tx);
            // m and ef_construction are validated integers: a storage parameter cannot be a bind parameter.
            VectorTable.Execute(connection, $"CREATE INDEX \"{table.IndexName}\" ON {table.Sql} USING hnsw (embedding vector_cosine_ops) WITH ({want.Replace(",", ", ")})", tx);
            tx.Commit();
        }
        progress?.Invoke(new VectorPublishProgress("Building the HNSW index", 1, 1, 0));
        return true;
    }

    private static void WriteMeta(NpgsqlConnection connection, VectorTable table, ArtifactRows source, VectorPublishOptions options)
    {
        using var cmd = new NpgsqlCommand($"""
            INSERT INTO {table.MetaSql} (table_name, model, dim, embeddings_sha256, track_count, hnsw_m, hnsw_ef_construction, module_version, published_at)
            VALUES (@t, @model, @dim, @sha, @count, @m, @ef, @version, clock_timestamp())
            ON CONFLICT (table_name) DO UPDATE SET model = EXCLUDED.model, dim = EXCLUDED.dim, embeddings_sha256 = EXCLUDED.embeddings_sha256,
              track_count = EXCLUDED.track_count, hnsw_m = EXCLUDED.hnsw_m, hnsw_ef_construction = EXCLUDED.hnsw_ef_construction,
              module_version = EXCLUDED.module_version, published_at = EXCLUDED.published_at
            """, connection);
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
            var meta = set.Meta ?? throw new MessException("EmbeddingsMetaMissing", MessErrorKind.ObjectNotFound,
                    $"'{metaFile}' does not exist, so the model of the embeddings is unknown. Run ConvertTo-MessEmbedding first.", metaFile);
            if (string.IsNullOrWhiteSpace(meta.Model))
                throw new MessException("EmbeddingsMetaMalformed", MessErrorKind.InvalidData, $"'{metaFile}' names no model.", metaFile);
            string sha = string.IsNullOrEmpty(meta.EmbeddingsSha256) ? set.Sha256 : meta.EmbeddingsSha256;
            TrackInfoTable? info = File.Exists(store.MetadataCsv) ? TrackInfoTable.Read(store.MetadataCsv) : null;
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
