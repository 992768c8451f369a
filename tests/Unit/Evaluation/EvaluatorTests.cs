using MessTools.Core.Common;
using MessTools.Core.Evaluation;
using MessTools.Core.Search;

namespace MessTools.Tests.Unit.Evaluation;

public class EvaluatorTests
{
    internal static MessTrack Track(string id, string composer, string album) => new() { TrackId = id, Composer = composer, AlbumId = album };

    /// <summary>
    /// Five tracks small enough to check on paper (see the comments of each assertion):
    /// t1 A/X (1,0); t2 A/X (1,0); t3 B/Y (1,0); t4 B/Z (0,1); t5 C/Z (0,1). Composer C has one track.
    /// t1, t2 and t3 tie with each other; ties go to the lower track_id.
    /// </summary>
    internal static EvaluationData Paper(bool shuffled = false)
    {
        var rows = new (string Id, string C, string A, float X, float Y)[]
        {
            ("t1", "A", "X", 1, 0), ("t2", "A", "X", 1, 0), ("t3", "B", "Y", 1, 0), ("t4", "B", "Z", 0, 1), ("t5", "C", "Z", 0, 1),
        };
        if (shuffled) rows = new[] { rows[3], rows[0], rows[4], rows[2], rows[1] };
        var meta = rows.ToDictionary(r => r.Id, r => Track(r.Id, r.C, r.A));
        return EvaluationData.Create(rows.Select(r => r.Id).ToArray(), rows.SelectMany(r => new[] { r.X, r.Y }).ToArray(), 2, meta);
    }

    private static EvaluationResult Get(EvaluationOutcome o, int k, bool excl) => o.Results.Single(r => r.K == k && r.ExcludeSameAlbum == excl);

    [Fact]
    public void Hand_computed_figures_with_ties_a_single_track_composer_and_k_larger_than_the_catalogue()
    {
        var o = Evaluator.Evaluate(Paper(), new EvaluationOptions { Ks = new[] { 10, 1, 2, 3 }, SampleCount = 0 });
        Assert.Equal(new[] { 1, 2, 3, 10 }, o.Ks);

        // K=1, all other tracks: t1 -> t2 (A, tie with t3 broken by id), t2 -> t1, t3 -> t1 (A), t4 -> t5 (C), t5 -> t4 (B).
        var r1 = Get(o, 1, false);
        Assert.Equal(5, r1.Queries);
        Assert.Equal(0.4, r1.PrecisionAtK, 9);
        Assert.Equal(0.4, r1.HitRateAtK, 9);
        Assert.Equal(0.4, r1.NdcgAtK, 9);
        Assert.Equal(1, r1.QueriesWithoutRelevant); // t5: C has no other track
        Assert.Equal(0.2, r1.ChancePrecisionAtK, 9); // R/S = 1/4 for t1..t4, 0 for t5

        // K=2: t1 -> t2,t3 (1 of 2); t2 -> t1,t3; t3 -> t1,t2; t4 -> t5,t1; t5 -> t4,t1.
        var r2 = Get(o, 2, false);
        Assert.Equal(0.2, r2.PrecisionAtK, 9);
        Assert.Equal(0.4, r2.HitRateAtK, 9);
        Assert.Equal(0.4, r2.NdcgAtK, 9);

        // K=3: t3 -> t1,t2,t4: t4 at rank 3, DCG = 1/log2(4) = 0.5, ideal 1.
        var r3 = Get(o, 3, false);
        Assert.Equal((1 / 3.0 + 1 / 3.0 + 1 / 3.0) / 5, r3.PrecisionAtK, 6);
        Assert.Equal(0.6, r3.HitRateAtK, 9);
        Assert.Equal((1 + 1 + 0.5) / 5, r3.NdcgAtK, 6);

        // K=10 > 4 other tracks: precision still divides by K; t4 -> t5,t1,t2,t3: t3 at rank 4, 1/log2(5).
        var r10 = Get(o, 10, false);
        Assert.Equal(0.08, r10.PrecisionAtK, 9);
        Assert.Equal(0.8, r10.HitRateAtK, 9);
        Assert.Equal((1 + 1 + 0.5 + 1 / Math.Log2(5)) / 5, r10.NdcgAtK, 6);
        Assert.Equal(0.08, r10.ChancePrecisionAtK, 9); // every candidate is returned: chance = actual
        Assert.Equal(0.8, r10.ChanceHitRateAtK, 9);

        // Same album excluded: t1, t2 (A only in X) and t5 have no relevant candidate.
        var e1 = Get(o, 1, true);
        Assert.Equal(0, e1.PrecisionAtK);
        Assert.Equal(3, e1.QueriesWithoutRelevant);
        Assert.Equal((0.25 + 1 / 3.0) / 5, e1.ChancePrecisionAtK, 6); // t3: 1 of 4; t4: 1 of {t1,t2,t3}
        // K=3: t3 -> t1,t2,t4 (rank 3); t4 -> t1,t2,t3 (all tie at 0; t3 at rank 3).
        var e3 = Get(o, 3, true);
        Assert.Equal((2 / 3.0) / 5, e3.PrecisionAtK, 6);
        Assert.Equal(0.4, e3.HitRateAtK, 9);
        Assert.Equal(0.2, e3.NdcgAtK, 9);
    }

