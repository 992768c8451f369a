namespace MessTools.Core.Splitting;

/// <summary>
/// Window-difference change curves for the attacca cue: at each 1-s block t, how far the music of the window
/// [t - W, t) differs from that of [t, t + W), per feature group, from 1-s block means of the sounding frames only.
/// Scalar groups (loudness level, onset strength, register) are effect sizes (the difference of the two windows' means
/// over their pooled standard deviation of block means); key is the cosine distance of the two windows' mean chroma; timbre
/// the mean-square distance of the windows' mean z-scored log-mel.
/// </summary>
internal static class ChangeCurves
{
    public const int Groups = 5;
    public static readonly string[] Names = { "key", "timbre", "level", "onset", "register" };

    internal sealed class Blocks
    {
        public required int Count { get; init; }
        public required bool[] Sounding { get; init; }
        public required double[][] Scalars { get; init; }  // [feature][block]: level, onset, register
        public required float[] Chroma { get; init; }      // block x 12, mean of the frames' chroma
        public required float[] Mel { get; init; }         // block x 64, mean z-scored log-mel
    }

    internal static Blocks Pool(MovementSplitter.Analysis a, double quietDb, int melBands, int dim, int blockFrames)
    {
        int blocks = Math.Max(1, a.Frames / blockFrames);
        double quiet = a.LoudnessDb - quietDb;
        var sounding = new bool[blocks];
        var scalars = new[] { new double[blocks], new double[blocks], new double[blocks] };
        var chroma = new float[blocks * 12];
        var mel = new float[blocks * melBands];
        for (int i = 0; i < blocks; i++)
        {
            int used = 0;
            for (int k = i * blockFrames; k < Math.Min(a.Frames, (i + 1) * blockFrames); k++)
            {
                if (a.LevelDb[k] < quiet) continue;
                used++;
                scalars[0][i] += a.LevelDb[k];
                scalars[1][i] += a.Flux[k];
                scalars[2][i] += a.Register[k];
                var row = a.FrameFeatures.AsSpan(k * dim, dim);
                for (int b = 0; b < melBands; b++) mel[i * melBands + b] += row[b];
                for (int c = 0; c < 12; c++) chroma[i * 12 + c] += row[melBands + c];
            }
            if (used == 0) continue;
            sounding[i] = true;
            foreach (var s in scalars) s[i] /= used;
            for (int b = 0; b < melBands; b++) mel[i * melBands + b] /= used;
            for (int c = 0; c < 12; c++) chroma[i * 12 + c] /= used;
        }
        return new Blocks { Count = blocks, Sounding = sounding, Scalars = scalars, Chroma = chroma, Mel = mel };
    }

    /// <summary>Curves [group][block]; zero where either window holds fewer than a third of its blocks sounding.</summary>
    internal static double[][] Compute(Blocks b, int window)
    {
        int n = b.Count, melBands = b.Mel.Length / Math.Max(1, n);
        var curves = new double[Groups][];
        for (int g = 0; g < Groups; g++) curves[g] = new double[n];
        var c1 = new double[12]; var c2 = new double[12];
        var m1 = new double[melBands]; var m2 = new double[melBands];
        for (int t = window; t <= n - window && t < n; t++)
        {
            int n1 = 0, n2 = 0;
            Array.Clear(c1); Array.Clear(c2); Array.Clear(m1); Array.Clear(m2);
            for (int i = t - window; i < t + window; i++)
            {
                if (!b.Sounding[i]) continue;
                bool before = i < t;
                if (before) n1++; else n2++;
                var c = before ? c1 : c2; var m = before ? m1 : m2;
                for (int k = 0; k < 12; k++) c[k] += b.Chroma[i * 12 + k];
                for (int k = 0; k < melBands; k++) m[k] += b.Mel[i * melBands + k];
            }
            if (n1 < window / 3 || n2 < window / 3) continue;
            curves[0][t] = 1 - Cosine(c1, c2);
            double d = 0;
            for (int k = 0; k < melBands; k++) { double x = m1[k] / n1 - m2[k] / n2; d += x * x; }
            curves[1][t] = d / melBands;
            for (int s = 0; s < 3; s++) curves[2 + s][t] = EffectSize(b.Scalars[s], b.Sounding, t - window, t, t + window);
        }
        return curves;
    }

    private static double Cosine(double[] x, double[] y)
    {
        double xy = 0, xx = 0, yy = 0;
        for (int i = 0; i < x.Length; i++) { xy += x[i] * y[i]; xx += x[i] * x[i]; yy += y[i] * y[i]; }
        return xx > 0 && yy > 0 ? xy / Math.Sqrt(xx * yy) : 1;
    }

    private static double EffectSize(double[] v, bool[] ok, int from, int mid, int to)
    {
        var (mu1, var1) = MeanVar(v, ok, from, mid);
        var (mu2, var2) = MeanVar(v, ok, mid, to);
        return Math.Abs(mu1 - mu2) / Math.Sqrt((var1 + var2) / 2 + 1e-6);
    }

    private static (double Mean, double Var) MeanVar(double[] v, bool[] ok, int from, int to)
    {
        double s = 0, s2 = 0; int n = 0;
        for (int i = from; i < to; i++) if (ok[i]) { s += v[i]; s2 += v[i] * v[i]; n++; }
        if (n == 0) return (0, 0);
        double mu = s / n;
        return (mu, Math.Max(0, s2 / n - mu * mu));
    }
}
