using System.Runtime.InteropServices;
using MessTools.Core.Common;
using MessTools.Core.Embedding.Builtin;
using static MessTools.Tests.Unit.Builtin.SyntheticMusic;

namespace MessTools.Tests.Unit.Builtin;

public class BuiltinEmbedderTests
{
    private static readonly BuiltinEmbedder Embedder = new();

    private static void AssertUnitAndFinite(float[] v)
    {
        Assert.Equal(Embedder.Dimension, v.Length);
        Assert.All(v, x => Assert.True(float.IsFinite(x)));
        double n = Math.Sqrt(v.Sum(x => (double)x * x));
        Assert.InRange(n, 1 - 1e-5, 1 + 1e-5);
    }

    [Fact]
    public void Surface_IsStable()
    {
        Assert.Equal(22050, Embedder.SampleRate);
        Assert.Equal(BuiltinEmbedder.Blocks.Sum(b => b.Length), Embedder.Dimension);
        Assert.Equal(620, Embedder.Dimension);
        Assert.Matches("^builtin-1\\+[0-9a-f]{12}$", Embedder.Version);
        Assert.Equal(Embedder.Version, new BuiltinEmbedder().Version);
        // the blocks tile the vector without gaps
        int off = 0;
        foreach (var b in BuiltinEmbedder.Blocks) { Assert.Equal(off, b.Offset); off += b.Length; }
    }

    [Fact]
    public void Standardisation_ConstantsAreCompiledIn()
    {
        // the identity (bootstrap) constants would make Provenance say so; real ones are fitted on the dev set
        Assert.DoesNotContain("bootstrap", BuiltinStandardisation.Provenance);
        Assert.Equal(Embedder.Dimension, BuiltinStandardisation.Dimension);
    }

    [Fact]
    public void Embed_IsDeterministic_ToTheByte()
    {
        var x = Piece('A', 1);
        var a = Embedder.Embed(x);
        var b = Embedder.Embed(x);
        var c = new BuiltinEmbedder().Embed((float[])x.Clone());
        Assert.True(MemoryMarshal.AsBytes(a.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(b.AsSpan())));
        Assert.True(MemoryMarshal.AsBytes(a.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(c.AsSpan())));
        AssertUnitAndFinite(a);
    }

    [Fact]
    public void Embed_ParallelCallsEqualSequentialOnes()
    {
        var inputs = Enumerable.Range(0, 6).Select(i => Piece(i % 2 == 0 ? 'A' : 'B', i, seconds: 6)).ToArray();
        var sequential = inputs.Select(x => Embedder.Embed(x)).ToArray();
        var parallel = new float[inputs.Length][];
        Parallel.For(0, inputs.Length * 3, new ParallelOptions { MaxDegreeOfParallelism = 6 }, k =>
        {
            int i = k % inputs.Length;
            var v = Embedder.Embed(inputs[i]);
            lock (parallel) parallel[i] ??= v;
            Assert.Equal(sequential[i], v);
        });
        for (int i = 0; i < inputs.Length; i++) Assert.Equal(sequential[i], parallel[i]);
    }

    public static IEnumerable<object[]> AwkwardInputs()
    {
        yield return new object[] { "digital silence", new float[22050 * 2] };
        var rng = new Random(5);
        yield return new object[] { "near silence (1e-7 noise)", Enumerable.Range(0, 22050 * 2).Select(_ => (float)(1e-7 * (rng.NextDouble() - 0.5))).ToArray() };
        var tail = new float[22050 * 3];
        Array.Copy(Piece('B', 3, seconds: 1), tail, 22050);        // one second of notes, then silence
        yield return new object[] { "notes then silence", tail };
        yield return new object[] { "exactly 1 s", Piece('A', 4, seconds: 1) };
        yield return new object[] { "very loud (peak 1000)", Piece('B', 5, seconds: 3).Select(v => v * 1111f).ToArray() };
        yield return new object[] { "clipped square wave", Enumerable.Range(0, 22050 * 2).Select(i => (i / 50) % 2 == 0 ? 1f : -1f).ToArray() };
        yield return new object[] { "DC offset", Enumerable.Repeat(0.5f, 22050 * 2).ToArray() };
        var click = new float[22050 * 2]; click[22050] = 1f;
        yield return new object[] { "single click", click };
    }

    [Theory]
    [MemberData(nameof(AwkwardInputs))]
    public void Embed_AwkwardInput_GivesAFiniteUnitVector(string what, float[] x)
    {
        _ = what;
        AssertUnitAndFinite(Embedder.Embed(x));
    }