    [Fact]
    public void Per_composer_rows_and_counts_sum_to_the_total()
    {
        var o = Evaluator.Evaluate(Paper(), new EvaluationOptions { Ks = new[] { 1 }, SampleCount = 0 });
        foreach (var r in o.Results)
        {
            Assert.Equal(new[] { "A", "B", "C" }, r.PerComposer.Select(c => c.Composer));
            Assert.Equal(r.Queries, r.PerComposer.Sum(c => c.Queries));
            Assert.Equal(r.QueriesWithoutRelevant, r.PerComposer.Sum(c => c.QueriesWithoutRelevant));
            Assert.Equal(r.PrecisionAtK, r.PerComposer.Sum(c => c.PrecisionAtK * c.Queries) / r.Queries, 6);
        }
        var all = Get(o, 1, false);
        Assert.Equal(new[] { 2, 2, 1 }, all.PerComposer.Select(c => c.Queries));
        Assert.Equal(new[] { 1.0, 0, 0 }, all.PerComposer.Select(c => c.PrecisionAtK));
        Assert.Equal(1, all.PerComposer.Single(c => c.Composer == "C").QueriesWithoutRelevant);
        // Top-1 confusion: A -> A twice; B -> A (t3 -> t1) and C (t4 -> t5); C -> B (t5 -> t4).
        Assert.Equal(2, all.ConfusionTop1["A"]["A"]);
        Assert.Equal(1, all.ConfusionTop1["B"]["A"]);
        Assert.Equal(1, all.ConfusionTop1["B"]["C"]);
        Assert.Equal(1, all.ConfusionTop1["C"]["B"]);
        Assert.Equal(5, all.ConfusionTop1.Values.Sum(row => row.Values.Sum()));
    }

    [Fact]
    public void Samples_list_each_query_top_k_with_similarity_and_composer()
    {
        var o = Evaluator.Evaluate(Paper(), new EvaluationOptions { Ks = new[] { 2 }, SampleTrackIds = new[] { "t3" }, IncludeSameAlbum = true, ExcludeSameAlbum = false });
        Assert.Equal(2, o.Samples.Count);
        Assert.All(o.Samples, s => Assert.Equal("t3", s.QueryTrackId));
        Assert.Equal(new[] { "t1", "t2" }, o.Samples.Select(s => s.TrackId));
        Assert.Equal(new[] { "A", "A" }, o.Samples.Select(s => s.Composer));
        Assert.Equal(new[] { 1f, 1f }, o.Samples.Select(s => s.Similarity));
        Assert.All(o.Samples, s => Assert.False(s.Relevant));

        var err = Assert.Throws<MessException>(() => Evaluator.Evaluate(Paper(), new EvaluationOptions { SampleTrackIds = new[] { "nope" } }));
        Assert.Equal("SampleTrackUnknown", err.ErrorId);
        Assert.Contains("'nope'", err.Message);

        var seeded1 = Evaluator.Evaluate(Paper(), new EvaluationOptions { SampleCount = 3, Seed = 7 }).Samples.Select(s => s.QueryTrackId).Distinct().ToList();
        var seeded2 = Evaluator.Evaluate(Paper(true), new EvaluationOptions { SampleCount = 3, Seed = 7 }).Samples.Select(s => s.QueryTrackId).Distinct().ToList();
        Assert.Equal(3, seeded1.Count);
        Assert.Equal(seeded1, seeded2);
    }

    /// <summary>Random catalogue with quantised vectors (many exact ties).</summary>
    internal static (string[] Ids, float[] Vectors, int Dim, Dictionary<string, MessTrack> Meta) Random(int n, int dim, int composers, int albumSize, int seed)
    {
        var rng = new Random(seed);
        var ids = Enumerable.Range(0, n).Select(i => $"trk{rng.Next(1000000):D6}_{i}").ToArray();
        var v = new float[n * dim];
        for (int i = 0; i < v.Length; i++) v[i] = (rng.Next(5) - 2) * 0.25f;
        var meta = new Dictionary<string, MessTrack>();
        for (int i = 0; i < n; i++)
        {
            int album = i / albumSize;
            meta[ids[i]] = Track(ids[i], "Composer " + (album * 7 + i % 2) % composers, "alb" + album);
        }
        return (ids, v, dim, meta);
    }

