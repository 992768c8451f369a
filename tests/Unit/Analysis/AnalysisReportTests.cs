using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using MessTools.Core.Analysis;
using MessTools.Core.Artifacts;
using MessTools.Core.Embedding;

namespace MessTools.Tests.Unit.Analysis;

/// <summary>The files of a run with -Compare: two artifact folders written as the pipeline writes them.</summary>
public class AnalysisReportTests
{
    private static readonly XNamespace H = "http://www.w3.org/1999/xhtml";
    private static readonly XNamespace S = "http://www.w3.org/2000/svg";

    /// <summary>metadata/tracks_metadata.csv and embeddings/ of a folder; the second holds 20 fewer tracks.</summary>
    private static (ArtifactStore A, ArtifactStore B) TwoFolders(string root)
    {
        const int n = 150, dim = 20;
        var a = new ArtifactStore(Path.Combine(root, "v1_model_a"));
        var b = new ArtifactStore(Path.Combine(root, "v1_model_b"));
        var va = SyntheticVectors.Clustered(n, dim, 5, 0.6, 8, out var labels);
        var vb = SyntheticVectors.Clustered(n, 12, 5, 0.9, 9);
        var ids = Enumerable.Range(0, n).Select(i => $"track-{i:D3}").ToArray();
        foreach (var s in new[] { a, b })
        {
            Directory.CreateDirectory(s.MetadataDir);
            File.WriteAllLines(s.MetadataCsv, new[] { "track_id,album_id,composer,audio_s3_key" }
                .Concat(ids.Select((id, i) => $"{id},album{i % 9},Composer <{labels[i]}> & Co,s3://b/{id}.wav")));
        }
        new EmbeddingMatrix(ids, va, dim).Save(a, new EmbeddingsMeta { Model = "model-a", Dim = dim });
        new EmbeddingMatrix(ids[20..], vb[(20 * 12)..], 12).Save(b, new EmbeddingsMeta { Model = "model-b", Dim = 12 });
        return (a, b);
    }

    [Fact]
    public async Task Writes_json_and_a_well_formed_self_contained_html_that_chromium_renders()
    {
        using var tmp = new TempDir();
        var (a, b) = TwoFolders(tmp.Path);
        var r = EmbeddingAnalyzer.Run(a, new AnalysisOptions { K = 5, Clusters = 5, Seed = 2 }, b);
        var (json, html) = AnalysisFiles.Write(a, r);

        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            var an = doc.RootElement.GetProperty("analysis");
            Assert.Equal("messtools.analysis/1", doc.RootElement.GetProperty("schema").GetString());
            Assert.Equal(150, an.GetProperty("tracks").GetInt32());
            Assert.Equal(130, an.GetProperty("comparison").GetProperty("shared_tracks").GetInt32());
            Assert.Equal(r.ParticipationRatio, an.GetProperty("participation_ratio").GetDouble());
            Assert.True(doc.RootElement.GetProperty("definitions").TryGetProperty("silhouette", out _));
        }

        string text = File.ReadAllText(html);
        var x = XDocument.Load(XmlReader.Create(new StringReader(text), new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore }));
        Assert.DoesNotContain("http://", text.Replace("http://www.w3.org/", ""));
        Assert.DoesNotContain("<script", text);
        // Both models side by side: two of each chart; the scatter shows every track with its id on hover.
        var svgs = x.Descendants(S + "svg").ToList();
        Assert.Equal(8, svgs.Count); // variance, histogram, scatter, heat map, for each model
        var circles = x.Descendants(S + "circle").ToList();
        Assert.Equal(150 + 130, circles.Count);
        Assert.Contains(circles, c => c.Element(S + "title")!.Value.StartsWith("track-000 (Composer <"));
        // Text from the data is escaped, never markup.
        Assert.Contains(x.Descendants(H + "td"), t => t.Value == "Composer <0> & Co");

        await using var chrome = await HeadlessChromium.StartAsync();
        var page = await chrome.Browser.NewPageAsync(new() { ViewportSize = new() { Width = 1200, Height = 900 } });
        var failed = new List<string>();
        page.RequestFailed += (_, req) => failed.Add(req.Url);
        page.Request += (_, req) => { if (!req.Url.StartsWith("file:")) failed.Add("network: " + req.Url); };
        await page.GotoAsync(new Uri(html).AbsoluteUri);
        Assert.Empty(failed);
        Assert.StartsWith("Embedding analysis", await page.TitleAsync());
        Assert.Equal(280, await page.Locator("svg circle").CountAsync());
        var box = await page.Locator("svg circle").First.BoundingBoxAsync();
        Assert.NotNull(box);
        Assert.True(box!.Width > 0);
        // The screenshot is not blank: decoded by the browser itself, many pixels are not white.
        var png = await page.ScreenshotAsync(new() { FullPage = false });
        int coloured = await page.EvaluateAsync<int>(@"async (b64) => {
            const img = new Image(); img.src = 'data:image/png;base64,' + b64; await img.decode();
            const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
            const g = c.getContext('2d'); g.drawImage(img, 0, 0);
            const d = g.getImageData(0, 0, c.width, c.height).data; let n = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240) n++;
            return n; }", Convert.ToBase64String(png));
        Assert.True(coloured > 20_000, $"only {coloured} non-white pixels in the screenshot");
    }
}
