using System.Runtime.InteropServices;
using System.Security.Cryptography;
using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Common;
using MessTools.Core.Embedding;
using MessTools.Core.Embedding.Builtin;
using MessTools.Tests.Unit.Embedding;
using static MessTools.Tests.Unit.Builtin.SyntheticMusic;

namespace MessTools.Tests.Unit.Builtin;

/// <summary>builtin-2 (issue 21): deterministic bytes, streaming equals the whole track, flat memory, bad input, and builtin-1 untouched.</summary>
public class Builtin2EmbedderTests
{
    private static readonly Builtin2Embedder Embedder = new();

    private static byte[] Bytes(float[] v) => MemoryMarshal.AsBytes(v.AsSpan()).ToArray();

    private static void AssertUnitAndFinite(float[] v)
    {
        Assert.Equal(Embedder.Dimension, v.Length);
        Assert.All(v, x => Assert.True(float.IsFinite(x)));
        Assert.InRange(Math.Sqrt(v.Sum(x => (double)x * x)), 1 - 1e-5, 1 + 1e-5);
    }

    [Fact]
    public void Surface_and_constants_are_builtin_2s_own()
    {
        Assert.Equal(22050, Embedder.SampleRate);
        Assert.Equal(Builtin2Embedder.Blocks.Sum(b => b.Length), Embedder.Dimension);
        Assert.Matches("^builtin-2\\+[0-9a-f]{12}$", Embedder.Version);
        Assert.Equal(Embedder.Version, new Builtin2Embedder().Version);
        int off = 0;
        foreach (var b in Builtin2Embedder.Blocks) { Assert.Equal(off, b.Offset); off += b.Length; }
        // fitted (label-free) on the mutopia renders, not the identity
        Assert.Equal(Embedder.Dimension, Builtin2Standardisation.Dimension);
        Assert.Contains("mutopia", Builtin2Standardisation.Provenance);
        // no spectral-shape or MFCC block: the point of builtin-2
        Assert.DoesNotContain(Builtin2Embedder.Blocks, b => b.Name.Contains("mfcc") || b.Name.Contains("contrast") || b.Name.Contains("mel"));
    }

    [Fact]
    public void Embed_is_deterministic_to_the_byte_and_thread_safe()
    {
        var x = Piece('A', 1);
        var a = Embedder.Embed(x);
        Assert.Equal(Bytes(a), Bytes(Embedder.Embed(x)));
        Assert.Equal(Bytes(a), Bytes(new Builtin2Embedder().Embed((float[])x.Clone())));
        AssertUnitAndFinite(a);
        var inputs = Enumerable.Range(0, 4).Select(i => Piece(i % 2 == 0 ? 'A' : 'B', i, seconds: 5)).ToArray();
        var sequential = inputs.Select(v => Bytes(Embedder.Embed(v))).ToArray();
        var parallel = new byte[inputs.Length][];
        Parallel.For(0, inputs.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => parallel[i] = Bytes(Embedder.Embed(inputs[i])));
        Assert.Equal(sequential, parallel);
    }

    [Fact]
    public void Streaming_in_uneven_chunks_equals_the_whole_track_bit_for_bit()
    {
        var x = StreamingFrontEndTests.Music(Rate, 200);
        var whole = Embedder.Embed(x);
        var stream = Embedder.OpenStream(x.Length);
        var rng = new Random(5);
        for (int pos = 0; pos < x.Length;)
        {
            int len = Math.Min(rng.Next(1, 30000), x.Length - pos);
            stream.Push(x.AsSpan(pos, len));
            pos += len;
        }
        Assert.Equal(Bytes(whole), Bytes(stream.Finish()));
    }

    [Fact]
    public void Memory_is_flat_in_track_length_running_sums_not_rows()
    {
        // the same 10 s of music pushed 3 and 18 times (30 s and 3 minutes): what the stream allocates must not grow
        var block = Piece('B', 3, seconds: 10);
        long Allocated(int repeats)
        {
            var s = Embedder.OpenStream((long)block.Length * repeats);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int r = 0; r < repeats; r++)
                for (int pos = 0; pos < block.Length; pos += 4096) s.Push(block.AsSpan(pos, Math.Min(4096, block.Length - pos)));
            AssertUnitAndFinite(s.Finish());
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Allocated(1); // warm-up (static tables, JIT)
        long shorter = Allocated(3), longer = Allocated(18);
        Assert.True(longer < shorter + 64 * 1024, $"30 s allocated {shorter} B, 3 min {longer} B: the stream keeps per-frame state");
    }

    public static IEnumerable<object[]> AwkwardInput()
    {
        yield return new object[] { "digital silence (10 s)", new float[10 * Rate] };
        yield return new object[] { "exactly 1 s", Piece('A', 4, seconds: 1) };
        var tail = new float[5 * Rate];
        Array.Copy(Piece('B', 3, seconds: 1), tail, Rate);
        yield return new object[] { "one second of notes, then silence", tail };
        yield return new object[] { "a steady sine (no onsets, one pitch)", Enumerable.Range(0, 3 * Rate).Select(i => (float)(0.3 * Math.Sin(2 * Math.PI * 440 * i / Rate))).ToArray() };
    }