    [Fact]
    public void Row_order_does_not_change_any_figure_or_sample()
    {
        var (ids, v, dim, meta) = Random(300, 6, 9, 7, 1);
        var perm = Enumerable.Range(0, ids.Length).OrderBy(_ => Guid.NewGuid()).ToArray();
        var ids2 = perm.Select(i => ids[i]).ToArray();
        var v2 = perm.SelectMany(i => v.Skip(i * dim).Take(dim)).ToArray();
        var opt = new EvaluationOptions { Ks = new[] { 1, 5, 10 }, SampleCount = 20, Seed = 3 };
        var a = Evaluator.Evaluate(EvaluationData.Create(ids, v, dim, meta), opt);
        var b = Evaluator.Evaluate(EvaluationData.Create(ids2, v2, dim, meta), opt);
        Assert.Equal(Flat(a), Flat(b));
        Assert.Equal(a.Samples.Select(s => (s.QueryTrackId, s.TrackId, s.Similarity, s.ExcludeSameAlbum)),
                     b.Samples.Select(s => (s.QueryTrackId, s.TrackId, s.Similarity, s.ExcludeSameAlbum)));
    }

    private static List<string> Flat(EvaluationOutcome o) => o.Results.SelectMany(r =>
        new[] { $"{r.K}/{r.ExcludeSameAlbum}: {r.PrecisionAtK} {r.HitRateAtK} {r.NdcgAtK} {r.ChancePrecisionAtK} {r.QueriesWithoutRelevant}" }
            .Concat(r.PerComposer.Select(c => $"{c.Composer} {c.Queries} {c.PrecisionAtK} {c.NdcgAtK}"))
            .Concat(r.ConfusionTop1.SelectMany(row => row.Value.Select(x => $"{row.Key}->{x.Key}:{x.Value}")))).ToList();

    /// <summary>An independent reference: full sort of every candidate with LINQ, the formulas written out again.</summary>
    private static (double P, double H, double N, int None) Reference(EvaluationData d, int k, bool excl)
    {
        double p = 0, h = 0, nd = 0; int none = 0;
        for (int q = 0; q < d.Count; q++)
        {
            var eligible = Enumerable.Range(0, d.Count).Where(j => j != q && (!excl || d.AlbumIds[j] != d.AlbumIds[q])).ToList();
            int R = eligible.Count(j => d.Composers[j] == d.Composers[q]);
            var top = eligible.Select(j => (j, s: ExactSearch.Dot(d.Row(q), d.Row(j))))
                .OrderByDescending(t => t.s).ThenBy(t => d.TrackIds[t.j], StringComparer.Ordinal).Take(k).ToList();
            int rel = top.Count(t => d.Composers[t.j] == d.Composers[q]);
            p += rel / (double)k;
            if (R == 0) { none++; continue; }
            h += rel > 0 ? 1 : 0;
            double dcg = top.Select((t, r) => d.Composers[t.j] == d.Composers[q] ? 1 / Math.Log2(r + 2) : 0).Sum();
            double idcg = Enumerable.Range(1, Math.Min(k, R)).Sum(r => 1 / Math.Log2(r + 1));
            nd += dcg / idcg;
        }
        return (p / d.Count, h / d.Count, nd / d.Count, none);
    }

    [Theory]
    [InlineData(200, 5, 6, 5)]    // albums of 5: one shared deep pass serves both album modes
    [InlineData(150, 4, 5, 75)]   // albums of 75 (> 64): the two modes are searched separately
    public void Figures_match_an_independent_brute_force_reference(int n, int dim, int composers, int albumSize)
    {
        var (ids, v, d, meta) = Random(n, dim, composers, albumSize, n + albumSize);
        var data = EvaluationData.Create(ids, v, d, meta);
        var o = Evaluator.Evaluate(data, new EvaluationOptions { Ks = new[] { 1, 3, 10 }, SampleCount = 0 });
        foreach (var r in o.Results)
        {
            var (p, h, nd, none) = Reference(data, r.K, r.ExcludeSameAlbum);
            Assert.Equal(Math.Round(p, 6), r.PrecisionAtK, 9);
            Assert.Equal(Math.Round(h, 6), r.HitRateAtK, 9);
            Assert.Equal(Math.Round(nd, 6), r.NdcgAtK, 9);
            Assert.Equal(none, r.QueriesWithoutRelevant);
        }
        // One album mode at a time gives the same figures as both at once.
        var only = Evaluator.Evaluate(data, new EvaluationOptions { Ks = new[] { 1, 3, 10 }, SampleCount = 0, IncludeSameAlbum = false });
        Assert.Equal(Flat(o).Where(s => s.Contains("/True")), Flat(only).Where(s => s.Contains("/True")));
    }

