using System.Globalization;
using MessTools.Core.Common;
using MessTools.Core.Index;
using Npgsql;
using Pgvector;

namespace MessTools.Core.VectorStore;

/// <summary>
/// Neighbour queries answered by a pgvector table that Publish-MessVector filled: the same <see cref="NeighborQuery"/>
/// in, the same <see cref="NeighborResult"/>s out as the index file's <see cref="NeighborFinder"/>. The query track is
/// left out in SQL; -ExcludeSameAlbum and -Composer are WHERE clauses, run with hnsw.iterative_scan = relaxed_order (and
/// the results re-sorted) so a filtered query still returns K rows; hnsw.ef_search is the query's EfSearch (default 40,
/// at least K); Exact turns index scans off for the statement. Each query takes a connection from the pool and gives it
/// back, so one finder serves many threads (the HTTP server) as the server's connection limit allows. As an
/// <see cref="INeighborCatalog"/> (the HTTP server's routes) the catalogue members read the table too: tracks by id,
/// suggestions through <see cref="IdSuggester"/>, composer patterns through <see cref="Wildcard.Expand"/>, and a track's
/// composer figures through <see cref="TrackComposerEvaluation.Score"/>, so both backends answer alike.
/// </summary>
public sealed class VectorStoreFinder : INeighborCatalog, IDisposable
{
    public const int DefaultEfSearch = 40;
    public const int MaxEfSearch = 1000; // pgvector's limit

    private readonly VectorTable _table;
    private IReadOnlyList<string>? _composers;

    public int Count { get; }
    public int Dimension { get; }
    public string Model { get; }
    public bool HasMetadata => true;
    public string Description => _table.Description;

    private VectorStoreFinder(VectorTable table, int count, int dimension, string model)
    {
        _table = table;
        Count = count;
        Dimension = dimension;
        Model = model;
    }

    /// <summary>Connects, checks that the extension and the table are there, and reads the table's model and size.</summary>
    public static VectorStoreFinder Open(string connectionString, string? table, string? userName = null, string? password = null)
    {
        var t = VectorTable.Create(connectionString, table, userName, password);
        try
        {
            using var c = t.Open();
            try
            {
                t.RequireExtension(c, create: false);
                int? dim = t.Dimension(c);
                if (dim is null)
                    throw new MessException(MessErrorIds.VectorTableMissing, MessErrorKind.ObjectNotFound,
                        $"{char.ToUpperInvariant(t.Description[0])}{t.Description[1..]} does not exist. Fill it first: Publish-MessVector -ConnectionString ... -Table {t.Name}.", t.Name);
                var meta = t.ReadMeta(c);
                int count = (int)(VectorTable.Scalar<long>(c, $"SELECT count(*) FROM {t.Sql}"));
                return new VectorStoreFinder(t, count, dim.Value, meta?.Model ?? "");
            }
            catch (NpgsqlException ex) { throw t.Failed("VectorQueryFailed", "Reading", ex); }
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    public IReadOnlyList<string> Composers => _composers ??= Read(c =>
    {
        using var cmd = new NpgsqlCommand($"SELECT DISTINCT composer FROM {_table.Sql} WHERE composer IS NOT NULL ORDER BY composer", c);
        using var r = cmd.ExecuteReader();
        var names = new List<string>();
        while (r.Read()) names.Add(r.GetString(0));
        return names;
    });

    /// <summary>
    /// The neighbours of a track of the table, in one round trip and one transaction: the track's own vector and album are
    /// read by the neighbour statement itself (pgvector's documented form, an index scan ordered by a subquery), so a
    /// publish swapping the table in between cannot pair one version's query vector with the other's rows.
    /// </summary>
    public IReadOnlyList<NeighborResult> ByTrackId(string trackId, NeighborQuery query)
    {
        ArgumentNullException.ThrowIfNull(trackId);
        return Read(c => Query(c, null, trackId, null, query) ?? throw UnknownTrack(c, trackId));
    }

    public IReadOnlyList<NeighborResult> ByVector(ReadOnlySpan<float> vector, string queryLabel, string? albumId, NeighborQuery query)
    {
        // The request's vector rule (dimension, finite, norm in double), as the index file's finder applies it.
        var v = NeighborRequest.NormalizeVector(vector, Dimension, null, out var bad);
        if (bad is not null) throw bad.ToException($"The query embedding of '{queryLabel}'");
        return Read(c => Query(c, v!, queryLabel, albumId, query)!);
    }

    public bool Contains(string trackId) => Track(trackId) is not null;

    public TrackEntry? Track(string trackId)
    {
        ArgumentNullException.ThrowIfNull(trackId);
        return Read(c =>
        {
            using var cmd = new NpgsqlCommand($"SELECT track_id, composer, title, album_id FROM {_table.Sql} WHERE track_id = @id", c);
            cmd.Parameters.AddWithValue("id", trackId);
            using var r = cmd.ExecuteReader();
            return r.Read() ? Entry(r) : null;
        });
    }

    /// <summary>Every track of the table, by track id (read at once: the enumeration holds no connection).</summary>
    public IEnumerable<TrackEntry> Tracks() => Read(c =>
    {
        using var cmd = new NpgsqlCommand($"SELECT track_id, composer, title, album_id FROM {_table.Sql} ORDER BY track_id", c);
        using var r = cmd.ExecuteReader();
        var tracks = new List<TrackEntry>();
        while (r.Read()) tracks.Add(Entry(r));
        return tracks;
    });

    private static TrackEntry Entry(NpgsqlDataReader r) => new(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1),
        r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3));

