using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Cloud.Unum.USearch;

// USearchPeer: USearch through its C# binding on the vectors of /work/shared/bench/ann_anchor.py (/tmp/ann_N_D.f32,
// /tmp/ann_N_D_q.f32), one JSON line per figure in the shape of peers.py, so paired.py runs it beside hnswlib and ours.
//   USearchPeer build  N D [--save FILE]                               M 16 (connectivity), efConstruction 200 (expansion_add)
//   USearchPeer search N D --load FILE [--ef 10,20,40,80,160] [--repeat 5]   single-query recall@10, queries/s best and median
// One thread: the binding adds one vector per call and searches one query per call on the calling thread (it exposes no
// thread setting), so both modes are single-threaded like the other peers' one-thread rows. Metric: inner product on the
// L2-normalised rows (MetricKind.Ip), float32 storage (no quantisation), as ours and hnswlib's "ip" space.
// The binding fixes the search expansion when an index is made; each ef sets it through the C API's
// usearch_change_expansion_search on the saved index loaded again (see Native).
if (AnnSet.Parse(args, "USearchPeer build|search N D [options]") is not { } set) return 2;
string mode = set.Mode, dataFile = set.DataFile, queryFile = set.QueryFile, gtFile = set.GroundTruthFile;
int n = set.N, d = set.D;
string? Opt(string name) => set.Opt(name);
const ulong M = 16, EfConstruction = 200;
void Emit(object o) => AnnSet.Emit(o);
float[][] Rows(string file) => AnnSet.ReadF32(file).Chunk(d).ToArray();

switch (mode)
{
    case "build":
    {
        var rows = Rows(dataFile);
        if (rows.Length != n) throw new InvalidDataException($"{dataFile} holds {rows.Length} rows, expected {n}.");
        using var index = new USearchIndex(MetricKind.Ip, ScalarKind.Float32, (ulong)d, M, EfConstruction, 64, false);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < n; i++) index.Add((ulong)i, rows[i]);
        double s = sw.Elapsed.TotalSeconds;
        Emit(new { peer = "usearch", what = "build", threads = 1, seconds = Math.Round(s, 3), version = USearchCapabilities.Version() });
        if (Opt("save") is { } save) index.Save(save);
        break;
    }
    case "search":
    {
        string file = Opt("load") ?? throw new ArgumentException("--load FILE");
        var queries = Rows(queryFile);
        if (!File.Exists(gtFile))
        {
            Console.Error.WriteLine($"Missing {gtFile}: the exact ground truth that peers.py (faiss) or Ann search writes; run one of them first.");
            return 2;
        }
        var gt = MemoryMarshal.Cast<byte, int>(File.ReadAllBytes(gtFile)).ToArray();
        int repeat = set.IntOpt("repeat", 5);
        foreach (int ef in set.EfList())
        {
            using var index = Open(file, ef);
            var keys = new ulong[10];
            var dist = new float[10];
            for (int q = 0; q < Math.Min(queries.Length, 200); q++) index.Search(queries[q], 10, out keys, out dist); // warm-up
            var qps = new List<double>();
            for (int r = 0; r < repeat; r++)
            {
                var sw = Stopwatch.StartNew();
                for (int q = 0; q < queries.Length; q++) index.Search(queries[q], 10, out keys, out dist);
                qps.Add(queries.Length / sw.Elapsed.TotalSeconds);
            }
            int hits = 0;
            for (int q = 0; q < queries.Length; q++)
            {
                int found = index.Search(queries[q], 10, out keys, out dist);
                for (int i = 0; i < found; i++)
                    for (int j = 0; j < 10; j++)
                        if ((ulong)gt[q * 10 + j] == keys[i]) { hits++; break; }
            }
            qps.Sort();
            Emit(new { peer = "usearch", what = "search", ef, recall10 = Math.Round(hits / (10.0 * queries.Length), 4), qps = Math.Round(qps[^1], 1), qps_median = Math.Round(qps[qps.Count / 2], 1) });
        }
        break;
    }
    default:
        Console.Error.WriteLine("mode: build | search");
        return 2;
}
return 0;

USearchIndex Open(string file, int ef)
{
    var index = new USearchIndex(file, false); // the saved graph, loaded into memory (not viewed from disk)
    try
    {
        if (index.Size() != (ulong)n) throw new InvalidDataException($"{file} holds {index.Size()} vectors, expected {n}.");
        Native.SetSearchExpansion(index, ef);
        return index;
    }
    catch
    {
        index.Dispose();
        throw;
    }
}

/// <summary>
/// The one call the binding does not wrap: its search expansion is fixed when an index is made, but the native library it
/// ships exports usearch_change_expansion_search (USearch's C API), which this calls on the binding's own handle.
/// </summary>
static class Native
{
    [DllImport("libusearch_c", CallingConvention = CallingConvention.Cdecl)]
    private static extern void usearch_change_expansion_search(IntPtr index, UIntPtr expansion, out IntPtr error);

    [DllImport("libusearch_c", CallingConvention = CallingConvention.Cdecl)]
    private static extern UIntPtr usearch_expansion_search(IntPtr index, out IntPtr error);

    public static void SetSearchExpansion(USearchIndex index, int ef)
    {
        var field = typeof(USearchIndex).GetField("_index", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)
            ?? throw new MissingFieldException("USearchIndex._index (the binding changed: check the peer before trusting its figures)");
        var handle = (IntPtr)field.GetValue(index)!;
        usearch_change_expansion_search(handle, (UIntPtr)ef, out var error);
        if (error != IntPtr.Zero) throw new InvalidOperationException("usearch_change_expansion_search: " + Marshal.PtrToStringAnsi(error));
        ulong now = (ulong)usearch_expansion_search(handle, out error);
        if (error != IntPtr.Zero || now != (ulong)ef) throw new InvalidOperationException($"the search expansion is {now}, not {ef}");
    }
}
