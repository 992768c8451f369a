using System.Numerics.Tensors;

namespace MessTools.Core.Dsp;

/// <summary>Mel scales.</summary>
public enum MelScale
{
    /// <summary>Slaney / Auditory Toolbox: linear below 1 kHz (f / (200/3)), logarithmic above (15 + ln(f/1000) / (ln 6.4 / 27)). librosa's default, Essentia's "slaneyMel".</summary>
    Slaney,
    /// <summary>HTK: 2595 log10(1 + f/700).</summary>
    Htk,
}

/// <summary>How each triangle is scaled.</summary>
public enum MelNormalization
{
    /// <summary>Peak 1.</summary>
    None,
    /// <summary>Slaney area normalisation: each triangle times 2 / (f_hi - f_lo) (librosa norm="slaney", MusiCNN's front end).</summary>
    Slaney,
}

/// <summary>
/// Triangular mel filters over the bins of a real FFT: band edges equally spaced in mel between fmin and fmax,
/// each triangle evaluated at the bin frequencies k * sampleRate / fftSize. Stored sparse (first bin and
/// weights per band) and applied with SIMD dot products. Immutable and thread-safe.
/// </summary>
public sealed class MelFilterBank
{
    private readonly int[] _start;
    private readonly float[][] _weights;

    public int Bands { get; }
    public int Bins { get; }

    public MelFilterBank(int sampleRate, int fftSize, int bands, double fMin, double fMax, MelScale scale, MelNormalization normalization)
    {
        if (sampleRate <= 0) throw new ArgumentOutOfRangeException(nameof(sampleRate));
        if (fftSize < 2) throw new ArgumentOutOfRangeException(nameof(fftSize));
        if (bands < 1) throw new ArgumentOutOfRangeException(nameof(bands));
        if (fMin < 0 || fMax <= fMin || fMax > sampleRate / 2.0 + 1e-9)
            throw new ArgumentOutOfRangeException(nameof(fMax), $"The mel range {fMin}..{fMax} Hz must lie within 0..{sampleRate / 2.0} Hz.");
        Bands = bands;
        Bins = fftSize / 2 + 1;
        double mMin = HzToMel(fMin, scale), mMax = HzToMel(fMax, scale);
        var edges = new double[bands + 2];
        for (int i = 0; i < edges.Length; i++) edges[i] = MelToHz(mMin + (mMax - mMin) * i / (bands + 1), scale);
        _start = new int[bands];
        _weights = new float[bands][];
        var tmp = new double[Bins];
        for (int b = 0; b < bands; b++)
        {
            double lo = edges[b], c = edges[b + 1], hi = edges[b + 2];
            double gain = normalization == MelNormalization.Slaney ? 2.0 / (hi - lo) : 1.0;
            int first = -1, last = -1;
            for (int k = 0; k < Bins; k++)
            {
                double f = (double)k * sampleRate / fftSize;
                double w = Math.Max(0, Math.Min((f - lo) / (c - lo), (hi - f) / (hi - c)));
                tmp[k] = w * gain;
                if (w > 0) { if (first < 0) first = k; last = k; }
            }
            if (first < 0) { _start[b] = 0; _weights[b] = Array.Empty<float>(); continue; }
            _start[b] = first;
            _weights[b] = new float[last - first + 1];
            for (int k = first; k <= last; k++) _weights[b][k - first] = (float)tmp[k];
        }
    }

    /// <summary>The dense weight of <paramref name="band"/> at <paramref name="bin"/>.</summary>
    public float Weight(int band, int bin)
    {
        int off = bin - _start[band];
        return off >= 0 && off < _weights[band].Length ? _weights[band][off] : 0f;
    }

    /// <summary>mel[b] = sum_k w[b,k] power[k].</summary>
    public void Apply(ReadOnlySpan<float> power, Span<float> mel)
    {
        if (power.Length < Bins) throw new ArgumentException($"The filter bank needs {Bins} power bins, got {power.Length}.");
        for (int b = 0; b < Bands; b++)
        {
            var w = _weights[b];
            mel[b] = w.Length == 0 ? 0f : TensorPrimitives.Dot(power.Slice(_start[b], w.Length), w);
        }
    }

    public static double HzToMel(double f, MelScale scale) => scale switch
    {
        MelScale.Htk => 2595.0 * Math.Log10(1.0 + f / 700.0),
        _ => f < 1000.0 ? f / (200.0 / 3.0) : 15.0 + Math.Log(f / 1000.0) / (Math.Log(6.4) / 27.0),
    };

    public static double MelToHz(double m, MelScale scale) => scale switch
    {
        MelScale.Htk => 700.0 * (Math.Pow(10.0, m / 2595.0) - 1.0),
        _ => m < 15.0 ? m * (200.0 / 3.0) : 1000.0 * Math.Exp((m - 15.0) * (Math.Log(6.4) / 27.0)),
    };
}
