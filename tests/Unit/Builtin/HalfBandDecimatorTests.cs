using MessTools.Core.Embedding.Builtin;

namespace MessTools.Tests.Unit.Builtin;

public class HalfBandDecimatorTests
{
    private static float[] Sine(double hz, int n, int rate = 44100) =>
        Enumerable.Range(0, n).Select(i => (float)Math.Sin(2 * Math.PI * hz * i / rate)).ToArray();

    private static double Rms(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (var v in x) s += (double)v * v;
        return Math.Sqrt(s / x.Length);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(44101, 22051)]
    public void OutputLength_IsHalfRoundedUp(int n, int expected) =>
        Assert.Equal(expected, HalfBandDecimator.Instance.Process(new float[n]).Length);

    [Theory]
    [InlineData(100.0)]
    [InlineData(1000.0)]
    [InlineData(8000.0)]
    public void Passband_KeepsLevelAndPhase(double hz)
    {
        var x = Sine(hz, 44100);
        var y = HalfBandDecimator.Instance.Process(x);
        // compare with the same sine sampled at 22050 (linear phase, centred: no delay), away from the edges
        var expected = Sine(hz, y.Length, 22050);
        double maxErr = 0;
        for (int i = 200; i < y.Length - 200; i++) maxErr = Math.Max(maxErr, Math.Abs(y[i] - expected[i]));
        Assert.True(maxErr < 0.01, $"{hz} Hz: max error {maxErr:G3}");
    }

    [Theory]
    [InlineData(13000.0)]
    [InlineData(16000.0)]
    [InlineData(20000.0)]
    public void AboveTheNewNyquist_IsRemoved(double hz)
    {
        var y = HalfBandDecimator.Instance.Process(Sine(hz, 44100));
        double rms = Rms(y.AsSpan(200, y.Length - 400));
        Assert.True(rms < 1e-3 * Math.Sqrt(0.5), $"{hz} Hz alias: rms {rms:G3} (> -60 dB)");
    }

    [Fact]
    public void DcGain_IsOne()
    {
        var y = HalfBandDecimator.Instance.Process(Enumerable.Repeat(0.25f, 10000).ToArray());
        Assert.InRange(y[2500], 0.2499f, 0.2501f);
    }
}
