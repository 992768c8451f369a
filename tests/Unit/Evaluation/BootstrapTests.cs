using System.Text.Json;
using MessTools.Core.Artifacts;
using MessTools.Core.Evaluation;

namespace MessTools.Tests.Unit.Evaluation;

/// <summary>
/// The intervals and the paired comparison of Invoke-MessEvaluation: against tests/Reference/bootstrap_reference.py
/// (the same SplitMix64 stream replayed in Python, everything else computed with numpy), and their properties.
/// </summary>
public class BootstrapTests
{
    /// <summary>Composer-clustered vectors: centroid · signal + unit noise, albums of 4 tracks, composer sizes 6 to 40.</summary>
    internal static EvaluationData Clustered(double signal, int seed, int noiseSeed)
    {
        var rng = new Random(seed);
        var noise = new Random(noiseSeed);
        const int dim = 12;
        var sizes = new[] { 40, 30, 24, 18, 12, 9, 6 };
        var ids = new List<string>(); var v = new List<float>(); var meta = new Dictionary<string, MessTrack>();
        for (int c = 0; c < sizes.Length; c++)
        {
            var centroid = Enumerable.Range(0, dim).Select(_ => SyntheticVectors.Gauss(rng)).ToArray();
            for (int i = 0; i < sizes[c]; i++)
            {
                string id = $"c{c}-t{i:D2}";
                ids.Add(id);
                meta[id] = EvaluatorTests.Track(id, $"Composer {c}", $"c{c}-a{i / 4}");
                for (int j = 0; j < dim; j++) v.Add((float)(signal * centroid[j] + SyntheticVectors.Gauss(noise)));
            }
        }
        return EvaluationData.Create(ids.ToArray(), v.ToArray(), dim, meta);
    }

    private static readonly EvaluationOptions Options = new() { Ks = new[] { 5 }, SampleCount = 0, Seed = 7, BootstrapResamples = 400, Permutations = 499 };

