using System.Diagnostics;
using System.Globalization;
using MessTools;
using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Catalog;
using MessTools.Tests.Infrastructure;

// Usage:
//   dotnet run -c Release --project bench/AudioBench -- decode [CSV=/tmp/composer-dev/tracks_metadata_mixed.csv] [RATE=24000] [RUNS=3]
//   dotnet run -c Release --project bench/AudioBench -- s3 [COUNT=200] [MB=5] [RUNS=3] [THROTTLES=1,4,8]
// Every figure is measured against its peer (bare ffmpeg, boto3) in the same session, runs interleaved; medians reported.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
string mode = args.Length > 0 ? args[0] : "decode";
return mode switch
{
    "decode" => Bench.Decode(args.Skip(1).ToArray()),
    "s3" => Bench.S3(args.Skip(1).ToArray()),
    "s3probe" => Bench.S3Probe(args.Skip(1).ToArray()),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("AudioBench decode [CSV] [RATE] [RUNS] | s3 [COUNT] [MB] [RUNS] [THROTTLES]");
    return 2;
}

static class Bench
{
    public static int Decode(string[] a)
    {
        string csv = a.Length > 0 ? a[0] : "/tmp/composer-dev/tracks_metadata_mixed.csv";
        int rate = a.Length > 1 ? int.Parse(a[1]) : 24000;
        int runs = a.Length > 2 ? int.Parse(a[2]) : 3;
        if (!File.Exists(csv)) { Console.Error.WriteLine($"{csv} missing: run /work/shared/data/composer-dev/render.sh /tmp/composer-dev"); return 2; }
        string root = Path.GetDirectoryName(Path.GetFullPath(csv))!;
        var tracks = ReadTracks(csv);
        var files = tracks.Select(t => Path.Combine(root, t.AudioUri)).ToList();
        string ffmpeg = FfmpegDecoder.Locate(null);
        int cores = Environment.ProcessorCount;
        Console.WriteLine($"{tracks.Count} tracks ({string.Join(", ", files.GroupBy(f => Path.GetExtension(f)).Select(g => $"{g.Count()} {g.Key}"))}), {cores} cores, target {rate} Hz");

        var results = new Dictionary<string, List<(double Sec, double AudioSec, double Cpu)>>();
        void Add(string k, (double, double, double) v) { if (!results.TryGetValue(k, out var l)) results[k] = l = new(); l.Add(v); }
        double audioTotal = 0;
        for (int run = 1; run <= runs; run++)
        {
            // Bare ffmpeg, as many at once as there are cores (xargs -P), stdout to /dev/null.
            var bare = Measure(() => Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = cores }, f =>
            {
                var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
                psi.ArgumentList.Add("-c");
                psi.ArgumentList.Add($"exec \"$0\" -nostdin -v error -i \"$1\" -ac 1 -ar {rate} -f f32le - >/dev/null");
                psi.ArgumentList.Add(ffmpeg);
                psi.ArgumentList.Add(f);
                using var p = Process.Start(psi)!;
                p.WaitForExit();
                if (p.ExitCode != 0) throw new InvalidOperationException("ffmpeg failed on " + f);
            }));
            // Get-MessAudio's engine end to end: resolve, fetch (local: in place), decode through the pipe, check, write audio_wav/.
            using var tmp = new TempDir();
            var store = new ArtifactStore(tmp.Path);
            double audio = 0;
            var ours = Measure(() =>
            {
                using var fetcher = new AudioFetcher(store, new AudioFetchOptions { AudioRoot = root });
                var std = new AudioStandardizer(store, new FfmpegDecoder(ffmpeg), new StandardizeOptions { SampleRate = rate, Force = true });
                using var p = new AudioPipeline(fetcher, std, 4);
                foreach (var t in tracks)
                {
                    p.Post(t);
                    while (p.Pending >= p.Window) if (p.TryTake(out var r, 1000)) audio += Check(r);
                }
                while (p.Pending > 0) if (p.TryTake(out var r, 1000)) audio += Check(r);
            });
            // The decoder alone (what the embedding stage calls): samples into memory, no WAV written.
            var dec = new FfmpegDecoder(ffmpeg);
            double audio2 = 0;
            var memOnly = Measure(() => Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = cores }, f =>
            {
                var b = dec.DecodeAsync(f, rate).GetAwaiter().GetResult();
                lock (files) audio2 += b.DurationSec;
            }));
            audioTotal = audio;
            Add("bare ffmpeg (-P cores)", (bare.Wall, audio, bare.Cpu));
            Add("Get-MessAudio engine (decode+check+write wav)", (ours.Wall, audio, ours.Cpu));
            Add("FfmpegDecoder.DecodeAsync (memory)", (memOnly.Wall, audio2, memOnly.Cpu));
            Console.WriteLine($"run {run}: bare {bare.Wall:0.00}s cpu {bare.Cpu:P0} | engine {ours.Wall:0.00}s cpu {ours.Cpu:P0} | decoder {memOnly.Wall:0.00}s cpu {memOnly.Cpu:P0}");
        }
        Console.WriteLine($"\naudio per run: {audioTotal:0.0} s; medians over {runs} runs (cpu = share of all {cores} cores busy):");
        double bareMed = Median(results["bare ffmpeg (-P cores)"].Select(r => r.AudioSec / r.Sec));
        foreach (var (k, l) in results)
        {
            double thr = Median(l.Select(r => r.AudioSec / r.Sec));
            Console.WriteLine($"  {k,-48} {thr,8:0.0} audio-s/s   {thr / bareMed,5:0.00} x bare   cpu {Median(l.Select(r => r.Cpu)):P0}");
        }
        return 0;
    }

    private static double Check(AudioJobResult r)
    {
        if (r.Error is not null) throw r.Error;
        return r.Standardized!.DurationSec;
    }

    public static int S3(string[] a)
    {
        int count = a.Length > 0 ? int.Parse(a[0]) : 200;
        int mb = a.Length > 1 ? int.Parse(a[1]) : 5;
        int runs = a.Length > 2 ? int.Parse(a[2]) : 3;
        int[] throttles = (a.Length > 3 ? a[3] : "1,4,8").Split(',').Select(int.Parse).ToArray();
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "bench");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "bench-secret");
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
        using var moto = new MotoServer();
        moto.CreateBucket("bench");
        var body = new byte[mb << 20];
        var sw0 = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            new Random(i).NextBytes(body.AsSpan(0, 4096)); // distinct objects, cheap
            moto.PutObject("bench", $"obj/{i:0000}.mp3", body);
        }
        Console.WriteLine($"moto {moto.Endpoint}: {count} x {mb} MB seeded in {sw0.Elapsed.TotalSeconds:0.0} s");
        double totalMb = (double)count * mb;
        var tracks = Enumerable.Range(0, count).Select(i => new MessTrack { TrackId = $"t{i:0000}", AlbumId = "b", AudioUri = $"s3://bench/obj/{i:0000}.mp3" }).ToList();
        var res = new Dictionary<string, List<double>>();
        void Add(string k, double v) { if (!res.TryGetValue(k, out var l)) res[k] = l = new(); l.Add(v); }
        string py = FindPython();
        string script = Path.Combine(Path.GetTempPath(), "messbench_boto3.py");
        File.WriteAllText(script, """
import sys, time, os, boto3
from botocore.config import Config
ep, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench-secret")
t = time.perf_counter()
for i in range(n):
    s3.download_file("bench", f"obj/{i:04d}.mp3", os.path.join(out, f"{i:04d}.mp3"))
print(time.perf_counter() - t)
""");
        for (int run = 1; run <= runs; run++)
        {
            foreach (int th in throttles)
            {
                using var tmp = new TempDir();
                var store = new ArtifactStore(tmp.Path);
                var m = Measure(() =>
                {
                    using var f = new AudioFetcher(store, new AudioFetchOptions { EndpointUrl = moto.Endpoint });
                    using var p = new AudioPipeline(f, null, th);
                    foreach (var t in tracks)
                    {
                        p.Post(t);
                        while (p.Pending >= p.Window) if (p.TryTake(out var r, 1000) && r.Error is not null) throw r.Error;
                    }
                    while (p.Pending > 0) if (p.TryTake(out var r, 1000) && r.Error is not null) throw r.Error;
                });
                Add($"Get-MessAudio -ThrottleLimit {th}", totalMb / m.Wall);
                Console.WriteLine($"run {run}: throttle {th}: {m.Wall:0.00} s, {totalMb / m.Wall:0.0} MB/s");
            }
            using (var tmp = new TempDir())
            {
                var psi = new ProcessStartInfo(py) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var x in new[] { script, moto.Endpoint, count.ToString(), tmp.Path }) psi.ArgumentList.Add(x);
                using var p = Process.Start(psi)!;
                string o = p.StandardOutput.ReadToEnd(), e = p.StandardError.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode != 0) throw new InvalidOperationException("boto3 run failed: " + e);
                double sec = double.Parse(o.Trim(), CultureInfo.InvariantCulture);
                Add("boto3 download_file loop", totalMb / sec);
                Console.WriteLine($"run {run}: boto3: {sec:0.00} s, {totalMb / sec:0.0} MB/s");
            }
        }
        Console.WriteLine($"\n{count} x {mb} MB, medians over {runs} runs:");
        double boto = Median(res["boto3 download_file loop"]);
        foreach (var (k, l) in res) Console.WriteLine($"  {k,-32} {Median(l),8:0.0} MB/s  {Median(l) / boto,5:0.00} x boto3");
        return 0;
    }

    /// <summary>Where the time of one sequential download goes: raw SDK copy, + fsync, + MD5, the fetcher.</summary>
    public static int S3Probe(string[] a)
    {
        int count = a.Length > 0 ? int.Parse(a[0]) : 60;
        int mb = a.Length > 1 ? int.Parse(a[1]) : 5;
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "bench");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "bench-secret");
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
        using var moto = new MotoServer();
        moto.CreateBucket("bench");
        var body = new byte[mb << 20];
        for (int i = 0; i < count; i++) { new Random(i).NextBytes(body.AsSpan(0, 4096)); moto.PutObject("bench", $"obj/{i:0000}.mp3", body); }
        using var s3 = new Amazon.S3.AmazonS3Client(new Amazon.Runtime.BasicAWSCredentials("bench", "bench-secret"),
            new Amazon.S3.AmazonS3Config { ServiceURL = moto.Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 });
        using var s3n = new Amazon.S3.AmazonS3Client(new Amazon.Runtime.BasicAWSCredentials("bench", "bench-secret"),
            new Amazon.S3.AmazonS3Config { ServiceURL = moto.Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0,
                ResponseChecksumValidation = Amazon.Runtime.ResponseChecksumValidation.WHEN_REQUIRED });
        using (var r0 = s3.GetObjectAsync("bench", "obj/0000.mp3").GetAwaiter().GetResult())
            Console.WriteLine($"checksums: crc32={r0.ChecksumCRC32} crc32c={r0.ChecksumCRC32C} crc64={r0.ChecksumCRC64NVME} sha256={r0.ChecksumSHA256} type={r0.ChecksumType} etag={r0.ETag} stream={r0.ResponseStream.GetType().FullName}");
        for (int run = 0; run < 3; run++)
        {
            foreach (var mode in new[] { "sdk-raw", "sdk-nochk", "sdk+fsync", "sdk+md5", "fetcher" })
            {
                using var tmp = new TempDir();
                var store = new ArtifactStore(tmp.Path);
                using var f = new AudioFetcher(store, new AudioFetchOptions { EndpointUrl = moto.Endpoint });
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < count; i++)
                {
                    string key = $"obj/{i:0000}.mp3", path = Path.Combine(tmp.Path, $"{i}.bin");
                    if (mode == "fetcher") { f.FetchAsync(new MessTrack { TrackId = $"t{i}", AlbumId = "b" }, new AudioSource(AudioSourceKind.S3, key, "bench", key), null, default).GetAwaiter().GetResult(); continue; }
                    using var resp = (mode == "sdk-nochk" ? s3n : s3).GetObjectAsync("bench", key).GetAwaiter().GetResult();
                    using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
                    if (mode == "sdk+md5")
                    {
                        using var md5 = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.MD5);
                        var buf = new byte[1 << 17]; int n;
                        while ((n = resp.ResponseStream.Read(buf)) > 0) { fs.Write(buf, 0, n); md5.AppendData(buf, 0, n); }
                        md5.GetHashAndReset();
                    }
                    else resp.ResponseStream.CopyTo(fs);
                    if (mode == "sdk+fsync") fs.Flush(flushToDisk: true);
                }
                Console.WriteLine($"run {run}: {mode,-10} {count * mb / sw.Elapsed.TotalSeconds,7:0.0} MB/s");
            }
        }
        return 0;
    }

    private static string FindPython()
    {
        foreach (var c in new[] { Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".pyenv/shims/python3"), "/usr/local/bin/python3", "/usr/bin/python3" })
            if (File.Exists(c)) return c;
        return "python3";
    }

    private static List<MessTrack> ReadTracks(string csv)
    {
        var lines = File.ReadAllLines(csv);
        var head = lines[0].Split(',');
        int id = Array.IndexOf(head, "track_id"), album = Array.IndexOf(head, "album_id"), path = Array.IndexOf(head, "audio_path");
        // composer-dev has no quoted commas in these three columns; titles are not needed here.
        return lines.Skip(1).Where(l => l.Length > 0).Select(l =>
        {
            var c = l.Split(',');
            return new MessTrack { TrackId = c[id], AlbumId = c[album], AudioUri = c[^2] };
        }).ToList();
    }

    private static (double Wall, double Cpu) Measure(Action a)
    {
        var (u0, c0) = CpuSeconds();
        var sw = Stopwatch.StartNew();
        a();
        double wall = sw.Elapsed.TotalSeconds;
        var (u1, c1) = CpuSeconds();
        return (wall, ((u1 - u0) + (c1 - c0)) / wall / Environment.ProcessorCount);
    }

    /// <summary>This process's CPU seconds and its reaped children's (/proc/self/stat utime+stime, cutime+cstime).</summary>
    private static (double Self, double Children) CpuSeconds()
    {
        try
        {
            string stat = File.ReadAllText("/proc/self/stat");
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            double tick = 100.0;
            return ((long.Parse(f[11]) + long.Parse(f[12])) / tick, (long.Parse(f[13]) + long.Parse(f[14])) / tick);
        }
        catch (Exception) { return (Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, 0); }
    }

    private static double Median(IEnumerable<double> xs)
    {
        var s = xs.OrderBy(x => x).ToArray();
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
