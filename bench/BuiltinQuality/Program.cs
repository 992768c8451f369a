// Composer Retrieval quality and end-to-end speed of the built-in embedder on the composer-dev set.
//
//   dotnet run -c Release --project bench/BuiltinQuality -- [ROOT=/tmp/composer-dev] [options]
//     --runs N            timed repetitions (default 3; medians reported)
//     --decoder wav|wav-poly|ffmpeg  wav: WavFile.Read + HalfBandDecimator 44.1k->22.05k (default); wav-poly: WavFile.Read +
//                         Dsp.Resampler (general polyphase); ffmpeg: `ffmpeg -ac 1 -ar 22050 -f f32le` through a pipe
//     --metadata FILE     metadata CSV inside ROOT (default tracks_metadata.csv)
//     --fit FILE.cs       fit the standardisation constants (label-free mean/std of the raw features) and write them as C#
//     --dump FILE.f32     write the raw features (N x D float32) for comparison with prototype.py
//     --threads N         parallel tracks (default: processor count)
//   dotnet run -c Release --project bench/BuiltinQuality -- --protocols CACHE_DIR NAME=ROOT ...   (issue 21's protocols, Protocols.cs)
using System.Diagnostics;
using System.Globalization;
using System.Text;
using CsvHelper;
using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Dsp;
using MessTools.Core.Embedding.Builtin;

if (args.Length > 0 && args[0] == "--protocols") { Protocols.Run(args); return; }
if (args.Length > 0 && args[0] == "--basic-pitch-cost") { BasicPitchCost.Run(args); return; }
var opts = Options.Parse(args);
var tracks = ReadTracks(opts.Root, opts.Metadata);
Console.WriteLine($"{tracks.Count} tracks from {Path.Combine(opts.Root, opts.Metadata)}; decoder {opts.Decoder}; {opts.Threads} threads; {Environment.ProcessorCount} cores");
var embedder = new BuiltinEmbedder();
Console.WriteLine($"embedder {embedder.Version}, dimension {embedder.Dimension}, constants: {BuiltinStandardisationInfo()}");

if (opts.Fit is not null || opts.Dump is not null)
{
    var raw = new float[tracks.Count][];
    Parallel.For(0, tracks.Count, new ParallelOptions { MaxDegreeOfParallelism = opts.Threads },
        i => raw[i] = embedder.ExtractFeatures(Decode(opts, tracks[i])));
    if (opts.Dump is not null)
    {
        var bytes = new byte[tracks.Count * embedder.Dimension * 4];
        for (int i = 0; i < raw.Length; i++) Buffer.BlockCopy(raw[i], 0, bytes, i * embedder.Dimension * 4, embedder.Dimension * 4);
        AtomicFile.WriteAllBytes(opts.Dump, bytes);
        Console.WriteLine($"raw features {tracks.Count} x {embedder.Dimension} -> {opts.Dump}");
    }
    if (opts.Fit is not null)
    {
        var (mean, std) = MeanStd(raw);
        AtomicFile.WriteAllText(opts.Fit, GenerateConstants(mean, std, tracks.Count));
        Console.WriteLine($"standardisation constants ({tracks.Count} tracks, label-free) -> {opts.Fit}; rebuild to use them");
        Console.WriteLine("leave-one-composer-out standardisation (constants never see the query's composer):");
        var (p, pa) = LeaveOneComposerOut(tracks, raw);
        Console.WriteLine($"  LOCO P@5 {p:F3}  P@5 excl-album {pa:F3}");
    }
    return;
}

