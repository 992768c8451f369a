using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using MessTools.Core.Index;
using MessTools.Core.Search;

// IndexBench.Ann: our HNSW and exact figures on the vectors of /work/shared/bench/ann_anchor.py (/tmp/ann_N_D.f32,
// /tmp/ann_N_D_q.f32), one JSON line per figure, in the same shape as peers.py so paired.py can interleave them.
//   Ann build  N D --threads T [--save FILE]            HNSW M=16 efConstruction=200 build seconds
//   Ann search N D --load FILE [--ef 10,20,40,80,160] [--repeat 5] [--copy] [--float]  single-query recall@10;
//                                                       queries/s best and median of the passes; --copy: vectors in
//                                                       memory, not mapped; --float: layer 0 walked in float, not int8
//   Ann walks  N D --load FILE [--ef ...] [--rounds 20]  the int8 walk against the float walk, interleaved in one
//                                                       process: recall@10 of each, median q/s, median ratio
//   Ann exact  N D [--threads T] [--float]              ExactSearch batch of all queries, k=10, T threads (default 1);
//                                                       --float: without the int8 screen
//   Ann load   N D --load FILE                          IndexFile.Load milliseconds
if (AnnSet.Parse(args, "Ann build|search|walks|exact|load N D [options]") is not { } set) return 2;
string mode = set.Mode, dataFile = set.DataFile, queryFile = set.QueryFile;
int n = set.N, d = set.D;
string? Opt(string name) => set.Opt(name);
float[] queries = AnnSet.ReadF32(queryFile);
int nq = queries.Length / d;
void Emit(object o) => AnnSet.Emit(o);

