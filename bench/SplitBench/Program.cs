using System.Diagnostics;
using System.Globalization;
using MessTools;
using MessTools.Core.Audio;
using MessTools.Core.Catalog;
using MessTools.Core.Dsp;
using MessTools.Core.Splitting;
using MessTools.Tests.Infrastructure;

// SplitBench: Split-MessAudio's boundary quality and speed on test works built from a rendered dev set.
//   quality [audioRoot] [seeds] [method]   every album of >= 2 tracks becomes one work per seed (movements in track order,
//                                           seeded pauses of 0.5-8 s of -60 dBFS noise with probability 0.6, else attacca);
//                                           prints F@0.5 s and F@3 s per join kind (mir_eval detection, micro-averaged),
//                                           false splits per 10 minutes, and x real time of the splitter (one thread).
//   works OUT [audioRoot] [seed]            writes those works (seed) as 22050 Hz float WAVs and OUT/works_metadata.csv,
//                                           plus OUT/movements_metadata.csv for the original movement files (for
//                                           bench/SplitBench/retrieval.ps1: Composer Retrieval P@5 on split works vs originals).
// audioRoot: a folder with tracks_metadata.csv (render.sh output), default /work/demo-base/audio.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
string cmd = args.Length > 0 ? args[0] : "quality";
const int Rate = MovementSplitter.AnalysisRate;

