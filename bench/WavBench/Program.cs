// WavBench: read and write the demo WAVs with MessTools' WavFile and with NAudio.Core 2.2.1, alternating, several
// rounds; prints the median throughput (audio seconds per wall second) of each and the ratio.
//   dotnet run -c Release --project bench/WavBench -- <rendered demo, e.g. /tmp/messtools-demo/audio/audio> [rounds]
using System.Diagnostics;
using MessTools.Core.Audio;
using NAudio.Wave;

string root = args.Length > 0 ? args[0] : "../shared/demo-audio/audio";
int rounds = args.Length > 1 ? int.Parse(args[1]) : 7;
var files = Directory.GetFiles(root, "*.wav", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal).ToArray();
if (files.Length == 0) { Console.Error.WriteLine($"No WAV files under {root}."); return 1; }
double audioSec = files.Sum(f => WavFile.TryReadInfo(f)!.DurationSec);
string tmp = Directory.CreateTempSubdirectory("wavbench-").FullName;
Console.WriteLine($"{files.Length} files, {audioSec:N0} s of audio, {files.Sum(f => new FileInfo(f).Length) / 1048576.0:N0} MB; {rounds} rounds, alternating");

// Reading: to mono float samples, as the embedders take them.
float[] OursRead(string f) => WavFile.Read(f).ToMono().Samples;
float[] NAudioRead(string f)
{
    using var r = new WaveFileReader(f);
    var sp = r.ToSampleProvider();
    var all = new float[(int)(r.SampleCount * r.WaveFormat.Channels)];
    int n = 0, got;
    while ((got = sp.Read(all, n, Math.Min(65536, all.Length - n))) > 0) n += got;
    return all;
}
// Writing: 32-bit float mono, as Get-MessAudio's standardised audio.
void OursWrite(string path, float[] x, int rate) => WavFile.Write(path, new AudioBuffer(x, rate), WavSampleFormat.Float32);
void NAudioWrite(string path, float[] x, int rate)
{
    // The samples' bytes in one call: NAudio's fastest path (WriteSamples converts sample by sample, about 5x slower).
    using var w = new WaveFileWriter(path, WaveFormat.CreateIeeeFloatWaveFormat(rate, 1));
    var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()).ToArray();
    w.Write(bytes, 0, bytes.Length);
}

var samples = files.Select(f => (Data: OursRead(f), Rate: WavFile.TryReadInfo(f)!.SampleRate)).ToArray();
// Same samples from both readers (a correctness check before timing).
for (int i = 0; i < files.Length; i++)
{
    var a = samples[i].Data; var b = NAudioRead(files[i]);
    if (a.Length != b.Length || a.Where((v, j) => Math.Abs(v - b[j]) > 1e-6f).Any()) { Console.Error.WriteLine($"Readers disagree on {files[i]}"); return 2; }
}

double Time(Action body) { var sw = Stopwatch.StartNew(); body(); return sw.Elapsed.TotalSeconds; }
var res = new Dictionary<string, List<double>> { ["read ours"] = new(), ["read naudio"] = new(), ["write ours"] = new(), ["write naudio"] = new() };
for (int round = 0; round < rounds + 1; round++)
{
    bool oursFirst = round % 2 == 0;
    var order = oursFirst ? new[] { "ours", "naudio" } : new[] { "naudio", "ours" };
    foreach (var who in order)
    {
        double r = Time(() => { foreach (var f in files) _ = who == "ours" ? OursRead(f) : NAudioRead(f); });
        double w = Time(() => { for (int i = 0; i < files.Length; i++) { string p = Path.Combine(tmp, $"{i}.wav"); if (who == "ours") OursWrite(p, samples[i].Data, samples[i].Rate); else NAudioWrite(p, samples[i].Data, samples[i].Rate); } });
        if (round == 0) continue; // warm-up (JIT, page cache)
        res[$"read {who}"].Add(audioSec / r); res[$"write {who}"].Add(audioSec / w);
    }
}
Directory.Delete(tmp, true);
static double Median(List<double> v) { var s = v.Order().ToList(); return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }
foreach (var op in new[] { "read", "write" })
{
    double o = Median(res[$"{op} ours"]), n = Median(res[$"{op} naudio"]);
    Console.WriteLine($"{op,-5}  WavFile {o,9:N0}x  NAudio {n,9:N0}x  (audio-s per wall-s, median of {rounds})  NAudio/WavFile {n / o:0.00}" +
                      $"   [WavFile {string.Join(' ', res[$"{op} ours"].Select(x => x.ToString("N0")))}; NAudio {string.Join(' ', res[$"{op} naudio"].Select(x => x.ToString("N0")))}]");
}
return 0;
