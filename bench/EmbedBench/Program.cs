// EmbedBench: speed of the embedding pipeline end to end from WAV files, against a sequential peer in the same
// process, plus the FFT against MathNet.Numerics and Composer Retrieval P@5 on the artifacts.
//   dotnet run -c Release --project bench/EmbedBench -- fft
//   dotnet run -c Release --project bench/EmbedBench -- embed  <tracks_metadata.csv> <builtin|builtin-2|model.onnx> [profile.json] [--tracks N] [--out DIR]
//     (the whole ConvertTo-MessEmbedding stage: WAV read in blocks, resampling, the model, artifacts; prints speed, CPU,
//      peak working set and peak managed heap; long-tracks.sh runs it on 10- and 60-minute tracks for the memory figure)
//   dotnet run -c Release --project bench/EmbedBench -- sequential <tracks_metadata.csv> <builtin|model.onnx> [profile.json] [--tracks N]
//   dotnet run -c Release --project bench/EmbedBench -- p5 <tracks_metadata.csv> <artifact dir>
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using MessTools;
using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Dsp;
using MessTools.Core.Embedding;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
if (args.Length == 0) { Console.Error.WriteLine("modes: fft | embed | sequential | p5"); return 2; }
string Opt(string name, string def) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : def; }
var positional = new List<string>();
for (int i = 1; i < args.Length; i++) { if (args[i].StartsWith("--")) { i++; continue; } positional.Add(args[i]); }

switch (args[0])
{
    case "fft": return Fft();
    case "embed": return Embed(sequential: false);
    case "sequential": return Embed(sequential: true);
    case "p5": return P5();
    case "parts": return Parts();
    case "ort": return Ort();
    case "ortpar": return OrtParallel();
    default: Console.Error.WriteLine("unknown mode " + args[0]); return 2;
}

int Fft()
{
    const int n = 512, reps = 200_000;
    var rng = new Random(1);
    var x = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
    var fft = new RealFft(n);
    var scratch = fft.CreateScratch();
    var p = new float[n / 2 + 1];
    var c = new MathNet.Numerics.Complex32[n];
    for (int round = 0; round < 3; round++)
    {
        var sw = Stopwatch.StartNew();
        for (int r = 0; r < reps; r++) fft.PowerSpectrum(x, p, scratch);
        double ours = sw.Elapsed.TotalMilliseconds * 1e6 / reps / 1e3;
        sw.Restart();
        for (int r = 0; r < reps; r++)
        {
            for (int i = 0; i < n; i++) c[i] = new MathNet.Numerics.Complex32(x[i], 0);
            MathNet.Numerics.IntegralTransforms.Fourier.Forward(c, MathNet.Numerics.IntegralTransforms.FourierOptions.NoScaling);
            for (int k = 0; k <= n / 2; k++) p[k] = c[k].MagnitudeSquared;
        }
        double mathnet = sw.Elapsed.TotalMilliseconds * 1e6 / reps / 1e3;
        Console.WriteLine($"round {round}: 512-point power spectrum: ours {ours:0.00} us, MathNet {mathnet:0.00} us, ratio {mathnet / ours:0.0}x (Vector<float>.Count {Vector<float>.Count})");
    }
    return 0;
}

List<MessTrack> ReadTracks(string csv, int limit)
{
    string root = Path.GetDirectoryName(Path.GetFullPath(csv))!;
    var lines = File.ReadAllLines(csv);
    var head = lines[0].Split(',');
    int id = Array.IndexOf(head, "track_id"), album = Array.IndexOf(head, "album_id"), comp = Array.IndexOf(head, "composer"), ap = Array.IndexOf(head, "audio_path");
    var list = new List<MessTrack>();
    foreach (var line in lines.Skip(1))
    {
        var cols = SplitCsv(line);
        if (cols.Count < head.Length) continue;
        list.Add(new MessTrack { TrackId = cols[id], AlbumId = cols[album], Composer = cols[comp], WavPath = Path.Combine(root, cols[ap]) });
    }
    return list.Take(limit).ToList();
}

