using MessTools.Core.Splitting;

namespace MessTools.Tests.Unit.Splitting;

/// <summary>The attacca cue: the tempo-change curve and the attacca score (Foote novelty x tempo change) on made-up music.</summary>
public class AttaccaTests
{
    private const int Rate = SyntheticMovements.Rate;
    private static readonly SplitRequest Options = new() { MinMovementSeconds = 20, KernelSeconds = 10 };

    // two textures of another key (C vs A-flat pentatonic) and tempo (2 vs 6 notes a second), 40 s each
    private static float[][] TwoTextures() => new[]
    {
        SyntheticMovements.Make(21, 48, 2, 40, decay: 0.6, harmonics: 4),
        SyntheticMovements.Make(22, 56, 6, 40, decay: 0.2, harmonics: 2),
    };

    [Theory]
    [InlineData(SplitMethod.Both)]
    [InlineData(SplitMethod.Novelty)]
    public void Two_textures_joined_without_a_gap_split_near_the_join(SplitMethod method)
    {
        var work = TestWorks.Build(TwoTextures(), Rate, new Random(31), pauses: new[] { false });
        var split = new MovementSplitter(Options with { Method = method }).Split(work.Samples, Rate);
        var b = Assert.Single(split.Boundaries);
        Assert.Equal(BoundaryCue.Attacca, b.Cue);
        Assert.True(Math.Abs(b.Seconds - work.Joins[0].Seconds) <= 1.0, $"join {work.Joins[0].Seconds}, found {b.Seconds}");
        Assert.Equal(2, split.Movements.Count);
    }

    [Fact]
    public void The_pause_cue_alone_does_not_see_that_join()
    {
        var work = TestWorks.Build(TwoTextures(), Rate, new Random(31), pauses: new[] { false });
        Assert.Empty(new MovementSplitter(Options with { Method = SplitMethod.Silence }).Split(work.Samples, Rate).Boundaries);
    }

    [Theory]
    [InlineData(41, 52, 4.0)]
    [InlineData(42, 45, 2.0)]
    [InlineData(43, 60, 7.0)]
    public void One_texture_for_two_minutes_does_not_split(int seed, int baseMidi, double notesPerSecond)
    {
        var mono = SyntheticMovements.Make(seed, baseMidi, notesPerSecond, 120);
        foreach (var options in new[] { Options, new SplitRequest() })
        {
            var split = new MovementSplitter(options).Split(mono, Rate);
            Assert.True(split.Boundaries.Count == 0, $"found {string.Join(", ", split.Boundaries)}");
            Assert.Contains("one movement", split.Note);
        }
    }

    [Fact]
    public void The_tempo_change_peaks_at_a_change_of_tempo_alone()
    {
        // the same pitches at 2 and then 5 notes a second
        var work = TestWorks.Build(new[] { SyntheticMovements.Make(51, 55, 2, 40), SyntheticMovements.Make(51, 55, 5, 40) }, Rate, new Random(1), pauses: new[] { false });
        var tempo = new MovementSplitter(Options).Curves(work.Samples, Rate).Single(c => c.Name == "tempo").Curve;
        int peak = Array.IndexOf(tempo, tempo.Max());
        Assert.InRange(peak, 38, 42);
        Assert.True(tempo[peak] >= 3 * tempo.Where(v => v > 0).Take(5).Max(), $"peak {tempo[peak]} vs the first values {string.Join(" ", tempo.Where(v => v > 0).Take(5))}");
    }

    [Fact]
    public void A_pause_join_is_one_boundary_and_the_tempo_change_is_zero_inside_the_pause()
    {
        // texture A, a 4-s pause, then texture B: windows do not reach across the pause, so its ramp adds no attacca
        var work = TestWorks.Build(TwoTextures(), Rate, new Random(2), pauses: new[] { true }, minPause: 4, maxPause: 4);
        var split = new MovementSplitter(Options).Split(work.Samples, Rate);
        var b = Assert.Single(split.Boundaries);
        Assert.Equal(BoundaryCue.Pause, b.Cue);
        Assert.True(Math.Abs(b.Seconds - work.Joins[0].Seconds) <= 0.5, $"join {work.Joins[0].Seconds}, found {b.Seconds}");
        var tempo = new MovementSplitter(Options).Curves(work.Samples, Rate).Single(c => c.Name == "tempo").Curve;
        Assert.All(Enumerable.Range(41, 3), i => Assert.Equal(0, tempo[i]));
    }

    [Fact]
    public void The_attacca_score_is_zero_under_either_floor_and_scaled_by_the_medians()
    {
        var options = new SplitRequest();
        var novelty = new[] { 0, 0.1, 0.1, 0.1, 0.04, 0.4 };
        var tempo = new[] { 0, 0.5, 0.5, 0.2, 0.9, 1.0 };
        var score = MovementSplitter.AttaccaScore(novelty, tempo, options);
        Assert.Equal(0, score[0]);
        Assert.Equal(0, score[3]); // tempo change under 0.3
        Assert.Equal(0, score[4]); // novelty under 0.05
        Assert.Equal(1.0, score[1], 9); // both at their medians (0.1 and 0.5)
        Assert.Equal(Math.Sqrt(4.0 * 2.0), score[5], 9);
    }

    [Theory]
    [InlineData(0.0, 1.5)]
    [InlineData(double.NaN, 1.5)]
    [InlineData(1.6, 0.0)]
    [InlineData(1.6, double.PositiveInfinity)]
    public void Bad_attacca_options_are_refused(double threshold, double factor)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new MovementSplitter(new SplitRequest { AttaccaThreshold = threshold, TempoWindowFactor = factor }));
        Assert.Contains(threshold > 0 ? "TempoWindowFactor" : "AttaccaThreshold", e.ParamName);
    }
}
