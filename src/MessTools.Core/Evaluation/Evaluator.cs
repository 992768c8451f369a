using MessTools.Core.Common;
using MessTools.Core.Search;

namespace MessTools.Core.Evaluation;

/// <summary>
/// A search that returns, for every row of <paramref name="data"/> as a query, its <paramref name="k"/> best other rows
/// (never itself, only rows <paramref name="allow"/> accepts), ordered by score descending then row index.
/// </summary>
public delegate Neighbor[][] AllPairsSearch(EvaluationData data, int k, PairFilter? allow, int maxThreads, ExactSearchOptions options);

/// <summary>What to compute.</summary>
public sealed record EvaluationOptions
{
    /// <summary>The K values (1 or more, each at least 1).</summary>
    public IReadOnlyList<int> Ks { get; init; } = new[] { 5 };
    /// <summary>Compute the figures with every other track eligible.</summary>
    public bool IncludeSameAlbum { get; init; } = true;
    /// <summary>Compute the figures with the query's album excluded.</summary>
    public bool ExcludeSameAlbum { get; init; } = true;
    /// <summary>Random (seeded) sample queries for samples.csv; ignored when <see cref="SampleTrackIds"/> is set.</summary>
    public int SampleCount { get; init; } = 10;
    public int Seed { get; init; } = 42;
    public IReadOnlyList<string>? SampleTrackIds { get; init; }
    public int MaxThreads { get; init; }
    public CancellationToken Cancellation { get; init; }
    /// <summary>Fraction done (0..1), called from worker threads.</summary>
    public Action<double>? Progress { get; init; }
    /// <summary>Null: exact search. Otherwise the index, and the result states its recall against exact search.</summary>
    public AllPairsSearch? IndexSearch { get; init; }
    /// <summary>With <see cref="IndexSearch"/>: measure the recall on this many seeded random queries instead of all
    /// (0 or at least the track count: all), so the exact search does not cost O(N²·D).</summary>
    public int RecallSampleSize { get; init; }
    public string ArtifactPath { get; init; } = "";
    /// <summary>Bootstrap resamples of the queries for every figure's interval (0: no intervals). Seeded by <see cref="Seed"/>.</summary>
    public int BootstrapResamples { get; init; } = 1000;
    /// <summary>Coverage of the intervals (0.95: the 2.5 % and 97.5 % percentiles of the resampled means).</summary>
    public double ConfidenceLevel { get; init; } = 0.95;
    /// <summary>A composer's figures get intervals only with at least this many queries.</summary>
    public int MinComposerQueriesForInterval { get; init; } = 10;
    /// <summary>Sign-flip permutations of the paired test in a comparison (0: no p-value).</summary>
    public int Permutations { get; init; } = 9999;
}

/// <summary>The per-query figures behind one <see cref="EvaluationResult"/>, in the order of the evaluated rows.</summary>
public sealed record QueryFigures(double[] Precision, double[] HitRate, double[] Ndcg)
{
    public IReadOnlyList<double[]> All => new[] { Precision, HitRate, Ndcg };
}

/// <summary>One line of samples.csv: one result of one sample query.</summary>
public sealed class EvaluationSample
{
    public string QueryTrackId { get; init; } = "";
    public string QueryComposer { get; init; } = "";
    public string QueryAlbumId { get; init; } = "";
    public bool ExcludeSameAlbum { get; init; }
    public int Rank { get; init; }
    public string TrackId { get; init; } = "";
    public string Composer { get; init; } = "";
    public string AlbumId { get; init; } = "";
    public float Similarity { get; init; }
    public bool Relevant { get; init; }
}

/// <summary>Everything one evaluation of one folder produced.</summary>
public sealed class EvaluationOutcome
{
    public required EvaluationData Data { get; init; }
    public required IReadOnlyList<EvaluationResult> Results { get; init; }
    /// <summary>The per-query figures of each of <see cref="Results"/> (same order), for intervals and paired comparisons.</summary>
    public required IReadOnlyList<QueryFigures> PerQuery { get; init; }
    public required IReadOnlyList<EvaluationSample> Samples { get; init; }
    public required IReadOnlyList<int> Ks { get; init; }
    public required string Search { get; init; }
    public double SearchSeconds { get; init; }
}

/// <summary>
/// The Composer Retrieval proxy task. For every track, the top K other tracks by inner product (ties by track_id);
/// a result is relevant when its composer equals the query's. See <see cref="EvaluationDefinitions"/>.
/// </summary>
public static class Evaluator
{
    /// <summary>Above this album size the two album modes are searched separately instead of in one deeper pass.</summary>
    internal const int MaxSharedPassExtra = 64;

