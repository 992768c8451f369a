using System.Globalization;
using System.Xml.Linq;
using MessTools.Core.Evaluation;

namespace MessTools.Tests.Unit.Evaluation;

/// <summary>eval/report.html as a reader sees it: nothing drawn outside a chart, "n/a" where a figure cannot exist, one composer order.</summary>
public class EvaluationReportHtmlTests
{
    private static readonly XNamespace H = "http://www.w3.org/1999/xhtml";
    private static readonly XNamespace S = "http://www.w3.org/2000/svg";

    private static ComposerEvaluation C(string name, int queries, int noRelevant, double p) => new()
    {
        Composer = name, Queries = queries, QueriesWithoutRelevant = noRelevant, PrecisionAtK = p, HitRateAtK = Math.Min(1, 2 * p),
        NdcgAtK = p, ChancePrecisionAtK = 0.1,
    };

    /// <summary>Per-composer figures listed alphabetically (as the evaluator may), with track counts in another order; Satie has one track.</summary>
    private static EvaluationResult Result(int k, bool excludeSameAlbum) => new()
    {
        ArtifactPath = "/a/art", K = k, ExcludeSameAlbum = excludeSameAlbum, Queries = 16, Composers = 4,
        PrecisionAtK = 0.3, HitRateAtK = 0.6, NdcgAtK = 0.4, ChancePrecisionAtK = 0.1, ChanceHitRateAtK = 0.3, ChanceNdcgAtK = 0.1,
        QueriesWithoutRelevant = 1,
        PerComposer = new[] { C("Bach", 3, 0, 0.2), C("Chopin", 8, 0, 0.5), C("Liszt", 4, 0, 0.25), C("Satie", 1, 1, 0) },
        ConfusionTop1 = new SortedDictionary<string, IReadOnlyDictionary<string, int>>(StringComparer.Ordinal)
        {
            ["Bach"] = new Dictionary<string, int> { ["Chopin"] = 3 }, ["Chopin"] = new Dictionary<string, int> { ["Chopin"] = 8 },
            ["Liszt"] = new Dictionary<string, int> { ["Liszt"] = 4 }, ["Satie"] = new Dictionary<string, int> { ["Bach"] = 1 },
        },
    };

    private static XElement Report(params EvaluationResult[] results)
    {
        var doc = new EvaluationDocument { ArtifactPath = "/a/art", Model = "builtin", Tracks = 16, Composers = 4, Albums = 5, Dim = 8, Ks = results.Select(r => r.K).Distinct().ToArray() };
        string html = EvaluationReportHtml.Build(doc, results);
        return XElement.Parse(html.Replace("<!DOCTYPE html>", ""));
    }

    private static double Num(XElement e, string attribute) => double.Parse((string?)e.Attribute(attribute) ?? "0", CultureInfo.InvariantCulture);

    [Fact]
    public void Nothing_is_drawn_outside_an_svg_and_the_headline_legend_fits_with_one_or_two_results()
    {
        foreach (var results in new[] { new[] { Result(5, false) }, new[] { Result(5, false), Result(5, true) } })
        {
            var page = Report(results);
            foreach (var svg in page.Descendants(S + "svg"))
            {
                double width = Num(svg, "width");
                foreach (var rect in svg.Elements(S + "rect")) Assert.True(Num(rect, "x") + Num(rect, "width") <= width, $"rect at {rect.Attribute("x")} beyond {width}");
                foreach (var text in svg.Elements(S + "text").Where(t => t.Attribute("text-anchor") is null))
                {
                    double right = Num(text, "x") + 6.5 * text.Value.Length; // 11 px text: at most ~6.5 px a character
                    Assert.True(right <= width, $"'{text.Value}' ends near {right:0}, beyond the SVG's {width}");
                }
            }
            Assert.Contains(page.Descendants(S + "text"), t => t.Value == "chance level");
        }
    }

    [Fact]
    public void A_composer_with_no_other_track_to_find_shows_na_not_a_zero_bar()
    {
        var page = Report(Result(5, false));
        var chart = page.Descendants(S + "svg").First(s => ((string?)s.Element(S + "title"))?.StartsWith("Precision@5 per composer") == true);
        Assert.DoesNotContain(chart.Descendants(S + "rect"), r => ((string?)r.Element(S + "title"))?.StartsWith("Satie") == true);
        Assert.Contains(chart.Elements(S + "text"), t => t.Value.StartsWith("n/a"));
        var satieRow = page.Descendants(H + "tr").First(tr => tr.Elements(H + "td").FirstOrDefault()?.Value == "Satie" && tr.Elements(H + "td").Count() > 4);
        var cells = satieRow.Elements(H + "td").Select(td => td.Value).ToList();
        Assert.Equal("n/a", cells[3]); // P@5
        Assert.DoesNotContain("0.0000", cells.Skip(3).Where((_, i) => i != 1)); // only the chance level is a number
        var chopinRow = page.Descendants(H + "tr").First(tr => tr.Elements(H + "td").FirstOrDefault()?.Value == "Chopin" && tr.Elements(H + "td").Count() > 4);
        Assert.Equal("0.5000", chopinRow.Elements(H + "td").ElementAt(3).Value);
    }

    [Fact]
    public void Charts_and_tables_list_composers_in_one_order()
    {
        var page = Report(Result(1, false), Result(5, false));
        string[] expected = { "Chopin", "Liszt", "Bach", "Satie" }; // most tracks first, then by name
        var chart = page.Descendants(S + "svg").First(s => ((string?)s.Element(S + "title"))?.Contains("per composer") == true);
        var chartOrder = chart.Elements(S + "text").Where(t => (string?)t.Attribute("text-anchor") == "end").Select(t => t.Value).ToArray();
        Assert.Equal(expected, chartOrder);
        var tables = page.Descendants(H + "table").ToList();
        var composerTable = tables.First(t => t.Elements(H + "tr").First().Elements(H + "th").First().Value == "Composer");
        Assert.Equal(expected, composerTable.Elements(H + "tr").Skip(1).Select(tr => tr.Elements(H + "td").First().Value));
        var confusion = tables.First(t => t.Elements(H + "tr").First().Elements(H + "th").First().Value.StartsWith("Query composer"));
        Assert.Equal(expected, confusion.Elements(H + "tr").Skip(1).Select(tr => tr.Elements(H + "td").First().Value));
        Assert.Equal(expected, confusion.Elements(H + "tr").First().Elements(H + "th").Skip(1).Take(4).Select(th => (string?)th.Attribute("title")));
    }
}
