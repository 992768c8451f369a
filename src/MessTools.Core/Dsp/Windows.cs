namespace MessTools.Core.Dsp;

/// <summary>Analysis windows by name.</summary>
public enum WindowKind
{
    /// <summary>0.5 - 0.5 cos(2 pi i / (N-1)): symmetric (Essentia, MATLAB hann).</summary>
    HannSymmetric,
    /// <summary>0.5 - 0.5 cos(2 pi i / N): periodic (librosa, torch.hann_window default).</summary>
    HannPeriodic,
    HammingSymmetric,
    HammingPeriodic,
    /// <summary>All ones.</summary>
    Rectangular,
}

public static class Window
{
    /// <summary>The window's coefficients (not normalised).</summary>
    public static float[] Create(WindowKind kind, int length)
    {
        if (length < 1) throw new ArgumentOutOfRangeException(nameof(length), length, "A window needs at least one sample.");
        var w = new float[length];
        if (length == 1) { w[0] = 1; return w; }
        double denom = kind is WindowKind.HannSymmetric or WindowKind.HammingSymmetric ? length - 1 : length;
        for (int i = 0; i < length; i++)
        {
            double c = Math.Cos(2 * Math.PI * i / denom);
            w[i] = kind switch
            {
                WindowKind.HannSymmetric or WindowKind.HannPeriodic => (float)(0.5 - 0.5 * c),
                WindowKind.HammingSymmetric or WindowKind.HammingPeriodic => (float)(0.54 - 0.46 * c),
                _ => 1f,
            };
        }
        return w;
    }

    /// <summary>Parses a profile's window name: hann (= hann_symmetric), hann_symmetric, hann_periodic, hamming..., rectangular.</summary>
    public static bool TryParse(string? name, out WindowKind kind)
    {
        kind = WindowKind.HannSymmetric;
        switch (name?.Trim().ToLowerInvariant())
        {
            case "hann": case "hann_symmetric": kind = WindowKind.HannSymmetric; return true;
            case "hann_periodic": kind = WindowKind.HannPeriodic; return true;
            case "hamming": case "hamming_symmetric": kind = WindowKind.HammingSymmetric; return true;
            case "hamming_periodic": kind = WindowKind.HammingPeriodic; return true;
            case "rectangular": case "none": case "boxcar": kind = WindowKind.Rectangular; return true;
            default: return false;
        }
    }
}