    public static EvaluationOutcome Evaluate(EvaluationData data, EvaluationOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        var ks = options.Ks.Distinct().Order().ToArray();
        if (ks.Length == 0 || ks[0] < 1)
            throw new MessException(MessErrorIds.InvalidK, MessErrorKind.InvalidArgument, "K must be one or more whole numbers of at least 1.", "K");
        if (!options.IncludeSameAlbum && !options.ExcludeSameAlbum)
            throw new MessException(MessErrorIds.NoAlbumMode, MessErrorKind.InvalidArgument, "Nothing to compute: neither album mode is selected.");
        int kMax = ks[^1];
        int n = data.Count;

        var labels = new Labels(data);
        var modes = new List<bool>();
        if (options.IncludeSameAlbum) modes.Add(false);
        if (options.ExcludeSameAlbum) modes.Add(true);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        int[]? recallRows = null;
        if (options.IndexSearch is not null && options.RecallSampleSize > 0 && options.RecallSampleSize < n)
        {
            var rng = new Random(options.Seed);
            var pool = Enumerable.Range(0, n).ToArray();
            for (int i = 0; i < options.RecallSampleSize; i++) { int j = i + rng.Next(n - i); (pool[i], pool[j]) = (pool[j], pool[i]); }
            recallRows = pool[..options.RecallSampleSize];
            Array.Sort(recallRows);
        }
        var exact = SearchModes(data, labels, modes, kMax, recallRows is null ? ExactAllPairs : ExactForRows(recallRows), options,
            options.IndexSearch is null ? 1.0 : 0.5, 0.0);
        Dictionary<bool, Neighbor[][]>? index = null;
        if (options.IndexSearch is not null)
            index = SearchModes(data, labels, modes, kMax, options.IndexSearch, options, 0.5, 0.5);
        double searchSeconds = clock.Elapsed.TotalSeconds;

        string search = index is null ? "Exact" : "Index";
        var results = new List<EvaluationResult>();
        var perQuery = new List<QueryFigures>();
        foreach (bool excl in modes)
        {
            var lists = (index ?? exact)[excl];
            var confusion = Confusion(labels, lists);
            foreach (int k in ks)
            {
                double? recall = index is null ? null : Recall(exact[excl], index[excl], k);
                var (r, figures) = Score(data, labels, lists, k, excl, search, recall, confusion, options);
                if (index is not null) r.IndexRecallQueries = recallRows?.Length ?? n;
                results.Add(r);
                perQuery.Add(figures);
            }
        }
        var samples = Samples(data, labels, modes, index ?? exact, kMax, options);
        return new EvaluationOutcome { Data = data, Results = results, PerQuery = perQuery, Samples = samples, Ks = ks, Search = search, SearchSeconds = searchSeconds };
    }

    /// <summary>Exact search for some rows only (the recall sample); the other rows get empty lists.</summary>
    private static AllPairsSearch ExactForRows(int[] rows) => (d, k, allow, maxThreads, o) =>
    {
        var queries = new float[(long)rows.Length * d.Dimension];
        for (int i = 0; i < rows.Length; i++) d.Row(rows[i]).CopyTo(queries.AsSpan(i * d.Dimension, d.Dimension));
        PairFilter filter = (qi, c) => c != rows[qi] && (allow is null || allow(rows[qi], c));
        var found = ExactSearch.Search(d.Vectors, d.Count, d.Dimension, queries, rows.Length, k, filter, maxThreads, o);
        var all = new Neighbor[d.Count][];
        Array.Fill(all, Array.Empty<Neighbor>());
        for (int i = 0; i < rows.Length; i++) all[rows[i]] = found[i];
        return all;
    };

    private static Neighbor[][] ExactAllPairs(EvaluationData d, int k, PairFilter? allow, int maxThreads, ExactSearchOptions o) =>
        ExactSearch.AllPairs(d.Vectors, d.Count, d.Dimension, k, allow, maxThreads, o);

