using System.Globalization;
using System.Xml.Linq;

namespace MessTools.Core.Evaluation;

/// <summary>
/// eval/report.html: one self-contained page (inline CSS and SVG, no script, no network) built as XML, so it is
/// well-formed XHTML that browsers read as HTML5: headline metrics against chance, per-composer bars and tables,
/// the top-1 confusion table and the definitions. The page frame and element helpers are shared with the analysis
/// report (Analysis/AnalysisReportHtml.cs).
/// </summary>
public static class EvaluationReportHtml
{
    internal static readonly XNamespace H = "http://www.w3.org/1999/xhtml";
    internal static readonly XNamespace S = "http://www.w3.org/2000/svg";
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    /// <summary>Composers shown in the bar chart and the confusion table (the most frequent ones).</summary>
    public const int MaxComposersShown = 30;

    private const string Css =
        "body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em;color:#222;max-width:1200px}" +
        "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}" +
        "table{border-collapse:collapse;margin:0.5em 0;font-size:0.9em}th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}" +
        "th{background:#f4f4f4}td.l,th.l{text-align:left}.note{color:#666;font-size:0.9em}dt{font-weight:600;margin-top:0.6em}" +
        "svg text{font-size:11px;fill:#333}";

    private static string F(double x) => x.ToString("0.0000", Inv);
    private static string N(double x) => x.ToString("0.##", Inv);

    public static string Build(EvaluationDocument doc, IReadOnlyList<EvaluationResult> results)
    {
        var body = new XElement(H + "body",
            E("h1", $"Composer Retrieval evaluation{(doc.Model is null ? "" : " of " + doc.Model)}"),
            E("p", $"{doc.Tracks:N0} tracks, {doc.Composers:N0} composers, {doc.Albums:N0} albums, {doc.Dim} dimensions; " +
                   $"{doc.Search} search; K = {string.Join(", ", doc.Ks)}; module {doc.ModuleVersion}.{IntervalNote(doc)}"),
            E("p", "Folder: " + doc.ArtifactPath));
        body.Add(E("h2", "Headline metrics against chance"));
        body.Add(HeadlineChart(results));
        body.Add(HeadlineTable(results, withFolder: false));
        foreach (var group in results.GroupBy(r => r.ExcludeSameAlbum))
        {
            // The chart shows K = 5 (the task's default) when it was computed, else the first K.
            var first = group.FirstOrDefault(r => r.K == 5) ?? group.First();
            string mode = first.ExcludeSameAlbum ? "same album excluded" : "all other tracks";
            body.Add(E("h2", $"Per composer, Precision@{first.K} ({mode})"));
            body.Add(ComposerChart(first));
            body.Add(ComposerTable(group.ToList()));
            body.Add(E("h2", $"Top-1 confusion ({mode})"));
            body.Add(ConfusionTable(first));
        }
        body.Add(E("h2", "Definitions"));
        body.Add(Definitions(doc));
        return Page($"Evaluation {doc.Model ?? ""}".Trim(), body);
    }

    private static string IntervalNote(EvaluationDocument doc) => doc.Bootstrap is not { } b ? "" :
        $" Intervals in brackets: {N(b.Level * 100)} % percentile bootstrap over queries ({b.Resamples:N0} resamples, seed {b.Seed}; per composer with at least {b.MinComposerQueries} queries).";

    private static string I(ConfidenceInterval? ci) => ci is null ? "" : $" [{F(ci.Low)}, {F(ci.High)}]";

    public static string BuildComparison(EvaluationDocument doc, IReadOnlyList<EvaluationResult> results, IReadOnlyList<EvaluationComparison>? paired = null)
    {
        var body = new XElement(H + "body",
            E("h1", "Composer Retrieval: comparison of artifact folders"),
            E("p", $"{doc.ComparedArtifactPaths?.Count ?? 0} folders compared on the {doc.Tracks:N0} tracks they share; {doc.Search} search; K = {string.Join(", ", doc.Ks)}.{IntervalNote(doc)}"));
        body.Add(E("h2", "Metrics on the shared tracks"));
        body.Add(HeadlineChart(results, byFolder: true));
        body.Add(HeadlineTable(results, withFolder: true));
        if (paired is { Count: > 0 })
        {
            body.Add(E("h2", "Paired differences (first folder minus the other, query by query)"));
            body.Add(PairedTable(paired));
        }
        body.Add(E("h2", "Definitions"));
        body.Add(Definitions(doc));
        return Page("Evaluation comparison", body);
    }

    internal static string Page(string title, XElement body)
    {
        var html = new XElement(H + "html", new XAttribute("lang", "en"),
            new XElement(H + "head",
                new XElement(H + "meta", new XAttribute("charset", "utf-8")),
                E("title", title),
                E("style", Css)),
            body);
        return "<!DOCTYPE html>\n" + html.ToString(SaveOptions.None) + "\n";
    }

