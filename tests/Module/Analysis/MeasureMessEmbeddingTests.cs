using System.Management.Automation;
using MessTools.Tests.Module.Evaluation;
using MessTools.Tests.Module.Infrastructure;

namespace MessTools.Tests.Module.Analysis;

/// <summary>Measure-MessEmbedding in a hosted runspace, on the evaluation tests' synthetic artifact folders
/// (8 composers x 3 albums x 4 tracks, metadata through Export-MessMetadata).</summary>
public class MeasureMessEmbeddingTests
{
    [Fact]
    public void Measures_with_progress_and_emits_one_EmbeddingAnalysis()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        InvokeMessEvaluationTests.MakeArtifacts(ps, tmp["art"]);
        InvokeMessEvaluationTests.MakeArtifacts(ps, tmp["other"], dim: 12, seed: 4);
        var r = Assert.Single(ps.InvokeClean("Measure-MessEmbedding -ArtifactPath art -Compare other -K 5 -Clusters 8 -Seed 2"));
        Assert.Equal("MessTools.EmbeddingAnalysis", r.BaseObject.GetType().FullName);
        Assert.Equal(96, (int)r.Properties["Tracks"].Value);
        Assert.Contains(ps.Progress, p => p.Activity == "Measure-MessEmbedding");
        Assert.True(File.Exists(tmp["art/analysis/analysis.json"]));
        Assert.True(File.Exists(tmp["art/analysis/analysis.html"]));
        Assert.False(Directory.Exists(tmp["other/analysis"])); // only the measured folder is written to
        var cka = (double)PSObject.AsPSObject(r.Properties["Comparison"].Value).Properties["Cka"].Value;
        Assert.InRange(cka, 0.01, 1.0);
        // The same seed gives the same figures.
        var again = Assert.Single(ps.InvokeClean("Measure-MessEmbedding -ArtifactPath art -K 5 -Clusters 8 -Seed 2 -MaxThreads 1 -WhatIf"));
        Assert.Equal(r.Properties["ClusterNmi"].Value, again.Properties["ClusterNmi"].Value);
        Assert.Equal(r.Properties["Silhouette"].Value, again.Properties["Silhouette"].Value);
    }

    [Theory]
    [InlineData("nan", "EmbeddingNotFinite")]
    [InlineData("ghost", "TracksMissingFromMetadata")]
    [InlineData("k", "KTooLarge")]
    public void Bad_input_is_a_terminating_error_with_its_id(string bad, string errorId)
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        InvokeMessEvaluationTests.MakeArtifacts(ps, tmp["art"], nan: bad == "nan", missingFromMetadata: bad == "ghost" ? "ghost-track" : null);
        string k = bad == "k" ? "96" : "5";
        ErrorRecord? record = null;
        try { Assert.Empty(ps.Invoke($"Measure-MessEmbedding -ArtifactPath art -K {k}")); }
        catch (RuntimeException ex) { record = ex.ErrorRecord; }
        record ??= ps.Errors.LastOrDefault();
        Assert.NotNull(record);
        Assert.StartsWith(errorId + ",", record!.FullyQualifiedErrorId);
        Assert.False(Directory.Exists(tmp["art/analysis"]));
    }
}
