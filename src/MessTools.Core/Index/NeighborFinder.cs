using MessTools.Core.Artifacts;
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
    /// <summary>Drop results with a cosine similarity below this (the list may then be shorter than K); null: keep all.</summary>
    public double? MinSimilarity { get; set; }
}

/// <summary>One track of the catalogue as a neighbour query sees it.</summary>
public sealed record TrackEntry(string TrackId, string? Composer, string? Title, string? AlbumId);

/// <summary>A track's top K scored as the Composer Retrieval evaluation scores it (see <see cref="Search.Metrics"/>).</summary>
public sealed record TrackComposerEvaluation(
    string TrackId, string? Composer, int K, bool ExcludeSameAlbum, IReadOnlyList<NeighborResult> Neighbors,
    IReadOnlyList<bool> SameComposer, int RelevantAvailable, double PrecisionAtK, double HitRateAtK, double NdcgAtK)
{
    /// <summary>
    /// Scores a track's top K (<paramref name="found"/>, as a backend returned it): which share its composer (trimmed,
    /// case-insensitive) and P@K, HitRate@K and NDCG@K by <see cref="Search.Metrics.ForQuery"/>, with
    /// <paramref name="relevant"/> the tracks of its composer a query could have returned. Every backend scores the same way.
    /// </summary>
    public static TrackComposerEvaluation Score(string trackId, string? composer, int k, bool excludeSameAlbum, IReadOnlyList<NeighborResult> found, int relevant)
    {
        string? own = string.IsNullOrWhiteSpace(composer) ? null : composer.Trim();
        var same = found.Select(r => own is not null && r.Composer is not null && string.Equals(r.Composer.Trim(), own, StringComparison.OrdinalIgnoreCase)).ToList();
        var ranked = found.Select((_, i) => new Neighbor(i, 0)).ToList();
        var m = Search.Metrics.ForQuery(ranked, k, i => same[i], relevant);
        return new TrackComposerEvaluation(trackId, composer, k, excludeSameAlbum, found, same, relevant,
            Math.Round(m.Precision, 6), Math.Round(m.HitRate, 6), Math.Round(m.Ndcg, 6));
    }
}

/// <summary>
/// What the HTTP server needs beyond <see cref="INeighborSearch"/>: browsing the catalogue (tracks, suggestions for an
/// unknown id, composer patterns) and a track's own Composer Retrieval figures. The file index
/// (<see cref="NeighborFinder"/>) and a pgvector table (<see cref="VectorStore.VectorStoreFinder"/>) implement it.
/// </summary>
public interface INeighborCatalog : INeighborSearch
{
    bool Contains(string trackId);
    TrackEntry? Track(string trackId);
    /// <summary>Every track a query can return, in a stable order.</summary>
    IEnumerable<TrackEntry> Tracks();
    IReadOnlyList<string> Suggest(string id, int max = 5);
    HashSet<string> ExpandComposers(IEnumerable<string> patterns, List<string>? unmatched = null);
    TrackComposerEvaluation EvaluateTrack(string trackId, int k, bool excludeSameAlbum, bool exact = false);
}