    [Fact]
    public void Intervals_and_paired_test_agree_with_the_numpy_reference()
    {
        var strong = Evaluator.Evaluate(Clustered(1.0, 1, 2), Options with { ArtifactPath = "a" });
        var weak = Evaluator.Evaluate(Clustered(0.6, 1, 3), Options with { ArtifactPath = "b" });
        var paired = QueryIntervals.Compare(strong, weak, Options);
        using var tmp = new TempDir();
        var names = strong.Results[0].PerComposer.Select(c => c.Composer).ToList();
        var composerIndex = strong.Data.Composers.Select(c => names.IndexOf(c)).ToArray();
        for (int r = 0; r < strong.Results.Count; r++)
        {
            var result = strong.Results[r];
            var f = strong.PerQuery[r];
            var b = weak.PerQuery[r];
            // the per-query figures are the ones the point estimates average
            Assert.Equal(result.PrecisionAtK, f.Precision.Average(), 6);
            Assert.Equal(result.NdcgAtK, f.Ndcg.Average(), 6);
            string spec = Path.Combine(tmp.Path, $"spec{r}.json");
            File.WriteAllText(spec, JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["seed"] = Options.Seed, ["resamples"] = Options.BootstrapResamples, ["level"] = Options.ConfidenceLevel,
                ["min_composer_queries"] = Options.MinComposerQueriesForInterval, ["permutations"] = Options.Permutations,
                ["composer"] = composerIndex,
                ["figures"] = new Dictionary<string, double[]> { ["precision"] = f.Precision, ["hit_rate"] = f.HitRate, ["ndcg"] = f.Ndcg },
                ["baseline"] = new Dictionary<string, double[]> { ["precision"] = b.Precision, ["hit_rate"] = b.HitRate, ["ndcg"] = b.Ndcg },
            }));
            using var py = JsonDocument.Parse(Analysis.AnalysisReferenceTests.RunReference(spec, "bootstrap_reference.py"));
            var p = py.RootElement;
            var mine = new[] { result.PrecisionAtKInterval!, result.HitRateAtKInterval!, result.NdcgAtKInterval! };
            SameIntervals(p.GetProperty("overall"), mine, "overall");
            int withIntervals = 0;
            for (int c = 0; c < names.Count; c++)
            {
                var pc = result.PerComposer[c];
                var expected = p.GetProperty("per_composer").GetProperty(c.ToString());
                if (expected.ValueKind == JsonValueKind.Null) { Assert.Null(pc.PrecisionAtKInterval); Assert.True(pc.Queries < 10); continue; }
                withIntervals++;
                SameIntervals(expected, new[] { pc.PrecisionAtKInterval!, pc.HitRateAtKInterval!, pc.NdcgAtKInterval! }, pc.Composer);
            }
            Assert.Equal(5, withIntervals); // the composers of 6 and 9 tracks get none
            var pr = paired.Where(x => x.K == result.K && x.ExcludeSameAlbum == result.ExcludeSameAlbum).ToList();
            Assert.Equal(QueryIntervals.MetricNames, pr.Select(x => x.Metric));
            SameIntervals(p.GetProperty("difference"), pr.Select(x => x.DifferenceInterval!).ToArray(), "difference");
            for (int m = 0; m < 3; m++)
            {
                Assert.Equal(p.GetProperty("difference_mean")[m].GetDouble(), pr[m].Difference, 6);
                Assert.Equal(p.GetProperty("p_value")[m].GetDouble(), pr[m].PValue!.Value, 6);
            }
        }
        // The comparison can fail: the stronger clustering wins clearly on P@5 with all tracks.
        var p5 = paired.Single(x => x.Metric == "PrecisionAtK" && !x.ExcludeSameAlbum);
        Assert.True(p5.Difference > 0.05 && p5.DifferenceInterval!.Low > 0 && p5.PValue < 0.01, p5.ToString());
    }

    private static void SameIntervals(JsonElement expected, ConfidenceInterval[] actual, string what)
    {
        for (int m = 0; m < actual.Length; m++)
        {
            Assert.True(Math.Abs(expected[m][0].GetDouble() - actual[m].Low) <= 1e-6, $"{what} {m} low: {actual[m].Low} vs {expected[m][0]}");
            Assert.True(Math.Abs(expected[m][1].GetDouble() - actual[m].High) <= 1e-6, $"{what} {m} high: {actual[m].High} vs {expected[m][1]}");
        }
    }

    [Fact]
    public void Intervals_bracket_the_figure_are_deterministic_for_a_seed_and_change_with_it()
    {
        var data = Clustered(0.8, 4, 5);
        var a = Evaluator.Evaluate(data, Options);
        var b = Evaluator.Evaluate(data, Options);
        var c = Evaluator.Evaluate(data, Options with { Seed = 8 });
        for (int i = 0; i < a.Results.Count; i++)
        {
            var r = a.Results[i];
            Assert.InRange(r.PrecisionAtK, r.PrecisionAtKInterval!.Low, r.PrecisionAtKInterval.High);
            Assert.InRange(r.NdcgAtK, r.NdcgAtKInterval!.Low, r.NdcgAtKInterval.High);
            Assert.True(r.PrecisionAtKInterval.High - r.PrecisionAtKInterval.Low is > 0.01 and < 0.4, r.PrecisionAtKInterval.ToString());
            Assert.Equal(r.PrecisionAtKInterval.ToString(), b.Results[i].PrecisionAtKInterval!.ToString());
            Assert.Equal(r.PerComposer[0].PrecisionAtKInterval!.ToString(), b.Results[i].PerComposer[0].PrecisionAtKInterval!.ToString());
        }
        Assert.NotEqual(a.Results[0].PrecisionAtKInterval!.Low + "," + a.Results[0].PrecisionAtKInterval!.High,
            c.Results[0].PrecisionAtKInterval!.Low + "," + c.Results[0].PrecisionAtKInterval!.High);
        var off = Evaluator.Evaluate(data, Options with { BootstrapResamples = 0 });
        Assert.All(off.Results, r => Assert.Null(r.PrecisionAtKInterval));
    }

    [Fact]
    public void A_model_compared_with_itself_differs_by_zero_with_p_one()
    {
        var data = Clustered(0.8, 4, 5);
        var a = Evaluator.Evaluate(data, Options);
        var list = QueryIntervals.Compare(a, Evaluator.Evaluate(data, Options), Options);
        Assert.Equal(6, list.Count); // 2 album modes x 3 figures
        Assert.All(list, x =>
        {
            Assert.Equal(0, x.Difference);
            Assert.Equal(0, x.DifferenceInterval!.Low);
            Assert.Equal(0, x.DifferenceInterval.High);
            Assert.Equal(1.0, x.PValue);
        });
    }

    [Fact]
    public void A_comparison_of_different_tracks_is_refused()
    {
        var a = Evaluator.Evaluate(Clustered(0.8, 4, 5), Options);
        var other = Evaluator.Evaluate(EvaluationData.Create(new[] { "x", "y" }, new float[] { 1, 0, 0, 1 }, 2,
            new Dictionary<string, MessTrack> { ["x"] = EvaluatorTests.Track("x", "A", "1"), ["y"] = EvaluatorTests.Track("y", "A", "2") }), Options);
        Assert.Throws<InvalidOperationException>(() => QueryIntervals.Compare(a, other, Options));
    }

    [Fact]
    public void Quantile_is_numpys_linear_one_and_the_stream_is_splitmix64()
    {
        // numpy: np.quantile([1, 2, 4, 8], [0.025, 0.5, 0.975]) = [1.075, 3.0, 7.7]
        var x = new double[] { 1, 2, 4, 8 };
        Assert.Equal(1.075, Bootstrap.Quantile(x, 0.025), 12);
        Assert.Equal(3.0, Bootstrap.Quantile(x, 0.5), 12);
        Assert.Equal(7.7, Bootstrap.Quantile(x, 0.975), 12);
        // SplitMix64 seeded 0: first output 0xE220A8397B1DCDAF (the published test vector)
        Assert.Equal(0xE220A8397B1DCDAFUL, new SplitMix64(0).Next());
        var s = SplitMix64.ForStream(7, 0);
        Assert.All(Enumerable.Range(0, 1000), _ => Assert.InRange(s.NextIndex(13), 0, 12));
    }

    [Fact]
    public void Eval_files_are_byte_identical_across_runs_and_carry_the_intervals()
    {
        using var tmp = new TempDir();
        var store = EvaluationFilesTests.Artifacts(tmp["art"], n: 80);
        byte[][] Run()
        {
            var options = new EvaluationOptions { Ks = new[] { 1, 5 }, SampleCount = 3, ArtifactPath = store.Root };
            var (json, samples, report) = EvaluationFiles.Write(store, Evaluator.Evaluate(EvaluationData.Load(store), options), options);
            return new[] { File.ReadAllBytes(json), File.ReadAllBytes(samples), File.ReadAllBytes(report) };
        }
        var first = Run();
        Thread.Sleep(1100);
        var second = Run();
        for (int i = 0; i < 3; i++) Assert.Equal(first[i], second[i]);
        using var doc = JsonDocument.Parse(first[0]);
        var r0 = doc.RootElement.GetProperty("results")[0];
        Assert.True(r0.GetProperty("precision_at_k_interval").GetProperty("low").GetDouble() <= r0.GetProperty("precision_at_k").GetDouble());
        Assert.Equal(1000, doc.RootElement.GetProperty("bootstrap").GetProperty("resamples").GetInt32());
        Assert.False(doc.RootElement.TryGetProperty("created_utc", out _));
        Assert.Contains("SplitMix64", doc.RootElement.GetProperty("definitions").GetProperty("interval").GetString());
    }
}
