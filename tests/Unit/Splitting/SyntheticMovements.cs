namespace MessTools.Tests.Unit.Splitting;

/// <summary>Seeded made-up movements of different character: decaying tones of a register and tempo, with a little noise.</summary>
internal static class SyntheticMovements
{
    public const int Rate = 22050;

    /// <summary>
    /// Notes drawn from a pentatonic set around <paramref name="baseMidi"/>, <paramref name="notesPerSecond"/> of them,
    /// each a few harmonics decaying with <paramref name="decay"/> seconds, over <paramref name="seconds"/>.
    /// </summary>
    public static float[] Make(int seed, int baseMidi, double notesPerSecond, double seconds, double decay = 0.4, int harmonics = 3)
    {
        var rng = new Random(seed);
        int n = (int)(seconds * Rate);
        var x = new float[n];
        int[] scale = { 0, 2, 4, 7, 9, 12, 14 };
        int step = (int)(Rate / notesPerSecond);
        for (int start = 0; start < n; start += step)
        {
            int midi = baseMidi + scale[rng.Next(scale.Length)];
            double f = 440 * Math.Pow(2, (midi - 69) / 12.0);
            int len = Math.Min(n - start, (int)(decay * 6 * Rate));
            for (int i = 0; i < len; i++)
            {
                double t = (double)i / Rate, env = Math.Exp(-t / decay) * Math.Min(1, t * 200);
                double v = 0;
                for (int h = 1; h <= harmonics; h++) v += Math.Sin(2 * Math.PI * f * h * t) / h;
                x[start + i] += (float)(0.15 * env * v);
            }
        }
        for (int i = 0; i < n; i++) x[i] += (float)(0.002 * (rng.NextDouble() - 0.5));
        return x;
    }

    /// <summary>Three movements unlike each other: low and slow, high and fast, middle and sparse.</summary>
    public static float[][] Three(double seconds) => new[]
    {
        Make(1, 40, 2, seconds, decay: 0.8, harmonics: 5),
        Make(2, 76, 8, seconds, decay: 0.12, harmonics: 1),
        Make(3, 57, 4, seconds, decay: 0.3, harmonics: 3),
    };
}