var runs = new List<RunResult>();
float[][]? first = null;
for (int r = 0; r < opts.Runs; r++)
{
    GC.Collect();
    var emb = new float[tracks.Count][];
    long samples = 0;
    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    Parallel.For(0, tracks.Count, new ParallelOptions { MaxDegreeOfParallelism = opts.Threads }, i =>
    {
        var mono = Decode(opts, tracks[i]);
        Interlocked.Add(ref samples, mono.Length);
        emb[i] = embedder.Embed(mono);
    });
    sw.Stop();
    double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
    double audioSeconds = samples / 22050.0;
    if (first is null) first = emb;
    else for (int i = 0; i < emb.Length; i++)
        if (!emb[i].AsSpan().SequenceEqual(first[i])) throw new Exception($"run {r + 1}: track {tracks[i].Id} embedded differently (not deterministic)");
    var q = Evaluate(tracks, emb);
    runs.Add(new RunResult(sw.Elapsed.TotalSeconds, audioSeconds, cpuSeconds, q));
    Console.WriteLine($"run {r + 1}: end-to-end {sw.Elapsed.TotalSeconds:F2} s for {audioSeconds:F0} audio-s = {audioSeconds / sw.Elapsed.TotalSeconds:F0}x real time " +
                      $"(process CPU {cpuSeconds:F2} s = {audioSeconds / cpuSeconds:F0}x per core); {q}");
}
long peakEndToEnd;
using (var self = Process.GetCurrentProcess()) { self.Refresh(); peakEndToEnd = self.PeakWorkingSet64; }
// the embedder alone, on audio decoded beforehand (holds all decoded tracks: not a memory figure)
var decoded = new float[tracks.Count][];
Parallel.For(0, tracks.Count, new ParallelOptions { MaxDegreeOfParallelism = opts.Threads }, i => decoded[i] = Decode(opts, tracks[i]));
var embedOnly = new List<double>();
for (int r = 0; r < opts.Runs; r++)
{
    var sw2 = Stopwatch.StartNew();
    Parallel.For(0, tracks.Count, new ParallelOptions { MaxDegreeOfParallelism = opts.Threads }, i => embedder.Embed(decoded[i]));
    embedOnly.Add(sw2.Elapsed.TotalSeconds);
}
// decoding alone (read + resample), for the split
var decodeOnly = new List<double>();
for (int r = 0; r < opts.Runs; r++)
{
    var sw3 = Stopwatch.StartNew();
    Parallel.For(0, tracks.Count, new ParallelOptions { MaxDegreeOfParallelism = opts.Threads }, i => Decode(opts, tracks[i]));
    decodeOnly.Add(sw3.Elapsed.TotalSeconds);
}
double Median(IEnumerable<double> xs) { var a = xs.OrderBy(x => x).ToArray(); return a.Length % 2 == 1 ? a[a.Length / 2] : 0.5 * (a[a.Length / 2 - 1] + a[a.Length / 2]); }
var quality = runs[0].Quality;
Console.WriteLine();
Console.WriteLine($"Composer Retrieval (k=5, cosine, self excluded), {tracks.Count} tracks, {tracks.Select(t => t.Composer).Distinct().Count()} composers:");
Console.WriteLine($"  P@5                 {quality.P5:F3}   (chance {quality.Chance:F3})");
Console.WriteLine($"  P@5 excl. same album {quality.P5ExclAlbum:F3}   (chance {quality.ChanceExclAlbum:F3})");
Console.WriteLine($"  HitRate@5 {quality.Hit5:F3}   NDCG@5 {quality.Ndcg5:F3}   (excl. album: HitRate@5 {quality.Hit5ExclAlbum:F3}, NDCG@5 {quality.Ndcg5ExclAlbum:F3})");
Console.WriteLine($"Speed (median of {runs.Count}): end-to-end {Median(runs.Select(x => x.AudioSeconds / x.WallSeconds)):F0}x real time " +
                  $"({Median(runs.Select(x => x.WallSeconds)):F2} s for {runs[0].AudioSeconds:F0} audio-s, decoder {opts.Decoder}); " +
                  $"embedder alone {runs[0].AudioSeconds / Median(embedOnly):F0}x ({Median(embedOnly):F2} s); decoding alone {runs[0].AudioSeconds / Median(decodeOnly):F0}x ({Median(decodeOnly):F2} s)");
Console.WriteLine($"CPU time (robust to other load on the machine): median {Median(runs.Select(x => x.CpuSeconds)):F2} s per run = " +
                  $"{Median(runs.Select(x => x.AudioSeconds / x.CpuSeconds)):F0}x real time per core, i.e. {Median(runs.Select(x => x.AudioSeconds / x.CpuSeconds)) * Math.Min(opts.Threads, Environment.ProcessorCount):F0}x on {Math.Min(opts.Threads, Environment.ProcessorCount)} idle cores; load average now {LoadAverage()}");