    [Theory]
    [MemberData(nameof(AwkwardInput))]
    public void Awkward_input_gives_a_finite_unit_vector(string what, float[] x)
    {
        Assert.False(string.IsNullOrEmpty(what));
        AssertUnitAndFinite(Embedder.Embed(x));
    }

    [Theory]
    [InlineData(0, "BuiltinAudioEmpty")]
    [InlineData(100, "BuiltinAudioTooShort")]
    [InlineData(22049, "BuiltinAudioTooShort")]
    public void Empty_or_too_short_input_is_refused_with_its_id(int samples, string errorId)
    {
        Assert.Equal(errorId, Assert.Throws<MessException>(() => Embedder.Embed(new float[samples])).ErrorId);
        Assert.Equal(errorId, Assert.Throws<MessException>(() => Embedder.OpenStream(samples)).ErrorId);
    }

    [Theory]
    [InlineData(float.NaN, "BuiltinAudioNotFinite")]
    [InlineData(float.PositiveInfinity, "BuiltinAudioNotFinite")]
    [InlineData(1e7f, "BuiltinAudioOutOfRange")]
    public void Non_finite_or_absurd_samples_are_refused(float bad, string errorId)
    {
        var x = Piece('A', 2, seconds: 2);
        x[1234] = bad;
        var ex = Assert.Throws<MessException>(() => Embedder.Embed(x));
        Assert.Equal(errorId, ex.ErrorId);
        if (float.IsNaN(bad)) Assert.Contains("1234", ex.Message);
    }

    [Fact]
    public void Level_does_not_matter_and_composers_differ()
    {
        var x = Piece('A', 7);
        var quiet = x.Select(v => v * 0.05f).ToArray(); // -26 dB
        Assert.True(Cosine(Embedder.Embed(x), Embedder.Embed(quiet)) > 0.99);
        double same = Cosine(Embedder.Embed(Piece('A', 8)), Embedder.Embed(Piece('A', 9)));
        double other = Cosine(Embedder.Embed(Piece('A', 8)), Embedder.Embed(Piece('B', 9)));
        Assert.True(same > other, $"same composer {same:F3}, other {other:F3}");
    }

    [Fact]
    public void Model_builtin_2_runs_through_the_pipeline_under_its_own_name_and_identity()
    {
        Assert.Equal(EmbeddingModels.Builtin2, EmbeddingModels.NameOf("Builtin-2", null));
        Assert.Equal(EmbeddingModels.Builtin, EmbeddingModels.NameOf(null, null)); // the default stays builtin-1
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        var tracks = new[] { EmbeddingRunTests.WriteTrack(dir, "c1", 196, 22050, 4), EmbeddingRunTests.WriteTrack(dir, "c2", 262, 22050, 3) };
        using var model = EmbeddingModels.Open("builtin-2", null, 2, 2);
        Assert.Equal("builtin-2", model.Name);
        Assert.StartsWith("builtin-2|builtin-2+", model.Identity);
        var results = EmbeddingRunTests.RunAll(store, model, tracks);
        Assert.All(results, r => Assert.Null(r.Error));
        var m = EmbeddingMatrix.Load(store);
        Assert.Equal(Embedder.Dimension, m.Dimension);
        for (int i = 0; i < tracks.Length; i++)
        {
            var direct = Embedder.Embed(WavFile.Read(tracks[i].WavPath!).Samples);
            for (int d = 0; d < m.Dimension; d++) Assert.Equal(direct[d], m.Row(i)[d], 5); // the pipeline normalises again
        }
        var meta = ArtifactJson.Read<EmbeddingsMeta>(store.EmbeddingsMetaFile);
        Assert.Equal("builtin-2", meta.Model);
        Assert.Equal(Embedder.Version, meta.Profile!.Value.GetProperty("version").GetString());
        using var query = QueryEmbedder.OpenRecordedModel(store, null, null); // a query is embedded with builtin-2 again
        Assert.Equal("builtin-2", query.Name);
    }

    [Fact]
    public void Builtin_1_is_unchanged_to_the_byte()
    {
        // SHA-256 of builtin-1's embedding of Piece('A', 1), taken with the code of main before builtin-2 (commit ab0f13a)
        var v = new BuiltinEmbedder().Embed(Piece('A', 1));
        Assert.Equal(Builtin1PieceA1Sha256, Convert.ToHexString(SHA256.HashData(Bytes(v))).ToLowerInvariant());
        using var model = new BuiltinEmbeddingModel();
        Assert.Equal("builtin", model.Name);
        Assert.Equal("builtin|builtin-1+03547a7affbf", model.Identity);
    }

    private const string Builtin1PieceA1Sha256 = "1224b984c1bbaf778c5727d28a2c80892cae8d26b9b16b600580dc5f3dbe1905";
}
