using System.Diagnostics;
using System.Runtime.InteropServices;
using MessTools.Core.Search;

// EvalBench: Stopwatch harness, repeated runs, medians.
//   search  N D [queries] [k] [threads] [repeat]   batch search on /tmp/evalbench_N_D.f32 (+ _q) written by faiss_flat.py
//   allpairs N D [k] [threads] [repeat]            all-pairs top-k on random normalised rows
string cmd = args.Length > 0 ? args[0] : "search";
int Arg(int i, int d) => args.Length > i ? int.Parse(args[i]) : d;

if (cmd == "search")
{
    int n = Arg(1, 100000), d = Arg(2, 256), nq = Arg(3, 1000), k = Arg(4, 10), threads = Arg(5, 1), rep = Arg(6, 3);
    float[] x = ReadOrRandom($"/tmp/evalbench_{n}_{d}.f32", n * d, 7);
    float[] q = ReadOrRandom($"/tmp/evalbench_{n}_{d}_q.f32", nq * d, 8);
    ExactSearch.Search(x, n, d, q, Math.Min(nq, 50), k, null, threads); // warm-up (JIT tiers)
    var times = new List<double>();
    for (int r = 0; r < rep; r++)
    {
        var sw = Stopwatch.StartNew();
        ExactSearch.Search(x, n, d, q, nq, k, null, threads);
        times.Add(sw.Elapsed.TotalSeconds);
    }
    double med = Median(times);
    Console.WriteLine($"{{\"bench\":\"search\",\"n\":{n},\"d\":{d},\"queries\":{nq},\"k\":{k},\"threads\":{threads},\"kernel\":\"{ExactSearch.Best}\",\"runs_s\":[{string.Join(",", times.Select(t => t.ToString("F4")))}],\"median_s\":{med:F4},\"qps\":{nq / med:F1},\"gflops\":{2.0 * nq * n * d / med / 1e9:F1}}}");
}
else if (cmd == "allpairs")
{
    int n = Arg(1, 20000), d = Arg(2, 768), k = Arg(3, 5), threads = Arg(4, 0), rep = Arg(5, 3);
    float[] x = Random(n * d, 11, d);
    ExactSearch.AllPairs(x, Math.Min(n, 500), d, k, null, threads);
    var times = new List<double>();
    for (int r = 0; r < rep; r++)
    {
        var sw = Stopwatch.StartNew();
        ExactSearch.AllPairs(x, n, d, k, null, threads);
        times.Add(sw.Elapsed.TotalSeconds);
    }
    double med = Median(times);
    Console.WriteLine($"{{\"bench\":\"allpairs\",\"n\":{n},\"d\":{d},\"k\":{k},\"threads\":{threads},\"kernel\":\"{ExactSearch.Best}\",\"runs_s\":[{string.Join(",", times.Select(t => t.ToString("F3")))}],\"median_s\":{med:F3},\"gflops\":{2.0 * n * n * d / med / 1e9:F1}}}");
}

static double Median(List<double> v) { var s = v.OrderBy(t => t).ToList(); return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }

static float[] ReadOrRandom(string path, int len, int seed)
{
    if (File.Exists(path) && new FileInfo(path).Length == 4L * len)
    {
        var a = new float[len];
        using var f = File.OpenRead(path);
        f.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan()));
        return a;
    }
    Console.Error.WriteLine($"{path} missing: random data");
    return Random(len, seed, 256);
}

static float[] Random(int len, int seed, int d)
{
    var rng = new Random(seed);
    var a = new float[len];
    for (int i = 0; i < len; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
    for (int r = 0; r < len / d; r++)
    {
        double s = 0; for (int j = 0; j < d; j++) s += a[r * d + j] * a[r * d + j];
        float inv = (float)(1 / Math.Sqrt(s)); for (int j = 0; j < d; j++) a[r * d + j] *= inv;
    }
    return a;
}