    /// <summary>Up to <paramref name="max"/> track ids of the table close to <paramref name="id"/>.</summary>
    public IReadOnlyList<string> Suggest(string id, int max = 5) => Read(c => IdSuggester.Suggest(TrackIds(c), id, max));

    private List<string> TrackIds(NpgsqlConnection c)
    {
        var ids = new List<string>();
        using var cmd = new NpgsqlCommand($"SELECT track_id FROM {_table.Sql}", c);
        using var r = cmd.ExecuteReader();
        while (r.Read()) ids.Add(r.GetString(0));
        return ids;
    }

    /// <summary>The composer names of the table matching any of the wildcard patterns.</summary>
    public HashSet<string> ExpandComposers(IEnumerable<string> patterns, List<string>? unmatched = null) =>
        Wildcard.Expand(Composers, patterns, unmatched);

    /// <summary>This track's top K from the table, scored as the evaluation scores it (see <see cref="NeighborFinder.EvaluateTrack"/>).</summary>
    public TrackComposerEvaluation EvaluateTrack(string trackId, int k, bool excludeSameAlbum, bool exact = false)
    {
        var self = Track(trackId);
        var found = ByTrackId(trackId, new NeighborQuery { K = k, Exact = exact, ExcludeSameAlbum = excludeSameAlbum });
        int relevant = self?.Composer is not { } composer ? 0 : Read(c =>
        {
            using var cmd = new NpgsqlCommand($"SELECT count(*) FROM {_table.Sql} WHERE track_id <> @id AND lower(composer) = lower(@composer)" +
                                              (excludeSameAlbum && self.AlbumId is not null ? " AND album_id IS DISTINCT FROM @album" : ""), c);
            cmd.Parameters.AddWithValue("id", trackId);
            cmd.Parameters.AddWithValue("composer", composer.Trim());
            if (excludeSameAlbum && self.AlbumId is not null) cmd.Parameters.AddWithValue("album", self.AlbumId);
            return (int)(long)cmd.ExecuteScalar()!;
        });
        return TrackComposerEvaluation.Score(trackId, self?.Composer, k, excludeSameAlbum, found, relevant);
    }

