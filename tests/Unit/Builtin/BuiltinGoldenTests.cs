using MessTools.Core.Embedding.Builtin;

namespace MessTools.Tests.Unit.Builtin;

/// <summary>
/// Pins the features to <see cref="BuiltinEmbedder.Version"/>: if the computation changes, the golden values below
/// change, and so must the version (bump FeatureRevision or refit the constants), then update both here.
/// </summary>
public class BuiltinGoldenTests
{
    private const string ExpectedVersion = "builtin-1+03547a7affbf";

    // per block: sum of the raw features of SyntheticMusic.Piece('A', 1), then of the embedding
    private static readonly double[] RawSums = { 16.290956375654787, 6.911557946354151, 298.703725839088, 1.3181877799003878, 1.000000016722197, 2.2103725313208997, -0.3987892474979162 };
    private static readonly double[] EmbeddingSums = { -0.36102144443430007, 0.3036818380933255, -0.23909495350380894, -0.4834005335578695, 0.20261578366626054, 0.5751779971178621, -0.8263363931328058 };

    [Fact]
    public void Features_MatchTheGoldenValues_ForThisVersion()
    {
        var e = new BuiltinEmbedder();
        Assert.Equal(ExpectedVersion, e.Version);
        var x = SyntheticMusic.Piece('A', 1);
        var raw = e.ExtractFeatures(x);
        var emb = e.Embed(x);
        var blocks = BuiltinEmbedder.Blocks;
        for (int i = 0; i < blocks.Count; i++)
        {
            double r = raw.Skip(blocks[i].Offset).Take(blocks[i].Length).Sum(v => (double)v);
            double m = emb.Skip(blocks[i].Offset).Take(blocks[i].Length).Sum(v => (double)v);
            Assert.True(Math.Abs(r - RawSums[i]) <= 1e-3 * Math.Max(1, Math.Abs(RawSums[i])), $"{blocks[i].Name}: raw sum {r:R}, golden {RawSums[i]:R}");
            Assert.True(Math.Abs(m - EmbeddingSums[i]) <= 1e-3, $"{blocks[i].Name}: embedding sum {m:R}, golden {EmbeddingSums[i]:R}");
        }
    }
}
