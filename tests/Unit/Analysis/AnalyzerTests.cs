using MessTools.Core.Analysis;
using MessTools.Core.Common;

namespace MessTools.Tests.Unit.Analysis;

public class AnalyzerTests
{
    private static readonly AnalysisOptions Small = new() { K = 1, Clusters = 2, Seed = 1, SampleSize = 0 };

    /// <summary>±e1..±e4 in 6 dimensions: mean 0, covariance I4/4, so four equal eigenvalues of 1/4:
    /// participation ratio 4, effective rank 4, 90 % reached at the 4th component (0.75 at the 3rd).</summary>
    [Fact]
    public void Points_on_four_orthogonal_axes_have_rank_four_and_participation_ratio_four()
    {
        const int dim = 6;
        var v = new float[8 * dim];
        for (int a = 0; a < 4; a++) { v[(2 * a) * dim + a] = 1; v[(2 * a + 1) * dim + a] = -1; }
        var data = AnalysisTestData.Make(v, dim, new[] { "A", "A", "B", "B", "C", "C", "D", "D" });
        var r = EmbeddingAnalyzer.Analyze(data, Small);
        Assert.Equal(dim, r.Eigenvalues.Length);
        for (int i = 0; i < 4; i++) Assert.Equal(0.25, r.Eigenvalues[i], 12);
        for (int i = 4; i < dim; i++) Assert.Equal(0, r.Eigenvalues[i], 12);
        Assert.Equal(4, r.ParticipationRatio, 10);
        Assert.Equal(4, r.EffectiveRank, 10);
        Assert.Equal(4, r.ComponentsFor90);
        Assert.Equal(0.75, r.ExplainedVariance[2], 12);
        // Opposite points on one axis: cosine -1 within a composer, 0 to the others.
        Assert.All(r.PerComposer, c => Assert.Equal(-1, c.MeanWithinCosine!.Value, 12));
        Assert.All(r.PerComposer, c => Assert.Equal(0, c.MeanCosineToOthers!.Value, 12));
        Assert.Equal(4.0, r.Alignment!.Value, 12); // |e - (-e)|^2
    }

    /// <summary>A hub on purpose: h = e3 and four points (cos, sin, 1)/sqrt2 at 90° steps. Each ring point's cosine
    /// with h is 0.707, with its ring neighbours 0.5: h is everyone's nearest. h's own nearest is the first ring point
    /// (all tie; the lower track_id wins). N_1 = [1, 0, 0, 0, 4] (h last): skewness 4.8 / 2.4^1.5, Robin Hood 6 / 10,
    /// antihubs 3 / 5, hub occurrence 4 / 5.</summary>
    [Fact]
    public void A_constructed_hub_gives_the_hand_computed_hubness_figures()
    {
        const int dim = 3;
        var v = new List<float>();
        for (int i = 0; i < 4; i++)
        {
            double a = i * Math.PI / 2;
            v.AddRange(new[] { (float)(Math.Cos(a) / Math.Sqrt(2)), (float)(Math.Sin(a) / Math.Sqrt(2)), (float)(1 / Math.Sqrt(2)) });
        }
        v.AddRange(new[] { 0f, 0f, 1f });
        var data = AnalysisTestData.Make(v.ToArray(), dim, new[] { "A", "A", "B", "B", "B" });
        var r = EmbeddingAnalyzer.Analyze(data, Small);
        Assert.Equal(new[] { 1, 0, 0, 0, 4 }, r.Occurrences);
        Assert.Equal(4.8 / Math.Pow(2.4, 1.5), r.KOccurrenceSkewness, 12);
        Assert.Equal(0.6, r.RobinHood, 12);
        Assert.Equal(0.6, r.AntihubShare, 12);
        Assert.Equal(0.8, r.HubOccurrence, 12);
        Assert.Equal("t00004", r.TopHubs[0].TrackId);
        Assert.Equal(4, r.TopHubs[0].Occurrences);
        Assert.Equal(new[] { 3, 1, 0, 0, 1 }, r.OccurrenceHistogram);
    }

