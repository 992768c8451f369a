using MessTools.Core.Evaluation;
using MessTools.Core.Search;

namespace MessTools.Core.Analysis;

// The figures of the one exact top-K pass: hubness at K, the TwoNN intrinsic dimension, neighbour diversity.
public static partial class EmbeddingAnalyzer
{
    /// <summary>How many hubs the result lists.</summary>
    public const int TopHubCount = 10;

    /// <summary>N_K of every row from the first K entries of each neighbour list.</summary>
    internal static int[] KOccurrence(Neighbor[][] lists, int k)
    {
        var counts = new int[lists.Length];
        foreach (var list in lists)
            for (int t = 0; t < Math.Min(k, list.Length); t++) counts[list[t].Id]++;
        return counts;
    }

    private static void Hubness(Neighbor[][] lists, Evaluator.Labels labels, int k, EmbeddingAnalysis r)
    {
        int n = lists.Length;
        var nk = KOccurrence(lists, k);
        double mean = nk.Average(); // = K: every track has K neighbours (K < N)
        double m2 = 0, m3 = 0, absDev = 0, total = 0, hubSlots = 0;
        int antihubs = 0;
        foreach (int c in nk)
        {
            double d = c - mean;
            m2 += d * d; m3 += d * d * d;
            absDev += Math.Abs(c - k);
            total += c;
            if (c == 0) antihubs++;
            if (c > 2 * k) hubSlots += c;
        }
        m2 /= n; m3 /= n;
        r.KOccurrenceSkewness = m2 > 0 ? m3 / Math.Pow(m2, 1.5) : 0;
        r.RobinHood = total > 0 ? absDev / (2 * total) : 0;
        r.AntihubShare = antihubs / (double)n;
        r.HubOccurrence = total > 0 ? hubSlots / total : 0;
        r.Occurrences = nk;
        var histogram = new int[nk.Max() + 1];
        foreach (int c in nk) histogram[c]++;
        r.OccurrenceHistogram = histogram;
        r.TopHubs = Enumerable.Range(0, n).OrderByDescending(i => nk[i]).ThenBy(i => i).Take(TopHubCount)
            .Select(i => new Hub { TrackId = r.TrackIds[i], Composer = labels.ComposerNames[labels.Composer[i]], Occurrences = nk[i] }).ToList();
    }

    /// <summary>TwoNN: r1, r2 recomputed in double from the rows of the two nearest (by cosine = by Euclidean distance
    /// for unit rows); tracks with r1 = 0 (a duplicate) are left out.</summary>
    private static void TwoNN(float[] e, int dim, Neighbor[][] lists, AnalysisOptions o, EmbeddingAnalysis r)
    {
        // ln(r2 / r1) per track in parallel (NaN: left out), summed in track order.
        var logs = new double[lists.Length];
        RowChunks(lists.Length, Parallelism(o), (from, to) =>
        {
            for (int i = from; i < to; i++)
            {
                logs[i] = double.NaN;
                if (lists[i].Length < 2) continue;
                var x = e.AsSpan(i * dim, dim);
                double r1 = Math.Sqrt(SquaredDistance(x, e.AsSpan(lists[i][0].Id * dim, dim)));
                double r2 = Math.Sqrt(SquaredDistance(x, e.AsSpan(lists[i][1].Id * dim, dim)));
                if (r1 > 0) logs[i] = Math.Log(r2 / r1);
            }
        });
        double sumLog = 0;
        int used = 0;
        foreach (double l in logs)
            if (!double.IsNaN(l)) { sumLog += l; used++; }
        r.IntrinsicDimensionTracks = used;
        r.IntrinsicDimension = used > 0 && sumLog > 0 ? used / sumLog : null;
    }

    private static void Diversity(Neighbor[][] lists, Evaluator.Labels labels, int k, EmbeddingAnalysis r)
    {
        int composers = labels.ComposerNames.Length;
        var seen = new int[composers];
        Array.Fill(seen, -1);
        double sum = 0;
        for (int q = 0; q < lists.Length; q++)
        {
            int distinct = 0;
            for (int t = 0; t < Math.Min(k, lists[q].Length); t++)
            {
                int c = labels.Composer[lists[q][t].Id];
                if (seen[c] != q) { seen[c] = q; distinct++; }
            }
            sum += distinct;
        }
        r.MeanNeighborComposers = sum / lists.Length;
        r.NeighborComposerShare = r.MeanNeighborComposers / composers;
    }
}
