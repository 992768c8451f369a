using System.Numerics.Tensors;

namespace MessTools.Core.Dsp;

/// <summary>
/// Rational-ratio polyphase resampler with a Kaiser-windowed sinc low-pass (cut-off just below the lower
/// Nyquist frequency), for WAV files whose rate is not the model's. Immutable and thread-safe.
/// </summary>
public sealed class Resampler
{
    private readonly int _up, _down, _taps, _half;
    private readonly float[][] _phases;

    public int InputRate { get; }
    public int OutputRate { get; }

    public Resampler(int inputRate, int outputRate, int zeroCrossings = 16, double rolloff = 0.94, double kaiserBeta = 8.6)
    {
        if (inputRate <= 0 || outputRate <= 0) throw new ArgumentOutOfRangeException(nameof(inputRate), "Sample rates must be positive.");
        InputRate = inputRate; OutputRate = outputRate;
        int g = Gcd(inputRate, outputRate);
        _up = outputRate / g; _down = inputRate / g;
        double cutoff = Math.Min(1.0, (double)_up / _down) * rolloff; // relative to the input Nyquist
        _half = (int)Math.Ceiling(zeroCrossings / cutoff);
        _taps = 2 * _half;
        _phases = new float[_up][];
        double i0b = BesselI0(kaiserBeta);
        for (int p = 0; p < _up; p++)
        {
            // output sample at input time t = base + p/up uses input samples base - half + 1 .. base + half
            var h = new float[_taps];
            double frac = (double)p / _up;
            for (int j = 0; j < _taps; j++)
            {
                double x = (j - _half + 1) - frac; // distance in input samples
                double sinc = x == 0 ? 1.0 : Math.Sin(Math.PI * cutoff * x) / (Math.PI * cutoff * x);
                double r = x / (_half + 1);
                double win = Math.Abs(r) >= 1 ? 0 : BesselI0(kaiserBeta * Math.Sqrt(1 - r * r)) / i0b;
                h[j] = (float)(cutoff * sinc * win);
            }
            _phases[p] = h;
        }
    }

    public long OutputLength(long inputLength) => (inputLength * _up + _down - 1) / _down;

    public float[] Process(ReadOnlySpan<float> input)
    {
        if (_up == _down) return input.ToArray();
        long outLen = OutputLength(input.Length);
        var output = new float[outLen];
        // padded copy so every tap window is in range
        var padded = new float[input.Length + 2 * _taps + 2];
        input.CopyTo(padded.AsSpan(_half));
        for (long m = 0; m < outLen; m++)
        {
            long num = m * _down;
            long baseIdx = num / _up;
            int p = (int)(num % _up);
            // taps j cover input indices baseIdx - half + 1 + j -> padded index baseIdx + 1 + j
            output[m] = TensorPrimitives.Dot(padded.AsSpan((int)(baseIdx + 1), _taps), _phases[p]);
        }
        return output;
    }

    private static int Gcd(int a, int b) { while (b != 0) (a, b) = (b, a % b); return a; }

    private static double BesselI0(double x)
    {
        double sum = 1, term = 1, q = x * x / 4;
        for (int k = 1; k < 50; k++) { term *= q / (k * k); sum += term; if (term < 1e-12 * sum) break; }
        return sum;
    }
}
