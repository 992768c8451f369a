using System.Diagnostics;
using System.Text.Json;
using MessTools.Core.Splitting;

namespace MessTools.Tests.Unit.Splitting;

/// <summary>A fact that needs Debian's python3-mir-eval at /usr/bin/python3; skipped with the reason when it is absent.</summary>
public sealed class MirEvalFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Reason = new(() =>
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python)) return "needs /usr/bin/python3 with mir_eval (apt-get install python3-mir-eval; .ci/run does)";
        try
        {
            using var p = Process.Start(new ProcessStartInfo(python, "-c \"import mir_eval\"") { RedirectStandardError = true, UseShellExecute = false })!;
            p.WaitForExit(60_000);
            return p.ExitCode == 0 ? null : "needs mir_eval for /usr/bin/python3 (apt-get install python3-mir-eval; .ci/run does)";
        }
        catch (Exception ex) { return $"could not run /usr/bin/python3: {ex.Message}"; }
    });

    public MirEvalFactAttribute() => Skip = Reason.Value;
}

public class BoundaryMetricsTests
{
    [Fact]
    public void Counts_each_reference_once_and_within_the_window_inclusive()
    {
        // two estimates near one reference: one hit; 3.0 s away with a 3 s window: a hit
        var s = BoundaryMetrics.Detection(new[] { 60.0, 120.0 }, new[] { 59.8, 60.3, 123.0 }, 3.0);
        Assert.Equal(2, s.Hits);
        Assert.Equal(2.0 / 3, s.Precision, 12);
        Assert.Equal(1.0, s.Recall, 12);
        var tight = BoundaryMetrics.Detection(new[] { 60.0, 120.0 }, new[] { 59.8, 60.3, 123.0 }, 0.5);
        Assert.Equal(1, tight.Hits);
    }

    [Fact]
    public void Maximum_matching_not_greedy()
    {
        // nearest pairs first would match 10.6 with 10.5 and leave 10.0 alone (11.0 is too far); a maximum matching pairs 10.0-10.5 and 10.6-11.0
        var s = BoundaryMetrics.Detection(new[] { 10.0, 10.6 }, new[] { 10.5, 11.0 }, 0.5);
        Assert.Equal(2, s.Hits);
    }

    [Fact]
    public void Empty_lists_score_zero()
    {
        Assert.Equal(0, BoundaryMetrics.Detection(Array.Empty<double>(), new[] { 1.0 }, 0.5).F);
        Assert.Equal(0, BoundaryMetrics.Detection(new[] { 1.0 }, Array.Empty<double>(), 0.5).F);
        Assert.Equal(0, BoundaryMetrics.Detection(new[] { 1.0 }, new[] { 9.0 }, 0.5).F);
    }

    [MirEvalFact]
    public void Matches_mir_eval_segment_detection()
    {
        var rng = new Random(23);
        var cases = new List<(double[] Ref, double[] Est, double Duration, double Window)>
        {
            (new[] { 60.0, 120.0 }, new[] { 59.8, 60.3, 123.0 }, 300, 3.0),
            (new[] { 60.0, 120.0 }, new[] { 59.8, 60.3, 123.0 }, 300, 0.5),
            (new[] { 10.0, 10.6 }, new[] { 10.5, 11.0 }, 30, 0.5),
            (new[] { 30.0 }, new[] { 100.0 }, 200, 3.0),
        };
        for (int c = 0; c < 40; c++)
        {
            double duration = 600;
            var r = Enumerable.Range(0, rng.Next(1, 9)).Select(_ => Math.Round(5 + rng.NextDouble() * 590, 2)).Distinct().ToArray();
            // estimates: some near the references, some anywhere
            var e = r.Where(_ => rng.NextDouble() < 0.7).Select(x => Math.Round(x + (rng.NextDouble() - 0.5) * 8, 2))
                .Concat(Enumerable.Range(0, rng.Next(0, 4)).Select(_ => Math.Round(5 + rng.NextDouble() * 590, 2)))
                .Where(x => x > 0 && x < duration).Distinct().ToArray();
            if (e.Length == 0) e = new[] { 300.0 };
            cases.Add((r, e, duration, c % 2 == 0 ? 0.5 : 3.0));
        }
        using var dir = new TempDir();
        string spec = dir["cases.json"];
        File.WriteAllText(spec, JsonSerializer.Serialize(cases.Select(c => new { reference = c.Ref, estimated = c.Est, duration = c.Duration, window = c.Window })));
        string stdout = ReferenceScripts.Run("segment_reference.py", spec, "apt-get install python3-mir-eval (.ci/run does).");
        var expected = JsonSerializer.Deserialize<double[][]>(stdout)!;
        Assert.Equal(cases.Count, expected.Length);
        for (int i = 0; i < cases.Count; i++)
        {
            var s = BoundaryMetrics.Detection(cases[i].Ref, cases[i].Est, cases[i].Window);
            Assert.True(Math.Abs(expected[i][0] - s.Precision) < 1e-9 && Math.Abs(expected[i][1] - s.Recall) < 1e-9 && Math.Abs(expected[i][2] - s.F) < 1e-9,
                $"case {i}: ours P {s.Precision} R {s.Recall} F {s.F}, mir_eval {string.Join(" ", expected[i])}");
        }
    }
}
