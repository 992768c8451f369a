using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Index;

namespace MessTools.Tests.Unit.Index;

public class IndexFileTests
{
    private const int Dim = 32;

    private static (HnswIndex Index, float[] Data) Sample(int n = 1500, int seed = 21)
    {
        var data = IndexTestData.Clustered(n, Dim, 15, 0.6, seed);
        var ids = IndexTestData.Ids(n).Select(id => id + (id.EndsWith('7') ? "-é" : "")).ToArray(); // non-ASCII ids too
        var index = HnswIndex.Build(ids, data.ToArray(), Dim, new HnswParameters { M = 10, EfConstruction = 100, EfSearch = 60, Seed = 5 }, maxThreads: 2);
        index.EmbeddingsSha256 = new string('a', 64);
        index.EmbeddingsBytes = 4L * data.Length;
        return (index, data);
    }

    [Fact]
    public void Save_then_load_gives_identical_answers()
    {
        using var tmp = new TempDir();
        var (index, data) = Sample();
        index.Remove(index.TrackId(3));
        string path = tmp["hnsw.index"];
        IndexFile.Save(index, path);
        var loaded = Assert.IsType<HnswIndex>(IndexFile.Load(path));
        Assert.Equal(index.Count, loaded.Count);
        Assert.Equal(index.LiveCount, loaded.LiveCount);
        Assert.Equal(index.Parameters, loaded.Parameters);
        Assert.Equal(index.EntryPoint, loaded.EntryPoint);
        Assert.Equal(index.MaxLevel, loaded.MaxLevel);
        Assert.Equal(new string('a', 64), loaded.EmbeddingsSha256);
        Assert.Equal(4L * data.Length, loaded.EmbeddingsBytes);
        Assert.True(loaded.IsDeleted(3));
        for (int i = 0; i < index.Count; i++) Assert.Equal(index.TrackId(i), loaded.TrackId(i));
        for (int q = 0; q < 1500; q += 13)
        {
            var query = data.AsSpan(q * Dim, Dim);
            Assert.Equal(index.Search(query, 10), loaded.Search(query, 10));
            Assert.Equal(index.Search(query, 7, n => n % 3 != 0, 30), loaded.Search(query, 7, n => n % 3 != 0, 30));
        }
        // A save of the loaded index is byte for byte the same file.
        IndexFile.Save(loaded, tmp["again.index"]);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(tmp["again.index"]));
    }

    [Fact]
    public void Flat_index_round_trips_and_matches_brute_force()
    {
        using var tmp = new TempDir();
        var data = IndexTestData.Clustered(800, Dim, 8, 0.6, seed: 2);
        var flat = FlatIndex.Build(IndexTestData.Ids(800), data.ToArray(), Dim);
        IndexFile.Save(flat, tmp["flat.index"]);
        var loaded = Assert.IsType<FlatIndex>(IndexFile.Load(tmp["flat.index"]));
        for (int q = 0; q < 800; q += 41)
        {
            var query = data.AsSpan(q * Dim, Dim);
            var truth = IndexTestData.BruteForce(data, Dim, query, 10);
            Assert.Equal(truth, loaded.Search(query, 10).Select(n => n.Id));
        }
    }

    private static MessException LoadFails(string path) => Assert.Throws<MessException>(() => IndexFile.Load(path));

    [Fact]
    public void Truncated_files_are_refused()
    {
        using var tmp = new TempDir();
        var (index, _) = Sample(600);
        string path = tmp["hnsw.index"];
        IndexFile.Save(index, path);
        var bytes = File.ReadAllBytes(path);
        foreach (int keep in new[] { 0, 4, 100, 255, 256, 4096, bytes.Length / 2, bytes.Length - 32, bytes.Length - 1 })
        {
            string cut = tmp[$"cut{keep}.index"];
            File.WriteAllBytes(cut, bytes[..keep]);
            var ex = LoadFails(cut);
            Assert.Contains(ex.ErrorId, new[] { "IndexCorrupt", "IndexForeign" });
            Assert.Contains("rebuild", ex.Message, StringComparison.OrdinalIgnoreCase);
            if (keep >= 256) Assert.Contains("truncated", ex.Message);
        }
        File.WriteAllBytes(tmp["longer.index"], bytes.Concat(new byte[] { 1, 2, 3 }).ToArray());
        Assert.Equal("IndexCorrupt", LoadFails(tmp["longer.index"]).ErrorId);
    }

    [Fact]
    public void A_flipped_bit_anywhere_is_refused()
    {
        using var tmp = new TempDir();
        var (index, _) = Sample(600);
        string path = tmp["hnsw.index"];
        IndexFile.Save(index, path);
        var bytes = File.ReadAllBytes(path);
        var rng = new Random(17);
        // Header fields, section table, each region of the body, and the trailer itself.
        var positions = new List<int> { 8, 16, 24, 28, 36, 52, 70, 80, 104, 112, 130, 200, 300, bytes.Length - 1, bytes.Length - 20 };
        for (int i = 0; i < 25; i++) positions.Add(rng.Next(256, bytes.Length));
        foreach (int pos in positions)
        {
            var copy = (byte[])bytes.Clone();
            copy[pos] ^= (byte)(1 << rng.Next(8));
            string bad = tmp[$"flip{pos}.index"];
            File.WriteAllBytes(bad, copy);
            var ex = LoadFails(bad);
            Assert.Contains(ex.ErrorId, new[] { "IndexCorrupt", "IndexVersionUnsupported" });
        }
    }

    [Fact]
    public void Foreign_and_future_files_are_refused_with_their_own_errors()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["text.index"], "{ \"this\": \"is json, not an index\" }");
        var ex = LoadFails(tmp["text.index"]);
        Assert.Equal("IndexForeign", ex.ErrorId);
        Assert.Contains("not a MessTools index", ex.Message);
        File.WriteAllBytes(tmp["empty.index"], Array.Empty<byte>());
        Assert.Equal("IndexForeign", LoadFails(tmp["empty.index"]).ErrorId);
        // An hnswlib-style binary of random bytes.
        var junk = new byte[10_000];
        new Random(1).NextBytes(junk);
        File.WriteAllBytes(tmp["junk.index"], junk);
        Assert.Equal("IndexForeign", LoadFails(tmp["junk.index"]).ErrorId);

        var (index, _) = Sample(300);
        IndexFile.Save(index, tmp["v.index"]);
        var bytes = File.ReadAllBytes(tmp["v.index"]);
        bytes[8] = 3; // format version 3, from a later module
        File.WriteAllBytes(tmp["v3.index"], bytes);
        var v = LoadFails(tmp["v3.index"]);
        Assert.Equal("IndexVersionUnsupported", v.ErrorId);
        Assert.Contains("version 3", v.Message);
        bytes[8] = 0;
        File.WriteAllBytes(tmp["v0.index"], bytes);
        Assert.Equal("IndexVersionUnsupported", LoadFails(tmp["v0.index"]).ErrorId);
        Assert.Equal("IndexMissing", LoadFails(tmp["absent.index"]).ErrorId);
    }

    [Fact]
    public async Task Readers_see_a_complete_index_while_another_writer_replaces_it()
    {
        using var tmp = new TempDir();
        var (a, _) = Sample(800, seed: 1);
        var (b, _) = Sample(900, seed: 2);
        string path = tmp["hnsw.index"];
        IndexFile.Save(a, path);
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            for (int i = 0; i < 12; i++) IndexFile.Save(i % 2 == 0 ? b : a, path);
            stop.Cancel();
        });
        int loads = 0;
        while (!stop.IsCancellationRequested || loads == 0)
        {
            var loaded = IndexFile.Load(path); // never a partial file: would throw IndexCorrupt
            Assert.Contains(loaded.Count, new[] { 800, 900 });
            loads++;
        }
        await writer;
        Assert.Empty(Directory.GetFiles(tmp.Path, "*" + AtomicFileWriter.TempSuffix));
        Assert.True(loads > 0);
    }

    [Fact]
    public void A_mapped_load_answers_exactly_as_a_copied_one_and_holds_no_copy_of_the_vectors()
    {
        using var tmp = new TempDir();
        var (index, data) = Sample();
        index.Remove(index.TrackId(11));
        string path = tmp["hnsw.index"];
        IndexFile.Save(index, path);
        var mapped = Assert.IsType<HnswIndex>(IndexFile.Load(path, mapVectors: true));
        var copied = Assert.IsType<HnswIndex>(IndexFile.Load(path, mapVectors: false));
        Assert.True(mapped.IsMapped);
        Assert.False(copied.IsMapped);
        Assert.Equal(IndexFile.MapsVectors, IndexFile.Load(path).IsMapped);
        for (int q = 0; q < 1500; q += 17)
        {
            var query = data.AsSpan(q * Dim, Dim);
            Assert.Equal(copied.Search(query, 10), mapped.Search(query, 10));
            Assert.Equal(copied.Search(query, 5, n => n % 4 != 0, 40), mapped.Search(query, 5, n => n % 4 != 0, 40));
            Assert.Equal(copied.SearchExact(query, 10), mapped.SearchExact(query, 10));
            Assert.True(copied.Vector(q).SequenceEqual(mapped.Vector(q)));
        }
        // The exact view shares the mapped rows (no copy), and batch exact search over them agrees too.
        var flat = FlatIndex.Over(mapped);
        Assert.True(flat.IsMapped);
        var queries = data.AsSpan(0, 40 * Dim).ToArray();
        var a = FlatIndex.Over(copied).SearchExactBatch(queries, 40, 10, maxThreads: 2);
        var b = flat.SearchExactBatch(queries, 40, 10, maxThreads: 2);
        for (int q = 0; q < 40; q++) Assert.Equal(a[q], b[q]);
        // Saving a mapped index writes the same bytes.
        IndexFile.Save(mapped, tmp["again.index"]);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(tmp["again.index"]));
    }

    [Fact]
    public void A_mapped_index_keeps_answering_from_its_version_while_the_file_is_replaced()
    {
        if (!IndexFile.MapsVectors) return; // Windows copies the rows (a mapped file there cannot be replaced)
        using var tmp = new TempDir();
        var (a, data) = Sample(900, seed: 1);
        var (b, _) = Sample(700, seed: 2);
        string path = tmp["hnsw.index"];
        IndexFile.Save(a, path);
        var mapped = IndexFile.Load(path, mapVectors: true);
        var expected = Enumerable.Range(0, 30).Select(q => a.Search(data.AsSpan(q * 7 * Dim, Dim), 10)).ToList();
        IndexFile.Save(b, path); // a new file renamed over the mapped one
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(700, IndexFile.Load(path).Count);
        for (int q = 0; q < 30; q++) Assert.Equal(expected[q], mapped.Search(data.AsSpan(q * 7 * Dim, Dim), 10));
    }

    [Fact]
    public void Appending_to_a_mapped_index_copies_its_rows_and_never_writes_the_file()
    {
        using var tmp = new TempDir();
        var (index, data) = Sample(600, seed: 3);
        string path = tmp["hnsw.index"];
        IndexFile.Save(index, path);
        byte[] before = File.ReadAllBytes(path);
        var mapped = Assert.IsType<HnswIndex>(IndexFile.Load(path, mapVectors: true));
        var extra = IndexTestData.Clustered(50, Dim, 5, 0.6, seed: 9);
        int first = mapped.Append(IndexTestData.Ids(50, "new"), extra);
        Assert.False(mapped.IsMapped);
        Assert.Equal(600, first);
        Assert.Equal(before, File.ReadAllBytes(path));
        for (int i = 0; i < 600; i += 37) Assert.True(data.AsSpan(i * Dim, Dim).SequenceEqual(mapped.Vector(i)));
        Assert.True(extra.AsSpan(0, Dim).SequenceEqual(mapped.Vector(600)));
        Assert.Equal("new00000", mapped.Search(extra.AsSpan(0, Dim), 1)[0] is var top ? mapped.TrackId(top.Id) : null);
    }
}