    internal static XElement E(string name, params object?[] content)
    {
        var e = new XElement(H + name, content);
        if (e.IsEmpty) e.Add(""); // <td></td>, never <td/>: HTML parsers do not close void-looking elements
        return e;
    }

    internal static XElement Td(object? v, bool left = false, string? style = null)
    {
        var e = E("td", v?.ToString() ?? "");
        if (left) e.Add(new XAttribute("class", "l"));
        if (style is not null) e.Add(new XAttribute("style", style));
        return e;
    }

    internal static XElement Th(string v, bool left = false) => left ? E("th", new XAttribute("class", "l"), v) : E("th", v);

    private static string Label(EvaluationResult r, bool byFolder) =>
        (byFolder ? (r.Model ?? Path.GetFileName(r.ArtifactPath.TrimEnd('/', '\\'))) + " " : "") + $"K={r.K}" + (r.ExcludeSameAlbum ? " excl. album" : "");

    private static XElement PairedTable(IReadOnlyList<EvaluationComparison> paired)
    {
        var head = E("tr", Th("Model", true), Th("Baseline", true));
        foreach (var h in new[] { "K", "Same album", "Figure", "Queries", "Model", "Baseline", "Difference", "Interval", "p" }) head.Add(Th(h));
        var t = E("table", head);
        foreach (var c in paired)
            t.Add(E("tr", Td(c.Model ?? c.ArtifactPath, true), Td(c.BaselineModel ?? c.BaselinePath, true), Td(c.K),
                Td(c.ExcludeSameAlbum ? "excluded" : "included"), Td(c.Metric), Td(c.Queries.ToString("N0", Inv)), Td(F(c.Value)),
                Td(F(c.BaselineValue)), Td(c.Difference.ToString("+0.0000;-0.0000;0.0000", Inv)), Td(I(c.DifferenceInterval).Trim()),
                Td(c.PValue is { } p ? F(p) : "-")));
        return t;
    }

    private static XElement HeadlineTable(IReadOnlyList<EvaluationResult> results, bool withFolder)
    {
        var head = E("tr");
        if (withFolder) { head.Add(Th("Folder", true)); head.Add(Th("Model", true)); }
        foreach (var h in new[] { "K", "Same album", "Queries", "P@K", "Chance P@K", "HitRate@K", "Chance HitRate@K", "NDCG@K", "Chance NDCG@K", "No relevant", "Index recall@K" })
            head.Add(Th(h));
        var t = E("table", head);
        foreach (var r in results)
        {
            var row = E("tr");
            if (withFolder) { row.Add(Td(r.ArtifactPath, true)); row.Add(Td(r.Model ?? "", true)); }
            row.Add(Td(r.K), Td(r.ExcludeSameAlbum ? "excluded" : "included"), Td(r.Queries.ToString("N0", Inv)),
                Td(F(r.PrecisionAtK) + I(r.PrecisionAtKInterval)), Td(F(r.ChancePrecisionAtK)), Td(F(r.HitRateAtK) + I(r.HitRateAtKInterval)),
                Td(F(r.ChanceHitRateAtK)), Td(F(r.NdcgAtK) + I(r.NdcgAtKInterval)), Td(F(r.ChanceNdcgAtK)), Td(r.QueriesWithoutRelevant), Td(r.IndexRecallAtK is { } rec ? F(rec) : "-"));
            t.Add(row);
        }
        return t;
    }

