using System.Text.Json;
using MessTools.Core.Analysis;

namespace MessTools.Tests.Unit.Analysis;

/// <summary>
/// Every figure against tests/Reference/analysis_reference.py (numpy for the spectrum, hubness, TwoNN, geometry and
/// CKA; scikit-learn for the silhouette and the NMI), run with /usr/bin/python3 (.ci/run installs python3-numpy and
/// python3-sklearn), within 1e-6.
/// </summary>
public class AnalysisReferenceTests
{
    private const double Tol = 1e-6;

    [Fact]
    public void Figures_agree_with_numpy_and_scikit_learn_within_1e6()
    {
        using var tmp = new TempDir();
        const int n = 240, dim = 24, k = 5;
        var data = AnalysisTestData.Clustered(n, dim, 6, 0.8, 21, out var raw);
        // A second "model": the same tracks seen through a random linear map plus noise (so CKA is high but not 1).
        var rng = new Random(4);
        var map = Enumerable.Range(0, dim * 16).Select(_ => SyntheticVectors.Gauss(rng)).ToArray();
        var other = new float[n * 16];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < 16; j++)
            {
                double s = 0.3 * SyntheticVectors.Gauss(rng);
                for (int t = 0; t < dim; t++) s += raw[i * dim + t] * map[t * 16 + j];
                other[i * 16 + j] = (float)s;
            }
        var second = AnalysisTestData.Make(other, 16, data.Composers);
        var options = new AnalysisOptions { K = k, Clusters = 6, Seed = 3, SampleSize = 0 };
        var r = EmbeddingAnalyzer.Analyze(data, options);
        var c = EmbeddingAnalyzer.Compare(data, second, options);

        string a = Path.Combine(tmp.Path, "a.f32"), b = Path.Combine(tmp.Path, "b.f32"), spec = Path.Combine(tmp.Path, "spec.json");
        WriteF32(a, data.Vectors);
        WriteF32(b, second.Vectors);
        File.WriteAllText(spec, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["vectors"] = a, ["dim"] = dim, ["composers"] = data.Composers, ["k"] = k, ["clusters"] = r.ClusterOfTrack,
            ["compare_vectors"] = b, ["compare_dim"] = 16,
        }));
        using var py = JsonDocument.Parse(RunReference(spec));
        var p = py.RootElement;
        double D(string name) => p.GetProperty(name).GetDouble();

        var eig = p.GetProperty("eigenvalues").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        for (int i = 0; i < eig.Length; i++) Assert.Equal(eig[i], r.Eigenvalues[i], Tol);
        Assert.Equal(p.GetProperty("components_for_90").GetInt32(), r.ComponentsFor90);
        Close(D("participation_ratio"), r.ParticipationRatio, "participation ratio");
        Close(D("effective_rank"), r.EffectiveRank, "effective rank");
        Close(D("intrinsic_dimension"), r.IntrinsicDimension!.Value, "TwoNN");
        Assert.Equal(p.GetProperty("intrinsic_dimension_tracks").GetInt32(), r.IntrinsicDimensionTracks);
        Close(D("k_occurrence_skewness"), r.KOccurrenceSkewness, "skewness");
        Close(D("robin_hood"), r.RobinHood, "Robin Hood");
        Close(D("antihub_share"), r.AntihubShare, "antihubs");
        Close(D("hub_occurrence"), r.HubOccurrence, "hub occurrence");
        Assert.Equal(p.GetProperty("top_hubs").EnumerateArray().Select(x => data.TrackIds[x.GetInt32()]), r.TopHubs.Select(h => h.TrackId));
        Assert.Equal(p.GetProperty("top_hub_counts").EnumerateArray().Select(x => x.GetInt32()), r.TopHubs.Select(h => h.Occurrences));
        Close(D("alignment"), r.Alignment!.Value, "alignment");
        Close(D("uniformity"), r.Uniformity, "uniformity");
        Close(D("silhouette"), r.Silhouette!.Value, "silhouette");
        Close(D("cluster_nmi"), r.ClusterNmi, "NMI");
        Close(D("mean_pairwise_cosine"), r.MeanPairwiseCosine, "mean pairwise cosine");
        Close(D("mean_neighbor_composers"), r.MeanNeighborComposers, "neighbour composers");
        Close(D("neighbor_composer_share"), r.NeighborComposerShare, "neighbour composer share");
        foreach (var g in r.PerComposer)
        {
            var q = p.GetProperty("per_composer").GetProperty(g.Composer);
            Assert.Equal(q.GetProperty("count").GetInt32(), g.Count);
            Close(q.GetProperty("mean_within_cosine").GetDouble(), g.MeanWithinCosine!.Value, g.Composer + " within");
            Close(q.GetProperty("mean_cosine_to_others").GetDouble(), g.MeanCosineToOthers!.Value, g.Composer + " others");
        }
        Close(D("cka"), c.Cka, "CKA");
        Assert.InRange(c.Cka, 0.3, 0.999);
        Close(D("neighbor_jaccard"), c.NeighborJaccard, "Jaccard");
        Close(D("precision_at_k"), c.PrecisionAtK, "P@K");
        Close(D("compare_precision_at_k"), c.ComparePrecisionAtK, "P@K of the second model");
        // The figures are not trivial (the comparison can fail).
        Assert.True(r.Silhouette > 0.05 && r.ClusterNmi > 0.3, $"silhouette {r.Silhouette}, NMI {r.ClusterNmi}");
    }

    private static void Close(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= Tol, $"{what}: engine {actual:R}, reference {expected:R}");

    private static void WriteF32(string path, float[] v)
    {
        var bytes = new byte[v.Length * 4];
        Buffer.BlockCopy(v, 0, bytes, 0, bytes.Length);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>The script's stdout; its stderr in the failure message.</summary>
    internal static string RunReference(string spec, string scriptName = "analysis_reference.py") =>
        ReferenceScripts.Run(scriptName, spec, "apt-get install python3-numpy python3-sklearn (.ci/run does).");
}
