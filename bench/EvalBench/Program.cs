using System.Diagnostics;
using System.Runtime.InteropServices;
using MessTools.Core.Search;

// EvalBench: Stopwatch harness, repeated runs, medians.
//   search  N D [queries] [k] [threads] [repeat]   batch search on /tmp/evalbench_N_D.f32 (+ _q) written by faiss_flat.py
//   allpairs N D [k] [threads] [repeat]            all-pairs top-k on random normalised rows
string cmd = args.Length > 0 ? args[0] : "search";
if (Environment.GetEnvironmentVariable("EVALBENCH_NO_SYMMETRIC") == "1") ExactSearch.NoSymmetricPass = true;
if (int.TryParse(Environment.GetEnvironmentVariable("EVALBENCH_QB"), out int qbEnv)) ExactSearch.QueryBlock = qbEnv;
if (int.TryParse(Environment.GetEnvironmentVariable("EVALBENCH_KC"), out int kcEnv)) ExactSearch.DimBlock = kcEnv;
if (int.TryParse(Environment.GetEnvironmentVariable("EVALBENCH_NC"), out int ncEnv)) ExactSearch.RowBlock = ncEnv;
double Cpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
int Arg(int i, int d) => args.Length > i ? int.Parse(args[i]) : d;

if (cmd == "search")
{
    int n = Arg(1, 100000), d = Arg(2, 256), nq = Arg(3, 1000), k = Arg(4, 10), threads = Arg(5, 1), rep = Arg(6, 3);
    float[] x = ReadOrRandom($"/tmp/evalbench_{n}_{d}.f32", n * d, 7);
    float[] q = ReadOrRandom($"/tmp/evalbench_{n}_{d}_q.f32", nq * d, 8);
    ExactSearch.Search(x, n, d, q, Math.Min(nq, 50), k, null, threads); // warm-up (JIT tiers)
    var times = new List<double>(); var cpus = new List<double>();
    for (int r = 0; r < rep; r++)
    {
        var sw = Stopwatch.StartNew(); double c0 = Cpu();
        ExactSearch.Search(x, n, d, q, nq, k, null, threads);
        times.Add(sw.Elapsed.TotalSeconds); cpus.Add(Cpu() - c0);
    }
    double med = Median(times);
    Console.WriteLine($"{{\"bench\":\"search\",\"n\":{n},\"d\":{d},\"queries\":{nq},\"k\":{k},\"threads\":{threads},\"kernel\":\"{ExactSearch.Best}\",\"runs_s\":[{string.Join(",", times.Select(t => t.ToString("F4")))}],\"median_s\":{med:F4},\"qps\":{nq / med:F1},\"cpu_s\":[{string.Join(",", cpus.Select(t => t.ToString("F4")))}]}}");
}
else if (cmd == "single")
{
    // One query per call (as an interactive exact search does), repeated.
    int n = Arg(1, 100000), d = Arg(2, 256), nq = Arg(3, 200), k = Arg(4, 10), threads = Arg(5, 1), rep = Arg(6, 3);
    float[] x = ReadOrRandom($"/tmp/evalbench_{n}_{d}.f32", n * d, 7);
    float[] q = ReadOrRandom($"/tmp/evalbench_{n}_{d}_q.f32", 1000 * d, 8);
    for (int i = 0; i < 5; i++) ExactSearch.Search(x, n, d, q[(i * d)..((i + 1) * d)], 1, k, null, threads);
    var times = new List<double>();
    for (int r = 0; r < rep; r++)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < nq; i++) ExactSearch.Search(x, n, d, q[(i * d)..((i + 1) * d)], 1, k, null, threads);
        times.Add(sw.Elapsed.TotalSeconds);
    }
    double med = Median(times);
    Console.WriteLine($"{{\"bench\":\"single\",\"n\":{n},\"d\":{d},\"queries\":{nq},\"k\":{k},\"threads\":{threads},\"median_s\":{med:F4},\"qps\":{nq / med:F1}}}");
}
else if (cmd == "allpairs")
{
    int n = Arg(1, 20000), d = Arg(2, 768), k = Arg(3, 5), threads = Arg(4, 0), rep = Arg(5, 3);
    float[] x = Random(n * d, 11, d);
    ExactSearch.AllPairs(x, Math.Min(n, 500), d, k, null, threads);
    var times = new List<double>(); var cpus = new List<double>();
    for (int r = 0; r < rep; r++)
    {
        var sw = Stopwatch.StartNew(); double c0 = Cpu();
        ExactSearch.AllPairs(x, n, d, k, null, threads);
        times.Add(sw.Elapsed.TotalSeconds); cpus.Add(Cpu() - c0);
    }
    double med = Median(times);
    Console.WriteLine($"{{\"bench\":\"allpairs\",\"n\":{n},\"d\":{d},\"k\":{k},\"threads\":{threads},\"kernel\":\"{ExactSearch.Best}\",\"runs_s\":[{string.Join(",", times.Select(t => t.ToString("F3")))}],\"median_s\":{med:F3},\"cpu_s\":[{string.Join(",", cpus.Select(t => t.ToString("F3")))}],\"symmetric\":{(!ExactSearch.NoSymmetricPass).ToString().ToLowerInvariant()}}}");
}