static List<string> SplitCsv(string line)
{
    var cols = new List<string>(); var cur = new System.Text.StringBuilder(); bool q = false;
    for (int i = 0; i < line.Length; i++)
    {
        char ch = line[i];
        if (q) { if (ch == '"') { if (i + 1 < line.Length && line[i + 1] == '"') { cur.Append('"'); i++; } else q = false; } else cur.Append(ch); }
        else if (ch == '"') q = true;
        else if (ch == ',') { cols.Add(cur.ToString()); cur.Clear(); }
        else cur.Append(ch);
    }
    cols.Add(cur.ToString());
    return cols;
}

IEmbeddingModel OpenModel(string model, string? profile, int? batch, int? threads) => EmbeddingModels.Open(model, profile, batch, threads);

int Embed(bool sequential)
{
    string csv = positional[0], model = positional[1];
    string? profile = positional.Count > 2 ? positional[2] : null;
    int limit = int.Parse(Opt("--tracks", "100000"));
    int? batch = Opt("--batch", "") is { Length: > 0 } b ? int.Parse(b) : null;
    int? threads = Opt("--threads", "") is { Length: > 0 } t ? int.Parse(t) : null;
    var tracks = ReadTracks(csv, limit);
    string outDir = Opt("--out", Path.Combine(Path.GetTempPath(), "embedbench-" + Guid.NewGuid().ToString("N")[..8]));
    // peak managed heap, sampled every 20 ms (the working set's peak comes from the OS)
    long peakManaged = 0;
    using var sampling = new CancellationTokenSource();
    var sampler = Task.Run(async () =>
    {
        while (!sampling.IsCancellationRequested)
        {
            peakManaged = Math.Max(peakManaged, GC.GetTotalMemory(false));
            try { await Task.Delay(20, sampling.Token); } catch (OperationCanceledException) { }
        }
    });
    var sw = Stopwatch.StartNew();
    double cpu0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
    using var m = OpenModel(model, profile, batch, threads);
    double audio = 0; int ok = 0, failed = 0;
    if (!sequential)
    {
        var store = new ArtifactStore(outDir);
        using var run = new EmbeddingRun(store, m, new EmbeddingRunOptions { Force = true }, CancellationToken.None);
        foreach (var tr in tracks) run.Post(tr);
        run.Complete();
        foreach (var r in run.Drain()) { if (r.Error is null) ok++; else { failed++; Console.Error.WriteLine(r.Error.Message); } }
        run.Save();
        audio = run.AudioSeconds;
    }
    else
    {
        // the peer: one track at a time, no overlap, no batching across tracks
        var resamplers = new Dictionary<int, Resampler>();
        foreach (var tr in tracks)
        {
            var a = WavFile.Read(tr.WavPath!).ToMono();
            var x = a.SampleRate == m.SampleRate ? a.Samples : (resamplers.TryGetValue(a.SampleRate, out var rs) ? rs : resamplers[a.SampleRate] = new Resampler(a.SampleRate, m.SampleRate)).Process(a.Samples);
            var units = m.Prepare(x, Array.Empty<(int, int)>());
            for (int i = 0; i < units.Count; i += m.BatchSize) m.Run(units.GetRange(i, Math.Min(m.BatchSize, units.Count - i)), CancellationToken.None);
            EmbeddingPipeline.Normalised(m.Pool(units), tr.TrackId, "");
            audio += (double)x.Length / m.SampleRate; ok++;
        }
    }
    double wall = sw.Elapsed.TotalSeconds;
    sampling.Cancel();
    sampler.Wait();
    var proc = Process.GetCurrentProcess();
    double cpu = proc.TotalProcessorTime.TotalSeconds - cpu0;
    Console.WriteLine($"{(sequential ? "sequential" : "pipeline")} model={m.Name} tracks={ok} failed={failed} audio={audio:0.0}s wall={wall:0.00}s speed={audio / wall:0.0}x cpu={cpu:0.0}s audio_per_cpu_s={audio / cpu:0.0} peak_ws={proc.PeakWorkingSet64 / 1048576.0:0}MB peak_managed={peakManaged / 1048576.0:0}MB out={(sequential ? "-" : outDir)}");
    return failed > 0 ? 1 : 0;
}