    /// <summary>
    /// The neighbour lists for each album mode. With both modes and albums of at most 64 tracks, one pass of depth
    /// kMax + (largest album - 1) serves both: at most that many same-album tracks can precede the K-th other one.
    /// </summary>
    private static Dictionary<bool, Neighbor[][]> SearchModes(EvaluationData data, Labels labels, List<bool> modes, int kMax,
        AllPairsSearch search, EvaluationOptions options, double share, double offset)
    {
        var result = new Dictionary<bool, Neighbor[][]>();
        int extra = labels.MaxAlbumSize - 1;
        PairFilter otherAlbum = (q, c) => labels.Album[q] != labels.Album[c];
        ExactSearchOptions Opts(double s, double o) => new()
        {
            Cancellation = options.Cancellation,
            Progress = options.Progress is null ? null : f => options.Progress(offset + share * (o + s * f)),
        };
        if (modes.Count == 2 && extra <= MaxSharedPassExtra)
        {
            var deep = search(data, kMax + extra, null, options.MaxThreads, Opts(1, 0));
            result[false] = deep.Select(l => l.Length > kMax ? l[..kMax] : l).ToArray();
            result[true] = deep.Select((l, q) => l.Where(nb => labels.Album[nb.Id] != labels.Album[q]).Take(kMax).ToArray()).ToArray();
        }
        else
        {
            double part = 1.0 / modes.Count;
            for (int m = 0; m < modes.Count; m++)
                result[modes[m]] = search(data, kMax, modes[m] ? otherAlbum : null, options.MaxThreads, Opts(part, m * part));
        }
        return result;
    }

    private static double Recall(Neighbor[][] exact, Neighbor[][] approx, int k)
    {
        double sum = 0;
        int counted = 0;
        for (int q = 0; q < exact.Length; q++)
        {
            int m = Math.Min(k, exact[q].Length);
            if (m == 0) continue;
            var truth = new HashSet<int>(exact[q].Take(m).Select(nb => nb.Id));
            sum += approx[q].Take(k).Count(nb => truth.Contains(nb.Id)) / (double)m;
            counted++;
        }
        return counted == 0 ? 1.0 : sum / counted;
    }

    private static (EvaluationResult, QueryFigures) Score(EvaluationData data, Labels labels, Neighbor[][] lists, int k, bool excludeAlbum,
        string search, double? recall, IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> confusion, EvaluationOptions options)
    {
        int n = data.Count, nc = labels.ComposerNames.Length;
        var figures = new QueryFigures(new double[n], new double[n], new double[n]);
        var sumP = new double[nc]; var sumH = new double[nc]; var sumN = new double[nc]; var sumC = new double[nc];
        var sumCH = new double[nc]; var sumCN = new double[nc];
        var count = new int[nc]; var none = new int[nc];
        for (int q = 0; q < n; q++)
        {
            int c = labels.Composer[q];
            int relevantAvailable = labels.RelevantAvailable(q, excludeAlbum);
            int candidates = labels.Candidates(q, excludeAlbum);
            var m = Metrics.ForQuery(lists[q], k, id => labels.Composer[id] == c, relevantAvailable);
            var chance = Metrics.Chance(k, relevantAvailable, candidates);
            sumP[c] += m.Precision; sumH[c] += m.HitRate; sumN[c] += m.Ndcg;
            figures.Precision[q] = m.Precision; figures.HitRate[q] = m.HitRate; figures.Ndcg[q] = m.Ndcg;
            sumC[c] += chance.Precision; sumCH[c] += chance.HitRate; sumCN[c] += chance.Ndcg;
            count[c]++;
            if (relevantAvailable == 0) none[c]++;
        }
        var overall = QueryIntervals.Of(figures, options, stream: 0);
        var byComposer = QueryIntervals.PerComposer(figures, labels.Composer, nc, options);
        var per = new List<ComposerEvaluation>(nc);
        for (int c = 0; c < nc; c++)
            per.Add(new ComposerEvaluation
            {
                PrecisionAtKInterval = byComposer[c]?[0],
                HitRateAtKInterval = byComposer[c]?[1],
                NdcgAtKInterval = byComposer[c]?[2],
                Composer = labels.ComposerNames[c],
                Queries = count[c],
                PrecisionAtK = Round(sumP[c] / count[c]),
                HitRateAtK = Round(sumH[c] / count[c]),
                NdcgAtK = Round(sumN[c] / count[c]),
                ChancePrecisionAtK = Round(sumC[c] / count[c]),
                QueriesWithoutRelevant = none[c],
            });
        var result = new EvaluationResult
        {
            ArtifactPath = options.ArtifactPath,
            PrecisionAtKInterval = overall?[0],
            HitRateAtKInterval = overall?[1],
            NdcgAtKInterval = overall?[2],
            Model = data.Model,
            K = k,
            ExcludeSameAlbum = excludeAlbum,
            Search = search,
            Queries = n,
            Composers = nc,
            PrecisionAtK = Round(sumP.Sum() / n),
            HitRateAtK = Round(sumH.Sum() / n),
            NdcgAtK = Round(sumN.Sum() / n),
            ChancePrecisionAtK = Round(sumC.Sum() / n),
            ChanceHitRateAtK = Round(sumCH.Sum() / n),
            ChanceNdcgAtK = Round(sumCN.Sum() / n),
            QueriesWithoutRelevant = none.Sum(),
            IndexRecallAtK = recall is null ? null : Round(recall.Value),
            PerComposer = per,
            ConfusionTop1 = confusion,
        };
        return (result, figures);
    }