Console.WriteLine($"Peak working set during the end-to-end runs {peakEndToEnd / 1048576.0:F0} MB ({opts.Threads} tracks in flight)");
return;

static float[] Decode(Options o, Track t)
{
    string path = Path.Combine(o.Root, t.AudioPath);
    if (o.Decoder == "ffmpeg") return FfmpegDecode(path);
    var audio = WavFile.Read(path).ToMono();
    if (audio.SampleRate == 22050) return audio.Samples;
    if (audio.SampleRate == 44100 && o.Decoder == "wav") return HalfBandDecimator.Instance.Process(audio.Samples);
    return Resamplers.Get(audio.SampleRate).Process(audio.Samples);
}

static float[] FfmpegDecode(string path)
{
    var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (var a in new[] { "-nostdin", "-v", "error", "-i", path, "-ac", "1", "-ar", "22050", "-f", "f32le", "-" }) psi.ArgumentList.Add(a);
    using var p = Process.Start(psi)!;
    var err = p.StandardError.ReadToEndAsync();
    using var ms = new MemoryStream();
    p.StandardOutput.BaseStream.CopyTo(ms);
    p.WaitForExit();
    if (p.ExitCode != 0) throw new Exception($"ffmpeg failed on {path}: {err.Result}");
    var bytes = ms.GetBuffer().AsSpan(0, (int)ms.Length);
    var x = new float[bytes.Length / 4];
    Buffer.BlockCopy(ms.GetBuffer(), 0, x, 0, x.Length * 4);
    return x;
}

static List<Track> ReadTracks(string root, string metadata)
{
    using var reader = new StreamReader(Path.Combine(root, metadata));
    using var csv = new CsvReader(reader, CultureInfo.InvariantCulture);
    var list = new List<Track>();
    csv.Read(); csv.ReadHeader();
    while (csv.Read())
        list.Add(new Track(csv.GetField("track_id")!, csv.GetField("album_id")!, csv.GetField("composer")!, csv.GetField("audio_path")!));
    return list;
}

static (float[] Mean, float[] Std) MeanStd(IReadOnlyList<float[]> rows) => Protocols.MeanStd(rows);

static string GenerateConstants(float[] mean, float[] std, int n) => Protocols.GenerateConstants("BuiltinStandardisation", "--fit", new[]
{
    "Per-dimension standardisation constants of the built-in embedder: the mean and standard deviation of each raw",
    "feature (float32, little-endian, base64). Data-derived and label-free: fitted without any labels on the",
    "composer-dev set (62 synthetic piano clips, see docs/builtin-embedder.md); regenerate with bench/BuiltinQuality --fit.",
}, $"label-free mean/std of {n} composer-dev tracks", mean, std, partial: true);

static Quality Evaluate(IReadOnlyList<Track> tracks, float[][] emb, IEnumerable<int>? queries = null)
{
    int n = tracks.Count;
    var qs = (queries ?? Enumerable.Range(0, n)).ToArray();
    double p = 0, pa = 0, h = 0, ha = 0, g = 0, ga = 0, c = 0, ca = 0;
    foreach (int i in qs)
    {
        var sims = new (double Sim, int J)[n];
        for (int j = 0; j < n; j++) sims[j] = (System.Numerics.Tensors.TensorPrimitives.Dot(emb[i], emb[j]), j);
        var order = sims.Where(s => s.J != i).OrderByDescending(s => s.Sim).ThenBy(s => s.J).Select(s => s.J).ToArray();
        var orderEx = order.Where(j => tracks[j].Album != tracks[i].Album).ToArray();
        (double P, double Hit, double Ndcg) Score(int[] ord)
        {
            int rel = ord.Count(j => tracks[j].Composer == tracks[i].Composer);
            double hits = 0, dcg = 0, idcg = 0;
            for (int k = 0; k < 5 && k < ord.Length; k++)
            {
                bool ok = tracks[ord[k]].Composer == tracks[i].Composer;
                if (ok) { hits++; dcg += 1 / Math.Log2(k + 2); }
                if (k < rel) idcg += 1 / Math.Log2(k + 2);
            }
            return (hits / 5, hits > 0 ? 1 : 0, idcg > 0 ? dcg / idcg : 0);
        }
        var s1 = Score(order); var s2 = Score(orderEx);
        p += s1.P; h += s1.Hit; g += s1.Ndcg; pa += s2.P; ha += s2.Hit; ga += s2.Ndcg;
        c += (double)order.Count(j => tracks[j].Composer == tracks[i].Composer) / order.Length;
        ca += orderEx.Length > 0 ? (double)orderEx.Count(j => tracks[j].Composer == tracks[i].Composer) / orderEx.Length : 0;
    }
    int m = qs.Length;
    return new Quality(p / m, pa / m, c / m, ca / m, h / m, ha / m, g / m, ga / m);
}