int Parts()
{
    string csv = positional[0], model = positional[1];
    string? profile = positional.Count > 2 ? positional[2] : null;
    var tracks = ReadTracks(csv, int.Parse(Opt("--tracks", "8")));
    int? batch = Opt("--batch", "") is { Length: > 0 } b ? int.Parse(b) : null;
    using var m = OpenModel(model, profile, batch, null);
    double tRead = 0, tRes = 0, tPrep = 0, tRun = 0, audio = 0;
    Resampler? rs = null;
    foreach (var tr in tracks)
    {
        var sw = Stopwatch.StartNew();
        var a = WavFile.Read(tr.WavPath!).ToMono(); tRead += sw.Elapsed.TotalSeconds; sw.Restart();
        rs ??= new Resampler(a.SampleRate, m.SampleRate);
        var x = a.SampleRate == m.SampleRate ? a.Samples : rs.Process(a.Samples); tRes += sw.Elapsed.TotalSeconds; sw.Restart();
        var units = m.Prepare(x, Array.Empty<(int, int)>()); tPrep += sw.Elapsed.TotalSeconds; sw.Restart();
        for (int i = 0; i < units.Count; i += m.BatchSize) m.Run(units.GetRange(i, Math.Min(m.BatchSize, units.Count - i)), CancellationToken.None);
        tRun += sw.Elapsed.TotalSeconds;
        audio += (double)x.Length / m.SampleRate;
    }
    Console.WriteLine($"audio {audio:0}s: read {audio / tRead:0}x, resample {audio / tRes:0}x, front end {audio / tPrep:0}x, model {audio / tRun:0}x; peak_ws={Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:0}MB");
    return 0;
}

int Ort()
{
    // raw ONNX Runtime throughput on MusiCNN patches under different session settings
    string model = positional[0];
    int patches = int.Parse(Opt("--patches", "64"));
    var rng = new Random(1);
    var data = Enumerable.Range(0, patches * 187 * 96).Select(_ => (float)rng.NextDouble() * 3).ToArray();
    foreach (var (threads, spin, batch, daz) in new[] { (1, false, 8, false), (2, false, 8, false), (1, false, 1, false), (1, false, 8, false), (2, false, 8, false) })
    {
        bool arena = true;
        using var so = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL, EnableCpuMemArena = arena };
        so.AddSessionConfigEntry("session.intra_op.allow_spinning", spin ? "1" : "0");
        if (daz) so.AddSessionConfigEntry("session.set_denormal_as_zero", "1");
        using var sess = new Microsoft.ML.OnnxRuntime.InferenceSession(model, so);
        var times = new List<double>(); var cpus = new List<double>();
        for (int rep = 0; rep < 3; rep++)
        {
            double c0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < patches; i += batch)
            {
                using var input = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(data[(i * 187 * 96)..((i + batch) * 187 * 96)], new long[] { batch, 187, 96 });
                using var o = sess.Run(new Microsoft.ML.OnnxRuntime.RunOptions(), new[] { "model/Placeholder" }, new[] { input }, new[] { "model/dense/BiasAdd" });
            }
            times.Add(sw.Elapsed.TotalSeconds);
            cpus.Add(Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - c0);
        }
        double med = times.OrderBy(t => t).ElementAt(1);
        double cpuPerPatch = cpus.OrderBy(t => t).ElementAt(1) / patches;
        Console.WriteLine($"threads={threads} spin={spin} batch={batch} daz={daz}: {patches / med:0.0} patches/s = {patches * 93 * 256 / 16000.0 / med:0}x real time; cpu {cpuPerPatch * 1000:0.0} ms/patch = {93 * 256 / 16000.0 / cpuPerPatch:0} audio-s per cpu-s; peak_ws={Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:0}MB");
    }
    return 0;
}