    /// <summary>Grouped bars (P, HitRate, NDCG) per result with a dark tick at the chance level.</summary>
    private static XElement HeadlineChart(IReadOnlyList<EvaluationResult> results, bool byFolder = false)
    {
        const int barW = 22, gap = 6, groupGap = 30, top = 20, plotH = 200, left = 40;
        string[] colors = { "#4e79a7", "#f28e2b", "#59a14f" };
        string[] names = { "Precision@K", "HitRate@K", "NDCG@K" };
        const int legendW = 470; // three swatches of 120 px and the chance mark: the legend must fit inside the SVG
        int groupW = 3 * barW + 2 * gap;
        int width = Math.Max(left + results.Count * (groupW + groupGap) + 20, left + legendW);
        int height = top + plotH + 60;
        var svg = new XElement(S + "svg", new XAttribute("width", width), new XAttribute("height", height + 20),
            new XAttribute("viewBox", $"0 0 {width} {height + 20}"), new XAttribute("role", "img"),
            new XElement(S + "title", "Headline metrics against chance"));
        for (int i = 0; i <= 4; i++)
        {
            double y = top + plotH - plotH * i / 4.0;
            svg.Add(new XElement(S + "line", A("x1", left), A("x2", width - 10), A("y1", y), A("y2", y), new XAttribute("stroke", "#eee")));
            svg.Add(new XElement(S + "text", A("x", left - 6), A("y", y + 4), new XAttribute("text-anchor", "end"), N(i / 4.0)));
        }
        for (int g = 0; g < results.Count; g++)
        {
            var r = results[g];
            double[] v = { r.PrecisionAtK, r.HitRateAtK, r.NdcgAtK };
            double[] c = { r.ChancePrecisionAtK, r.ChanceHitRateAtK, r.ChanceNdcgAtK };
            int x0 = left + 10 + g * (groupW + groupGap);
            for (int m = 0; m < 3; m++)
            {
                double h = plotH * Math.Clamp(v[m], 0, 1);
                int x = x0 + m * (barW + gap);
                svg.Add(new XElement(S + "rect", A("x", x), A("y", top + plotH - h), A("width", barW), A("height", h), new XAttribute("fill", colors[m]),
                    new XElement(S + "title", $"{names[m]} {F(v[m])} (chance {F(c[m])})")));
                double cy = top + plotH - plotH * Math.Clamp(c[m], 0, 1);
                svg.Add(new XElement(S + "line", A("x1", x - 2), A("x2", x + barW + 2), A("y1", cy), A("y2", cy), new XAttribute("stroke", "#000"), new XAttribute("stroke-width", 2)));
            }
            svg.Add(new XElement(S + "text", A("x", x0 + groupW / 2.0), A("y", top + plotH + 16), new XAttribute("text-anchor", "middle"), Label(r, byFolder)));
        }
        int ly = top + plotH + 38;
        for (int m = 0; m < 3; m++)
        {
            svg.Add(new XElement(S + "rect", A("x", left + m * 120), A("y", ly), A("width", 12), A("height", 12), new XAttribute("fill", colors[m])));
            svg.Add(new XElement(S + "text", A("x", left + m * 120 + 16), A("y", ly + 10), names[m]));
        }
        svg.Add(new XElement(S + "line", A("x1", left + 360), A("x2", left + 376), A("y1", ly + 6), A("y2", ly + 6), new XAttribute("stroke", "#000"), new XAttribute("stroke-width", 2)));
        svg.Add(new XElement(S + "text", A("x", left + 380), A("y", ly + 10), "chance level"));
        return E("div", svg);
    }

    internal static XAttribute A(string name, double v) => new(name, v.ToString("0.##", Inv));

    /// <summary>The one composer order of the page (charts and tables): most queries first, then by name.</summary>
    private static List<ComposerEvaluation> Ordered(EvaluationResult r) =>
        r.PerComposer.OrderByDescending(c => c.Queries).ThenBy(c => c.Composer, StringComparer.Ordinal).ToList();

    private static List<ComposerEvaluation> TopComposers(EvaluationResult r) => Ordered(r).Take(MaxComposersShown).ToList();

    /// <summary>
    /// True when none of the composer's queries had another track of its composer to find (a composer with one track,
    /// or with one album when the query's album is excluded): its figures are not applicable, not 0.
    /// </summary>

    private const string NotApplicableText = "n/a";

    /// <summary>Horizontal bars of per-composer Precision@K, chance marked.</summary>
    private static XElement ComposerChart(EvaluationResult r)
    {
        var rows = TopComposers(r);
        const int labelW = 220, plotW = 420, rowH = 18, top = 10;
        int height = top + rows.Count * rowH + 30;
        var svg = new XElement(S + "svg", A("width", labelW + plotW + 120), A("height", height),
            new XAttribute("viewBox", $"0 0 {labelW + plotW + 120} {height}"), new XAttribute("role", "img"),
            new XElement(S + "title", $"Precision@{r.K} per composer"));
        for (int i = 0; i < rows.Count; i++)
        {
            var c = rows[i];
            double y = top + i * rowH;
            string name = c.Composer.Length > 34 ? c.Composer[..33] + "…" : c.Composer;
            svg.Add(new XElement(S + "text", A("x", labelW - 6), A("y", y + 12), new XAttribute("text-anchor", "end"), name));
            if (c.NotApplicable)
            {
                svg.Add(new XElement(S + "text", A("x", labelW + 4), A("y", y + 12), new XAttribute("fill", "#888"),
                    $"{NotApplicableText}: no other track of this composer to find (n={c.Queries})"));
                continue;
            }
            double w = plotW * Math.Clamp(c.PrecisionAtK, 0, 1);
            svg.Add(new XElement(S + "rect", A("x", labelW), A("y", y + 2), A("width", w), A("height", rowH - 5), new XAttribute("fill", "#4e79a7"),
                new XElement(S + "title", $"{c.Composer}: P@{r.K} {F(c.PrecisionAtK)} over {c.Queries} queries (chance {F(c.ChancePrecisionAtK)})")));
            double cx = labelW + plotW * Math.Clamp(c.ChancePrecisionAtK, 0, 1);
            svg.Add(new XElement(S + "line", A("x1", cx), A("x2", cx), A("y1", y + 1), A("y2", y + rowH - 2), new XAttribute("stroke", "#000"), new XAttribute("stroke-width", 2)));
            svg.Add(new XElement(S + "text", A("x", labelW + w + 4), A("y", y + 12), $"{F(c.PrecisionAtK)} (n={c.Queries})"));
        }
        double axisY = top + rows.Count * rowH + 4;
        svg.Add(new XElement(S + "line", A("x1", labelW), A("x2", labelW + plotW), A("y1", axisY), A("y2", axisY), new XAttribute("stroke", "#999")));
        for (int i = 0; i <= 4; i++)
            svg.Add(new XElement(S + "text", A("x", labelW + plotW * i / 4.0), A("y", axisY + 14), new XAttribute("text-anchor", "middle"), N(i / 4.0)));
        var div = E("div", svg);
        if (r.PerComposer.Count > rows.Count)
            div.Add(E("p", new XAttribute("class", "note"), $"The {rows.Count} composers with the most tracks of {r.PerComposer.Count}; the table and eval_results.json have all."));
        return div;
    }