    [Fact]
    public void Chance_level_matches_a_simulation_of_random_rankings()
    {
        var (p, h, n) = Metrics.Chance(5, 3, 20);
        Assert.Equal(3 / 20.0, p, 9);
        var rng = new Random(1);
        double hs = 0, ns = 0; const int trials = 100000;
        for (int t = 0; t < trials; t++)
        {
            var pick = Enumerable.Range(0, 20).OrderBy(_ => rng.Next()).Take(5).ToList(); // 0..2 relevant
            hs += pick.Any(x => x < 3) ? 1 : 0;
            ns += pick.Select((x, r) => x < 3 ? 1 / Math.Log2(r + 2) : 0).Sum() / Metrics.IdealDcg(3);
        }
        Assert.Equal(hs / trials, h, 2);
        Assert.Equal(ns / trials, n, 2);
        Assert.Equal((0.0, 0.0, 0.0), Metrics.Chance(5, 0, 20));
    }

    [Fact]
    public void Embeddings_and_track_ids_of_different_lengths_are_refused()
    {
        var meta = new Dictionary<string, MessTrack> { ["a"] = Track("a", "X", "1"), ["b"] = Track("b", "X", "1") };
        var ex = Assert.Throws<MessException>(() => EvaluationData.Create(new[] { "a", "b" }, new float[] { 1, 0, 0 }, 2, meta));
        Assert.Equal("EmbeddingsOutOfStep", ex.ErrorId);
        Assert.Contains("2 track ids", ex.Message);
        ex = Assert.Throws<MessException>(() => EvaluationData.Create(new[] { "a", "b" }, new float[] { 1, 0, 0, 1, 1, 1 }, 2, meta));
        Assert.Equal("EmbeddingsOutOfStep", ex.ErrorId);
    }

    [Fact]
    public void Tracks_missing_from_the_metadata_are_named()
    {
        var meta = new Dictionary<string, MessTrack> { ["a"] = Track("a", "X", "1") };
        var ex = Assert.Throws<MessException>(() => EvaluationData.Create(new[] { "a", "ghost-1", "ghost-2" }, new float[6], 2, meta, metadataSource: "tracks_metadata.csv"));
        Assert.Equal("TracksMissingFromMetadata", ex.ErrorId);
        Assert.Contains("'ghost-1'", ex.Message);
        Assert.Contains("'ghost-2'", ex.Message);
        Assert.Contains("tracks_metadata.csv", ex.Message);
        Assert.Equal("ghost-1", ex.Target);
    }

    [Fact]
    public void Nan_and_infinite_vectors_are_refused_naming_the_track()
    {
        var meta = new Dictionary<string, MessTrack> { ["a"] = Track("a", "X", "1"), ["b"] = Track("b", "Y", "1") };
        var ex = Assert.Throws<MessException>(() => EvaluationData.Create(new[] { "a", "b" }, new[] { 1f, 0f, 0f, float.NaN }, 2, meta));
        Assert.Equal("EmbeddingNotFinite", ex.ErrorId);
        Assert.Contains("'b'", ex.Message);
        Assert.Contains("NaN", ex.Message);
        ex = Assert.Throws<MessException>(() => EvaluationData.Create(new[] { "a", "b" }, new[] { float.PositiveInfinity, 0f, 0f, 1f }, 2, meta));
        Assert.Equal("EmbeddingNotFinite", ex.ErrorId);
    }

    [Fact]
    public void Other_bad_input_is_refused()
    {
        var meta = new Dictionary<string, MessTrack> { ["a"] = Track("a", "", "1") };
        Assert.Equal("ComposerMissing", Assert.Throws<MessException>(() => EvaluationData.Create(new[] { "a" }, new float[2], 2, meta)).ErrorId);
        Assert.Equal("EmbeddingsEmpty", Assert.Throws<MessException>(() => EvaluationData.Create(Array.Empty<string>(), Array.Empty<float>(), 2, meta)).ErrorId);
        meta["a"].Composer = "X";
        Assert.Equal("TrackIdsDuplicate", Assert.Throws<MessException>(() => EvaluationData.Create(new[] { "a", "a" }, new float[4], 2, meta)).ErrorId);
        Assert.Equal("InvalidK", Assert.Throws<MessException>(() => Evaluator.Evaluate(Paper(), new EvaluationOptions { Ks = new[] { 0 } })).ErrorId);
    }

    [Fact]
    public void One_track_alone_scores_zero_without_failing()
    {
        var meta = new Dictionary<string, MessTrack> { ["a"] = Track("a", "X", "1") };
        var o = Evaluator.Evaluate(EvaluationData.Create(new[] { "a" }, new float[] { 1, 0 }, 2, meta), new EvaluationOptions());
        Assert.All(o.Results, r => { Assert.Equal(0, r.PrecisionAtK); Assert.Equal(1, r.QueriesWithoutRelevant); Assert.Equal(0, r.ChancePrecisionAtK); });
    }
}