    private static double Round(double x) => Math.Round(x, 6);

    private static IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> Confusion(Labels labels, Neighbor[][] lists)
    {
        var table = new SortedDictionary<string, IReadOnlyDictionary<string, int>>(StringComparer.Ordinal);
        var rows = new Dictionary<int, ComposerCounts>();
        for (int q = 0; q < lists.Length; q++)
        {
            if (lists[q].Length == 0) continue;
            int c = labels.Composer[q];
            if (!rows.TryGetValue(c, out var row)) rows[c] = row = new ComposerCounts();
            string top = labels.ComposerNames[labels.Composer[lists[q][0].Id]];
            row[top] = row.TryGetValue(top, out int v) ? v + 1 : 1;
        }
        foreach (var (c, row) in rows) table[labels.ComposerNames[c]] = row;
        return table;
    }

    private static List<EvaluationSample> Samples(EvaluationData data, Labels labels, List<bool> modes,
        Dictionary<bool, Neighbor[][]> lists, int kMax, EvaluationOptions options)
    {
        int[] queries;
        if (options.SampleTrackIds is { Count: > 0 } chosen)
        {
            var rowOf = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < data.Count; i++) rowOf[data.TrackIds[i]] = i;
            var unknown = chosen.Where(id => !rowOf.ContainsKey(id)).ToList();
            if (unknown.Count > 0)
                throw new MessException(MessErrorIds.SampleTrackUnknown, MessErrorKind.InvalidArgument,
                    $"Sample track(s) {string.Join(", ", unknown.Take(20).Select(u => "'" + u + "'"))} are not among the {data.Count} evaluated tracks.", unknown[0]);
            queries = chosen.Select(id => rowOf[id]).Distinct().ToArray();
        }
        else
        {
            int m = Math.Clamp(options.SampleCount, 0, data.Count);
            var rng = new Random(options.Seed);
            var pool = Enumerable.Range(0, data.Count).ToArray();
            for (int i = 0; i < m; i++)
            {
                int j = i + rng.Next(data.Count - i);
                (pool[i], pool[j]) = (pool[j], pool[i]);
            }
            queries = pool[..m];
            Array.Sort(queries);
        }
        var rows = new List<EvaluationSample>();
        foreach (bool excl in modes)
            foreach (int q in queries)
            {
                var l = lists[excl][q];
                for (int r = 0; r < Math.Min(kMax, l.Length); r++)
                    rows.Add(new EvaluationSample
                    {
                        QueryTrackId = data.TrackIds[q], QueryComposer = data.Composers[q], QueryAlbumId = data.AlbumIds[q],
                        ExcludeSameAlbum = excl, Rank = r + 1,
                        TrackId = data.TrackIds[l[r].Id], Composer = data.Composers[l[r].Id], AlbumId = data.AlbumIds[l[r].Id],
                        Similarity = l[r].Score, Relevant = labels.Composer[l[r].Id] == labels.Composer[q],
                    });
            }
        return rows;
    }

    /// <summary>Composer and album of every row as small integers, with the counts the metrics need.</summary>
    internal sealed class Labels
    {
        public readonly int[] Composer, Album;
        public readonly string[] ComposerNames;
        public readonly int MaxAlbumSize;
        private readonly int[] _composerCount, _albumCount;
        private readonly Dictionary<long, int> _composerInAlbum = new();
        private readonly int _n;

        public Labels(EvaluationData data)
        {
            _n = data.Count;
            ComposerNames = data.Composers.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
            var cIndex = ComposerNames.Select((c, i) => (c, i)).ToDictionary(t => t.c, t => t.i, StringComparer.Ordinal);
            var aIndex = new Dictionary<string, int>(StringComparer.Ordinal);
            Composer = new int[_n]; Album = new int[_n];
            for (int i = 0; i < _n; i++)
            {
                Composer[i] = cIndex[data.Composers[i]];
                if (!aIndex.TryGetValue(data.AlbumIds[i], out int a)) aIndex[data.AlbumIds[i]] = a = aIndex.Count;
                Album[i] = a;
            }
            _composerCount = new int[ComposerNames.Length];
            _albumCount = new int[aIndex.Count];
            for (int i = 0; i < _n; i++)
            {
                _composerCount[Composer[i]]++;
                _albumCount[Album[i]]++;
                long key = ((long)Composer[i] << 32) | (uint)Album[i];
                _composerInAlbum[key] = _composerInAlbum.TryGetValue(key, out int v) ? v + 1 : 1;
            }
            MaxAlbumSize = _albumCount.Length == 0 ? 1 : _albumCount.Max();
        }

        /// <summary>Other tracks of the query's composer that the search may return.</summary>
        public int RelevantAvailable(int q, bool excludeAlbum) =>
            excludeAlbum ? _composerCount[Composer[q]] - _composerInAlbum[((long)Composer[q] << 32) | (uint)Album[q]]
                         : _composerCount[Composer[q]] - 1;

        /// <summary>Tracks the search may return for the query.</summary>
        public int Candidates(int q, bool excludeAlbum) => excludeAlbum ? _n - _albumCount[Album[q]] : _n - 1;
    }
}

