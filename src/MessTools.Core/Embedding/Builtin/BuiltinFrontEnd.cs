using System.Numerics.Tensors;
using MessTools.Core.Dsp;

namespace MessTools.Core.Embedding.Builtin;

/// <summary>
/// The built-in embedder's time-frequency front end: one 4096-point STFT (periodic Hann, hop 512 at 22050 Hz,
/// 186 ms window for pitch resolution, 23 ms frame rate), reduced to a 64-band mel spectrum (HTK scale,
/// 30 Hz..11025 Hz, area-normalised) and an 88-semitone piano-range pitch spectrum (each FFT bin from 25 Hz to
/// 5 kHz split linearly between its two nearest semitones). Immutable and thread-safe.
/// </summary>
internal sealed class BuiltinFrontEnd
{
    public const int SampleRate = 22050;
    public const int FftSize = 4096;
    public const int Hop = 512;
    public const int MelBands = 64;
    public const int Pitches = 88;          // MIDI 21 (A0) .. 108 (C8)
    public const int FirstMidi = 21;
    public const double FramesPerSecond = (double)SampleRate / Hop;

    private readonly PowerSpectrogram _stft = new(FftSize, Hop, WindowKind.HannPeriodic, FftSize, FramePlacement.Start);
    private readonly MelFilterBank _mel = new(SampleRate, FftSize, MelBands, 30.0, SampleRate / 2.0, MelScale.Htk, MelNormalization.Slaney);
    // pitch map: bins [_pitchFirstBin, _pitchLastBin], each to pitch _pitchLo[k] with weight 1-frac and _pitchLo[k]+1 with frac
    private readonly int _pitchFirstBin, _pitchLastBin;
    private readonly int[] _pitchLo;
    private readonly float[] _pitchFrac;

    public BuiltinFrontEnd()
    {
        int bins = FftSize / 2 + 1;
        _pitchFirstBin = -1;
        var lo = new List<int>(); var fr = new List<float>();
        for (int k = 0; k < bins; k++)
        {
            double f = (double)k * SampleRate / FftSize;
            if (f < 25.0 || f > 5000.0) continue;
            if (_pitchFirstBin < 0) _pitchFirstBin = k;
            _pitchLastBin = k;
            double m = 69 + 12 * Math.Log2(f / 440.0) - FirstMidi;
            int l = (int)Math.Floor(m);
            lo.Add(l); fr.Add((float)(m - l));
        }
        _pitchLo = lo.ToArray(); _pitchFrac = fr.ToArray();
    }

    public int FrameCount(int samples) => _stft.FrameCount(samples);

    /// <summary>
    /// Mel power (frames x 64) and pitch power (frames x 88), row-major, for every analysis frame of <paramref name="mono"/>.
    /// </summary>
    public (float[] Mel, float[] Pitch, int Frames) Analyse(ReadOnlySpan<float> mono)
    {
        int frames = _stft.FrameCount(mono.Length);
        var mel = new float[frames * MelBands];
        var pitch = new float[frames * Pitches];
        var power = new float[_stft.Bins];
        var scratch = _stft.CreateScratch();
        for (int t = 0; t < frames; t++)
        {
            _stft.Frame(mono, t, power, scratch);
            AnalyseFrame(power, mel.AsSpan(t * MelBands, MelBands), pitch.AsSpan(t * Pitches, Pitches));
        }
        return (mel, pitch, frames);
    }

    /// <summary>The STFT, for <see cref="FrameStream"/> (the streaming path feeds its frames to <see cref="AnalyseFrame"/>).</summary>
    public PowerSpectrogram Stft => _stft;

    /// <summary>One frame's mel row (64) and pitch row (88, must be zero on entry) from its power spectrum.</summary>
    public void AnalyseFrame(ReadOnlySpan<float> power, Span<float> melRow, Span<float> pitchRow)
    {
        _mel.Apply(power, melRow);
        AnalysePitch(power, pitchRow);
    }

    /// <summary>One frame's pitch row alone (88, must be zero on entry): builtin-2 reads no mel spectrum.</summary>
    public void AnalysePitch(ReadOnlySpan<float> power, Span<float> pitchRow)
    {
        for (int k = _pitchFirstBin, i = 0; k <= _pitchLastBin; k++, i++)
        {
            int l = _pitchLo[i];
            float p = power[k], f = _pitchFrac[i];
            if ((uint)l < Pitches) pitchRow[l] += p * (1 - f);
            if ((uint)(l + 1) < Pitches) pitchRow[l + 1] += p * f;
        }
    }
}

/// <summary>Small numeric helpers shared by the feature blocks (numpy semantics where noted).</summary>
internal static class Stats
{
    /// <summary>Column means and population standard deviations of a rows x cols matrix (row-major), in double.</summary>
    public static void MeanStd(ReadOnlySpan<float> m, int rows, int cols, Span<float> mean, Span<float> std)
    {
        var s = new double[cols]; var s2 = new double[cols];
        for (int r = 0; r < rows; r++)
        {
            var row = m.Slice(r * cols, cols);
            for (int c = 0; c < cols; c++) { double v = row[c]; s[c] += v; s2[c] += v * v; }
        }
        for (int c = 0; c < cols; c++)
        {
            double mu = rows > 0 ? s[c] / rows : 0;
            double var = rows > 0 ? Math.Max(0, s2[c] / rows - mu * mu) : 0;
            mean[c] = (float)mu; std[c] = (float)Math.Sqrt(var);
        }
    }

    /// <summary>numpy.percentile with linear interpolation of an already sorted span.</summary>
    public static double PercentileSorted(ReadOnlySpan<double> sorted, double q)
    {
        if (sorted.Length == 0) return 0;
        double pos = q / 100.0 * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    public static double Median(Span<double> values)
    {
        values.Sort();
        return PercentileSorted(values, 50);
    }

    public static double Mean(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (var v in x) s += v;
        return x.Length > 0 ? s / x.Length : 0;
    }

    public static double Std(ReadOnlySpan<float> x, double mean)
    {
        double s = 0;
        foreach (var v in x) { double d = v - mean; s += d * d; }
        return x.Length > 0 ? Math.Sqrt(s / x.Length) : 0;
    }

    public static float Max(ReadOnlySpan<float> x) => x.Length == 0 ? 0f : TensorPrimitives.Max(x);
}
