using System.Security.Cryptography;
using MessTools.Core.Artifacts;
using System.Text.Json;
using MessTools.Core.Common;
using MessTools.Core.Search;

namespace MessTools.Core.Index;

/// <summary>What a neighbour query asks for.</summary>
public sealed class NeighborQuery
{
    public int K { get; set; } = 5;
    /// <summary>Search every vector (the flat index) instead of the HNSW graph.</summary>
    public bool Exact { get; set; }
    /// <summary>Leave out tracks of the query track's album.</summary>
    public bool ExcludeSameAlbum { get; set; }
    /// <summary>Only tracks by these composers (case-insensitive); null: any composer, empty: none.</summary>
    public IReadOnlyCollection<string>? Composers { get; set; }
    /// <summary>HNSW candidate list size; 0: the index's efSearch (at least K is always used).</summary>
    public int EfSearch { get; set; }
}

/// <summary>
/// Find-MessNeighbor's engine: the index (checked against the current embeddings, so it never answers from a stale
/// graph), the catalogue metadata for composer/title/album, and queries by track id or by vector with the query
/// track itself excluded by id, optional album and composer filters, and an exact fallback when a filter leaves
/// too few tracks for the graph to find. Safe to query from several threads at once.
/// </summary>
public sealed class NeighborFinder : INeighborSearch
{
    private readonly TrackInfoTable? _info;
    private FilterColumns? _columns;
    private FlatIndex? _exact;

    public VectorIndex Index { get; }
    public string IndexPath { get; }
    public bool HasMetadata => _info is not null;
    public int Count => Index.LiveCount;
    public int Dimension => Index.Dimension;
    /// <summary>Composer names of the indexed tracks, as the metadata spells them.</summary>
    public IReadOnlyList<string> Composers => Columns().ComposerNames;

    private NeighborFinder(VectorIndex index, string indexPath, TrackInfoTable? info)
    {
        Index = index;
        IndexPath = indexPath;
        _info = info;
    }

    /// <summary>Album and composer of every node as small integers, made on the first query that filters.</summary>
    private sealed class FilterColumns
    {
        public required int[] AlbumOf { get; init; }
        public required int[] ComposerOf { get; init; }
        public Dictionary<string, int> AlbumIds { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, int> ComposerIds { get; } = new(StringComparer.OrdinalIgnoreCase);
        public List<string> ComposerNames { get; } = new();
        public List<int> ComposerCounts { get; } = new();
    }

    private FilterColumns Columns()
    {
        if (_columns is not null) return _columns;
        var index = Index;
        var cols = new FilterColumns { AlbumOf = new int[index.Count], ComposerOf = new int[index.Count] };
        for (int i = 0; i < index.Count; i++)
        {
            cols.AlbumOf[i] = -1;
            cols.ComposerOf[i] = -1;
            if (_info is null || !_info.TryGetRow(index.TrackId(i), out int row)) continue;
            string album = _info.AlbumId(row);
            if (album.Length > 0) cols.AlbumOf[i] = Intern(cols.AlbumIds, album, null);
            string composer = _info.Composer(row).Trim();
            if (composer.Length > 0)
            {
                int c = Intern(cols.ComposerIds, composer, cols.ComposerNames);
                cols.ComposerOf[i] = c;
                while (cols.ComposerCounts.Count <= c) cols.ComposerCounts.Add(0);
                if (!index.IsDeleted(i)) cols.ComposerCounts[c]++;
            }
        }
        return _columns = cols;
    }

    private static int Intern(Dictionary<string, int> map, string key, List<string>? names)
    {
        if (map.TryGetValue(key, out int id)) return id;
        id = map.Count;
        map[key] = id;
        names?.Add(key);
        return id;
    }

    /// <summary>The index file a finder opens: hnsw.index if present, else flat.index.</summary>
    public static string PrimaryIndexPath(ArtifactStore store)
    {
        if (File.Exists(store.HnswIndexFile)) return store.HnswIndexFile;
        string flat = IndexBuilder.IndexPath(store, IndexKind.Flat);
        if (File.Exists(flat)) return flat;
        throw new MessException("IndexMissing", MessErrorKind.ObjectNotFound,
            $"There is no index in '{store.IndexDir}'. Run New-MessIndex first.", store.IndexDir);
    }