int OrtParallel()
{
    // raw ONNX Runtime throughput with W concurrent Run calls on ONE session (intra-op 1 thread each), as the pipeline does
    string model = positional[0];
    int patches = int.Parse(Opt("--patches", "96"));
    var rng = new Random(1);
    var data = Enumerable.Range(0, patches * 187 * 96).Select(_ => (float)rng.NextDouble() * 3).ToArray();
    var configs = new List<(int workers, int intra, bool spin, int batch, bool extended, bool daz)>();
    foreach (int batch in new[] { 1, 4, 8 }) configs.Add((2, 1, false, batch, false, false));
    configs.Add((2, 1, true, 8, false, false));
    configs.Add((2, 1, false, 8, true, false));
    configs.Add((2, 1, false, 8, false, true));
    configs.Add((1, 2, false, 8, false, false));
    configs.Add((1, 1, false, 8, false, false));
    if (Opt("--only", "") is { Length: > 0 } only) configs = configs.Where((_, i) => only.Split(',').Contains(i.ToString())).ToList();
    foreach (var (workers, intra, spin, batch, extended, daz) in configs)
    {
        using var so = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = intra, InterOpNumThreads = 1,
            GraphOptimizationLevel = extended ? Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED : Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL };
        so.AddSessionConfigEntry("session.intra_op.allow_spinning", spin ? "1" : "0");
        if (daz) so.AddSessionConfigEntry("session.set_denormal_as_zero", "1");
        using var sess = new Microsoft.ML.OnnxRuntime.InferenceSession(model, so);
        using var ro = new Microsoft.ML.OnnxRuntime.RunOptions();
        var times = new List<double>(); var cpus = new List<double>();
        for (int rep = 0; rep < 3; rep++)
        {
            double c0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
            var sw = Stopwatch.StartNew();
            int next = 0;
            var threads = Enumerable.Range(0, workers).Select(_ => new Thread(() =>
            {
                int i;
                while ((i = Interlocked.Add(ref next, batch) - batch) < patches)
                {
                    int b = Math.Min(batch, patches - i);
                    using var input = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(data[(i * 187 * 96)..((i + b) * 187 * 96)], new long[] { b, 187, 96 });
                    using var o = sess.Run(ro, new[] { "model/Placeholder" }, new[] { input }, new[] { "model/dense/BiasAdd" });
                }
            })).ToList();
            threads.ForEach(t => t.Start()); threads.ForEach(t => t.Join());
            times.Add(sw.Elapsed.TotalSeconds);
            cpus.Add(Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - c0);
        }
        double med = times.OrderBy(t => t).ElementAt(1);
        double cpuPerPatch = cpus.OrderBy(t => t).ElementAt(1) / patches;
        Console.WriteLine($"workers={workers} intra={intra} spin={spin} batch={batch} opt={(extended ? "EXTENDED" : "ALL")} daz={daz}: {patches / med:0.0} patches/s = {patches * 93 * 256 / 16000.0 / med:0}x real time; cpu {cpuPerPatch * 1000:0.0} ms/patch = {93 * 256 / 16000.0 / cpuPerPatch:0} audio-s per cpu-s");
    }
    return 0;
}

int P5()
{
    var tracks = ReadTracks(positional[0], 100000).ToDictionary(t => t.TrackId);
    var matrix = EmbeddingMatrix.Load(new ArtifactStore(positional[1]));
    int n = matrix.Count, dim = matrix.Dimension, k = 5;
    double hits = 0, hitsX = 0; int q = 0, qx = 0;
    for (int i = 0; i < n; i++)
    {
        var ti = tracks[matrix.TrackIds[i]];
        var sims = Enumerable.Range(0, n).Where(j => j != i)
            .Select(j => (j, s: System.Numerics.Tensors.TensorPrimitives.Dot(matrix.Row(i), matrix.Row(j)))).OrderByDescending(p => p.s).ToList();
        hits += sims.Take(k).Count(p => tracks[matrix.TrackIds[p.j]].Composer == ti.Composer) / (double)k; q++;
        var other = sims.Where(p => tracks[matrix.TrackIds[p.j]].AlbumId != ti.AlbumId).Take(k).ToList();
        if (other.Count == k) { hitsX += other.Count(p => tracks[matrix.TrackIds[p.j]].Composer == ti.Composer) / (double)k; qx++; }
    }
    Console.WriteLine($"Composer Retrieval P@5 = {hits / q:0.000} ({q} queries); same-album neighbours excluded P@5 = {hitsX / qx:0.000} ({qx} queries); model {matrix.Count}x{dim}");
    return 0;
}
