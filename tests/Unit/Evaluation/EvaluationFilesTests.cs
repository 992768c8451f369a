using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using MessTools.Core.Artifacts;
using MessTools.Core.Catalog;
using MessTools.Core.Common;
using MessTools.Core.Embedding;
using MessTools.Core.Evaluation;

namespace MessTools.Tests.Unit.Evaluation;

public class EvaluationFilesTests
{
    /// <summary>An artifact folder with metadata/tracks_metadata.csv and embeddings/ as the earlier stages write them.</summary>
    internal static ArtifactStore Artifacts(string root, int n = 60, int dim = 8, int seed = 1, Action<string[], float[]>? tamper = null)
    {
        var (ids, v, d, meta) = EvaluatorTests.Random(n, dim, 5, 4, seed);
        var store = new ArtifactStore(root);
        using (var w = new MetadataCsv.Writer(store.MetadataCsv))
        {
            foreach (var id in ids.Order(StringComparer.Ordinal)) { var t = meta[id]; t.AudioUri = $"s3://b/{id}.wav"; w.Write(t); }
            w.Commit();
        }
        // As ConvertTo-MessEmbedding writes them: unit rows (the meta says l2, and every reader checks it).
        for (int i = 0; i < ids.Length; i++)
        {
            var row = v.AsSpan(i * d, d);
            float norm = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares(row));
            System.Numerics.Tensors.TensorPrimitives.Divide(row, norm, row);
        }
        tamper?.Invoke(ids, v);
        new EmbeddingMatrix(ids, v, d).Save(store, new EmbeddingsMeta { Model = "test-model" });
        return store;
    }

    [Fact]
    public void Rows_stored_in_id_order_or_out_of_it_load_as_the_same_rows_in_id_order()
    {
        // Rows already in ordinal id order are kept as read; others are copied into that order. Both must give the
        // same ids and rows, and each id its own row.
        static void Reorder(string[] ids, float[] v, int[] order)
        {
            int d = v.Length / ids.Length;
            var ids2 = order.Select(i => ids[i]).ToArray();
            var v2 = order.SelectMany(i => v.AsSpan(i * d, d).ToArray()).ToArray();
            ids2.CopyTo(ids, 0);
            v2.CopyTo(v, 0);
        }
        using var tmp = new TempDir();
        var inOrder = Artifacts(tmp["a"], tamper: (ids, v) => Reorder(ids, v, Enumerable.Range(0, ids.Length).OrderBy(i => ids[i], StringComparer.Ordinal).ToArray()));
        var reversed = Artifacts(tmp["b"], tamper: (ids, v) => Reorder(ids, v, Enumerable.Range(0, ids.Length).OrderByDescending(i => ids[i], StringComparer.Ordinal).ToArray()));
        Assert.True(EvaluationData.EmbeddedTrackIds(inOrder).SequenceEqual(EvaluationData.EmbeddedTrackIds(inOrder).Order(StringComparer.Ordinal)));
        Assert.False(EvaluationData.EmbeddedTrackIds(reversed).SequenceEqual(EvaluationData.EmbeddedTrackIds(inOrder)));
        var a = EvaluationData.Load(inOrder);
        var b = EvaluationData.Load(reversed);
        Assert.Equal(a.TrackIds, b.TrackIds);
        Assert.Equal(a.TrackIds.Order(StringComparer.Ordinal), a.TrackIds);
        Assert.Equal(a.Vectors, b.Vectors);
        var file = EmbeddingMatrix.Load(reversed);
        for (int i = 0; i < file.Count; i++)
            Assert.Equal(file.Row(i).ToArray(), b.Row(Array.IndexOf(b.TrackIds, file.TrackIds[i])).ToArray());
    }

    [Fact]
    public void Writes_results_json_samples_csv_and_a_well_formed_report()
    {
        using var tmp = new TempDir();
        var store = Artifacts(tmp["art"]);
        var data = EvaluationData.Load(store);
        Assert.Equal("test-model", data.Model);
        var options = new EvaluationOptions { Ks = new[] { 1, 5 }, SampleCount = 4, Seed = 9, ArtifactPath = store.Root };
        var outcome = Evaluator.Evaluate(data, options);
        var (json, samples, report) = EvaluationFiles.Write(store, outcome, options);

        using var doc = JsonDocument.Parse(File.ReadAllBytes(json));
        var root = doc.RootElement;
        Assert.Equal(60, root.GetProperty("tracks").GetInt32());
        Assert.Equal("test-model", root.GetProperty("model").GetString());
        Assert.Equal("exact", root.GetProperty("search").GetString());
        Assert.Contains("log2", root.GetProperty("definitions").GetProperty("ndcg_at_k").GetString());
        Assert.Contains("track_id", root.GetProperty("definitions").GetProperty("ties").GetString());
        var results = root.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(4, results.Count); // K 1 and 5, album included and excluded
        Assert.Equal(outcome.Results[0].PrecisionAtK, results[0].GetProperty("precision_at_k").GetDouble());
        Assert.True(results[0].GetProperty("per_composer").GetArrayLength() > 0);
        Assert.Equal(2, root.GetProperty("confusion_top1").GetArrayLength());

        var lines = File.ReadAllLines(samples);
        Assert.Equal("query_track_id,query_composer,query_album_id,exclude_same_album,rank,track_id,composer,album_id,similarity,relevant", lines[0]);
        Assert.Equal(1 + 4 * 5 * 2, lines.Length); // 4 queries x top 5 x 2 album modes

        string html = File.ReadAllText(report);
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/", ""));
        var x = XDocument.Load(XmlReader.Create(new StringReader(html), new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore }));
        XNamespace h = "http://www.w3.org/1999/xhtml", s = "http://www.w3.org/2000/svg";
        Assert.True(x.Descendants(s + "svg").Count() >= 3); // headline + one composer chart per album mode
        Assert.True(x.Descendants(h + "table").Count() >= 5);
        Assert.Empty(x.Descendants(h + "script"));
        Assert.DoesNotContain(x.Descendants().Where(e => e.Name.Namespace == h), e => e.IsEmpty && e.Name.LocalName is not ("meta"));
    }

    [Fact]
    public void Report_escapes_names_from_the_data()
    {
        using var tmp = new TempDir();
        var meta = new Dictionary<string, MessTrack>
        {
            ["a"] = EvaluatorTests.Track("a", "<script>alert(1)</script> & Co", "1"),
            ["b"] = EvaluatorTests.Track("b", "=HYPERLINK(\"x\")", "2"),
        };
        var data = EvaluationData.Create(new[] { "a", "b" }, new float[] { 1, 0, 0, 1 }, 2, meta);
        var store = new ArtifactStore(tmp["art"]);
        var options = new EvaluationOptions { SampleCount = 2, ArtifactPath = store.Root };
        var (_, samples, report) = EvaluationFiles.Write(store, Evaluator.Evaluate(data, options), options);
        string html = File.ReadAllText(report);
        Assert.DoesNotContain("<script>", html);
        Assert.Contains("&lt;script&gt;", html);
        // Composers are identifiers: written verbatim so they read back unchanged (docs/catalog.md).
        Assert.Contains(",\"=HYPERLINK(\"\"x\"\")\",", File.ReadAllText(samples));
    }

    [Fact]
    public void Loading_from_files_refuses_out_of_step_and_nan_embeddings_and_unknown_tracks()
    {
        using var tmp = new TempDir();
        var store = Artifacts(tmp["a"], tamper: (ids, v) => v[3 * 8 + 2] = float.NaN);
        var ex = Assert.Throws<MessException>(() => EvaluationData.Load(store));
        Assert.Equal("EmbeddingNotFinite", ex.ErrorId);

        store = Artifacts(tmp["b"], tamper: (ids, v) => ids[5] = "not-in-metadata");
        ex = Assert.Throws<MessException>(() => EvaluationData.Load(store));
        Assert.Equal("TracksMissingFromMetadata", ex.ErrorId);
        Assert.Contains("'not-in-metadata'", ex.Message);

        store = Artifacts(tmp["c"]);
        File.WriteAllText(store.TrackIdsFile, JsonSerializer.Serialize(EmbeddingMatrix.ReadTrackIds(store.TrackIdsFile).Skip(1).ToArray()));
        ex = Assert.Throws<MessException>(() => EvaluationData.Load(store));
        Assert.Equal("EmbeddingsOutOfStep", ex.ErrorId);
    }

    [Fact]
    public void Comparison_is_computed_on_the_shared_tracks()
    {
        using var tmp = new TempDir();
        var a = Artifacts(tmp["a"], n: 60, seed: 1);
        var b = Artifacts(tmp["b"], n: 60, seed: 1, tamper: (ids, v) => { for (int i = 0; i < v.Length; i++) v[i] = -v[i]; });
        var shared = new HashSet<string>(EvaluationData.EmbeddedTrackIds(a).Take(40), StringComparer.Ordinal);
        var oa = Evaluator.Evaluate(EvaluationData.Load(a, shared), new EvaluationOptions { ArtifactPath = a.Root });
        var ob = Evaluator.Evaluate(EvaluationData.Load(b, shared), new EvaluationOptions { ArtifactPath = b.Root });
        Assert.All(oa.Results.Concat(ob.Results), r => Assert.Equal(40, r.Queries));
        var paired = QueryIntervals.Compare(oa, ob, new EvaluationOptions());
        var (json, html) = EvaluationFiles.WriteComparison(a, new[] { oa, ob }, new[] { a.Root, b.Root }, shared.Count, paired, new EvaluationOptions());
        using var doc = JsonDocument.Parse(File.ReadAllBytes(json));
        Assert.Equal(6, doc.RootElement.GetProperty("paired_differences").GetArrayLength());
        Assert.True(doc.RootElement.GetProperty("paired_differences")[0].TryGetProperty("p_value", out _));
        Assert.Contains("Paired differences", File.ReadAllText(html));
        Assert.Equal(2, doc.RootElement.GetProperty("compared_artifact_paths").GetArrayLength());
        Assert.Equal(4, doc.RootElement.GetProperty("results").GetArrayLength());
        XDocument.Load(XmlReader.Create(new StringReader(File.ReadAllText(html)), new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore }));
    }
}
