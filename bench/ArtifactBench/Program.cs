// Publish-MessArtifact / Import-MessArtifact throughput against boto3, both against the same moto_server in the same run.
//   dotnet run -c Release --project bench/ArtifactBench -- [embeddingRows=400000] [runs=3] [throttleLimit=4] [partConcurrency=8] [partMiB=8]
// The set: embeddings/embeddings.f32 (rows x 256 float32), index/hnsw.index (a quarter of that), metadata, meta files and a
// run record. Each run, alternating who goes first: our publish (hash + upload) and import (download + verify + swap) into
// one bucket; boto3 upload_file and download_file (default TransferConfig) of the same files into another; the buckets are
// then deleted so moto's memory stays flat. Medians over the runs; peak RSS of each side (VmHWM reset before each phase).
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using MessTools.Core.Aws;
using MessTools.Core.Publishing;
using MessTools.Tests.Infrastructure;

int rows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 400_000;
int runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
int throttle = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 4;       // concurrent files
int parts = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 8;          // concurrent parts of one file
long partMiB = args.Length > 4 ? long.Parse(args[4], CultureInfo.InvariantCulture) : 8;     // upload part size (and multipart threshold), MiB
Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "bench");
Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "bench-secret");
Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");

using var tmp = new TempDir();
string art = Path.Combine(tmp.Path, "v1_model_builtin");
var sw0 = Stopwatch.StartNew();
WriteRandom(Path.Combine(art, "embeddings", "embeddings.f32"), (long)rows * 256 * 4, 1);
WriteRandom(Path.Combine(art, "index", "hnsw.index"), (long)rows * 256, 2);
WriteRandom(Path.Combine(art, "metadata", "tracks_metadata.csv"), rows * 60L, 3);
File.WriteAllText(Path.Combine(art, "embeddings", "embeddings_meta.json"), "{\"model\":\"builtin\",\"dim\":256}");
File.WriteAllText(Path.Combine(art, "index", "index_meta.json"), "{\"kind\":\"hnsw\"}");
Directory.CreateDirectory(Path.Combine(art, "runs"));
File.WriteAllText(Path.Combine(art, "runs", "20261125T000000.000Z_ConvertTo-MessEmbedding.json"), "{}");
var files = Directory.GetFiles(art, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
long totalBytes = files.Sum(f => new FileInfo(f).Length);
double totalMb = totalBytes / 1048576.0;
Console.WriteLine($"artifact set: {files.Count} files, {totalMb:0.0} MB (written in {sw0.Elapsed.TotalSeconds:0.0} s)");

using var moto = new MotoServer();
Console.WriteLine($"moto_server {moto.Endpoint}; python {FindPython()}; {Environment.ProcessorCount} cores");
string script = Path.Combine(tmp.Path, "boto3_peer.py");
File.WriteAllText(script, """
import sys, os, time, json, resource, boto3
ep, bucket, root, out, moto_pid = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
def moto_cpu():
    f = open(f"/proc/{moto_pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench-secret")
s3.create_bucket(Bucket=bucket)
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t, c, m = time.perf_counter(), cpu(), moto_cpu()
for f in files:
    s3.upload_file(f, bucket, "set/" + os.path.relpath(f, root))
up, up_cpu, up_moto = time.perf_counter() - t, cpu() - c, moto_cpu() - m
t = time.perf_counter()
for f in files:
    rel = os.path.relpath(f, root)
    dst = os.path.join(out, rel)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    s3.download_file(bucket, "set/" + rel, dst)
down = time.perf_counter() - t
# VmHWM, not ru_maxrss: after fork+exec ru_maxrss still carries the forking parent's peak.
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"upload": up, "upload_cpu": up_cpu, "upload_moto_cpu": up_moto, "download": down, "peak_rss_mb": hwm / 1024}))
""");

var remote = new ArtifactRemote
{
    Connection = new S3Connection { EndpointUrl = moto.Endpoint }, Prefix = "vector-artifacts", ThrottleLimit = throttle, PartConcurrency = parts,
    PartSize = partMiB << 20, MultipartThreshold = partMiB << 20,
};
Console.WriteLine($"ours: ThrottleLimit {throttle}, PartConcurrency {parts}, PartSize {partMiB} MiB");
var res = new Dictionary<string, List<double>>();
void Add(string k, double v) { if (!res.TryGetValue(k, out var l)) res[k] = l = new(); l.Add(v); }
using var s3 = new AmazonS3Client(new Amazon.Runtime.BasicAWSCredentials("bench", "bench-secret"),
    new AmazonS3Config { ServiceURL = moto.Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });

for (int run = 1; run <= runs; run++)
{
    bool botoFirst = run % 2 == 0;
    if (botoFirst) Boto(run);
    Ours(run);
    if (!botoFirst) Boto(run);
}

Console.WriteLine($"\n{totalMb:0.0} MB in {files.Count} files, medians over {runs} runs (MB/s; ratio to boto3 in the same runs):");
foreach (var (ours, peer) in new[] { ("publish", "boto3 upload_file"), ("import", "boto3 download_file") })
{
    var ratios = res[ours].Zip(res[peer], (a, b) => a / b).ToList();
    Console.WriteLine($"  {ours,-8} {Median(res[ours]),7:0.0} MB/s   {peer,-20} {Median(res[peer]),7:0.0} MB/s   ratio {Median(ratios):0.00} (runs: {string.Join(", ", ratios.Select(r => r.ToString("0.00", CultureInfo.InvariantCulture)))})");
}
foreach (var k in new[] { "publish peak MB", "import peak MB", "boto3 peak MB" })
    Console.WriteLine($"  {k,-16} {res[k].Max(),7:0} MB (max over runs)");
return 0;

void Ours(int run)
{
    string bucket = $"ours-{run}";
    s3.PutBucketAsync(bucket).GetAwaiter().GetResult();
    var rb = new ArtifactRemote { Connection = remote.Connection, Bucket = bucket, Prefix = remote.Prefix, ThrottleLimit = remote.ThrottleLimit, PartConcurrency = remote.PartConcurrency, PartSize = remote.PartSize, MultipartThreshold = remote.MultipartThreshold, RangeSize = remote.RangeSize };
    GC.Collect();
    ResetPeak();
    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    var jit0 = System.Runtime.JitInfo.GetCompilationTime();
    long methods0 = System.Runtime.JitInfo.GetCompiledMethodCount();
    var moto0 = moto.ProcessorTime;
    var sw = Stopwatch.StartNew();
    var pub = MessTools.Core.Jobs.PublishJob.RunAsync(rb, new PublishRequest { ArtifactPath = art }, new MessTools.Core.Jobs.NullJobHost("Publish-MessArtifact")).GetAwaiter().GetResult();
    double up = sw.Elapsed.TotalSeconds;
    double upCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
    double upJit = (System.Runtime.JitInfo.GetCompilationTime() - jit0).TotalSeconds;
    long upMethods = System.Runtime.JitInfo.GetCompiledMethodCount() - methods0;
    double upMoto = (moto.ProcessorTime - moto0).TotalSeconds;
    double upPeak = PeakMb();
    string dst = Path.Combine(tmp.Path, $"import-{run}");
    GC.Collect();
    ResetPeak();
    sw.Restart();
    var imp = MessTools.Core.Jobs.ImportJob.RunAsync(rb, new ImportRequest { Model = "builtin", ArtifactPath = dst }, new MessTools.Core.Jobs.NullJobHost("Import-MessArtifact")).GetAwaiter().GetResult();
    double down = sw.Elapsed.TotalSeconds;
    double downPeak = PeakMb();
    if (imp.DownloadedFiles != files.Count || pub.UploadedFiles != files.Count) throw new InvalidOperationException("not a full transfer");
    Add("publish", totalMb / up); Add("import", totalMb / down);
    Add("publish peak MB", upPeak); Add("import peak MB", downPeak);
    Console.WriteLine($"run {run}: ours   publish {up,6:0.00} s {totalMb / up,6:0.0} MB/s (CPU {upCpu:0.00} s of which JIT {upJit:0.00} s for {upMethods} methods, moto CPU {upMoto:0.00} s, peak RSS {upPeak:0} MB)   import {down,6:0.00} s {totalMb / down,6:0.0} MB/s (peak RSS {downPeak:0} MB)");
    Directory.Delete(dst, true);
    DeleteBucket(bucket);
}

void Boto(int run)
{
    string bucket = $"boto-{run}";
    string outDir = Path.Combine(tmp.Path, $"boto-{run}");
    var psi = new ProcessStartInfo(FindPython()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (var x in new[] { script, moto.Endpoint, bucket, art, outDir, moto.ProcessId.ToString(CultureInfo.InvariantCulture) }) psi.ArgumentList.Add(x);
    using var p = Process.Start(psi)!;
    string o = p.StandardOutput.ReadToEnd(), e = p.StandardError.ReadToEnd();
    p.WaitForExit();
    if (p.ExitCode != 0) throw new InvalidOperationException("boto3 run failed: " + e);
    using var doc = JsonDocument.Parse(o);
    double up = doc.RootElement.GetProperty("upload").GetDouble(), down = doc.RootElement.GetProperty("download").GetDouble();
    double peak = doc.RootElement.GetProperty("peak_rss_mb").GetDouble();
    double upCpu = doc.RootElement.GetProperty("upload_cpu").GetDouble(), upMoto = doc.RootElement.GetProperty("upload_moto_cpu").GetDouble();
    Add("boto3 upload_file", totalMb / up); Add("boto3 download_file", totalMb / down); Add("boto3 peak MB", peak);
    Console.WriteLine($"run {run}: boto3  upload  {up,6:0.00} s {totalMb / up,6:0.0} MB/s (CPU {upCpu:0.00} s, moto CPU {upMoto:0.00} s)   download {down,6:0.00} s {totalMb / down,6:0.0} MB/s (peak RSS {peak:0} MB)");
    Directory.Delete(outDir, true);
    DeleteBucket(bucket);
}

void DeleteBucket(string bucket)
{
    string? token = null;
    do
    {
        var page = s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, ContinuationToken = token }).GetAwaiter().GetResult();
        foreach (var o in page.S3Objects ?? new()) s3.DeleteObjectAsync(bucket, o.Key).GetAwaiter().GetResult();
        token = page.IsTruncated == true ? page.NextContinuationToken : null;
    } while (token is not null);
    s3.DeleteBucketAsync(bucket).GetAwaiter().GetResult();
}

static void WriteRandom(string path, long bytes, int seed)
{
    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
    var rng = new Random(seed);
    var buf = new byte[1 << 20];
    using var fs = File.Create(path);
    for (long left = bytes; left > 0; left -= buf.Length)
    {
        rng.NextBytes(buf);
        fs.Write(buf, 0, (int)Math.Min(buf.Length, left));
    }
}

static void ResetPeak() { try { File.WriteAllText("/proc/self/clear_refs", "5"); } catch (Exception) { } }

static double PeakMb()
{
    foreach (var line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    return double.NaN;
}

static double Median(List<double> v) { var s = v.Order().ToList(); return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }

static string FindPython()
{
    foreach (var c in new[] { Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".pyenv/shims/python3"), "/usr/local/bin/python3", "/usr/bin/python3" })
        if (File.Exists(c)) return c;
    return "python3";
}
