using MessTools.Core.Splitting;

namespace MessTools.Tests.Infrastructure;

/// <summary>
/// Whole-work recordings made for Split-MessAudio's tests and benchmark: movements concatenated in order, with a seeded
/// pause of low white noise between some (<see cref="Join.Pause"/>) and none (attacca) between others. The true boundary
/// of a join is where the next movement starts (after the pause).
/// </summary>
public static class TestWorks
{
    public sealed record Join(double Seconds, bool Pause, double PauseSeconds);

    public sealed record Work(float[] Samples, int SampleRate, IReadOnlyList<Join> Joins, IReadOnlyList<(double Start, double End)> Movements)
    {
        public double DurationSeconds => (double)Samples.Length / SampleRate;
    }

    /// <summary>
    /// Concatenates <paramref name="movements"/>; each join is a pause (probability <paramref name="pauseProbability"/>,
    /// length uniform in [minPause, maxPause] s, white noise at <paramref name="noiseDbfs"/> dBFS RMS) or attacca.
    /// </summary>
    public static Work Build(IReadOnlyList<float[]> movements, int sampleRate, Random rng, double pauseProbability = 0.6,
        double minPause = 0.5, double maxPause = 8.0, double noiseDbfs = -60.0, bool[]? pauses = null)
    {
        var output = new List<float>();
        var joins = new List<Join>();
        var spans = new List<(double, double)>();
        float noise = (float)Math.Pow(10, noiseDbfs / 20) * MathF.Sqrt(3); // uniform in [-a, a] has RMS a/sqrt(3)
        for (int i = 0; i < movements.Count; i++)
        {
            if (i > 0)
            {
                bool pause = pauses is not null ? pauses[i - 1] : rng.NextDouble() < pauseProbability;
                double len = pause ? minPause + (maxPause - minPause) * rng.NextDouble() : 0;
                int n = (int)Math.Round(len * sampleRate);
                for (int k = 0; k < n; k++) output.Add(noise * (2 * (float)rng.NextDouble() - 1));
                joins.Add(new Join((double)output.Count / sampleRate, pause, len));
            }
            double start = (double)output.Count / sampleRate;
            output.AddRange(movements[i]);
            spans.Add((start, (double)output.Count / sampleRate));
        }
        return new Work(output.ToArray(), sampleRate, joins, spans);
    }

    /// <summary>Per-kind detection scores: for pause joins, the estimates within the window of an attacca join are left out, and the other way round.</summary>
    public static (BoundaryScore Pause, BoundaryScore Attacca) ScoreByKind(IReadOnlyList<Join> joins, IReadOnlyList<double> estimated, double window)
    {
        BoundaryScore Kind(bool pause)
        {
            var refs = joins.Where(j => j.Pause == pause).Select(j => j.Seconds).ToList();
            var others = joins.Where(j => j.Pause != pause).Select(j => j.Seconds).ToList();
            var est = estimated.Where(e => !others.Any(o => Math.Abs(o - e) <= window)).ToList();
            return BoundaryMetrics.Detection(refs, est, window);
        }
        return (Kind(true), Kind(false));
    }
}