else if (cmd == "eval")
{
    // The whole exact evaluation (both album modes, samples) on synthetic clustered data: N tracks, albums of 10,
    // N/50 composers.
    int n = Arg(1, 20000), d = Arg(2, 768), k = Arg(3, 5), threads = Arg(4, 0), rep = Arg(5, 3);
    float[] x = Random(n * d, 11, d);
    var rng = new Random(5);
    var ids = Enumerable.Range(0, n).Select(i => $"trk{i:D7}").ToArray();
    var meta = new Dictionary<string, MessTools.MessTrack>();
    int composers = Math.Max(2, n / 50);
    for (int i = 0; i < n; i++)
    {
        int album = i / 10, composer = album % composers;
        meta[ids[i]] = new MessTools.MessTrack { TrackId = ids[i], AlbumId = $"alb{album}", Composer = $"Composer {composer}" };
        for (int j = 0; j < d; j += 16) x[i * d + j] += 0.5f * ((composer >> (j / 16 % 10)) & 1); // some composer signal
    }
    var data = MessTools.Core.Evaluation.EvaluationData.Create(ids, x, d, meta);
    var opts = new MessTools.Core.Evaluation.EvaluationOptions { Ks = new[] { k }, MaxThreads = threads };
    MessTools.Core.Evaluation.Evaluator.Evaluate(MessTools.Core.Evaluation.EvaluationData.Create(ids[..500], x[..(500 * d)], d, meta), opts);
    var times = new List<double>(); var cpus = new List<double>();
    MessTools.Core.Evaluation.EvaluationOutcome? last = null;
    for (int r = 0; r < rep; r++)
    {
        var sw = Stopwatch.StartNew(); double c0 = Cpu();
        last = MessTools.Core.Evaluation.Evaluator.Evaluate(data, opts);
        times.Add(sw.Elapsed.TotalSeconds); cpus.Add(Cpu() - c0);
    }
    double med = Median(times);
    Console.WriteLine($"{{\"bench\":\"eval\",\"n\":{n},\"d\":{d},\"k\":{k},\"threads\":{threads},\"kernel\":\"{ExactSearch.Best}\",\"runs_s\":[{string.Join(",", times.Select(t => t.ToString("F3")))}],\"median_s\":{med:F3},\"cpu_s\":[{string.Join(",", cpus.Select(t => t.ToString("F3")))}],\"p_at_k\":{last!.Results[0].PrecisionAtK},\"p_at_k_excl_album\":{last.Results[^1].PrecisionAtK}}}");
}

else if (cmd == "demo")
{
    // Writes a synthetic artifact evaluation (eval_results.json, samples.csv, report.html) into the folder given.
    string root = args.Length > 1 ? args[1] : "/tmp/evalbench-demo";
    int n = 1200, d = 64;
    float[] x = Random(n * d, 3, d);
    var names = new[] { "Bach", "Beethoven", "Chopin", "Debussy", "Haydn", "Liszt", "Mozart", "Rachmaninoff", "Schubert", "Vivaldi", "Satie" };
    var ids = Enumerable.Range(0, n).Select(i => $"trk{i:D5}").ToArray();
    var meta = new Dictionary<string, MessTools.MessTrack>();
    for (int i = 0; i < n; i++)
    {
        int album = i / 12, c = i == n - 1 ? 10 : album % 10;
        meta[ids[i]] = new MessTools.MessTrack { TrackId = ids[i], AlbumId = $"alb{album}", Composer = names[c] };
        for (int j = 0; j < d; j += 4) x[i * d + j] += 0.35f * ((c + j / 4) % 3 == 0 ? 1 : 0);
    }
    var data = MessTools.Core.Evaluation.EvaluationData.Create(ids, x, d, meta, model: "demo-model");
    var store = new MessTools.Core.Artifacts.ArtifactStore(root);
    var opts = new MessTools.Core.Evaluation.EvaluationOptions { Ks = new[] { 1, 5, 10 }, ArtifactPath = store.Root };
    var outcome = MessTools.Core.Evaluation.Evaluator.Evaluate(data, opts);
    var (json, samples, report) = MessTools.Core.Evaluation.EvaluationFiles.Write(store, outcome, opts);
    Console.WriteLine($"{json}\n{samples}\n{report}");
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