    /// <summary>Loads the index and metadata and checks the index against the embeddings.</summary>
    public static NeighborFinder Open(ArtifactStore store)
    {
        string path = PrimaryIndexPath(store);
        // The metadata is read on another core while the index loads: a cold start pays the longer of the two.
        var info = File.Exists(store.MetadataCsv) ? Task.Run(() => TrackInfoTable.Read(store.MetadataCsv)) : null;
        VectorIndex index;
        try
        {
            index = IndexFile.Load(path);
            CheckInStep(store, index, path);
        }
        catch
        {
            info?.ContinueWith(t => _ = t.Exception, TaskScheduler.Default); // observed, never thrown
            throw;
        }
        try { return new NeighborFinder(index, path, info?.GetAwaiter().GetResult()); }
        catch (IOException ex)
        {
            throw new MessException("MetadataUnreadable", MessErrorKind.ReadError, $"Reading '{store.MetadataCsv}' failed: {ex.Message}", store.MetadataCsv, ex);
        }
    }

    private static readonly object CacheGate = new();
    private static (string Key, NeighborFinder Finder)? _cache;

    /// <summary>
    /// <see cref="Open"/>, reusing the finder of the previous call while the index, metadata and embeddings files are
    /// unchanged (an interactive shell pays the load once). An atomic replace of any of them gives a new key.
    /// </summary>
    public static NeighborFinder OpenCached(ArtifactStore store)
    {
        string key = CacheKey(store);
        lock (CacheGate)
        {
            if (_cache is { } c && c.Key == key) return c.Finder;
        }
        var finder = Open(store);
        lock (CacheGate) _cache = (key, finder);
        return finder;
    }

    public static void ClearCache()
    {
        lock (CacheGate) _cache = null;
    }

    private static string CacheKey(ArtifactStore store)
    {
        static string Stamp(string p)
        {
            var f = new FileInfo(p);
            return f.Exists ? $"{f.FullName}|{f.Length}|{f.LastWriteTimeUtc.Ticks}" : p + "|-";
        }
        return string.Join("\n", Stamp(store.HnswIndexFile), Stamp(IndexBuilder.IndexPath(store, IndexKind.Flat)),
            Stamp(store.EmbeddingsMetaFile), Stamp(store.EmbeddingsFile), Stamp(store.MetadataCsv));
    }

    /// <summary>
    /// The index must describe the embeddings on disk: its recorded SHA-256 against embeddings_meta.json (or, without
    /// the meta, against embeddings.f32 itself). No embeddings at all: the index stands alone and is used as is.
    /// </summary>
    public static void CheckInStep(ArtifactStore store, VectorIndex index, string indexPath)
    {
        string? current = null;
        string source;
        if (File.Exists(store.EmbeddingsMetaFile))
        {
            current = ReadEmbeddingsSha(store.EmbeddingsMetaFile);
            source = store.EmbeddingsMetaFile;
        }
        else source = store.EmbeddingsFile;
        if (string.IsNullOrEmpty(current) && File.Exists(store.EmbeddingsFile))
        {
            long len = new FileInfo(store.EmbeddingsFile).Length;
            if (index.EmbeddingsBytes > 0 && len != index.EmbeddingsBytes) current = $"(a file of {len} bytes)";
            else
            {
                using var fs = new FileStream(store.EmbeddingsFile, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 20);
                current = Convert.ToHexString(SHA256.HashData(fs)).ToLowerInvariant();
            }
            source = store.EmbeddingsFile;
        }
        if (string.IsNullOrEmpty(current)) return;
        if (!string.Equals(current, index.EmbeddingsSha256, StringComparison.OrdinalIgnoreCase))
            throw new MessException("IndexOutOfStep", MessErrorKind.InvalidData,
                $"The index '{indexPath}' was built from other embeddings than the current ones ('{source}': SHA-256 {Short(current)}, index: {Short(index.EmbeddingsSha256)}). " +
                "Rebuild the index: New-MessIndex (or New-MessIndex -Append to add only what changed).", indexPath);
    }

