using MessTools.Core.Splitting;

namespace MessTools.Tests.Unit.Splitting;

public class MovementSplitterTests
{
    private const int Rate = SyntheticMovements.Rate;
    private static readonly SplitRequest Short = new() { MinMovementSeconds = 10, KernelSeconds = 8 };

    private static List<double> Found(TestWorks.Work work, SplitRequest request) =>
        new MovementSplitter(request).Split(work.Samples, work.SampleRate).Boundaries.Select(b => b.Seconds).ToList();

    [Fact]
    public void Finds_pause_joins_within_half_a_second()
    {
        var work = TestWorks.Build(SyntheticMovements.Three(25), Rate, new Random(5), pauses: new[] { true, true }, minPause: 0.5, maxPause: 4);
        var found = Found(work, Short with { Method = SplitMethod.Silence });
        var score = BoundaryMetrics.Detection(work.Joins.Select(j => j.Seconds).ToList(), found, 0.5);
        Assert.True(score.F == 1, $"joins {string.Join(", ", work.Joins.Select(j => j.Seconds))}; found {string.Join(", ", found)}");
    }

    [Fact]
    public void Finds_an_attacca_join_from_the_change_of_material()
    {
        var m = SyntheticMovements.Three(25);
        var work = TestWorks.Build(new[] { m[0], m[1] }, Rate, new Random(6), pauses: new[] { false });
        var found = Found(work, Short with { Method = SplitMethod.Novelty });
        Assert.Single(found);
        Assert.True(Math.Abs(found[0] - work.Joins[0].Seconds) <= 0.5, $"join {work.Joins[0].Seconds}, found {found[0]}");
        // the pause cue alone sees nothing there
        Assert.Empty(Found(work, Short with { Method = SplitMethod.Silence }));
    }

    [Fact]
    public void Both_cues_together_find_pause_and_attacca_joins()
    {
        var work = TestWorks.Build(SyntheticMovements.Three(25), Rate, new Random(7), pauses: new[] { true, false });
        var found = Found(work, Short);
        var (pause, attacca) = TestWorks.ScoreByKind(work.Joins, found, 3.0);
        Assert.True(pause.F == 1 && attacca.F == 1, $"joins {string.Join(", ", work.Joins.Select(j => $"{j.Seconds:0.0}{(j.Pause ? "p" : "a")}"))}; found {string.Join(", ", found)}");
    }

    [Fact]
    public void Movements_span_the_recording_without_the_pauses()
    {
        var work = TestWorks.Build(SyntheticMovements.Three(25), Rate, new Random(8), pauses: new[] { true, true }, minPause: 3, maxPause: 3);
        var split = new MovementSplitter(Short).Split(work.Samples, Rate);
        Assert.Equal(3, split.Movements.Count);
        Assert.Equal(0, split.Movements[0].StartSeconds);
        Assert.Equal(work.DurationSeconds, split.Movements[^1].EndSeconds, 6);
        for (int i = 1; i < 3; i++)
        {
            Assert.InRange(split.Movements[i].StartSeconds - split.Movements[i - 1].EndSeconds, 2.5, 3.3); // the pause is left out
            Assert.Equal(i + 1, split.Movements[i].Number);
        }
    }

    [Fact]
    public void MaxMovements_keeps_the_strongest_boundaries()
    {
        var work = TestWorks.Build(SyntheticMovements.Three(25), Rate, new Random(9), pauses: new[] { true, true }, minPause: 0.8, maxPause: 6);
        var longest = work.Joins.OrderByDescending(j => j.PauseSeconds).First();
        var split = new MovementSplitter(Short with { MaxMovements = 2, Method = SplitMethod.Silence }).Split(work.Samples, Rate);
        Assert.Equal(2, split.Movements.Count);
        var kept = Assert.Single(split.Boundaries);
        Assert.True(Math.Abs(kept.Seconds - longest.Seconds) <= 0.5, $"kept {kept.Seconds}, the longest pause ends at {longest.Seconds}");
    }

    /// <summary>A whole collection (24 pieces, like Chopin's Preludes) fits under the default -MaxMovements.</summary>
    [Fact]
    public void The_default_cap_lets_a_collection_of_24_pieces_through()
    {
        var m = SyntheticMovements.Three(31);
        var pieces = Enumerable.Range(0, 24).Select(i => m[i % 3]).ToArray();
        var work = TestWorks.Build(pieces, Rate, new Random(12), pauses: Enumerable.Repeat(true, 23).ToArray(), minPause: 2, maxPause: 2);
        var split = new MovementSplitter(new SplitRequest { Method = SplitMethod.Silence }).Split(work.Samples, Rate);
        Assert.Equal(24, split.Movements.Count);
    }

    [Fact]
    public void MinMovementSeconds_drops_a_boundary_that_would_leave_a_short_movement()
    {
        var m = SyntheticMovements.Three(25);
        var work = TestWorks.Build(new[] { m[0], m[1][..(8 * Rate)], m[2] }, Rate, new Random(10), pauses: new[] { true, true }, minPause: 2, maxPause: 2);
        var split = new MovementSplitter(Short with { Method = SplitMethod.Silence }).Split(work.Samples, Rate);
        Assert.Single(split.Boundaries); // the 8-s middle movement cannot stand alone
    }

    [Fact]
    public void Silence_only_is_one_movement_with_a_note()
    {
        var split = new MovementSplitter(Short).Split(new float[60 * Rate], Rate);
        Assert.Single(split.Movements);
        Assert.Contains("silent", split.Note);
    }

    [Fact]
    public void A_recording_shorter_than_two_movements_is_one_movement_with_a_note()
    {
        var split = new MovementSplitter(new SplitRequest { MinMovementSeconds = 30 }).Split(SyntheticMovements.Make(1, 60, 3, 40), Rate);
        Assert.Single(split.Movements);
        Assert.Equal(40, split.Movements[0].EndSeconds, 6);
        Assert.Contains("shorter than two movements", split.Note);
    }

    [Fact]
    public void One_texture_throughout_is_one_movement_with_a_note()
    {
        var split = new MovementSplitter(Short).Split(SyntheticMovements.Make(11, 60, 4, 90), Rate);
        Assert.Single(split.Movements);
        Assert.Contains("one movement", split.Note);
    }

    [Fact]
    public void Other_sample_rates_give_the_same_boundaries()
    {
        var work = TestWorks.Build(SyntheticMovements.Three(25), Rate, new Random(12), pauses: new[] { true, true }, minPause: 2, maxPause: 2);
        var at44 = new MessTools.Core.Dsp.Resampler(Rate, 44100).Process(work.Samples);
        var a = Found(work, Short with { Method = SplitMethod.Silence });
        var b = new MovementSplitter(Short with { Method = SplitMethod.Silence }).Split(at44, 44100).Boundaries.Select(x => x.Seconds).ToList();
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 0.2, $"{a[i]} vs {b[i]}");
    }

    [Fact]
    public void Is_deterministic()
    {
        var work = TestWorks.Build(SyntheticMovements.Three(25), Rate, new Random(13), pauses: new[] { true, false });
        var a = new MovementSplitter(Short).Split(work.Samples, Rate);
        var b = new MovementSplitter(Short).Split(work.Samples, Rate);
        Assert.Equal(a.Boundaries, b.Boundaries);
    }
}