    /// <summary>Duplicated tracks have r1 = 0 and are left out of TwoNN; the rest still give a finite estimate.</summary>
    [Fact]
    public void Identical_points_are_skipped_by_TwoNN()
    {
        const int dim = 8, n = 40;
        var v = SyntheticVectors.Clustered(n, dim, 1, 1.0, 5);
        var all = v.Concat(v.AsSpan(0, 3 * dim).ToArray()).ToArray(); // rows 40..42 repeat rows 0..2
        var composers = Enumerable.Range(0, n + 3).Select(i => i % 2 == 0 ? "A" : "B").ToArray();
        var r = EmbeddingAnalyzer.Analyze(AnalysisTestData.Make(all, dim, composers), Small with { K = 2 });
        Assert.Equal(n + 3 - 6, r.IntrinsicDimensionTracks);
        Assert.True(r.IntrinsicDimension is > 1 and < 20, $"TwoNN {r.IntrinsicDimension}");
    }

    [Fact]
    public void Linear_CKA_of_a_matrix_with_itself_and_with_a_rotation_of_itself_is_one()
    {
        const int n = 300, dim = 16;
        var x = SyntheticVectors.Clustered(n, dim, 5, 0.5, 11);
        Assert.Equal(1.0, EmbeddingAnalyzer.Cka(x, dim, x, dim, n), 9);
        var q = RandomRotation(dim, 3);
        var y = new float[n * dim];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < dim; j++)
            {
                double s = 0;
                for (int t = 0; t < dim; t++) s += x[i * dim + t] * q[t, j];
                y[i * dim + j] = (float)s;
            }
        Assert.Equal(1.0, EmbeddingAnalyzer.Cka(x, dim, y, dim, n), 6);
        // And it is not 1 for unrelated data (the test can fail).
        var z = SyntheticVectors.Clustered(n, dim, 5, 0.5, 99);
        Assert.True(EmbeddingAnalyzer.Cka(x, dim, z, dim, n) < 0.9);
    }

    private static double[,] RandomRotation(int d, int seed)
    {
        var rng = new Random(seed);
        var q = new double[d, d];
        for (int j = 0; j < d; j++)
        {
            var v = new double[d];
            for (int i = 0; i < d; i++) v[i] = SyntheticVectors.Gauss(rng);
            for (int p = 0; p < j; p++)
            {
                double dot = 0;
                for (int i = 0; i < d; i++) dot += v[i] * q[i, p];
                for (int i = 0; i < d; i++) v[i] -= dot * q[i, p];
            }
            double norm = Math.Sqrt(v.Sum(t => t * t));
            for (int i = 0; i < d; i++) q[i, j] = v[i] / norm;
        }
        return q;
    }

    [Fact]
    public void Mismatched_lengths_are_refused()
    {
        var ex = Assert.Throws<MessException>(() => AnalysisTestData.Make(new float[10 * 4 + 1], 4, Enumerable.Repeat("A", 10).ToArray()));
        Assert.Equal("EmbeddingsOutOfStep", ex.ErrorId);
    }

    [Fact]
    public void A_NaN_row_is_refused_naming_the_track()
    {
        var v = SyntheticVectors.Clustered(10, 4, 2, 0.3, 1);
        v[6 * 4 + 1] = float.NaN;
        var ex = Assert.Throws<MessException>(() => AnalysisTestData.Make(v, 4, Enumerable.Range(0, 10).Select(i => "C" + i % 2).ToArray()));
        Assert.Equal("EmbeddingNotFinite", ex.ErrorId);
        Assert.Contains("t00006", ex.Message);
    }

    [Fact]
    public void K_not_below_the_track_count_is_refused()
    {
        var data = AnalysisTestData.Make(SyntheticVectors.Clustered(10, 4, 2, 0.3, 1), 4, Enumerable.Range(0, 10).Select(i => "C" + i % 2).ToArray());
        var ex = Assert.Throws<MessException>(() => EmbeddingAnalyzer.Analyze(data, Small with { K = 10 }));
        Assert.Equal("KTooLarge", ex.ErrorId);
        Assert.Contains("10 tracks", ex.Message);
        EmbeddingAnalyzer.Analyze(data, Small with { K = 9 }); // the largest K that works
    }

    [Fact]
    public void One_composer_only_is_refused()
    {
        var data = AnalysisTestData.Make(SyntheticVectors.Clustered(10, 4, 2, 0.3, 1), 4, Enumerable.Repeat("Bach", 10).ToArray());
        var ex = Assert.Throws<MessException>(() => EmbeddingAnalyzer.Analyze(data, Small));
        Assert.Equal("OneComposerOnly", ex.ErrorId);
        Assert.Contains("Bach", ex.Message);
    }

    [Fact]
    public void A_zero_row_is_refused_and_clusters_outside_2_to_N_are_refused()
    {
        var v = SyntheticVectors.Clustered(10, 4, 2, 0.3, 1);
        var composers = Enumerable.Range(0, 10).Select(i => "C" + i % 2).ToArray();
        Assert.Equal("InvalidClusters", Assert.Throws<MessException>(() => EmbeddingAnalyzer.Analyze(AnalysisTestData.Make(v, 4, composers), Small with { Clusters = 11 })).ErrorId);
        Array.Clear(v, 8, 4);
        Assert.Equal("EmbeddingZero", Assert.Throws<MessException>(() => EmbeddingAnalyzer.Analyze(AnalysisTestData.Make(v, 4, composers), Small)).ErrorId);
    }

    [Fact]
    public void Above_the_sample_size_silhouette_and_uniformity_use_a_seeded_sample_and_say_so()
    {
        var data = AnalysisTestData.Clustered(400, 12, 4, 0.4, 2, out _);
        var all = EmbeddingAnalyzer.Analyze(data, new AnalysisOptions { K = 5, Clusters = 4, SampleSize = 0 });
        var sampled = EmbeddingAnalyzer.Analyze(data, new AnalysisOptions { K = 5, Clusters = 4, SampleSize = 150 });
        Assert.Null(all.SampleSize);
        Assert.Equal(150, sampled.SampleSize);
        Assert.NotEqual(all.Silhouette, sampled.Silhouette);
        Assert.Equal(all.Silhouette!.Value, sampled.Silhouette!.Value, 1); // close, not equal
        var again = EmbeddingAnalyzer.Analyze(data, new AnalysisOptions { K = 5, Clusters = 4, SampleSize = 150, MaxThreads = 1 });
        Assert.Equal(sampled.Silhouette, again.Silhouette);
        Assert.Equal(sampled.Uniformity, again.Uniformity);
        Assert.Equal(sampled.ClusterOfTrack, again.ClusterOfTrack);
        Assert.Equal(sampled.Eigenvalues, again.Eigenvalues);
    }

    /// <summary>Above the sample size k-means is fitted on the seeded sample and every track takes its nearest fitted
    /// centre: on well-separated clusters that finds the partition the fit on all tracks finds.</summary>
    [Fact]
    public void Above_the_sample_size_k_means_is_fitted_on_the_sample_and_assigns_every_track()
    {
        var data = AnalysisTestData.Clustered(2000, 16, 5, 0.1, 6, out _);
        var all = EmbeddingAnalyzer.Analyze(data, new AnalysisOptions { K = 3, Clusters = 5, SampleSize = 0 });
        var sampled = EmbeddingAnalyzer.Analyze(data, new AnalysisOptions { K = 3, Clusters = 5, SampleSize = 300 });
        Assert.Equal(300, sampled.SampleSize);
        Assert.Equal(2000, sampled.ClusterOfTrack.Length);
        // The same partition: each full-fit cluster maps to exactly one sampled cluster.
        var map = new Dictionary<int, int>();
        for (int i = 0; i < 2000; i++)
            Assert.Equal(map.TryAdd(all.ClusterOfTrack[i], sampled.ClusterOfTrack[i]) ? sampled.ClusterOfTrack[i] : map[all.ClusterOfTrack[i]], sampled.ClusterOfTrack[i]);
        Assert.Equal(5, map.Values.Distinct().Count());
        Assert.Equal(all.ClusterNmi, sampled.ClusterNmi, 12);
        // Sampled centres are not the full means (60 tracks a cluster here), so the inertia is a little higher.
        Assert.NotEqual(all.ClusterInertia, sampled.ClusterInertia);
        Assert.InRange(sampled.ClusterInertia / all.ClusterInertia, 1.0, 1.05);
    }

    [Fact]
    public void A_sample_size_below_two_or_below_the_cluster_count_is_refused()
    {
        var data = AnalysisTestData.Clustered(200, 8, 4, 0.3, 1, out _);
        foreach (var size in new[] { -1, 1, 5 })
        {
            var e = Assert.Throws<MessException>(() => EmbeddingAnalyzer.Analyze(data, new AnalysisOptions { K = 3, Clusters = 6, SampleSize = size }));
            Assert.Equal("InvalidSampleSize", e.ErrorId);
            Assert.Equal("SampleSize", e.Target);
        }
        Assert.Equal(6, EmbeddingAnalyzer.Analyze(data, new AnalysisOptions { K = 3, Clusters = 6, SampleSize = 6 }).SampleSize);
    }

    /// <summary>Beyond one chunk of rows (8,192), every figure is the same bytes on one thread as on two: the chunked
    /// row norms, column means, covariance, composer sums and k-means.</summary>
    [Fact]
    public void Figures_are_the_same_bytes_on_one_thread_or_two_across_several_chunks()
    {
        var data = AnalysisTestData.Clustered(20_000, 16, 12, 0.6, 4, out _);
        var options = new AnalysisOptions { K = 3, Clusters = 5, SampleSize = 3000, UniformitySampleSize = 1000 };
        var two = EmbeddingAnalyzer.Analyze(data, options with { MaxThreads = 2 });
        var one = EmbeddingAnalyzer.Analyze(data, options with { MaxThreads = 1 });
        Assert.Equal(two.Eigenvalues, one.Eigenvalues);
        Assert.Equal(two.ScatterXY, one.ScatterXY);
        Assert.Equal(two.Alignment, one.Alignment);
        Assert.Equal(two.MeanPairwiseCosine, one.MeanPairwiseCosine);
        Assert.Equal(two.PerComposer.Select(c => (c.MeanWithinCosine, c.MeanCosineToOthers)), one.PerComposer.Select(c => (c.MeanWithinCosine, c.MeanCosineToOthers)));
        Assert.Equal(two.Silhouette, one.Silhouette);
        Assert.Equal(two.Uniformity, one.Uniformity);
        Assert.Equal(two.ClusterOfTrack, one.ClusterOfTrack);
        Assert.Equal(two.ClusterInertia, one.ClusterInertia);
    }

    /// <summary>Rows stored at unit length are used as they are; rows of any other length (a foreign file) are
    /// scaled to unit length first, so the figures are those of the unit rows.</summary>
    [Fact]
    public void Rows_off_unit_length_give_the_figures_of_their_unit_rows()
    {
        var unit = AnalysisTestData.Clustered(600, 12, 4, 0.4, 8, out var v);
        var scaled = (float[])v.Clone();
        for (int i = 0; i < 600; i++)
            for (int j = 0; j < 12; j++) scaled[i * 12 + j] *= i % 3 == 0 ? 2.5f : i % 3 == 1 ? 0.01f : 1f;
        var composers = unit.Composers.ToArray();
        var options = new AnalysisOptions { K = 4, Clusters = 4, SampleSize = 0 };
        var a = EmbeddingAnalyzer.Analyze(unit, options);
        var b = EmbeddingAnalyzer.Analyze(AnalysisTestData.Make(scaled, 12, composers), options);
        for (int i = 0; i < a.Eigenvalues.Length; i++) Assert.Equal(a.Eigenvalues[i], b.Eigenvalues[i], 1e-7);
        Assert.Equal(a.Silhouette!.Value, b.Silhouette!.Value, 1e-6);
        Assert.Equal(a.Uniformity, b.Uniformity, 1e-6);
        Assert.Equal(a.MeanPairwiseCosine, b.MeanPairwiseCosine, 1e-7);
        Assert.Equal(a.ClusterOfTrack, b.ClusterOfTrack);
        Assert.Equal(a.IntrinsicDimension!.Value, b.IntrinsicDimension!.Value, 1e-4);
    }

    [Fact]
    public void NMI_matches_hand_computed_cases()
    {
        Assert.Equal(1.0, EmbeddingAnalyzer.NormalizedMutualInformation(new[] { 0, 0, 1, 1 }, new[] { 5, 5, 3, 3 }), 12);
        Assert.Equal(0.0, EmbeddingAnalyzer.NormalizedMutualInformation(new[] { 0, 1, 0, 1 }, new[] { 0, 0, 1, 1 }), 12);
    }
}