if (cmd == "quality")
{
    string root = args.Length > 1 ? args[1] : "/work/demo-base/audio";
    int seeds = args.Length > 2 ? int.Parse(args[2]) : 5;
    var method = args.Length > 3 ? Enum.Parse<SplitMethod>(args[3], true) : SplitMethod.Both;
    var albums = LoadAlbums(root);
    // tuning overrides from the environment, e.g. SPLITBENCH_OPTS="SilenceDb=40 KernelSeconds=16"
    var options = new SplitRequest { Method = method };
    foreach (string kv in (Environment.GetEnvironmentVariable("SPLITBENCH_OPTS") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
    {
        var (k, v) = (kv.Split('=')[0], double.Parse(kv.Split('=')[1], CultureInfo.InvariantCulture));
        options = k switch
        {
            "SilenceDb" => options with { SilenceDb = v },
            "MinGapSeconds" => options with { MinGapSeconds = v },
            "SureGapSeconds" => options with { SureGapSeconds = v },
            "KernelSeconds" => options with { KernelSeconds = v },
            "AttaccaThreshold" => options with { AttaccaThreshold = v },
            "TempoWindowFactor" => options with { TempoWindowFactor = v },
            "MinAttaccaNovelty" => options with { MinAttaccaNovelty = v },
            "MinTempoChange" => options with { MinTempoChange = v },
            "GapNoveltyThreshold" => options with { GapNoveltyThreshold = v },
            "MinMovementSeconds" => options with { MinMovementSeconds = v },
            "MaxMovements" => options with { MaxMovements = (int)v },
            _ => throw new ArgumentException($"unknown option {k}"),
        };
    }
    var splitter = new MovementSplitter(options);
    var totals = new Dictionary<string, (int Hits, int Ref, int Est)>();
    double audio = 0, seconds = 0;
    int falseShort = 0, falseAll = 0, works = 0;
    // warm-up (JIT) on the first work, not timed
    splitter.Split(TestWorks.Build(albums[0].Movements, Rate, new Random(0)).Samples, Rate);
    for (int seed = 1; seed <= seeds; seed++)
        for (int a = 0; a < albums.Count; a++)
        {
            var work = TestWorks.Build(albums[a].Movements, Rate, new Random(seed * 1000 + a));
            var sw = Stopwatch.StartNew();
            var split = splitter.Split(work.Samples, Rate);
            seconds += sw.Elapsed.TotalSeconds;
            audio += work.DurationSeconds;
            works++;
            var est = split.Boundaries.Select(b => b.Seconds).ToList();
            foreach (double w in new[] { 0.5, 3.0 })
            {
                var (p, at) = TestWorks.ScoreByKind(work.Joins, est, w);
                Add(totals, $"pause@{w}", p); Add(totals, $"attacca@{w}", at);
                Add(totals, $"all@{w}", BoundaryMetrics.Detection(work.Joins.Select(j => j.Seconds).ToList(), est, w));
            }
            foreach (var b in split.Boundaries)
            {
                if (work.Joins.Any(j => Math.Abs(j.Seconds - b.Seconds) <= 3.0 || (j.Pause && b.Seconds >= j.Seconds - j.PauseSeconds - 3 && b.Seconds <= j.Seconds))) continue;
                falseAll++;
                var m = work.Movements.FirstOrDefault(s => s.Start <= b.Seconds && b.Seconds < s.End);
                if (m.End - m.Start <= 60.0 + 1e-6) falseShort++;
            }
            if (Environment.GetEnvironmentVariable("SPLITBENCH_VERBOSE") == "1")
                Console.Error.WriteLine($"{albums[a].Id} seed {seed}: joins [{string.Join(", ", work.Joins.Select(j => $"{j.Seconds:0.0}{(j.Pause ? "p" : "a")}"))}] found [{string.Join(", ", split.Boundaries.Select(b => $"{b.Seconds:0.0}{(b.Cue == BoundaryCue.Pause ? "p" : "a")}/{b.Novelty:0.00}"))}] {split.Note}\n   pauses in joins [{string.Join(", ", work.Joins.Where(j => j.Pause).Select(j => $"{j.Seconds:0.0}:{j.PauseSeconds:0.0}s"))}] considered gaps [{string.Join(", ", split.Considered.Select(b => $"{b.PauseStartSeconds:0.0}-{b.Seconds:0.0}/{b.Novelty:0.00}"))}]");
        }
    string F((int Hits, int Ref, int Est) t)
    {
        double p = t.Est == 0 ? 0 : (double)t.Hits / t.Est, r = t.Ref == 0 ? 0 : (double)t.Hits / t.Ref;
        double f = p + r == 0 ? 0 : 2 * p * r / (p + r);
        return $"{{\"f\":{f:F3},\"precision\":{p:F3},\"recall\":{r:F3},\"hits\":{t.Hits},\"reference\":{t.Ref},\"estimated\":{t.Est}}}";
    }
    Console.WriteLine($"{{\"bench\":\"split-quality\",\"root\":\"{root}\",\"method\":\"{method}\",\"options\":\"{Environment.GetEnvironmentVariable("SPLITBENCH_OPTS")}\",\"works\":{works},\"audio_min\":{audio / 60:F1}," +
        string.Join(",", totals.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"\"{k.Key}\":{F(k.Value)}")) +
        $",\"false_splits\":{falseAll},\"false_splits_in_movements_upto_60s\":{falseShort},\"false_splits_upto_60s_per_10min\":{falseShort / (audio / 600):F3}" +
        $",\"split_seconds\":{seconds:F2},\"x_realtime_one_thread\":{audio / seconds:F0}}}");
}
else if (cmd == "curves")
{
    // curves OUT.jsonl [audioRoot] [seeds]: per work, the joins, movements and the splitter's curves (diagnostics)
    string outPath = args[1];
    string root = args.Length > 2 ? args[2] : "/work/demo-base/audio";
    int seeds = args.Length > 3 ? int.Parse(args[3]) : 5;
    var albums = LoadAlbums(root);
    var splitter = new MovementSplitter(new SplitRequest());
    using var w = new StreamWriter(outPath);
    for (int seed = 1; seed <= seeds; seed++)
        for (int a = 0; a < albums.Count; a++)
        {
            var work = TestWorks.Build(albums[a].Movements, Rate, new Random(seed * 1000 + a));
            var curves = splitter.Curves(work.Samples, Rate);
            w.WriteLine("{\"album\":\"" + albums[a].Id + "\",\"seed\":" + seed + ",\"duration\":" + work.DurationSeconds.ToString("F2") +
                ",\"joins\":[" + string.Join(",", work.Joins.Select(j => $"[{j.Seconds:F2},{(j.Pause ? 1 : 0)},{j.PauseSeconds:F2}]")) + "]" +
                ",\"movements\":[" + string.Join(",", work.Movements.Select(m => $"[{m.Start:F2},{m.End:F2}]")) + "]," +
                string.Join(",", curves.Select(c => $"\"{c.Name}\":[{string.Join(",", c.Curve.Select(v => v.ToString("G4")))}]")) + "}");
        }
}
else if (cmd == "works")
{
    string outDir = Path.GetFullPath(args[1]);
    string root = args.Length > 2 ? args[2] : "/work/demo-base/audio";
    int seed = args.Length > 3 ? int.Parse(args[3]) : 1;
    var albums = LoadAlbums(root);
    Directory.CreateDirectory(Path.Combine(outDir, "works"));
    using var works = new StreamWriter(Path.Combine(outDir, "works_metadata.csv"));
    using var originals = new StreamWriter(Path.Combine(outDir, "movements_metadata.csv"));
    works.WriteLine("track_id,album_id,track_no,title,composer,audio_path,duration_sec");
    originals.WriteLine("track_id,album_id,track_no,title,composer,audio_path,duration_sec");
    for (int a = 0; a < albums.Count; a++)
    {
        var al = albums[a];
        var work = TestWorks.Build(al.Movements, Rate, new Random(seed * 1000 + a));
        string id = "work-" + al.Id;
        string path = Path.Combine(outDir, "works", id + ".wav");
        WavFile.Write(path, new AudioBuffer(work.Samples, Rate));
        works.WriteLine($"{id},{al.Id},1,{id},{al.Composer},{path},{work.DurationSeconds:F3}");
        for (int i = 0; i < al.Tracks.Count; i++)
        {
            var t = al.Tracks[i];
            // the originals carry the split movement ids, so both runs score the same rows
            originals.WriteLine($"{id}-m{i + 1},{id},{i + 1},{id} ({i + 1}),{t.Composer},{t.AudioUri},{t.DurationSec:F3}");
        }
        Console.WriteLine($"{id}: {al.Tracks.Count} movements, joins {string.Join(" ", work.Joins.Select(j => $"{j.Seconds:0.0}{(j.Pause ? "p" : "a")}"))}");
    }
}
else
{
    Console.Error.WriteLine("usage: SplitBench quality [audioRoot] [seeds] [method] | works OUT [audioRoot] [seed]");
    return 2;
}
return 0;

static void Add(Dictionary<string, (int, int, int)> totals, string key, BoundaryScore s)
{
    var (h, r, e) = totals.TryGetValue(key, out var t) ? t : (0, 0, 0);
    totals[key] = (h + s.Hits, r + s.Reference, e + s.Estimated);
}

static List<Album> LoadAlbums(string root)
{
    string csv = Path.Combine(root, "tracks_metadata.csv");
    if (!File.Exists(csv)) throw new FileNotFoundException($"{csv} is missing: render the dev set first (../shared/data/composer-dev/render.sh).");
    var resampler = new Dictionary<int, Resampler>();
    var list = new List<Album>();
    foreach (var g in MetadataCsv.Read(csv).GroupBy(t => t.AlbumId).OrderBy(g => g.Key, StringComparer.Ordinal))
    {
        var tracks = g.OrderBy(t => t.TrackNo ?? 0).ThenBy(t => t.TrackId, StringComparer.Ordinal).ToList();
        if (tracks.Count < 2) continue;
        var mov = new List<float[]>();
        foreach (var t in tracks)
        {
            string p = Path.IsPathRooted(t.AudioUri) ? t.AudioUri : Path.Combine(root, t.AudioUri);
            t.AudioUri = p;
            // the resampled movement is cached beside the system's temp files (SPLITBENCH_CACHE=0: no cache)
            string cache = Path.Combine(Path.GetTempPath(), "splitbench-cache", $"{t.TrackId}-{new FileInfo(p).Length}-{File.GetLastWriteTimeUtc(p).Ticks}.f32");
            if (Environment.GetEnvironmentVariable("SPLITBENCH_CACHE") != "0" && File.Exists(cache))
            {
                var bytes = File.ReadAllBytes(cache);
                var x = new float[bytes.Length / 4];
                Buffer.BlockCopy(bytes, 0, x, 0, bytes.Length);
                mov.Add(x);
                continue;
            }
            var buf = WavFile.Read(p).ToMono();
            if (!resampler.TryGetValue(buf.SampleRate, out var r)) resampler[buf.SampleRate] = r = new Resampler(buf.SampleRate, Rate);
            var y = r.Process(buf.Samples);
            mov.Add(y);
            var outBytes = new byte[y.Length * 4];
            Buffer.BlockCopy(y, 0, outBytes, 0, outBytes.Length);
            Directory.CreateDirectory(Path.GetDirectoryName(cache)!);
            File.WriteAllBytes(cache, outBytes);
        }
        list.Add(new Album(g.Key, tracks[0].Composer, tracks, mov));
    }
    return list;
}

sealed record Album(string Id, string Composer, List<MessTrack> Tracks, List<float[]> Movements);