/// <summary>
/// Find-MessNeighbor's engine: the index (checked against the current embeddings, so it never answers from a stale
/// graph), the catalogue metadata for composer/title/album, and queries by track id or by vector with the query
/// track itself excluded by id, optional album and composer filters, and an exact fallback when a filter leaves
/// too few tracks for the graph to find. Safe to query from several threads at once.
/// </summary>
public sealed class NeighborFinder : INeighborCatalog
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

    /// <summary>Loads the index and metadata and checks the index against the embeddings.</summary>
    public static NeighborFinder Open(ArtifactStore store)
    {
        string path = store.PrimaryIndexFile();
        // The metadata is read on another core while the index loads: a cold start pays the longer of the two.
        var info = File.Exists(store.MetadataCsv) ? Task.Run(() => TrackInfoTable.Load(store)) : null;
        VectorIndex index;
        try
        {
            index = IndexFile.Load(path);
            IndexConsistency.Require(store, index, path);
        }
        catch
        {
            info?.ContinueWith(t => _ = t.Exception, TaskScheduler.Default); // observed, never thrown
            throw;
        }
        try { return new NeighborFinder(index, path, info?.GetAwaiter().GetResult()); }
        catch (IOException ex)
        {
            throw new MessException(MessErrorIds.MetadataUnreadable, MessErrorKind.ReadError, $"Reading '{store.MetadataCsv}' failed: {ex.Message}", store.MetadataCsv, ex);
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

    /// <summary>A key that changes whenever any file a finder reads is replaced (path, size and write time of each).</summary>
    public static string ArtifactStamp(ArtifactStore store) => CacheKey(store);

    private static string CacheKey(ArtifactStore store)
    {
        static string Stamp(string p)
        {
            var f = new FileInfo(p);
            return f.Exists ? $"{f.FullName}|{f.Length}|{f.LastWriteTimeUtc.Ticks}" : p + "|-";
        }
        return string.Join("\n", Stamp(store.HnswIndexFile), Stamp(store.FlatIndexFile),
            Stamp(store.EmbeddingsMetaFile), Stamp(store.EmbeddingsFile), Stamp(store.MetadataCsv), Stamp(store.TrackTableFile));
    }

    public bool Contains(string trackId) => Index.TryGetNode(trackId, out _);

    public TrackEntry? Track(string trackId)
    {
        if (!Index.TryGetNode(trackId, out _)) return null;
        var (composer, title, album) = TrackInfo(trackId);
        return new TrackEntry(trackId, composer, string.IsNullOrEmpty(title) ? null : title, album);
    }

    public IEnumerable<TrackEntry> Tracks()
    {
        foreach (string id in Index.LiveTrackIds())
        {
            var (composer, title, album) = TrackInfo(id);
            yield return new TrackEntry(id, composer, string.IsNullOrEmpty(title) ? null : title, album);
        }
    }

    /// <summary>The composer names matching any of the wildcard patterns (as Find-MessNeighbor -Composer takes them).</summary>
    public HashSet<string> ExpandComposers(IEnumerable<string> patterns, List<string>? unmatched = null) =>
        Wildcard.Expand(Composers, patterns, unmatched);

    /// <summary>
    /// This track's top K (itself excluded, its album too when asked), which of them share its composer, and its
    /// Precision@K, HitRate@K and NDCG@K under the evaluation's definitions (<see cref="Search.Metrics.ForQuery"/>).
    /// </summary>
    public TrackComposerEvaluation EvaluateTrack(string trackId, int k, bool excludeSameAlbum, bool exact = false)
    {
        if (_info is null)
            throw new MessException(MessErrorIds.MetadataMissing, MessErrorKind.ObjectNotFound,
                "The composer evaluation needs metadata/tracks_metadata.csv in the artifact folder. Run Export-MessMetadata first.", Artifacts.ArtifactLayout.MetadataFileName);
        var found = ByTrackId(trackId, new NeighborQuery { K = k, Exact = exact, ExcludeSameAlbum = excludeSameAlbum });
        Index.TryGetNode(trackId, out int self);
        var cols = Columns();
        int composer = cols.ComposerOf[self], album = cols.AlbumOf[self];
        int relevant = 0;
        if (composer >= 0)
            for (int n = 0; n < Index.Count; n++)
                if (n != self && !Index.IsDeleted(n) && cols.ComposerOf[n] == composer && !(excludeSameAlbum && album >= 0 && cols.AlbumOf[n] == album))
                    relevant++;
        return TrackComposerEvaluation.Score(trackId, TrackInfo(trackId).Composer, k, excludeSameAlbum, found, relevant);
    }

    /// <summary>Composer, title and album of a track from the metadata (nulls without it).</summary>
    public (string? Composer, string? Title, string? AlbumId) TrackInfo(string trackId) =>
        _info is not null && _info.TryGetRow(trackId, out int row) ? (_info.Composer(row), _info.Title(row), _info.AlbumId(row)) : (null, null, null);

    /// <summary>The K nearest tracks of an indexed track; unknown ids fail with close ids as suggestions.</summary>
    public IReadOnlyList<NeighborResult> ByTrackId(string trackId, NeighborQuery query)
    {
        ArgumentNullException.ThrowIfNull(trackId);
        if (!Index.TryGetNode(trackId, out int node))
        {
            string? note = _info is not null && _info.Contains(trackId)
                ? " It is in the catalogue but has no embedding in the index: run ConvertTo-MessEmbedding, then New-MessIndex -Append."
                : null;
            throw NeighborRequestFailure.UnknownTrack(trackId, "the index", Index.LiveCount, Suggest(trackId), note).ToException("track id");
        }
        var vector = Index.Vector(node).ToArray();
        return Find(vector, trackId, node, query.ExcludeSameAlbum ? Columns().AlbumOf[node] : -1, query);
    }

    /// <summary>The K nearest tracks of any vector of the index's dimension (normalised here).</summary>
    public IReadOnlyList<NeighborResult> ByVector(ReadOnlySpan<float> vector, string queryLabel, string? albumId, NeighborQuery query)
    {
        // The request's vector rule (dimension, finite, norm in double) and the unit vector in one pass.
        var v = NeighborRequest.NormalizeVector(vector, Index.Dimension, null, out var bad);
        if (bad is not null) throw bad.ToException($"The query embedding of '{queryLabel}'");
        int self = Index.TryGetNode(queryLabel, out int n) ? n : -1;
        int album = -1;
        if (query.ExcludeSameAlbum)
        {
            if (albumId is not null && Columns().AlbumIds.TryGetValue(albumId, out int a)) album = a;
            else if (self >= 0) album = Columns().AlbumOf[self];
        }
        return Find(v!, queryLabel, self, album, query);
    }

    private IReadOnlyList<NeighborResult> Find(float[] vector, string queryId, int self, int album, NeighborQuery q)
    {
        int live = Index.LiveCount;
        if (NeighborRequest.CheckK(q.K, live) is { } badK) throw badK.ToException("K");
        if ((q.ExcludeSameAlbum || q.Composers is not null) && _info is null)
            throw new MessException(MessErrorIds.MetadataMissing, MessErrorKind.ObjectNotFound,
                "-ExcludeSameAlbum and -Composer need metadata/tracks_metadata.csv in the artifact folder. Run Export-MessMetadata first.", Artifacts.ArtifactLayout.MetadataFileName);

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
        if (q.MinSimilarity is { } min)
        {
            int keep = 0;
            while (keep < found.Length && Math.Round(found[keep].Score, 6) >= min) keep++;
            if (keep < found.Length) found = found[..keep];
        }
        var results = new NeighborResult[found.Length];
        for (int i = 0; i < found.Length; i++)
        {
            string id = Index.TrackId(found[i].Id);
            var (composer, title, albumId) = TrackInfo(id);
            results[i] = new NeighborResult
            {
                QueryTrackId = queryId,
                NeighborRank = i + 1,
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

    /// <summary>Up to <paramref name="max"/> indexed track ids close to <paramref name="id"/> (<see cref="IdSuggester"/>).</summary>
    public IReadOnlyList<string> Suggest(string id, int max = 5) => IdSuggester.Suggest(Index.LiveTrackIds(), id, max);
}

/// <summary>
/// Close-id suggestions for a mistyped or partial track id, best first: the same id in another case; an id that starts
/// with it (or that it starts with); an id that holds it; a typo (edit distance up to a third of its length); an id that
/// holds every token of it (tokens split at - _ . and spaces, so 'chopin-op35-2' finds 'pmd-chopin-chpn-op35-2').
/// </summary>
public static class IdSuggester
{
    private static readonly char[] TokenSeparators = { '-', '_', '.', ' ', '/' };

    public static IReadOnlyList<string> Suggest(IEnumerable<string> ids, string id, int max = 5)
    {
        string x = id.Trim();
        if (x.Length == 0 || max < 1) return Array.Empty<string>();
        int limit = Math.Max(2, x.Length / 3);
        var tokens = x.Split(TokenSeparators, StringSplitOptions.RemoveEmptyEntries);
        var best = new List<(int Distance, string Id)>();
        foreach (string candidate in ids)
        {
            int d;
            if (string.Equals(candidate, x, StringComparison.OrdinalIgnoreCase)) d = 0;
            else if (candidate.StartsWith(x, StringComparison.OrdinalIgnoreCase) || x.StartsWith(candidate, StringComparison.OrdinalIgnoreCase)) d = 1;
            else if (candidate.Contains(x, StringComparison.OrdinalIgnoreCase)) d = 2;
            else
            {
                d = BoundedDistance(x, candidate, limit);
                if (d <= limit) d += 1; // one typo ranks with a substring
                else if (tokens.Length > 0 && HasTokens(candidate, tokens)) d = limit + 2;
                else continue;
            }
            best.Add((d, candidate));
        }
        return best.OrderBy(b => b.Distance).ThenBy(b => Math.Abs(b.Id.Length - x.Length)).ThenBy(b => b.Id, StringComparer.Ordinal)
            .Take(max).Select(b => b.Id).ToList();
    }

    /// <summary>True when every token is one of <paramref name="candidate"/>'s tokens (case-insensitive).</summary>
    private static bool HasTokens(string candidate, string[] tokens)
    {
        var own = candidate.Split(TokenSeparators, StringSplitOptions.RemoveEmptyEntries);
        foreach (string t in tokens)
            if (!own.Contains(t, StringComparer.OrdinalIgnoreCase)) return false;
        return true;
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