switch (mode)
{
    case "build":
    {
        float[] data = AnnSet.ReadF32(dataFile);
        int threads = set.IntOpt("threads", 1);
        var ids = Enumerable.Range(0, n).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        var p = new HnswParameters { M = 16, EfConstruction = 200, EfSearch = 100, Seed = 1 };
        var sw = Stopwatch.StartNew();
        var index = HnswIndex.Build(ids, data, d, p, maxThreads: threads);
        double s = sw.Elapsed.TotalSeconds;
        Emit(new { peer = "messtools", what = "build", threads, seconds = Math.Round(s, 3) });
        if (Opt("save") is { } save) IndexFile.Save(index, save);
        break;
    }
    case "walks":
    {
        // The int8 walk against the float walk (HnswIndex.QuantisedWalk false) on one loaded index, interleaved in one
        // process round by round, so both see the same machine: medians of the per-round speed ratios.
        var index = (HnswIndex)IndexFile.Load(Opt("load") ?? throw new ArgumentException("--load FILE"), mapVectors: true);
        var gt = GroundTruth();
        var dest = new Neighbor[10];
        int rounds = set.IntOpt("rounds", 20);
        foreach (int ef in set.EfList())
        {
            var qps = new[] { new List<double>(), new List<double>() };
            var ratio = new List<double>();
            var recall = new double[2];
            for (int walk = 0; walk < 2; walk++)
            {
                index.QuantisedWalk = walk != 0;
                recall[walk] = Recall10(index, gt, dest, ef);
            }
            for (int r = 0; r < rounds; r++)
            {
                var t = new double[2];
                for (int step = 0; step < 2; step++)
                {
                    int walk = (step + r) % 2;
                    index.QuantisedWalk = walk != 0;
                    var sw = Stopwatch.StartNew();
                    for (int q = 0; q < nq; q++) index.Search(queries.AsSpan(q * d, d), 10, dest, null, ef);
                    t[walk] = sw.Elapsed.TotalSeconds;
                    qps[walk].Add(nq / t[walk]);
                }
                ratio.Add(t[0] / t[1]);
            }
            static double Median(List<double> x) { x.Sort(); return x[x.Count / 2]; }
            Emit(new { peer = "messtools", what = "walks", ef, rounds, recall10_float = Math.Round(recall[0], 4), recall10_int8 = Math.Round(recall[1], 4),
                qps_float = Math.Round(Median(qps[0]), 1), qps_int8 = Math.Round(Median(qps[1]), 1), int8_over_float = Math.Round(Median(ratio), 3) });
        }
        break;
    }
    case "search":
    {
        var gt = GroundTruth();
        // --copy: the vectors read into memory instead of searched in the mapped file; --float: the float walk.
        var index = (HnswIndex)IndexFile.Load(Opt("load") ?? throw new ArgumentException("--load FILE"), mapVectors: !args.Contains("--copy"));
        index.QuantisedWalk = !args.Contains("--float");
        var dest = new Neighbor[10];
        int repeat = set.IntOpt("repeat", 5);
        foreach (int ef in set.EfList())
        {
            // Warm-up pass (JIT tiers, caches), then the timed pass.
            for (int q = 0; q < Math.Min(nq, 200); q++) index.Search(queries.AsSpan(q * d, d), 10, dest, null, ef);
            var qps = new List<double>();
            for (int r = 0; r < repeat; r++)
            {
                var sw = Stopwatch.StartNew();
                for (int q = 0; q < nq; q++) index.Search(queries.AsSpan(q * d, d), 10, dest, null, ef);
                qps.Add(nq / sw.Elapsed.TotalSeconds);
            }
            double recall = Recall10(index, gt, dest, ef);
            qps.Sort();
            Emit(new { peer = "messtools", what = "search", ef, recall10 = Math.Round(recall, 4), qps = Math.Round(qps[^1], 1), qps_median = Math.Round(qps[qps.Count / 2], 1) });
        }
        break;
    }
    case "exact":
    {
        float[] data = AnnSet.ReadF32(dataFile);
        int threads = set.IntOpt("threads", 1);
        // --float: the float pass alone (no int8 screen), to show what the screen gives on the same run.
        ExactSearch.NoScreening = args.Contains("--float");
        ExactSearch.Search(data, n, d, queries, Math.Min(nq, 48), 10, null, maxThreads: threads); // warm-up
        var sw = Stopwatch.StartNew();
        var res = ExactSearch.Search(data, n, d, queries, nq, 10, null, maxThreads: threads);
        double s = sw.Elapsed.TotalSeconds;
        var stats = ExactSearch.NoScreening ? null : ExactSearch.LastScreen;
        Emit(new { peer = "messtools", what = "exact_batch", pass = ExactSearch.NoScreening ? "float" : "screened", threads, queries = nq, qps = Math.Round(nq / s, 1),
            quantise_s = stats?.QuantiseSeconds, screen_s = stats?.SearchSeconds, rescored_per_query = stats?.RescoredPerQuery, fallbacks = stats?.Fallbacks });
        GC.KeepAlive(res);
        break;
    }
    case "load":
    {
        string path = Opt("load") ?? throw new ArgumentException("--load FILE");
        var sw = Stopwatch.StartNew();
        var index = IndexFile.Load(path);
        Emit(new { peer = "messtools", what = "load", ms = Math.Round(sw.Elapsed.TotalMilliseconds, 1), count = index.Count });
        break;
    }
    default:
        Console.Error.WriteLine("mode: build | search | walks | exact | load");
        return 2;
}
return 0;

// recall@10 of every query against the ground truth, at ef.
double Recall10(HnswIndex index, int[] gt, Neighbor[] dest, int ef)
{
    int hits = 0;
    for (int q = 0; q < nq; q++)
    {
        int found = index.Search(queries.AsSpan(q * d, d), 10, dest, null, ef);
        for (int i = 0; i < found; i++)
            for (int j = 0; j < 10; j++)
                if (gt[q * 10 + j] == dest[i].Id) { hits++; break; }
    }
    return hits / (10.0 * nq);
}

int[] GroundTruth()
{
    // The same file peers.py caches (faiss IndexFlatIP); computed here with ExactSearch if absent.
    string path = set.GroundTruthFile;
    if (File.Exists(path)) return MemoryMarshal.Cast<byte, int>(File.ReadAllBytes(path)).ToArray();
    var data = AnnSet.ReadF32(dataFile);
    var res = ExactSearch.Search(data, n, d, queries, nq, 10, null, maxThreads: 0);
    return res.SelectMany(r => r.Select(x => x.Id)).ToArray();
}
