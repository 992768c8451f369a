using MessTools.Core.Artifacts;
using MessTools.Core.Index;

namespace MessTools.Tests.Unit.Index;

/// <summary>
/// Index files written before the checksum moved from our own XXH64 to System.IO.Hashing's XxHash64 must stay
/// readable. The fixtures in Index/Fixtures were written by IndexFile.Save at commit 3ad95a4 (hand-written XXH64)
/// from <see cref="Build"/> and <see cref="BuildFlat"/>; one-thread builds with a seed are deterministic.
/// </summary>
public class IndexFileFixtureTests
{
    private const int Dim = 8;
    private static readonly float[] Data = IndexTestData.Clustered(60, Dim, 4, 0.5, 7);

    internal static HnswIndex Build()
    {
        var index = HnswIndex.Build(IndexTestData.Ids(60), Data.ToArray(), Dim,
            new HnswParameters { M = 6, EfConstruction = 40, EfSearch = 20, Seed = 3 }, maxThreads: 1);
        index.EmbeddingsSha256 = new string('b', 64);
        index.EmbeddingsBytes = 4L * Data.Length;
        index.Remove(index.TrackId(5));
        return index;
    }

    internal static FlatIndex BuildFlat()
    {
        var index = FlatIndex.Build(IndexTestData.Ids(60), Data.ToArray(), Dim);
        index.EmbeddingsSha256 = new string('c', 64);
        index.EmbeddingsBytes = 4L * Data.Length;
        return index;
    }

    internal static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Index", "Fixtures", name);

    [Theory]
    [InlineData("hnsw-before-system-io-hashing.index", false)]
    [InlineData("flat-before-system-io-hashing.index", true)]
    public void An_index_file_written_by_the_earlier_checksum_code_loads_and_answers_the_same(string file, bool flat)
    {
        VectorIndex expected = flat ? BuildFlat() : Build();
        var loaded = IndexFile.Load(Fixture(file));
        Assert.Equal(expected.GetType(), loaded.GetType());
        Assert.Equal(expected.Count, loaded.Count);
        Assert.Equal(expected.LiveCount, loaded.LiveCount);
        Assert.Equal(expected.EmbeddingsSha256, loaded.EmbeddingsSha256);
        for (int i = 0; i < expected.Count; i++) Assert.Equal(expected.TrackId(i), loaded.TrackId(i));
        for (int q = 0; q < 60; q += 7)
        {
            var query = Data.AsSpan(q * Dim, Dim);
            Assert.Equal(expected.Search(query, 5).Select(n => n.Id), loaded.Search(query, 5).Select(n => n.Id));
        }
    }

    [Theory]
    [InlineData("hnsw-before-system-io-hashing.index", false)]
    [InlineData("flat-before-system-io-hashing.index", true)]
    public void Todays_writer_gives_the_fixture_byte_for_byte(string file, bool flat)
    {
        // Format 2 added a ninth section (the int8 rows, empty for an index this small) in the header's last 16 bytes,
        // and two range checksums before the trailer's (32 bytes instead of 16), so the file is 16 bytes longer.
        // Everything else is the format-1 fixture's bytes.
        using var tmp = new TempDir();
        IndexFile.Save(flat ? BuildFlat() : Build(), tmp["x.index"]);
        var today = File.ReadAllBytes(tmp["x.index"]);
        var fixture = File.ReadAllBytes(Fixture(file));
        Assert.Equal(fixture.Length + 16, today.Length);
        Assert.Equal(2, today[8]);
        Assert.Equal(1, fixture[8]);
        Assert.Equal(today.Length, BitConverter.ToInt64(today, 104));
        Assert.Equal(0L, BitConverter.ToInt64(today, 248)); // the int8 section: empty
        Assert.Equal(fixture.AsSpan(0, 8).ToArray(), today.AsSpan(0, 8).ToArray());
        Assert.Equal(fixture.AsSpan(9, 104 - 9).ToArray(), today.AsSpan(9, 104 - 9).ToArray());
        Assert.Equal(fixture.AsSpan(112, 240 - 112).ToArray(), today.AsSpan(112, 240 - 112).ToArray());
        Assert.Equal(fixture.AsSpan(256, fixture.Length - 256 - 16).ToArray(), today.AsSpan(256, fixture.Length - 256 - 16).ToArray());
        Assert.Equal(fixture.AsSpan(fixture.Length - 8).ToArray(), today.AsSpan(today.Length - 8).ToArray());
        Assert.Equal(IndexFile.ReadChecksum(tmp["x.index"]), BitConverter.ToUInt64(today, today.Length - 16));
    }

    [Fact]
    public void A_flipped_bit_in_the_fixture_is_caught_by_the_checksum()
    {
        using var tmp = new TempDir();
        var bytes = File.ReadAllBytes(Fixture("hnsw-before-system-io-hashing.index"));
        bytes[bytes.Length / 2] ^= 4;
        File.WriteAllBytes(tmp["bad.index"], bytes);
        var ex = Assert.Throws<MessTools.Core.Common.MessException>(() => IndexFile.Load(tmp["bad.index"]));
        Assert.Equal("IndexCorrupt", ex.ErrorId);
    }
}