static (double P, double PExcl) LeaveOneComposerOut(List<Track> tracks, float[][] raw)
{
    double sp = 0, spa = 0; int count = 0;
    foreach (var comp in tracks.Select(t => t.Composer).Distinct())
    {
        var fit = raw.Where((_, i) => tracks[i].Composer != comp).ToList();
        var (mean, std) = MeanStd(fit);
        var emb = raw.Select(r => Standardise(r, mean, std)).ToArray();
        var queries = Enumerable.Range(0, tracks.Count).Where(i => tracks[i].Composer == comp).ToArray();
        var q = Evaluate(tracks, emb, queries);
        sp += q.P5 * queries.Length; spa += q.P5ExclAlbum * queries.Length; count += queries.Length;
    }
    return (sp / count, spa / count);
}

// the same arithmetic as BuiltinEmbedder.Embed, with other constants
static float[] Standardise(float[] raw, float[] mean, float[] std)
{
    var v = new float[raw.Length];
    for (int j = 0; j < v.Length; j++) v[j] = Math.Clamp((raw[j] - mean[j]) / (std[j] + 1e-6f), -8f, 8f);
    foreach (var b in BuiltinEmbedder.Blocks)
    {
        var s = v.AsSpan(b.Offset, b.Length);
        float n = System.Numerics.Tensors.TensorPrimitives.Norm(s);
        if (n > 1e-12f) System.Numerics.Tensors.TensorPrimitives.Multiply(s, 1f / n, s);
    }
    float norm = System.Numerics.Tensors.TensorPrimitives.Norm(v);
    System.Numerics.Tensors.TensorPrimitives.Multiply(v, 1f / norm, v);
    return v;
}

static string LoadAverage()
{
    try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; } catch (IOException) { return "?"; } catch (UnauthorizedAccessException) { return "?"; }
}

static string BuiltinStandardisationInfo() =>
    typeof(BuiltinEmbedder).Assembly.GetType("MessTools.Core.Embedding.Builtin.BuiltinStandardisation")?
        .GetField("Provenance")?.GetValue(null) as string ?? "?";

record Track(string Id, string Album, string Composer, string AudioPath);

record Quality(double P5, double P5ExclAlbum, double Chance, double ChanceExclAlbum, double Hit5, double Hit5ExclAlbum, double Ndcg5, double Ndcg5ExclAlbum)
{
    public override string ToString() => $"P@5 {P5:F3} (excl-album {P5ExclAlbum:F3})";
}

record RunResult(double WallSeconds, double AudioSeconds, double CpuSeconds, Quality Quality);

static class Resamplers
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, Resampler> Cache = new();
    public static Resampler Get(int rate) => Cache.GetOrAdd(rate, r => new Resampler(r, 22050));
}

sealed class Options
{
    public string Root = "/tmp/composer-dev", Metadata = "tracks_metadata.csv", Decoder = "wav";
    public string? Fit, Dump;
    public int Runs = 3, Threads = Environment.ProcessorCount;

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--runs": o.Runs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--decoder": o.Decoder = Next(); if (o.Decoder is not ("wav" or "wav-poly" or "ffmpeg")) throw new ArgumentException("--decoder wav|wav-poly|ffmpeg"); break;
                case "--metadata": o.Metadata = Next(); break;
                case "--fit": o.Fit = Path.GetFullPath(Next()); break;
                case "--dump": o.Dump = Path.GetFullPath(Next()); break;
                case "--threads": o.Threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                default:
                    if (args[i].StartsWith("--")) throw new ArgumentException($"unknown option {args[i]}");
                    o.Root = args[i]; break;
            }
        }
        return o;
    }
}
