using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Text;
using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using MessTools.Tests.Module.Infrastructure;

namespace MessTools.Tests.Module.Evaluation;

public class InvokeMessEvaluationTests
{
    /// <summary>
    /// A synthetic artifact folder: the metadata through Export-MessMetadata, the embeddings written as
    /// ConvertTo-MessEmbedding writes them (float32 rows + track_ids.json). 8 composers x 3 albums x 4 tracks;
    /// each composer's vectors cluster around a direction of its own, so the figures are far above chance.
    /// </summary>
    internal static void MakeArtifacts(ModuleRunspace ps, string folder, int dim = 16, int seed = 1, string? missingFromMetadata = null, bool nan = false)
    {
        var rng = new Random(seed);
        var csv = new StringBuilder("track_id,album_id,composer,audio_s3_key\n");
        var ids = new List<string>();
        var vectors = new List<float>();
        for (int c = 0; c < 8; c++)
            for (int a = 0; a < 3; a++)
                for (int t = 0; t < 4; t++)
                {
                    string id = $"c{c}a{a}t{t}";
                    csv.Append($"{id},alb{c}_{a},Composer {c},s3://bucket/{id}.wav\n");
                    ids.Add(id);
                    var v = new float[dim];
                    for (int j = 0; j < dim; j++) v[j] = (float)(rng.NextDouble() - 0.5) * 0.6f + (j % 8 == c ? 1f : 0f);
                    float norm = MathF.Sqrt(v.Sum(x => x * x));
                    vectors.AddRange(v.Select(x => x / norm));
                }
        string catalogue = Path.Combine(ps.WorkDir, Path.GetFileName(folder) + ".csv");
        File.WriteAllText(catalogue, csv.ToString());
        ps.InvokeClean("$null = Export-MessMetadata -Path $c -ArtifactPath $f", ("c", catalogue), ("f", folder));
        if (missingFromMetadata is not null) ids[5] = missingFromMetadata;
        if (nan) vectors[7 * dim + 3] = float.NaN;
        Directory.CreateDirectory(Path.Combine(folder, "embeddings"));
        var bytes = new byte[vectors.Count * 4];
        Buffer.BlockCopy(vectors.ToArray(), 0, bytes, 0, bytes.Length);
        File.WriteAllBytes(Path.Combine(folder, "embeddings", "embeddings.f32"), bytes);
        File.WriteAllText(Path.Combine(folder, "embeddings", "track_ids.json"), JsonSerializer.Serialize(ids));
    }

    /// <summary>Runs a command that must fail with a (terminating) error and emit nothing; returns the error.</summary>
    private static ErrorRecord Fails(ModuleRunspace ps, string script)
    {
        int before = ps.Errors.Count;
        Collection<PSObject> output;
        try { output = ps.Invoke(script); }
        catch (RuntimeException ex) { return ex.ErrorRecord; }
        Assert.Empty(output);
        Assert.True(ps.Errors.Count > before, "expected an error from: " + script);
        return ps.Errors[^1];
    }