    private static XElement ComposerTable(List<EvaluationResult> sameMode)
    {
        var head = E("tr", Th("Composer", true), Th("Queries"), Th("No relevant"));
        foreach (var r in sameMode) { head.Add(Th($"P@{r.K}")); head.Add(Th($"Chance P@{r.K}")); head.Add(Th($"HitRate@{r.K}")); head.Add(Th($"NDCG@{r.K}")); }
        var t = E("table", head);
        var byName = sameMode.Select(r => r.PerComposer.ToDictionary(c => c.Composer, StringComparer.Ordinal)).ToList();
        foreach (var c in Ordered(sameMode[0]))
        {
            var row = E("tr", Td(c.Composer, true), Td(c.Queries), Td(c.QueriesWithoutRelevant));
            foreach (var figures in byName)
            {
                var x = figures[c.Composer];
                if (x.NotApplicable) row.Add(Td(NotApplicableText), Td(F(x.ChancePrecisionAtK)), Td(NotApplicableText), Td(NotApplicableText));
                else row.Add(Td(F(x.PrecisionAtK) + I(x.PrecisionAtKInterval)), Td(F(x.ChancePrecisionAtK)),
                    Td(F(x.HitRateAtK) + I(x.HitRateAtKInterval)), Td(F(x.NdcgAtK) + I(x.NdcgAtKInterval)));
            }
            t.Add(row);
        }
        return t;
    }

    private static XElement ConfusionTable(EvaluationResult r)
    {
        var names = TopComposers(r).Select(c => c.Composer).ToList();
        var shown = new HashSet<string>(names, StringComparer.Ordinal);
        var head = E("tr", Th("Query composer \\ top-1 composer", true));
        foreach (var n in names) head.Add(E("th", new XAttribute("title", n), n.Length > 12 ? n[..11] + "…" : n));
        head.Add(Th("other"));
        var t = E("table", head);
        foreach (var q in names)
        {
            var row = E("tr", Td(q, true));
            r.ConfusionTop1.TryGetValue(q, out var counts);
            int total = counts?.Values.Sum() ?? 0;
            foreach (var p in names)
            {
                int v = counts is not null && counts.TryGetValue(p, out int x) ? x : 0;
                double share = total == 0 ? 0 : v / (double)total;
                string bg = v == 0 ? "" : $"background:rgba({(p == q ? "89,161,79" : "225,87,89")},{(0.15 + 0.85 * share).ToString("0.00", Inv)})";
                row.Add(Td(v == 0 ? "" : v.ToString(Inv), style: bg.Length == 0 ? null : bg));
            }
            int other = counts?.Where(kv => !shown.Contains(kv.Key)).Sum(kv => kv.Value) ?? 0;
            row.Add(Td(other == 0 ? "" : other.ToString(Inv)));
            t.Add(row);
        }
        var div = E("div", t);
        if (r.PerComposer.Count > names.Count)
            div.Add(E("p", new XAttribute("class", "note"), $"Rows and columns: the {names.Count} composers with the most tracks; 'other' counts top-1 results of the remaining composers. eval_results.json has the full table."));
        return div;
    }

    private static XElement Definitions(EvaluationDocument doc)
    {
        var dl = E("dl");
        foreach (var (k, v) in doc.Definitions) { dl.Add(E("dt", k)); dl.Add(E("dd", v)); }
        return dl;
    }
}