    /// <summary>embeddings_sha256 of embeddings_meta.json, read without binding the whole document.</summary>
    private static string? ReadEmbeddingsSha(string metaFile)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(metaFile));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("embeddings_sha256", out var v) && v.ValueKind == JsonValueKind.String
                ? v.GetString()
                : null;
        }
        catch (JsonException ex)
        {
            throw new MessException("ArtifactMalformed", MessErrorKind.InvalidData, $"The artifact '{metaFile}' is not valid JSON: {ex.Message}", metaFile, ex);
        }
    }

    private static string Short(string s) => string.IsNullOrEmpty(s) ? "(none)" : s.Length > 12 ? s[..12] + "…" : s;

    /// <summary>Composer, title and album of a track from the metadata (nulls without it).</summary>
    public (string? Composer, string? Title, string? AlbumId) TrackInfo(string trackId) =>
        _info is not null && _info.TryGetRow(trackId, out int row) ? (_info.Composer(row), _info.Title(row), _info.AlbumId(row)) : (null, null, null);

    /// <summary>The K nearest tracks of an indexed track; unknown ids fail with close ids as suggestions.</summary>
    public IReadOnlyList<NeighborResult> ByTrackId(string trackId, NeighborQuery query)
    {
        ArgumentNullException.ThrowIfNull(trackId);
        if (!Index.TryGetNode(trackId, out int node))
        {
            string where = _info is not null && _info.Contains(trackId)
                ? " It is in the catalogue but has no embedding in the index: run ConvertTo-MessEmbedding, then New-MessIndex -Append."
                : "";
            var close = Suggest(trackId);
            string hint = close.Count > 0 ? " Did you mean " + string.Join(", ", close.Select(c => $"'{c}'")) + "?" : "";
            throw new MessException("UnknownTrackId", MessErrorKind.ObjectNotFound,
                $"Track '{trackId}' is not in the index ({Index.LiveCount:N0} tracks).{where}{hint}", trackId);
        }
        var vector = Index.Vector(node).ToArray();
        return Find(vector, trackId, node, query.ExcludeSameAlbum ? Columns().AlbumOf[node] : -1, query);
    }

    /// <summary>The K nearest tracks of any vector of the index's dimension (normalised here).</summary>
    public IReadOnlyList<NeighborResult> ByVector(ReadOnlySpan<float> vector, string queryLabel, string? albumId, NeighborQuery query)
    {
        if (vector.Length != Index.Dimension)
            throw new MessException("QueryDimensionMismatch", MessErrorKind.InvalidArgument,
                $"The query embedding has {vector.Length} dimensions but the index has {Index.Dimension}: they come from different models. Rebuild the index with the model in embeddings_meta.json.", queryLabel);
        var v = vector.ToArray();
        double norm = Math.Sqrt(VectorMath.Dot(v, v));
        if (!(norm > 0) || !double.IsFinite(norm))
            throw new MessException("QueryEmbeddingInvalid", MessErrorKind.InvalidData, $"The query embedding of '{queryLabel}' is zero or not finite.", queryLabel);
        for (int i = 0; i < v.Length; i++) v[i] = (float)(v[i] / norm);
        int self = Index.TryGetNode(queryLabel, out int n) ? n : -1;
        int album = -1;
        if (query.ExcludeSameAlbum)
        {
            if (albumId is not null && Columns().AlbumIds.TryGetValue(albumId, out int a)) album = a;
            else if (self >= 0) album = Columns().AlbumOf[self];
        }
        return Find(v, queryLabel, self, album, query);
    }

    private IReadOnlyList<NeighborResult> Find(float[] vector, string queryId, int self, int album, NeighborQuery q)
    {
        int live = Index.LiveCount;
        if (q.K < 1 || q.K > live)
            throw new MessException("KOutOfRange", MessErrorKind.InvalidArgument,
                $"K must be between 1 and the number of indexed tracks ({live:N0}); got {q.K}.", q.K);
        if ((q.ExcludeSameAlbum || q.Composers is not null) && _info is null)
            throw new MessException("MetadataMissing", MessErrorKind.ObjectNotFound,
                "-ExcludeSameAlbum and -Composer need metadata/tracks_metadata.csv in the artifact folder. Run Export-MessMetadata first.", "tracks_metadata.csv");

        bool[]? composerAllowed = null;
        long allowedCount = live - (self >= 0 ? 1 : 0);
        bool excludeAlbum = q.ExcludeSameAlbum && album >= 0;
        int[]? albumOf = null, composerOf = null;
        if (q.Composers is not null)
        {
            var cols = Columns();
            composerAllowed = new bool[cols.ComposerNames.Count];
            allowedCount = 0;
            foreach (string c in q.Composers)
                if (cols.ComposerIds.TryGetValue(c.Trim(), out int id) && !composerAllowed[id])
                {
                    composerAllowed[id] = true;
                    allowedCount += cols.ComposerCounts[id];
                }
            composerOf = cols.ComposerOf;
        }
        if (excludeAlbum) albumOf = Columns().AlbumOf;
        NodeFilter? allow = null;
        if (self >= 0 || excludeAlbum || composerAllowed is not null)
        {
            allow = n =>
            {
                if (n == self) return false;
                if (excludeAlbum && albumOf![n] == album) return false;
                if (composerAllowed is not null && (composerOf![n] < 0 || !composerAllowed[composerOf[n]])) return false;
                return true;
            };
        }
        if (allowedCount == 0) return Array.Empty<NeighborResult>();

        Neighbor[] found;
        bool selective = composerAllowed is not null && allowedCount <= Math.Max(20L * q.K, live / 10);
        if (q.Exact || Index is FlatIndex || selective)
        {
            found = ExactView().SearchExact(vector, q.K, allow, maxThreads: 0);
        }
        else
        {
            found = Index.Search(vector, q.K, allow, q.EfSearch);
            // A filter can hide the graph's region from the search: fall back to the exact answer then.
            if (found.Length < Math.Min(q.K, allowedCount) && (excludeAlbum || composerAllowed is not null))
                found = ExactView().SearchExact(vector, q.K, allow, maxThreads: 0);
        }
        var results = new NeighborResult[found.Length];
        for (int i = 0; i < found.Length; i++)
        {
            string id = Index.TrackId(found[i].Id);
            var (composer, title, albumId) = TrackInfo(id);
            results[i] = new NeighborResult
            {
                QueryTrackId = queryId,
                Rank = i + 1,
                TrackId = id,
                Similarity = Math.Round(found[i].Score, 6),
                Composer = composer,
                Title = string.IsNullOrEmpty(title) ? null : title,
                AlbumId = albumId,
            };
        }
        return results;
    }

    private FlatIndex ExactView() => _exact ??= FlatIndex.Over(Index);

    /// <summary>Up to <paramref name="max"/> indexed track ids close to <paramref name="id"/> (case, prefix, edit distance).</summary>
    public IReadOnlyList<string> Suggest(string id, int max = 5) => IdSuggester.Suggest(Index.LiveTrackIds(), id, max);
}