    private static XDocument ParseHtml(string path) =>
        XDocument.Load(XmlReader.Create(new StringReader(File.ReadAllText(path)), new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore }));

    [Fact]
    public void Evaluates_synthetic_artifacts_and_writes_results_samples_and_a_well_formed_report()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        string art = tmp["art"];
        MakeArtifacts(ps, art);
        var results = ps.InvokeClean("Invoke-MessEvaluation -ArtifactPath art -K 1,5 -SampleCount 3 -Seed 5");
        Assert.Equal(4, results.Count);
        Assert.Contains(ps.Progress, p => p.Activity == "Invoke-MessEvaluation");
        Assert.All(results, r => Assert.Equal("MessTools.EvaluationResult", r.BaseObject.GetType().FullName));
        var k5 = results.Single(r => (int)r.Properties["K"].Value == 5 && !(bool)r.Properties["ExcludeSameAlbum"].Value);
        Assert.Equal(96, (int)k5.Properties["Queries"].Value);
        Assert.Equal("Exact", k5.Properties["Search"].Value);
        double p = (double)k5.Properties["PrecisionAtK"].Value, chance = (double)k5.Properties["ChancePrecisionAtK"].Value;
        Assert.InRange(chance, 11 / 95.0 - 1e-6, 11 / 95.0 + 1e-6); // 11 other tracks of the composer among 95
        Assert.True(p > 0.8, $"P@5 {p} on well separated clusters");
        var perComposer = ((System.Collections.IEnumerable)k5.Properties["PerComposer"].Value).Cast<object>().ToList();
        Assert.Equal(8, perComposer.Count);

        string json = tmp["art/eval/eval_results.json"];
        Assert.Equal(json, k5.Properties["ResultsPath"].Value);
        using (var doc = JsonDocument.Parse(File.ReadAllBytes(json)))
        {
            var root = doc.RootElement;
            Assert.Equal(96, root.GetProperty("tracks").GetInt32());
            Assert.Equal(new[] { 1, 5 }, root.GetProperty("ks").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(4, root.GetProperty("results").GetArrayLength());
            Assert.True(root.GetProperty("definitions").TryGetProperty("precision_at_k", out _));
            var first = root.GetProperty("results")[0];
            Assert.Equal(96, first.GetProperty("per_composer").EnumerateArray().Sum(c => c.GetProperty("queries").GetInt32()));
        }
        var samples = File.ReadAllLines(tmp["art/eval/samples.csv"]);
        Assert.StartsWith("query_track_id,query_composer", samples[0]);
        Assert.Equal(1 + 3 * 5 * 2, samples.Length);

        var html = ParseHtml(tmp["art/eval/report.html"]);
        XNamespace h = "http://www.w3.org/1999/xhtml", s = "http://www.w3.org/2000/svg";
        Assert.Equal("html", html.Root!.Name.LocalName);
        Assert.NotEmpty(html.Descendants(s + "svg"));
        Assert.Contains(html.Descendants(h + "td"), td => td.Value == "Composer 3");

        // The run record holds the metrics.
        var record = Directory.GetFiles(tmp["art/runs"], "*Invoke-MessEvaluation.json").Single();
        using var rec = JsonDocument.Parse(File.ReadAllBytes(record));
        Assert.Equal(p, rec.RootElement.GetProperty("results").GetProperty("precision_at_5").GetDouble());
        Assert.True(rec.RootElement.GetProperty("results").TryGetProperty("precision_at_5_excluding_same_album", out _));
        Assert.Equal("completed", rec.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public void ExcludeSameAlbum_selects_one_figure_and_WhatIf_writes_nothing()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        MakeArtifacts(ps, tmp["art"]);
        var only = ps.InvokeClean("Invoke-MessEvaluation -ArtifactPath art -ExcludeSameAlbum -WhatIf");
        Assert.True((bool)Assert.Single(only).Properties["ExcludeSameAlbum"].Value);
        Assert.False(Directory.Exists(tmp["art/eval"]));
        var include = ps.InvokeClean("Invoke-MessEvaluation -ArtifactPath art -ExcludeSameAlbum:$false -SampleCount 0");
        Assert.False((bool)Assert.Single(include).Properties["ExcludeSameAlbum"].Value);
        Assert.True(File.Exists(tmp["art/eval/eval_results.json"]));
    }

    [Fact]
    public void Several_folders_are_compared_on_their_shared_tracks()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        MakeArtifacts(ps, tmp["a"], seed: 1);
        MakeArtifacts(ps, tmp["b"], seed: 2, dim: 24);
        var all = ps.InvokeClean("Invoke-MessEvaluation -ArtifactPath a, b -K 5");
        var results = all.Where(r => r.BaseObject.GetType().FullName == "MessTools.EvaluationResult").ToList();
        Assert.Equal(4, results.Count);
        Assert.Equal(2, results.Select(r => (string)r.Properties["ArtifactPath"].Value).Distinct().Count());
        // one paired comparison (a minus b) per album mode and figure
        var paired = all.Where(r => r.BaseObject.GetType().FullName == "MessTools.EvaluationComparison").ToList();
        Assert.Equal(6, paired.Count);
        Assert.All(paired, c =>
        {
            Assert.Equal(tmp["b"], (string)c.Properties["BaselinePath"].Value);
            Assert.NotNull(c.Properties["DifferenceInterval"].Value);
            Assert.InRange((double)c.Properties["PValue"].Value, 1e-4, 1);
        });

        // -Compare is the same comparison
        var viaCompare = ps.InvokeClean("Invoke-MessEvaluation -ArtifactPath a -Compare b -K 5")
            .Where(r => r.BaseObject.GetType().FullName == "MessTools.EvaluationComparison").ToList();
        Assert.Equal(paired.Select(c => c.BaseObject.ToString()), viaCompare.Select(c => c.BaseObject.ToString()));
        Assert.True(File.Exists(tmp["a/eval/comparison.json"]));
        ParseHtml(tmp["a/eval/comparison.html"]);
        Assert.False(File.Exists(tmp["a/eval/eval_results.json"]));
    }

    [Fact]
    public void Tracks_missing_from_the_metadata_are_a_terminating_error_that_names_them()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        MakeArtifacts(ps, tmp["art"], missingFromMetadata: "ghost-track");
        var err = Fails(ps, "Invoke-MessEvaluation -ArtifactPath art");
        Assert.Contains("ghost-track", err.Exception.Message);
        Assert.Equal("TracksMissingFromMetadata", err.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(ErrorCategory.InvalidData, err.CategoryInfo.Category);
        Assert.False(File.Exists(tmp["art/eval/eval_results.json"]));
    }

    [Fact]
    public void Nan_embeddings_and_out_of_step_files_are_refused()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        MakeArtifacts(ps, tmp["nan"], nan: true);
        var err = Fails(ps, "Invoke-MessEvaluation -ArtifactPath nan");
        Assert.Equal("EmbeddingNotFinite", err.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("c0a1t3", err.Exception.Message);

        MakeArtifacts(ps, tmp["short"]);
        var f = tmp["short/embeddings/embeddings.f32"];
        File.WriteAllBytes(f, File.ReadAllBytes(f)[..^64]);
        err = Fails(ps, "Invoke-MessEvaluation -ArtifactPath short");
        Assert.Equal("EmbeddingsOutOfStep", err.FullyQualifiedErrorId.Split(',')[0]);
    }

    [Fact]
    public void Search_Index_without_an_index_says_how_to_make_one()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        MakeArtifacts(ps, tmp["art"]);
        var err = Fails(ps, "Invoke-MessEvaluation -ArtifactPath art -Search Index");
        Assert.Equal("IndexMissing", err.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("New-MessIndex", err.Exception.Message);
    }

    [Fact]
    public void Search_Index_goes_through_New_MessIndex_output_and_reports_its_recall()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        MakeArtifacts(ps, tmp["art"]);
        ps.InvokeClean("$null = New-MessIndex -ArtifactPath art -ThrottleLimit 1");
        var exact = ps.InvokeClean("Invoke-MessEvaluation -ArtifactPath art -K 5 -SampleCount 0 -WhatIf");
        // ef well above the 96 tracks: the graph search is exhaustive, recall 1.0, the same figures as exact search.
        var viaIndex = ps.InvokeClean("Invoke-MessEvaluation -ArtifactPath art -K 5 -Search Index -Ef 500 -SampleCount 0");
        Assert.Equal(2, viaIndex.Count);
        foreach (var (e, i) in exact.Zip(viaIndex))
        {
            Assert.Equal("Index", i.Properties["Search"].Value);
            Assert.Equal(1.0, (double?)i.Properties["IndexRecallAtK"].Value);
            Assert.Equal((double)e.Properties["PrecisionAtK"].Value, (double)i.Properties["PrecisionAtK"].Value);
            Assert.Equal((double)e.Properties["NdcgAtK"].Value, (double)i.Properties["NdcgAtK"].Value);
        }
        using var doc = JsonDocument.Parse(File.ReadAllBytes(tmp["art/eval/eval_results.json"]));
        Assert.Equal("index", doc.RootElement.GetProperty("search").GetString());
        Assert.Equal(1.0, doc.RootElement.GetProperty("results")[0].GetProperty("index_recall_at_k").GetDouble());
    }

    [Fact]
    public void Help_and_sample_track_completion()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        MakeArtifacts(ps, tmp["art"]);
        var synopsis = ps.InvokeClean("(Get-Help Invoke-MessEvaluation).Synopsis");
        Assert.Contains("Composer Retrieval", synopsis.Single().ToString());
        Assert.NotEmpty(ps.InvokeClean("(Get-Help Invoke-MessEvaluation -Examples).examples.example"));
        string line = $"Invoke-MessEvaluation -ArtifactPath '{tmp["art"]}' -SampleTrackId c3a1";
        var completions = ps.InvokeClean("[System.Management.Automation.CommandCompletion]::CompleteInput($l, $l.Length, $null).CompletionMatches.CompletionText", ("l", line));
        Assert.Equal(new[] { "'c3a1t0'", "'c3a1t1'", "'c3a1t2'", "'c3a1t3'" }, completions.Select(c => c.ToString()));
        // A relative -ArtifactPath is relative to the session's location, not the process's.
        line = "Invoke-MessEvaluation -ArtifactPath art -SampleTrackId c7a2";
        completions = ps.InvokeClean("[System.Management.Automation.CommandCompletion]::CompleteInput($l, $l.Length, $null).CompletionMatches.CompletionText", ("l", line));
        Assert.Equal(4, completions.Count);
    }
}
