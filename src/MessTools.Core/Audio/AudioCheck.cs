using System.Numerics.Tensors;
using MessTools.Core.Common;

namespace MessTools.Core.Audio;

/// <summary>
/// The checks decoded audio must pass before a later stage may use it, fed block by block while decoding:
/// no NaN or infinite samples (AudioNonFinite), a peak at or above <see cref="SilenceThresholdDbfs"/> (AudioSilent),
/// at least the minimum duration (AudioTooShort) and at least one sample (AudioEmpty).
/// </summary>
public sealed class AudioCheck
{
    /// <summary>A track whose peak stays below this is treated as silent.</summary>
    public const double SilenceThresholdDbfs = -60.0;

    private readonly int _sampleRate;
    private float _peak;
    private long _count;
    private long _nonFinite;
    private long _firstNonFinite = -1;

    public AudioCheck(int sampleRate)
    {
        if (sampleRate <= 0) throw new ArgumentOutOfRangeException(nameof(sampleRate));
        _sampleRate = sampleRate;
    }

    public long Samples => _count;
    public long NonFiniteSamples => _nonFinite;
    public double DurationSec => (double)_count / _sampleRate;
    /// <summary>The largest absolute finite sample.</summary>
    public float Peak => _peak;
    /// <summary>The peak in dBFS (negative infinity for digital silence).</summary>
    public double PeakDbfs => _peak > 0 ? 20 * Math.Log10(_peak) : double.NegativeInfinity;

    public void Add(ReadOnlySpan<float> block)
    {
        if (block.IsEmpty) return;
        // MaxMagnitude propagates NaN; only then is the block scanned sample by sample.
        float m = TensorPrimitives.MaxMagnitude(block);
        if (float.IsFinite(m))
        {
            if (Math.Abs(m) > _peak) _peak = Math.Abs(m);
        }
        else
        {
            for (int i = 0; i < block.Length; i++)
            {
                float x = block[i];
                if (!float.IsFinite(x))
                {
                    if (_firstNonFinite < 0) _firstNonFinite = _count + i;
                    _nonFinite++;
                }
                else if (Math.Abs(x) > _peak) _peak = Math.Abs(x);
            }
        }
        _count += block.Length;
    }

    /// <summary>Throws the first failed check as a <see cref="MessException"/> about <paramref name="what"/>.</summary>
    public void Validate(string what, double minDurationSec)
    {
        if (_count == 0)
            throw new MessException(MessErrorIds.AudioEmpty, MessErrorKind.InvalidData, $"{what} holds no audio samples.", what);
        if (_nonFinite > 0)
            throw new MessException(MessErrorIds.AudioNonFinite, MessErrorKind.InvalidData,
                $"{what} has {_nonFinite:N0} NaN or infinite samples (the first at {(double)_firstNonFinite / _sampleRate:0.###} s).", what);
        if (PeakDbfs < SilenceThresholdDbfs)
            throw new MessException(MessErrorIds.AudioSilent, MessErrorKind.InvalidData,
                $"{what} is silent: its peak is {(double.IsNegativeInfinity(PeakDbfs) ? "-inf" : PeakDbfs.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture))} dBFS, below {SilenceThresholdDbfs} dBFS.", what);
        if (DurationSec < minDurationSec)
            throw new MessException(MessErrorIds.AudioTooShort, MessErrorKind.InvalidData,
                $"{what} lasts {DurationSec:0.###} s, shorter than the minimum of {minDurationSec:0.###} s (-MinDurationSec).", what);
    }

    /// <summary>Runs every check over a whole buffer (mono or interleaved).</summary>
    public static void Validate(AudioBuffer audio, string what, double minDurationSec)
    {
        var check = new AudioCheck(audio.SampleRate * audio.Channels);
        check.Add(audio.Samples);
        check.Validate(what, minDurationSec);
    }
}