/// <summary>Close-id suggestions for a mistyped track id.</summary>
public static class IdSuggester
{
    public static IReadOnlyList<string> Suggest(IEnumerable<string> ids, string id, int max = 5)
    {
        string x = id.Trim();
        if (x.Length == 0 || max < 1) return Array.Empty<string>();
        int limit = Math.Max(2, x.Length / 3);
        var best = new List<(int Distance, string Id)>();
        foreach (string candidate in ids)
        {
            int d;
            if (string.Equals(candidate, x, StringComparison.OrdinalIgnoreCase)) d = 0;
            else if (candidate.StartsWith(x, StringComparison.OrdinalIgnoreCase) || x.StartsWith(candidate, StringComparison.OrdinalIgnoreCase)) d = 1;
            else
            {
                d = BoundedDistance(x, candidate, limit);
                if (d > limit) continue;
            }
            best.Add((d, candidate));
        }
        return best.OrderBy(b => b.Distance).ThenBy(b => Math.Abs(b.Id.Length - x.Length)).ThenBy(b => b.Id, StringComparer.Ordinal)
            .Take(max).Select(b => b.Id).ToList();
    }

    /// <summary>Case-insensitive Levenshtein distance, or limit+1 as soon as it must exceed <paramref name="limit"/>.</summary>
    public static int BoundedDistance(string a, string b, int limit)
    {
        if (Math.Abs(a.Length - b.Length) > limit) return limit + 1;
        Span<int> prev = b.Length < 256 ? stackalloc int[b.Length + 1] : new int[b.Length + 1];
        Span<int> cur = b.Length < 256 ? stackalloc int[b.Length + 1] : new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            int rowMin = cur[0];
            char ca = char.ToLowerInvariant(a[i - 1]);
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = ca == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                cur[j] = Math.Min(Math.Min(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + cost);
                rowMin = Math.Min(rowMin, cur[j]);
            }
            if (rowMin > limit) return limit + 1;
            var t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.Length];
    }
}
