using System.Numerics.Tensors;

namespace MessTools.Core.Dsp;

/// <summary>How frames are placed over the signal.</summary>
public enum FramePlacement
{
    /// <summary>Frame k is centred at sample k*hop, zero padded at both ends; frame count = samples / hop + 1 (Essentia, librosa center=True with zero padding).</summary>
    Centered,
    /// <summary>Frame k starts at sample k*hop; count = 1 + (samples - frame) / hop (at least one frame, zero padded).</summary>
    Start,
}

/// <summary>
/// A short-time power spectrogram: frames of <see cref="FrameLength"/> samples every <see cref="Hop"/> samples,
/// windowed, zero padded to <see cref="FftSize"/>, |rFFT|^2 (FftSize/2+1 bins). The object is immutable and
/// thread-safe; each call allocates (or takes) its own scratch.
/// </summary>
public sealed class PowerSpectrogram
{
    private readonly float[] _window;
    private readonly RealFft _fft;

    public int FrameLength { get; }
    public int Hop { get; }
    public int FftSize { get; }
    public FramePlacement Placement { get; }
    public int Bins => FftSize / 2 + 1;

    public PowerSpectrogram(int frameLength, int hop, WindowKind window, int? fftSize = null, FramePlacement placement = FramePlacement.Centered)
    {
        if (frameLength < 2) throw new ArgumentOutOfRangeException(nameof(frameLength), frameLength, "A frame needs at least 2 samples.");
        if (hop < 1) throw new ArgumentOutOfRangeException(nameof(hop), hop, "The hop must be at least 1 sample.");
        int n = fftSize ?? frameLength;
        if (n < frameLength) throw new ArgumentOutOfRangeException(nameof(fftSize), n, $"The FFT size must be at least the frame length ({frameLength}).");
        FrameLength = frameLength; Hop = hop; FftSize = n; Placement = placement;
        _window = Window.Create(window, frameLength);
        _fft = new RealFft(n);
    }

    public int FrameCount(int samples) => Placement == FramePlacement.Centered
        ? samples / Hop + 1
        : samples <= FrameLength ? 1 : 1 + (samples - FrameLength) / Hop;

    /// <summary>Frame start (may be negative: zero padding) of frame <paramref name="k"/>.</summary>
    public int FrameStart(int k) => Placement == FramePlacement.Centered ? k * Hop - FrameLength / 2 : k * Hop;

    /// <summary>Scratch for one thread.</summary>
    public sealed class Scratch
    {
        internal readonly float[] Frame, Fft;
        internal Scratch(int fftSize) { Frame = new float[fftSize]; Fft = new float[fftSize]; }
    }

    public Scratch CreateScratch() => new(FftSize);

    /// <summary>The power spectrum of frame <paramref name="k"/> of <paramref name="signal"/> into <paramref name="power"/> (Bins values).</summary>
    public void Frame(ReadOnlySpan<float> signal, int k, Span<float> power, Scratch scratch) =>
        FrameAt(signal, 0, signal.Length, k, power, scratch);

    /// <summary>
    /// The power spectrum of frame <paramref name="k"/> of a signal of <paramref name="totalSamples"/> samples of which
    /// <paramref name="buffer"/> holds the part starting at sample <paramref name="bufferStart"/> (it must hold the frame's
    /// samples that exist). Gives exactly the values <see cref="Frame"/> gives on the whole signal: the streaming front ends use it.
    /// </summary>
    public void FrameAt(ReadOnlySpan<float> buffer, long bufferStart, long totalSamples, int k, Span<float> power, Scratch scratch)
    {
        var frame = scratch.Frame.AsSpan();
        frame.Clear();
        long start = FrameStart(k);
        long from = Math.Max(0, start), to = Math.Min(totalSamples, start + FrameLength);
        if (to > from)
        {
            if (from < bufferStart || to > bufferStart + buffer.Length)
                throw new ArgumentOutOfRangeException(nameof(k), k, "The buffer does not hold the frame's samples.");
            TensorPrimitives.Multiply(buffer[(int)(from - bufferStart)..(int)(to - bufferStart)], _window.AsSpan((int)(from - start), (int)(to - from)),
                frame.Slice((int)(from - start), (int)(to - from)));
        }
        _fft.PowerSpectrum(frame, power, scratch.Fft);
    }

    /// <summary>All frames: frames x Bins, row-major.</summary>
    public float[] Compute(ReadOnlySpan<float> signal, out int frames)
    {
        frames = FrameCount(signal.Length);
        var result = new float[(long)frames * Bins];
        var s = CreateScratch();
        for (int k = 0; k < frames; k++) Frame(signal, k, result.AsSpan(k * Bins, Bins), s);
        return result;
    }
}

