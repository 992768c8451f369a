using System.Diagnostics;
using System.Text;
using MessTools.Core.Analysis;
using MessTools.Core.Artifacts;
using MessTools.Core.Embedding;
using MessTools.Core.Evaluation;
using MessTools.Core.Search;
using MessTools.Tests.Infrastructure;

// AnalysisBench: one measurement per process, so the peak memory is that run's own.
//   make FOLDER N D COMPOSERS      write a synthetic artifact folder (seeded clustered rows, composer labels)
//   analysis FOLDER [K] [CLUSTERS] [SAMPLE]  the whole Measure-MessEmbedding engine: load, analyse, write analysis.json/html
//                                  (SAMPLE: -SampleSize, default 20000; 0 fits k-means on every track)
//   peer FOLDER [K]                the peer: load the same folder and run only the exact all-pairs top-K pass
// Each prints one JSON line: wall seconds, peak working set (MB), and for "analysis" the engine's per-step seconds.
string cmd = args[0], folder = args[1];
int Arg(int i, int d) => args.Length > i ? int.Parse(args[i]) : d;

if (cmd == "make")
{
    int n = Arg(2, 100_000), d = Arg(3, 256), composers = Arg(4, 100);
    var v = SyntheticVectors.Clustered(n, d, composers, 1.5, 13, out var labels);
    var store = new ArtifactStore(folder);
    var ids = Enumerable.Range(0, n).Select(i => $"t{i:D7}").ToArray();
    Directory.CreateDirectory(store.MetadataDir);
    var csv = new StringBuilder("track_id,album_id,composer,audio_s3_key\n");
    for (int i = 0; i < n; i++) csv.Append($"{ids[i]},alb{labels[i]}_{i % 20},Composer {labels[i]:D3},s3://b/{ids[i]}.wav\n");
    File.WriteAllText(store.MetadataCsv, csv.ToString());
    new EmbeddingMatrix(ids, v, d).Save(store, new EmbeddingsMeta { Model = "synthetic", Dim = d });
    Console.WriteLine($"{{\"made\":\"{folder}\",\"n\":{n},\"d\":{d},\"composers\":{composers}}}");
    return;
}

var store2 = new ArtifactStore(folder);
var sw = Stopwatch.StartNew();
string extra = "";
if (cmd == "analysis")
{
    var r = EmbeddingAnalyzer.Run(store2, new AnalysisOptions { K = Arg(2, 10), Clusters = Arg(3, 10), SampleSize = Arg(4, EmbeddingAnalyzer.DefaultSampleSize), Seed = 1 });
    var write = Stopwatch.StartNew();
    AnalysisFiles.Write(store2, r);
    extra = $",\"outside_steps_s\":{sw.Elapsed.TotalSeconds - write.Elapsed.TotalSeconds - r.Seconds.Values.Sum():F3}" + $",\"write_s\":{write.Elapsed.TotalSeconds:F3}" + ",\"steps_s\":{" + string.Join(",", r.Seconds.Select(p => $"\"{p.Key}\":{p.Value:F3}")) + "}" +
            $",\"sample_size\":{r.SampleSize?.ToString() ?? "null"},\"kmeans_iterations\":{r.ClusterIterations}" +
            $",\"effective_rank\":{r.EffectiveRank:F3},\"silhouette\":{r.Silhouette:F4},\"nmi\":{r.ClusterNmi:F4},\"inertia\":{r.ClusterInertia:F2}";
}
else if (cmd == "peer")
{
    var data = EvaluationData.Load(store2);
    double load = sw.Elapsed.TotalSeconds;
    ExactSearch.AllPairs(data.Vectors, data.Count, data.Dimension, Arg(2, 10));
    extra = $",\"load_s\":{load:F3},\"pass_s\":{sw.Elapsed.TotalSeconds - load:F3}";
}
else throw new ArgumentException("make | analysis | peer");
double wall = sw.Elapsed.TotalSeconds;
var p = Process.GetCurrentProcess();
p.Refresh();
Console.WriteLine($"{{\"bench\":\"{cmd}\",\"wall_s\":{wall:F3},\"cpu_s\":{p.TotalProcessorTime.TotalSeconds:F2},\"peak_mb\":{p.PeakWorkingSet64 / 1048576.0:F0}{extra}}}");
