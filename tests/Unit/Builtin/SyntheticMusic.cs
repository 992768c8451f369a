namespace MessTools.Tests.Unit.Builtin;

/// <summary>Deterministic synthetic piano-like music for the built-in embedder's tests (22050 Hz mono).</summary>
internal static class SyntheticMusic
{
    public const int Rate = 22050;

    /// <summary>A decaying harmonic tone (6 partials, 1/k amplitudes) added into <paramref name="y"/>.</summary>
    public static void AddNote(float[] y, double startSec, double durSec, double midi, double amp)
    {
        double f0 = 440.0 * Math.Pow(2, (midi - 69) / 12.0);
        int s0 = (int)(startSec * Rate), n = (int)(durSec * Rate);
        double decay = 1.0 / Math.Max(0.05, durSec * 0.6);
        for (int i = 0; i < n && s0 + i < y.Length; i++)
        {
            double t = (double)i / Rate;
            double env = Math.Min(1.0, t / 0.005) * Math.Exp(-decay * t) * (i > n - 220 ? (n - i) / 220.0 : 1.0);
            double v = 0;
            for (int k = 1; k <= 6; k++)
            {
                double fk = f0 * k;
                if (fk >= Rate / 2.0) break;
                v += Math.Sin(2 * Math.PI * fk * t) / k;
            }
            y[s0 + i] += (float)(amp * env * v);
        }
    }

    /// <summary>
    /// "Composer A": slow, sustained low-register chords (a new triad every ~1 s, long decays).
    /// "Composer B": fast, short notes high up (a running figure of 8 notes per second).
    /// Each seed gives another piece in the same style; <paramref name="transpose"/> shifts every note.
    /// </summary>
    public static float[] Piece(char composer, int seed, double seconds = 10, double transpose = 0)
    {
        var rng = new Random(seed * 7919 + composer);
        var y = new float[(int)(seconds * Rate)];
        int[] major = { 0, 2, 4, 5, 7, 9, 11 };
        int tonic = 43 + rng.Next(0, 7);
        double t = 0;
        if (composer == 'A')
        {
            while (t < seconds)
            {
                double dur = 0.8 + 0.4 * rng.NextDouble();
                int deg = rng.Next(0, 7);
                foreach (int step in new[] { 0, 2, 4 })
                {
                    int d = deg + step;
                    double midi = tonic + 12 * (d / 7) + major[d % 7] + transpose;
                    AddNote(y, t, dur * 1.3, midi, 0.12);
                }
                AddNote(y, t, dur * 1.5, tonic - 12 + major[deg] + transpose, 0.1);
                t += dur;
            }
        }
        else
        {
            int deg = 0;
            while (t < seconds)
            {
                double dur = 0.11 + 0.03 * rng.NextDouble();
                deg = Math.Clamp(deg + rng.Next(-2, 3), 0, 13);
                double midi = tonic + 24 + 12 * (deg / 7) + major[deg % 7] + transpose;
                AddNote(y, t, dur * 0.9, midi, 0.2);
                t += dur;
            }
        }
        float peak = y.Max(Math.Abs);
        for (int i = 0; i < y.Length; i++) y[i] *= 0.9f / peak;
        return y;
    }

    public static double Cosine(float[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }
}