/// <summary>The definitions, as written into eval_results.json and the README.</summary>
public static class EvaluationDefinitions
{
    public static readonly IReadOnlyDictionary<string, string> All = new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["task"] = "Composer Retrieval: every track is a query; the other tracks are ranked by inner product of L2-normalised embeddings (cosine similarity); the query itself is never a result. A result is relevant when its composer equals the query's (after the metadata's composer normalisation).",
        ["precision_at_k"] = "Relevant results in the top K divided by K (also when fewer than K tracks can be returned), averaged over all queries.",
        ["hit_rate_at_k"] = "1 if any of the top K results is relevant, else 0, averaged over all queries.",
        ["ndcg_at_k"] = "DCG@K = sum over ranks r = 1..K of rel_r / log2(r + 1) with binary rel_r; divided by the ideal DCG over min(K, R) ranks, R = the number of other tracks with the query's composer that the search may return; averaged over all queries.",
        ["queries_without_relevant"] = "Queries with R = 0 (their composer has no other track the search may return). They count 0 for HitRate@K and NDCG@K (and 0 for Precision@K), stay in every average, and are counted here.",
        ["chance"] = "Expected value of each metric for a uniformly random ranking of the same eligible tracks with the same labels (S eligible, R relevant, m = min(K, S)): precision m*R/S/K, hit rate 1 - C(S-R, m)/C(S, m), NDCG (R/S)*IDCG(m)/IDCG(min(K, R)); averaged over queries.",
        ["exclude_same_album"] = "false: every other track may be returned. true: tracks with the query's album_id are not eligible (movements of one work share key and material and inflate the score); R and S are counted the same way.",
        ["ties"] = "Equal similarities are ordered by track_id (ordinal), so results never depend on thread timing or the order of the embedding rows.",
        ["search"] = "exact: brute-force inner product over all tracks (the reference). index: the HNSW index; index_recall_at_k = mean over queries of |index top K intersect exact top K| / |exact top K|, on all queries or on index_recall_queries seeded random ones.",
        ["per_composer"] = "The same averages over the queries of one composer; their query counts sum to the total.",
        ["confusion_top1"] = "For each query composer, how often the first result had each composer.",
        ["interval"] = "Percentile bootstrap over queries: B resamples (bootstrap.resamples), each n query positions drawn with replacement as the high 64 bits of x*n for successive outputs x of SplitMix64 started at state (uint32(seed) << 32) | stream (stream 0: all queries; stream c+1: the queries of composer c, composers in ordinal order); the interval is the (1-level)/2 and (1+level)/2 quantiles (linear interpolation) of the B resampled means. Precision, hit rate and NDCG of one result share the resamples. A composer gets intervals only with at least bootstrap.min_composer_queries queries. Queries of one album are not independent, so the intervals are, if anything, too narrow.",
        ["paired_difference"] = "Comparison files: per shared track, the first folder's figure minus the other folder's; difference = their mean; its interval is the percentile bootstrap of the mean difference (stream 0, queries resampled in pairs).",
        ["p_value"] = "Two-sided paired sign-flip permutation test of mean difference = 0: each of bootstrap.permutations permutations takes ceil(n/64) outputs of SplitMix64 stream 0xFFFFFFFF and flips the sign of difference i when bit (i mod 64) of output i/64 is set; p = (1 + #{|sum of flipped| >= |sum of differences| - 1e-9}) / (permutations + 1).",
    };
}