/// <summary>Log compression of (mel) power values.</summary>
public enum LogCompression
{
    /// <summary>No compression.</summary>
    None,
    /// <summary>log10(1 + multiplier * x) (MusiCNN / Essentia TensorflowInputMusiCNN: multiplier 10000).</summary>
    Log10OnePlus,
    /// <summary>ln(x + offset) (offset e.g. 1e-6).</summary>
    LogOffset,
    /// <summary>10 log10(max(x, offset)) (power in dB; offset e.g. 1e-10).</summary>
    Decibel,
}

public static class LogCompressor
{
    /// <summary>Compresses <paramref name="x"/> in place.</summary>
    public static void Apply(Span<float> x, LogCompression kind, float parameter)
    {
        switch (kind)
        {
            case LogCompression.None: return;
            case LogCompression.Log10OnePlus:
                TensorPrimitives.Multiply(x, parameter, x);
                TensorPrimitives.Add(x, 1f, x);
                TensorPrimitives.Log10(x, x);
                return;
            case LogCompression.LogOffset:
                TensorPrimitives.Add(x, parameter, x);
                TensorPrimitives.Log(x, x);
                return;
            case LogCompression.Decibel:
                TensorPrimitives.Max(x, parameter, x);
                TensorPrimitives.Log10(x, x);
                TensorPrimitives.Multiply(x, 10f, x);
                return;
            default: throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    public static bool TryParse(string? name, out LogCompression kind)
    {
        kind = LogCompression.None;
        switch (name?.Trim().ToLowerInvariant())
        {
            case "none": kind = LogCompression.None; return true;
            case "log10_1p": case "log10(1+cx)": kind = LogCompression.Log10OnePlus; return true;
            case "log": case "ln": kind = LogCompression.LogOffset; return true;
            case "db": kind = LogCompression.Decibel; return true;
            default: return false;
        }
    }
}

/// <summary>Settings of a log-mel front end.</summary>
public sealed record LogMelSettings
{
    public int SampleRate { get; init; } = 16000;
    public int FrameLength { get; init; } = 512;
    public int Hop { get; init; } = 256;
    public int? FftSize { get; init; }
    public WindowKind Window { get; init; } = WindowKind.HannSymmetric;
    public FramePlacement Placement { get; init; } = FramePlacement.Centered;
    public int Bands { get; init; } = 96;
    public double FMin { get; init; }
    public double? FMax { get; init; }
    public MelScale Scale { get; init; } = MelScale.Slaney;
    public MelNormalization Normalization { get; init; } = MelNormalization.Slaney;
    public LogCompression Log { get; init; } = LogCompression.Log10OnePlus;
    public float LogParameter { get; init; } = 10000f;

    /// <summary>Essentia's TensorflowInputMusiCNN front end (msd-musicnn-1, MTT MusiCNN, VGGish-style Essentia models).</summary>
    public static LogMelSettings MusiCnn { get; } = new();
}

/// <summary>
/// Power spectrogram -> mel filter bank -> log compression, frames x bands row-major. Immutable and
/// thread-safe (scratch per call).
/// </summary>
public sealed class LogMelSpectrogram
{
    public LogMelSettings Settings { get; }
    public PowerSpectrogram Spectrogram { get; }
    public MelFilterBank FilterBank { get; }
    public int Bands => FilterBank.Bands;

    public LogMelSpectrogram(LogMelSettings settings)
    {
        Settings = settings;
        Spectrogram = new PowerSpectrogram(settings.FrameLength, settings.Hop, settings.Window, settings.FftSize, settings.Placement);
        FilterBank = new MelFilterBank(settings.SampleRate, Spectrogram.FftSize, settings.Bands, settings.FMin,
            settings.FMax ?? settings.SampleRate / 2.0, settings.Scale, settings.Normalization);
    }

    public int FrameCount(int samples) => Spectrogram.FrameCount(samples);

    /// <summary>Frames x bands into a new array.</summary>
    public float[] Compute(ReadOnlySpan<float> signal, out int frames)
    {
        frames = FrameCount(signal.Length);
        var result = new float[(long)frames * Bands];
        Compute(signal, result);
        return result;
    }

    /// <summary>Frames x bands into <paramref name="destination"/> (at least FrameCount * Bands values).</summary>
    public void Compute(ReadOnlySpan<float> signal, Span<float> destination)
    {
        int frames = FrameCount(signal.Length);
        var scratch = Spectrogram.CreateScratch();
        var power = new float[Spectrogram.Bins];
        for (int k = 0; k < frames; k++)
        {
            Spectrogram.Frame(signal, k, power, scratch);
            FromPower(power, destination.Slice(k * Bands, Bands));
        }
    }

    /// <summary>One frame's log-mel values from its power spectrum (what <see cref="Compute(ReadOnlySpan{float}, Span{float})"/> does per frame).</summary>
    public void FromPower(ReadOnlySpan<float> power, Span<float> mel)
    {
        FilterBank.Apply(power, mel);
        LogCompressor.Apply(mel, Settings.Log, Settings.LogParameter);
    }
}
