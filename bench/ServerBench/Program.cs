using System.Diagnostics;
using System.Globalization;
using MessTools;
using MessTools.Core.Artifacts;
using MessTools.Core.Catalog;
using MessTools.Core.Embedding;
using MessTools.Core.Index;

// ServerBench prepare ART [--n 100000] [--d 256]: embeddings (the index benchmark's vectors, /tmp/ann_N_D.f32 from
//   make_vectors.py), synthetic metadata (8 composers, albums of 12), HNSW M 16, efConstruction 200, efSearch 80.
// ServerBench startup ART: the phases of the server's load, each timed, with heap and resident memory after each.
// ServerBench metadata ART: the metadata read in layers (CSV parse, + the export checks, the served table), cold then warm.
// ServerBench inproc ART [--queries 20000]: NeighborFinder.ByTrackId(k=10) on random ids, one thread: median, p99, QPS.
string? Opt(string name) { int i = Array.IndexOf(args, "--" + name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }
if (args.Length < 2) { Console.Error.WriteLine("usage: ServerBench prepare|inproc ART"); return 2; }
var store = new ArtifactStore(args[1]);
int n = int.Parse(Opt("n") ?? "100000", CultureInfo.InvariantCulture), d = int.Parse(Opt("d") ?? "256", CultureInfo.InvariantCulture);
string Id(int i) => $"trk{i:D6}";

if (args[0] == "prepare")
{
    string src = $"/tmp/ann_{n}_{d}.f32";
    if (!File.Exists(src)) { Console.Error.WriteLine($"{src} is missing: /usr/bin/python3 bench/ServerBench/make_vectors.py {n} {d}"); return 1; }
    var bytes = File.ReadAllBytes(src);
    var data = new float[(long)n * d];
    Buffer.BlockCopy(bytes, 0, data, 0, bytes.Length);
    new EmbeddingMatrix(Enumerable.Range(0, n).Select(Id).ToArray(), data, d).Save(store, new EmbeddingsMeta { Model = "ann_anchor" });
    string[] composers = { "Chopin", "Liszt", "Rachmaninoff", "Debussy", "Ravel", "Schumann", "Brahms", "Bach" };
    using (var w = new MetadataCsv.Writer(store.MetadataCsv))
    {
        for (int i = 0; i < n; i++)
            w.Write(new MessTrack { TrackId = Id(i), AlbumId = $"alb{i / 12:D5}", TrackNo = i % 12 + 1, Title = $"Piece number {i}", Composer = composers[i % composers.Length], AudioUri = $"s3://music/{Id(i)}.flac" });
        w.Commit();
    }
    var clock = Stopwatch.StartNew();
    var result = IndexBuilder.Build(store, new IndexBuildOptions { Parameters = new HnswParameters { M = 16, EfConstruction = 200, EfSearch = 80, Seed = 1 } });
    IndexBuilder.Write(store, result);
    // The binary track table, as New-MessIndex writes it: without it the server parses the 100k-row CSV at start.
    if (TrackInfoTable.WriteTable(store) is { } noTable) { Console.Error.WriteLine($"no track table written: {noTable}"); return 1; }
    Console.WriteLine($"prepared {store.Root}: {n} x {d}, build {clock.Elapsed.TotalSeconds:F1} s, recall@10 {result.Info.RecallAt10}, index {new FileInfo(store.HnswIndexFile).Length / 1048576.0:F1} MiB");
    return 0;
}
if (args[0] == "inproc")
{
    int queries = int.Parse(Opt("queries") ?? "20000", CultureInfo.InvariantCulture);
    int threads = int.Parse(Opt("threads") ?? "1", CultureInfo.InvariantCulture);
    var finder = NeighborFinder.Open(store);
    if (threads > 1)
    {
        // The same query from several threads at once (as the server's requests run): throughput only.
        var sw = Stopwatch.StartNew();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            var r = new Random(t);
            var qq = new NeighborQuery { K = 10 };
            for (int i = 0; i < queries / threads; i++) finder.ByTrackId(Id(r.Next(n)), qq);
        });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{{\"inproc_threads\":{threads},\"qps\":{queries / sw.Elapsed.TotalSeconds:F0}}}"));
        return 0;
    }
    var rng = new Random(1);
    var q = new NeighborQuery { K = 10 };
    for (int i = 0; i < 2000; i++) finder.ByTrackId(Id(rng.Next(n)), q); // warm-up
    var lat = new double[queries];
    var total = Stopwatch.StartNew();
    for (int i = 0; i < queries; i++)
    {
        long t0 = Stopwatch.GetTimestamp();
        finder.ByTrackId(Id(rng.Next(n)), q);
        lat[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }
    double secs = total.Elapsed.TotalSeconds;
    Array.Sort(lat);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{{\"inproc_queries\":{queries},\"qps\":{queries / secs:F0},\"median_ms\":{lat[queries / 2]:F4},\"p99_ms\":{lat[(int)(queries * 0.99)]:F4}}}"));
    return 0;
}
if (args[0] == "startup")
{
    // The phases of the server's start-up load (ArtifactCatalog.Load) one after another on one thread, each timed, with the
    // managed heap and resident memory after each: where /readyz's time and the resident memory go.
    var clock = Stopwatch.StartNew();
    double last = 0;
    void Phase(string name)
    {
        double now = clock.Elapsed.TotalMilliseconds;
        using var self = Process.GetCurrentProcess();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"phase\":\"{name}\",\"ms\":{now - last:F1},\"heap_mib\":{GC.GetTotalMemory(false) / 1048576.0:F1},\"rss_mib\":{self.WorkingSet64 / 1048576.0:F1}}}"));
        last = clock.Elapsed.TotalMilliseconds;
    }
    Phase("start");
    var index = IndexFile.Load(store.HnswIndexFile);
    Phase("index_load");
    IndexConsistency.Require(store, index, store.HnswIndexFile);
    Phase("index_consistency");
    var info = TrackInfoTable.Load(store); // index/track_table.bin while the CSV is unchanged, else the CSV
    Phase("metadata_" + (info?.Source ?? "none"));
    IndexConsistency.VerifyEmbeddingsFile(store);
    Phase("embeddings_verify");
    IndexBuilder.ReadCurrentInfo(store, store.HnswIndexFile);
    Phase("index_meta");
    GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    Phase("gc_collect");
    var finder = NeighborFinder.Open(store);
    Phase("neighborfinder_open_again");
    GC.KeepAlive(index); GC.KeepAlive(info); GC.KeepAlive(finder);
    return 0;
}
if (args[0] == "metadata")
{
    // The metadata read split in its layers, cold (first) then warm (4 more rounds), to see what the per-row checks cost
    // beside the CSV parse: raw rows (CsvHelper), rows through the exporter's checks, the served table (pooled strings).
    // Wall and process CPU milliseconds (CPU time is the steadier figure on a busy machine; it includes the JIT's threads).
    static (double Wall, double Cpu) Time(Action a)
    {
        using var self = Process.GetCurrentProcess();
        var cpu0 = self.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        a();
        self.Refresh();
        return (sw.Elapsed.TotalMilliseconds, (self.TotalProcessorTime - cpu0).TotalMilliseconds);
    }
    // The checks alone: the rows parsed once into memory, then the exporter over them, 15 rounds; the least CPU time
    // (a busy machine's other work only ever adds to it).
    List<RawCatalogRow> parsed;
    IReadOnlyList<string> columns;
    using (var source = new CsvCatalogSource(store.MetadataCsv)) { columns = source.Columns; parsed = source.ReadRows(default).ToList(); }
    double best = double.MaxValue;
    for (int round = 0; round < 15; round++)
    {
        var t = Time(() => { foreach (var _ in new MetadataExporter().Read(new RowsInMemory(columns, parsed))) { } });
        best = Math.Min(best, t.Cpu);
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{{\"rows\":{parsed.Count},\"export_checks_only_min_cpu_ms\":{best:F0}}}"));
    for (int round = 0; round < 5; round++)
    {
        long rows = 0;
        var raw = Time(() =>
        {
            using var source = new CsvCatalogSource(store.MetadataCsv);
            foreach (var _ in source.ReadRows(default)) rows++;
        });
        var exported = Time(() =>
        {
            using var source = new CsvCatalogSource(store.MetadataCsv);
            foreach (var _ in new MetadataExporter().Read(source)) { }
        });
        TrackInfoTable? table = null;
        var served = Time(() => table = TrackInfoTable.Read(store.MetadataCsv));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"round\":{round},\"rows\":{rows},\"csv_parse_ms\":{raw.Wall:F1},\"csv_parse_cpu_ms\":{raw.Cpu:F0},\"csv_plus_checks_ms\":{exported.Wall:F1},\"csv_plus_checks_cpu_ms\":{exported.Cpu:F0},\"track_info_table_ms\":{served.Wall:F1},\"track_info_table_cpu_ms\":{served.Cpu:F0}}}"));
        GC.KeepAlive(table);
    }
    return 0;
}
Console.Error.WriteLine("usage: ServerBench prepare|inproc|startup|metadata ART");
return 2;

/// <summary>Rows already parsed, as a catalogue source: the export checks timed without the CSV parse.</summary>
sealed class RowsInMemory(IReadOnlyList<string> columns, List<RawCatalogRow> rows) : ICatalogSource
{
    public string Description => "rows in memory";
    public IReadOnlyList<string> Columns => columns;
    public IEnumerable<RawCatalogRow> ReadRows(CancellationToken cancellationToken) => rows;
    public bool TitlesMayBeFormulaEscaped => true;
    public void Dispose() { }
}
