// VectorBench: on N x DIM clustered unit vectors (default 20,000 x 256), in one run and one process:
//  - publish time into pgvector (PGlite: PostgreSQL + pgvector 0.8.7 compiled to WebAssembly, single-threaded) with
//    m=16, ef_construction=64, against our file index build (New-MessIndex's engine) with the same M and efConstruction;
//  - query throughput (sequential, one query at a time, by track id, K=10) and recall@10 against our exact search,
//    at ef_search 40, 80 and 160, for pgvector and for our HNSW index file, alternating, ROUNDS times; medians reported.
// Arguments: N DIM QUERIES ROUNDS NOISE (default 20000 256 300 3 0.9).
using System.Diagnostics;
using System.Globalization;
using MessTools.Core.Artifacts;
using MessTools;
using MessTools.Core.Catalog;
using MessTools.Core.Embedding;
using MessTools.Core.Index;
using MessTools.Core.VectorStore;
using MessTools.Tests.Infrastructure;

int n = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
int dim = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 256;
int queries = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 300;
int rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 3;
// Per-dimension noise around 64 cluster centres: 0.9 gives tight clusters (every ef finds them), 3 a harder spread.
double noise = args.Length > 4 ? double.Parse(args[4], CultureInfo.InvariantCulture) : 0.9;
const int K = 10, M = 16, EfConstruction = 64;
int[] efs = { 40, 80, 160 };

Console.WriteLine($"VectorBench: {n:N0} x {dim} (noise {noise}), {queries} queries x {rounds} rounds, K={K}, M={M}, efConstruction={EfConstruction}; {Environment.ProcessorCount} cores");
string root = Path.Combine(Path.GetTempPath(), "vectorbench-" + Guid.NewGuid().ToString("N")[..8]);
try
{
    var ids = Enumerable.Range(0, n).Select(i => $"t{i:D6}").ToArray();
    var data = SyntheticVectors.Clustered(n, dim, 64, noise, 11);
    var store = new ArtifactStore(root);
    new EmbeddingMatrix(ids, data, dim).Save(store, new EmbeddingsMeta { Model = "bench" });
    using (var w = new MetadataCsv.Writer(store.MetadataCsv))
    {
        for (int i = 0; i < n; i++)
            w.Write(new MessTrack { TrackId = ids[i], AlbumId = $"a{i / 10:D5}", Composer = $"c{i % 20}", Title = "T" + i, AudioUri = $"s3://b/{i}.wav" });
        w.Commit();
    }

    // Our file index, and the exact answers (our flat search) as ground truth.
    var sw = Stopwatch.StartNew();
    var built = IndexBuilder.Build(store, new IndexBuildOptions { Kind = IndexKind.Hnsw, Parameters = new HnswParameters { M = M, EfConstruction = EfConstruction }, RecallSampleSize = 0 });
    IndexBuilder.Write(store, built);
    double fileBuild = sw.Elapsed.TotalSeconds;
    var file = NeighborFinder.Open(store);
    var rng = new Random(5);
    var sample = Enumerable.Range(0, queries).Select(_ => ids[rng.Next(n)]).Distinct().ToArray();
    var truth = sample.ToDictionary(id => id, id => file.ByTrackId(id, new NeighborQuery { K = K, Exact = true }).Select(r => r.TrackId).ToHashSet());

    Console.WriteLine("Starting PGlite ...");
    sw.Restart();
    using var pg = new PgliteServer();
    Console.WriteLine($"PGlite listening after {sw.Elapsed.TotalSeconds:F1} s");
    using var table = VectorTable.Create(pg.ConnectionString, "bench");
    var phases = new Dictionary<string, double>();
    string? phase = null;
    var phaseClock = Stopwatch.StartNew();
    sw.Restart();
    var published = VectorPublisher.Publish(store, table, new VectorPublishOptions { M = M, EfConstruction = EfConstruction, BatchSize = 500 },
        p =>
        {
            if (p.Phase == phase) return;
            if (phase is not null) phases[phase] = phaseClock.Elapsed.TotalSeconds;
            phase = p.Phase;
            phaseClock.Restart();
        });
    double publish = sw.Elapsed.TotalSeconds;
    if (phase is not null) phases[phase] = phaseClock.Elapsed.TotalSeconds;
    Console.WriteLine($"publish: {published.Inserted:N0} rows in {publish:F1} s (" + string.Join(", ", phases.Select(p => $"{p.Key}: {p.Value:F1} s")) + ")");
    Console.WriteLine($"file index build (ours, {Environment.ProcessorCount} threads): {fileBuild:F1} s; publish/build = {publish / fileBuild:F1}x");
    sw.Restart();
    var again = VectorPublisher.Publish(store, table, new VectorPublishOptions { M = M, EfConstruction = EfConstruction });
    Console.WriteLine($"second publish (nothing to do): {sw.Elapsed.TotalSeconds:F1} s, {again.Inserted + again.Updated + again.Deleted} rows written");

    using var db = VectorStoreFinder.Open(pg.ConnectionString, "bench");
    var results = new Dictionary<(string Backend, int Ef), List<(double Qps, double Recall)>>();
    for (int round = 0; round < rounds; round++)
        foreach (int ef in efs)
            foreach (var (name, search) in new (string, INeighborSearch)[] { ("pgvector", db), ("file", file) })
            {
                var q = new NeighborQuery { K = K, EfSearch = ef };
                int hit = 0;
                var t = Stopwatch.StartNew();
                foreach (string id in sample)
                {
                    var got = search.ByTrackId(id, q);
                    hit += got.Count(r => truth[id].Contains(r.TrackId));
                }
                double secs = t.Elapsed.TotalSeconds;
                var key = (name, ef);
                if (!results.TryGetValue(key, out var list)) results[key] = list = new();
                list.Add((sample.Length / secs, (double)hit / (sample.Length * K)));
            }

    static double Median(IEnumerable<double> xs) { var a = xs.Order().ToArray(); return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2; }
    Console.WriteLine();
    Console.WriteLine($"| ef_search | pgvector q/s | pgvector recall@10 | file q/s | file recall@10 | file/pgvector q/s |");
    Console.WriteLine($"|---:|---:|---:|---:|---:|---:|");
    foreach (int ef in efs)
    {
        double pq = Median(results[("pgvector", ef)].Select(r => r.Qps)), pr = Median(results[("pgvector", ef)].Select(r => r.Recall));
        double fq = Median(results[("file", ef)].Select(r => r.Qps)), fr = Median(results[("file", ef)].Select(r => r.Recall));
        Console.WriteLine($"| {ef} | {pq:F0} | {pr:F4} | {fq:F0} | {fr:F4} | {fq / pq:F0}x |");
    }
    Console.WriteLine($"(medians of {rounds} rounds of {sample.Length} sequential queries each; recall against our exact search, query track excluded)");
}
finally
{
    try { Directory.Delete(root, true); } catch (IOException) { }
}