    /// <summary>
    /// The top K for <paramref name="vector"/>, or (null vector) for the stored vector of <paramref name="queryId"/>; null when
    /// that track is not in the table. One batch (settings, the track's presence, the neighbours) in one transaction.
    /// </summary>
    private IReadOnlyList<NeighborResult>? Query(NpgsqlConnection c, float[]? vector, string queryId, string? album, NeighborQuery q)
    {
        if (NeighborRequest.CheckK(q.K, Count) is { } badK) throw badK.ToException("K");
        int ef = Math.Clamp(Math.Max(q.EfSearch > 0 ? q.EfSearch : DefaultEfSearch, q.K), 1, MaxEfSearch);
        using var tx = c.BeginTransaction();
        using var batch = new NpgsqlBatch(c, tx);
        var set = new NpgsqlBatchCommand("SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)" +
                                         (q.Exact ? ", set_config('enable_indexscan', 'off', true)" : ""));
        set.Parameters.Add(new NpgsqlParameter { Value = ef.ToString(CultureInfo.InvariantCulture) });
        batch.BatchCommands.Add(set);
        if (vector is null)
        {
            // Whether the query track is in the table, in the same snapshot as its neighbours.
            var present = new NpgsqlBatchCommand($"SELECT count(*) FROM {_table.Sql} WHERE track_id = $1");
            present.Parameters.Add(new NpgsqlParameter { Value = queryId });
            batch.BatchCommands.Add(present);
        }

        var find = new NpgsqlBatchCommand();
        var parameters = new List<object> { queryId, q.K };
        string P(object value) { parameters.Add(value); return "$" + parameters.Count.ToString(CultureInfo.InvariantCulture); }
        string target = vector is null ? $"(SELECT embedding FROM {_table.Sql} WHERE track_id = $1)" : P(new Vector(vector));
        var where = new List<string> { "track_id <> $1" };
        if (q.ExcludeSameAlbum)
        {
            if (vector is null) where.Add($"album_id IS DISTINCT FROM (SELECT album_id FROM {_table.Sql} WHERE track_id = $1)");
            else if (album is not null) where.Add("album_id IS DISTINCT FROM " + P(album));
        }
        if (q.Composers is not null)
            where.Add("lower(composer) = ANY(" + P(q.Composers.Select(x => x.Trim().ToLowerInvariant()).Distinct().ToArray()) + ")");
        // relaxed_order may return the rows slightly out of order: the outer ORDER BY puts them right.
        find.CommandText = $"""
            WITH found AS MATERIALIZED (
              SELECT track_id, composer, title, album_id, embedding <=> {target} AS distance FROM {_table.Sql}
              WHERE {string.Join(" AND ", where)} ORDER BY embedding <=> {target} LIMIT $2)
            SELECT track_id, composer, title, album_id, distance FROM found ORDER BY distance, track_id
            """;
        foreach (var value in parameters) find.Parameters.Add(new NpgsqlParameter { Value = value });
        batch.BatchCommands.Add(find);

        var results = new List<NeighborResult>(q.K);
        bool known;
        using (var r = batch.ExecuteReader())
        {
            r.NextResult();
            known = vector is not null || (r.Read() && r.GetInt64(0) > 0);
            if (vector is null) r.NextResult();
            while (known && r.Read())
                results.Add(new NeighborResult
                {
                    QueryTrackId = queryId,
                    NeighborRank = results.Count + 1,
                    TrackId = r.GetString(0),
                    Similarity = Math.Round(1 - r.GetDouble(4), 6),
                    Composer = r.IsDBNull(1) ? null : r.GetString(1),
                    Title = r.IsDBNull(2) ? null : r.GetString(2),
                    AlbumId = r.IsDBNull(3) ? null : r.GetString(3),
                });
        }
        tx.Commit();
        if (vector is null && !known) return null;
        if (q.Composers is { Count: 0 }) return Array.Empty<NeighborResult>();
        if (q.MinSimilarity is { } min) results.RemoveAll(x => x.Similarity < min);
        return results;
    }

    /// <summary>Only after the query found no such track (the known-track path stays one round trip): close ids for the error.</summary>
    private NeighborRequestException UnknownTrack(NpgsqlConnection c, string trackId)
    {
        var ids = TrackIds(c);
        return NeighborRequestFailure.UnknownTrack(trackId, _table.Description, ids.Count, IdSuggester.Suggest(ids, trackId)).ToException("track id");
    }

    private T Read<T>(Func<NpgsqlConnection, T> work)
    {
        using var c = _table.Open();
        try { return work(c); }
        catch (NpgsqlException ex) { throw _table.Failed("VectorQueryFailed", "Querying", ex); }
    }

    public void Dispose() => _table.Dispose();
}
