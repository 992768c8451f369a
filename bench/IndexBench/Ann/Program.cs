using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using MessTools.Core.Index;
using MessTools.Core.Search;

// IndexBench.Ann: our HNSW build / single-query search and the exact batch kernel on the vectors of
// shared/bench/ann_anchor.py (run it first in the same session: it writes /tmp/ann_N_D.f32 and _q.f32).
// Usage: dotnet run -c Release --project bench/IndexBench/Ann -- [--n 100000] [--d 256] [--threads 1]
//        [--m 16] [--efc 200] [--ef 10,20,40,80,160] [--runs 3] [--skip-build] [--skip-exact] [--save path]
var opt = Args.Parse(args);
int n = opt.Int("n", 100_000), d = opt.Int("d", 256), threads = opt.Int("threads", 1), runs = opt.Int("runs", 3);
int m = opt.Int("m", 16), efc = opt.Int("efc", 200);
int[] efs = opt.Str("ef", "10,20,40,80,160").Split(',').Select(int.Parse).ToArray();
string dataFile = $"/tmp/ann_{n}_{d}.f32", queryFile = $"/tmp/ann_{n}_{d}_q.f32";
if (!File.Exists(dataFile) || !File.Exists(queryFile))
{
    Console.Error.WriteLine($"Missing {dataFile} / {queryFile}: run /usr/bin/python3 /work/shared/bench/ann_anchor.py {n} {d} first.");
    return 2;
}
float[] data = ReadF32(dataFile);
float[] queries = ReadF32(queryFile);
int nq = queries.Length / d;
if (data.Length != n * d) throw new InvalidDataException("size mismatch");
Console.WriteLine($"# IndexBench.Ann n={n} d={d} queries={nq} threads={threads} M={m} efC={efc} runs={runs} cpus={Environment.ProcessorCount} simd512={System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}");

// Ground truth and the exact batch figure: ExactSearch over all 1000 queries at once, one thread.
Neighbor[][] gt = null!;
var exactTimes = new List<double>();
for (int r = 0; r < (opt.Has("skip-exact") ? 1 : runs); r++)
{
    var sw = Stopwatch.StartNew();
    gt = ExactSearch.Search(data, n, d, queries, nq, 10, null, maxThreads: 1);
    exactTimes.Add(sw.Elapsed.TotalSeconds);
}
Console.WriteLine($"exact_batch_1thread: {nq} queries, median {Median(exactTimes):F3} s = {nq / Median(exactTimes):F0} queries/s  (runs: {string.Join(", ", exactTimes.Select(t => t.ToString("F3")))})");

if (opt.Has("skip-build")) return 0;
var p = new HnswParameters { M = m, EfConstruction = efc, EfSearch = 100, Seed = 1 };
var buildTimes = new List<double>();
HnswIndex index = null!;
int buildRuns = opt.Int("build-runs", 1);
for (int r = 0; r < buildRuns; r++)
{
    var ids = Enumerable.Range(0, n).Select(i => "t" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
    var copy = (float[])data.Clone();
    GC.Collect();
    var sw = Stopwatch.StartNew();
    index = HnswIndex.Build(ids, copy, d, p, maxThreads: threads);
    buildTimes.Add(sw.Elapsed.TotalSeconds);
    Console.WriteLine($"build run {r + 1}: {sw.Elapsed.TotalSeconds:F2} s, threads={threads}, max level {index.MaxLevel}");
}
Console.WriteLine($"build_median_s threads={threads}: {Median(buildTimes):F2}");

var dest = new Neighbor[10];
foreach (int ef in efs)
{
    var qpsRuns = new List<double>();
    double recall = 0;
    for (int r = 0; r < runs; r++)
    {
        int hits = 0;
        var sw = Stopwatch.StartNew();
        for (int q = 0; q < nq; q++)
        {
            int found = index.Search(queries.AsSpan(q * d, d), 10, dest, null, ef);
            if (r == 0)
                for (int i = 0; i < found; i++)
                    for (int j = 0; j < 10; j++)
                        if (gt[q][j].Id == dest[i].Id) { hits++; break; }
        }
        double s = sw.Elapsed.TotalSeconds;
        qpsRuns.Add(nq / s);
        if (r == 0) recall = hits / (10.0 * nq);
    }
    Console.WriteLine($"hnsw ef={ef,4}: recall@10 {recall:F4}, single-query median {Median(qpsRuns):F0} q/s (runs: {string.Join(", ", qpsRuns.Select(x => x.ToString("F0")))})");
}

if (opt.Str("save", "") is { Length: > 0 } savePath)
{
    var sw = Stopwatch.StartNew();
    IndexFile.Save(index, savePath);
    Console.WriteLine($"saved {savePath} in {sw.Elapsed.TotalSeconds:F2} s ({new FileInfo(savePath).Length / 1e6:F1} MB)");
    var loadTimes = new List<double>();
    for (int r = 0; r < runs; r++)
    {
        sw.Restart();
        var loaded = IndexFile.Load(savePath);
        loadTimes.Add(sw.Elapsed.TotalSeconds);
        GC.KeepAlive(loaded);
    }
    Console.WriteLine($"load median {Median(loadTimes) * 1000:F0} ms (runs: {string.Join(", ", loadTimes.Select(x => (x * 1000).ToString("F0")))})");
}
return 0;

static float[] ReadF32(string path)
{
    var bytes = File.ReadAllBytes(path);
    var f = new float[bytes.Length / 4];
    MemoryMarshal.Cast<byte, float>(bytes).CopyTo(f);
    return f;
}

static double Median(List<double> xs)
{
    var s = xs.OrderBy(x => x).ToArray();
    return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
}

sealed class Args
{
    private readonly Dictionary<string, string> _v = new();
    public static Args Parse(string[] a)
    {
        var r = new Args();
        for (int i = 0; i < a.Length; i++)
        {
            if (!a[i].StartsWith("--")) continue;
            string k = a[i][2..];
            r._v[k] = i + 1 < a.Length && !a[i + 1].StartsWith("--") ? a[++i] : "true";
        }
        return r;
    }
    public bool Has(string k) => _v.ContainsKey(k);
    public int Int(string k, int def) => _v.TryGetValue(k, out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : def;
    public string Str(string k, string def) => _v.TryGetValue(k, out var s) ? s : def;
}