    [Theory]
    [InlineData(0, "BuiltinAudioEmpty")]
    [InlineData(1, "BuiltinAudioTooShort")]
    [InlineData(22049, "BuiltinAudioTooShort")]
    public void Embed_EmptyOrTooShort_Throws(int samples, string errorId)
    {
        var ex = Assert.Throws<MessException>(() => Embedder.Embed(new float[samples]));
        Assert.Equal(errorId, ex.ErrorId);
        Assert.Equal(MessErrorKind.InvalidData, ex.Kind);
        Assert.Contains(samples == 0 ? "no audio" : samples.ToString(), ex.Message);
    }

    [Theory]
    [InlineData(float.NaN, "BuiltinAudioNotFinite")]
    [InlineData(float.PositiveInfinity, "BuiltinAudioNotFinite")]
    [InlineData(3e7f, "BuiltinAudioOutOfRange")]
    public void Embed_NonFiniteOrAbsurdSamples_Throws(float bad, string errorId)
    {
        var x = Piece('A', 2, seconds: 2);
        x[12345] = bad;
        var ex = Assert.Throws<MessException>(() => Embedder.Embed(x));
        Assert.Equal(errorId, ex.ErrorId);
        if (errorId == "BuiltinAudioNotFinite") Assert.Contains("12345", ex.Message);
    }

    [Fact]
    public void Embed_IsLevelInvariant()
    {
        var x = Piece('A', 7);
        var quiet = x.Select(v => v * 0.05f).ToArray();
        Assert.True(Cosine(Embedder.Embed(x), Embedder.Embed(quiet)) > 0.999);
    }

    [Fact]
    public void Transposition_ByASemitone_ChangesTheEmbeddingLittle()
    {
        // nothing in the vector is tied to absolute pitch class: a semitone up stays far closer to the original
        // than another piece of the same style does, let alone a piece of the other style
        var a = Embedder.Embed(Piece('A', 11));
        var up = Embedder.Embed(Piece('A', 11, transpose: 1));
        var sibling = Embedder.Embed(Piece('A', 12));
        var other = Embedder.Embed(Piece('B', 11));
        double cUp = Cosine(a, up), cSibling = Cosine(a, sibling), cOther = Cosine(a, other);
        Assert.True(cUp > 0.9, $"semitone up: cosine {cUp:F3}");
        Assert.True(cUp > cSibling && cSibling > cOther, $"up {cUp:F3}, sibling {cSibling:F3}, other style {cOther:F3}");
    }

    [Fact]
    public void SyntheticComposers_AreSeparated()
    {
        // two "composers" (sustained low chords vs fast high runs), four pieces each: every piece's nearest
        // neighbour is by its own composer, and the styles' mean within-similarity beats the between-similarity
        var pieces = new List<(char C, float[] V)>();
        foreach (char c in "AB")
            for (int s = 0; s < 4; s++) pieces.Add((c, Embedder.Embed(Piece(c, 100 + s, seconds: 8))));
        double within = 0, between = 0; int nw = 0, nb = 0;
        for (int i = 0; i < pieces.Count; i++)
        {
            int best = -1; double bestSim = double.NegativeInfinity;
            for (int j = 0; j < pieces.Count; j++)
            {
                if (i == j) continue;
                double sim = Cosine(pieces[i].V, pieces[j].V);
                if (sim > bestSim) { bestSim = sim; best = j; }
                if (pieces[i].C == pieces[j].C) { within += sim; nw++; } else { between += sim; nb++; }
            }
            Assert.Equal(pieces[i].C, pieces[best].C);
        }
        Assert.True(within / nw > between / nb + 0.3, $"within {within / nw:F3}, between {between / nb:F3}");
    }

    [Fact]
    public void ExtractFeatures_MatchTheLayout_AndEmbedStandardisesThem()
    {
        var x = Piece('B', 21, seconds: 5);
        var raw = Embedder.ExtractFeatures(x);
        Assert.Equal(Embedder.Dimension, raw.Length);
        Assert.All(raw, v => Assert.True(float.IsFinite(v)));
        // register and onset_register are distributions over the 11 bands
        var onsetReg = BuiltinEmbedder.Blocks.Single(b => b.Name == "onset_register");
        Assert.InRange(raw.Skip(onsetReg.Offset).Take(onsetReg.Length).Sum(), 0.999, 1.001);
        var reg = BuiltinEmbedder.Blocks.Single(b => b.Name == "register");
        Assert.InRange(raw.Skip(reg.Offset).Take(reg.Length / 2).Sum(), 0.999, 1.001);
        // a high running figure has its register mass above middle C (band 5 starts at MIDI 61)
        double high = raw.Skip(reg.Offset + 5).Take(6).Sum();
        Assert.True(high > 0.5, $"share above MIDI 61: {high:F3}");
    }
}
