using System.Globalization;
using System.Xml.Linq;
using static MessTools.Core.Evaluation.EvaluationReportHtml;

namespace MessTools.Core.Analysis;

/// <summary>
/// analysis/analysis.html: one self-contained page (inline CSS and SVG, no script, no network), built as XML like
/// the evaluation's report: the headline figures, the explained-variance curve, the N_K histogram (log count), a 2-D
/// PCA scatter coloured by composer (hovering a point shows its track_id), the composer x cluster heat map; with
/// -Compare both models side by side and the comparison's figures.
/// </summary>
public static class AnalysisReportHtml
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private const int W = 460, Ht = 260, Pad = 40;
    private static readonly string[] Palette =
    {
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
        "#393b79", "#ad494a", "#8ca252", "#bd9e39", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1",
    };

    private static string F(double? x) => x is { } v && double.IsFinite(v) ? v.ToString("0.0000", Inv) : "-";
    private static string P(double x) => x.ToString("0.##", Inv);

    public static string Build(EmbeddingAnalysis r)
    {
        var models = new List<EmbeddingAnalysis> { r };
        if (r.Comparison?.CompareAnalysis is { } b) models.Add(b);
        var body = new XElement(H + "body",
            E("h1", "Embedding analysis" + (r.Model is null ? "" : " of " + r.Model)),
            E("p", $"{r.Tracks:N0} tracks, {r.Composers:N0} composers, {r.Dimension} dimensions; K = {r.K}; {r.Clusters} clusters; seed {r.Seed}; module {ModuleVersionOf()}."),
            E("p", "Folder: " + r.ArtifactPath));
        if (r.SampleSize is { } s)
            body.Add(E("p", new XAttribute("class", "note"), $"The silhouette and the k-means centres use a seeded sample of {s:N0} tracks (seed {r.Seed}); every track is assigned to its nearest centre."));
        if (r.UniformitySampleSize is { } u)
            body.Add(E("p", new XAttribute("class", "note"), $"The uniformity uses the pairs of a seeded sample of {u:N0} tracks (seed {r.Seed})."));
        if (r.SampleSize is not null || r.UniformitySampleSize is not null)
            body.Add(E("p", new XAttribute("class", "note"), "Every other figure uses all tracks."));
        body.Add(E("h2", "Headline figures"));
        body.Add(Headline(models));
        body.Add(E("h2", "Explained variance (cumulative)"));
        body.Add(SideBySide(models, VarianceChart));
        body.Add(E("h2", $"K-occurrence N_{r.K}: tracks per count (log scale)"));
        body.Add(SideBySide(models, HistogramChart));
        body.Add(E("h2", "PCA: the first two components, coloured by composer"));
        body.Add(SideBySide(models, ScatterChart));
        body.Add(Legend(r));
        if (models.Any(m => m.ScatterRows.Length < m.Tracks))
            body.Add(E("p", new XAttribute("class", "note"), "The scatter shows a seeded sample of tracks. Hover a point for its track_id."));
        body.Add(E("h2", "Composer x cluster (k-means)"));
        body.Add(SideBySide(models, HeatMap));
        body.Add(E("h2", "Hubs"));
        body.Add(SideBySide(models, m => HubTable(m)));
        body.Add(E("h2", "Per composer"));
        body.Add(ComposerTable(r));
        if (r.Comparison is { } c)
        {
            body.Add(E("h2", "Comparison on the shared tracks"));
            body.Add(E("p", $"{c.SharedTracks:N0} shared tracks: linear CKA {F(c.Cka)}; mean Jaccard overlap of the K = {c.K} neighbour sets {F(c.NeighborJaccard)}; P@{c.K} {F(c.PrecisionAtK)} vs {F(c.ComparePrecisionAtK)}."));
            var t = E("table", E("tr", Th("Composer", true), Th("Tracks"), Th($"P@{c.K} {Name(r)}"), Th($"P@{c.K} {Name(c.CompareAnalysis)}")));
            foreach (var p in c.PerComposer) t.Add(E("tr", Td(p.Composer, true), Td(p.Tracks), Td(F(p.PrecisionAtK)), Td(F(p.ComparePrecisionAtK))));
            body.Add(t);
        }
        body.Add(E("h2", "Definitions"));
        var dl = E("dl");
        foreach (var (k, v) in AnalysisDefinitions.All) { dl.Add(E("dt", k)); dl.Add(E("dd", v)); }
        body.Add(dl);
        return Page("Embedding analysis " + (r.Model ?? ""), body);
    }

    private static string ModuleVersionOf() => Artifacts.ModuleInfo.Version;

    private static string Name(EmbeddingAnalysis? m) =>
        m is null ? "" : m.Model ?? Path.GetFileName(m.ArtifactPath.TrimEnd('/', '\\'));

    private static XElement SideBySide(List<EmbeddingAnalysis> models, Func<EmbeddingAnalysis, XElement> chart)
    {
        var div = E("div", new XAttribute("class", "row"), new XAttribute("style", "display:flex;flex-wrap:wrap;gap:24px"));
        foreach (var m in models)
            div.Add(E("div", E("div", new XAttribute("class", "note"), Name(m)), chart(m)));
        return div;
    }

    private static XElement Headline(List<EmbeddingAnalysis> models)
    {
        var head = E("tr", Th("Figure", true));
        foreach (var m in models) head.Add(Th(Name(m)));
        var t = E("table", head);
        void Row(string name, Func<EmbeddingAnalysis, string> value)
        {
            var tr = E("tr", Td(name, true));
            foreach (var m in models) tr.Add(Td(value(m)));
            t.Add(tr);
        }
        Row("Tracks", m => m.Tracks.ToString("N0", Inv));
        Row("Dimensions", m => m.Dimension.ToString(Inv));
        Row("Components for 90 %", m => m.ComponentsFor90.ToString(Inv));
        Row("Participation ratio", m => F(m.ParticipationRatio));
        Row("Effective rank", m => F(m.EffectiveRank));
        Row("Intrinsic dimension (TwoNN)", m => F(m.IntrinsicDimension));
        Row($"K-occurrence skewness", m => F(m.KOccurrenceSkewness));
        Row("Robin Hood", m => F(m.RobinHood));
        Row("Antihub share", m => F(m.AntihubShare));
        Row("Hub occurrence", m => F(m.HubOccurrence));
        Row("Alignment", m => F(m.Alignment));
        Row("Uniformity", m => F(m.Uniformity));
        Row("Silhouette (cosine, composer)", m => F(m.Silhouette));
        Row("Cluster NMI", m => F(m.ClusterNmi));
        Row("Mean pairwise cosine", m => F(m.MeanPairwiseCosine));
        Row("Composer share in K neighbours", m => F(m.NeighborComposerShare));
        return t;
    }

    private static XElement Svg(params object[] content) =>
        new(S + "svg", new XAttribute("width", W), new XAttribute("height", Ht), new XAttribute("viewBox", $"0 0 {W} {Ht}"),
            new XAttribute("role", "img"), content);

    private static XElement Text(double x, double y, string text, string anchor = "middle") =>
        new(S + "text", A("x", x), A("y", y), new XAttribute("text-anchor", anchor), text);

    private static XElement Axes() => new(S + "path", new XAttribute("d", $"M{Pad},{Pad / 2} V{Ht - Pad} H{W - 10}"),
        new XAttribute("stroke", "#888"), new XAttribute("fill", "none"));

    private static XElement VarianceChart(EmbeddingAnalysis m)
    {
        var ev = m.ExplainedVariance;
        int shown = Math.Max(1, Math.Min(ev.Length, Math.Max(m.ComponentsFor90 * 2, 10)));
        double X(int k) => Pad + (W - Pad - 10) * (k / (double)shown);
        double Y(double v) => Ht - Pad - (Ht - 1.5 * Pad) * v;
        var pts = string.Join(" ", Enumerable.Range(0, shown + 1).Select(k => $"{P(X(k))},{P(Y(k == 0 ? 0 : ev[k - 1]))}"));
        return Svg(Axes(),
            new XElement(S + "line", A("x1", Pad), A("x2", W - 10), A("y1", Y(0.9)), A("y2", Y(0.9)), new XAttribute("stroke", "#d62728"), new XAttribute("stroke-dasharray", "4 3")),
            new XElement(S + "polyline", new XAttribute("points", pts), new XAttribute("fill", "none"), new XAttribute("stroke", "#1f77b4"), new XAttribute("stroke-width", 2)),
            Text(Pad - 4, Y(1) + 4, "1.0", "end"), Text(Pad - 4, Y(0.9) + 4, "0.9", "end"), Text(Pad - 4, Y(0) + 4, "0", "end"),
            Text(W / 2.0, Ht - 8, $"components (first {shown} of {ev.Length}); 90 % at {m.ComponentsFor90}"));
    }

    private static XElement HistogramChart(EmbeddingAnalysis m)
    {
        var h = m.OccurrenceHistogram;
        int bins = Math.Max(1, h.Length);
        double maxLog = Math.Log10(Math.Max(1, h.DefaultIfEmpty(1).Max()) + 1);
        double bw = (W - Pad - 10) / (double)bins;
        var svg = Svg(Axes());
        for (int c = 0; c < h.Length; c++)
        {
            if (h[c] == 0) continue;
            double height = (Ht - 1.5 * Pad) * Math.Log10(h[c] + 1) / maxLog;
            svg.Add(new XElement(S + "rect", A("x", Pad + c * bw), A("y", Ht - Pad - height), A("width", Math.Max(1, bw - 1)), A("height", height),
                new XAttribute("fill", c > 2 * m.K ? "#d62728" : c == 0 ? "#7f7f7f" : "#1f77b4"),
                new XElement(S + "title", $"N_K = {c}: {h[c]:N0} tracks")));
        }
        svg.Add(Text(W / 2.0, Ht - 8, $"N_K from 0 to {h.Length - 1} (grey: antihubs, red: hubs with N_K > 2K)"));
        return svg;
    }

    private static XElement ScatterChart(EmbeddingAnalysis m)
    {
        var xy = m.ScatterXY;
        var svg = Svg();
        if (xy.Length == 0) return svg;
        double minX = double.MaxValue, maxX = double.MinValue, minY = double.MaxValue, maxY = double.MinValue;
        for (int t = 0; t < xy.Length / 2; t++)
        {
            minX = Math.Min(minX, xy[2 * t]); maxX = Math.Max(maxX, xy[2 * t]);
            minY = Math.Min(minY, xy[2 * t + 1]); maxY = Math.Max(maxY, xy[2 * t + 1]);
        }
        double sx = (W - 20) / Math.Max(1e-12, maxX - minX), sy = (Ht - 20) / Math.Max(1e-12, maxY - minY);
        var composers = m.TrackComposers.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var colour = composers.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => Palette[p.i % Palette.Length], StringComparer.Ordinal);
        for (int t = 0; t < m.ScatterRows.Length; t++)
        {
            int row = m.ScatterRows[t];
            svg.Add(new XElement(S + "circle", A("cx", 10 + (xy[2 * t] - minX) * sx), A("cy", Ht - 10 - (xy[2 * t + 1] - minY) * sy), A("r", 3),
                new XAttribute("fill", colour[m.TrackComposers[row]]), new XAttribute("fill-opacity", "0.75"),
                new XElement(S + "title", $"{m.TrackIds[row]} ({m.TrackComposers[row]})")));
        }
        return svg;
    }

    /// <summary>The scatter's colours: one swatch per composer (the palette repeats after 20).</summary>
    private static XElement Legend(EmbeddingAnalysis m)
    {
        var p = E("p", new XAttribute("class", "note"));
        var composers = m.TrackComposers.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        for (int i = 0; i < composers.Count; i++)
            p.Add(E("span", new XAttribute("style", $"color:{Palette[i % Palette.Length]};margin-right:1em"), "\u25CF " + composers[i]));
        return p;
    }

    private static XElement HeatMap(EmbeddingAnalysis m)
    {
        var rows = m.ComposerByCluster.ToList();
        int k = m.ClusterSizes.Length;
        const int cell = 22, left = 150, top = 20;
        int width = left + k * cell + 10, height = top + rows.Count * cell + 10;
        var svg = new XElement(S + "svg", new XAttribute("width", width), new XAttribute("height", height), new XAttribute("viewBox", $"0 0 {width} {height}"), new XAttribute("role", "img"));
        for (int c = 0; c < k; c++) svg.Add(Text(left + c * cell + cell / 2.0, top - 6, c.ToString(Inv)));
        for (int i = 0; i < rows.Count; i++)
        {
            var (composer, counts) = rows[i];
            int total = Math.Max(1, counts.Sum());
            string label = composer.Length > 22 ? composer[..21] + "…" : composer;
            svg.Add(Text(left - 6, top + i * cell + cell * 0.7, label, "end"));
            for (int c = 0; c < k; c++)
            {
                double share = counts[c] / (double)total;
                int shade = (int)Math.Round(255 - 200 * share);
                svg.Add(new XElement(S + "rect", A("x", left + c * cell), A("y", top + i * cell), A("width", cell - 1), A("height", cell - 1),
                    new XAttribute("fill", $"rgb({shade},{shade},255)"),
                    new XElement(S + "title", $"{composer}, cluster {c}: {counts[c]} of {total} tracks")));
            }
        }
        return svg;
    }

    private static XElement HubTable(EmbeddingAnalysis m)
    {
        var t = E("table", E("tr", Th("Track", true), Th("Composer", true), Th("N_K")));
        foreach (var h in m.TopHubs) t.Add(E("tr", Td(h.TrackId, true), Td(h.Composer, true), Td(h.Occurrences)));
        return t;
    }

    private static XElement ComposerTable(EmbeddingAnalysis m)
    {
        var t = E("table", E("tr", Th("Composer", true), Th("Tracks"), Th("Mean cosine within"), Th("Mean cosine to others")));
        foreach (var c in m.PerComposer) t.Add(E("tr", Td(c.Composer, true), Td(c.Count), Td(F(c.MeanWithinCosine)), Td(F(c.MeanCosineToOthers))));
        return t;
    }
}
