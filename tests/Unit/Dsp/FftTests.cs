using MessTools.Core.Dsp;

namespace MessTools.Tests.Unit.Dsp;

public class FftTests
{
    private static double[] Naive(float[] xr, float[] xi, out double[] im)
    {
        int n = xr.Length;
        var re = new double[n]; im = new double[n];
        for (int k = 0; k < n; k++)
            for (int t = 0; t < n; t++)
            {
                double th = -2 * Math.PI * ((long)k * t % n) / n;
                re[k] += xr[t] * Math.Cos(th) - xi[t] * Math.Sin(th);
                im[k] += xr[t] * Math.Sin(th) + xi[t] * Math.Cos(th);
            }
        return re;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(64)]
    [InlineData(512)]
    [InlineData(1024)]
    public void ComplexFft_MatchesNaiveDft(int n)
    {
        var rng = new Random(n);
        var xr = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var xi = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var er = Naive(xr, xi, out var ei);
        var re = (float[])xr.Clone(); var im = (float[])xi.Clone();
        new ComplexFft(n).Forward(re, im);
        double tol = 1e-5 * Math.Sqrt(n) * Math.Log2(n + 1) + 1e-5;
        for (int k = 0; k < n; k++)
        {
            Assert.True(Math.Abs(re[k] - er[k]) < tol, $"re[{k}] {re[k]} vs {er[k]}");
            Assert.True(Math.Abs(im[k] - ei[k]) < tol, $"im[{k}] {im[k]} vs {ei[k]}");
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(32)]
    [InlineData(512)]
    [InlineData(2048)]
    public void RealFft_MatchesNaiveDft(int n)
    {
        var rng = new Random(100 + n);
        var x = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var er = Naive(x, new float[n], out var ei);
        var fft = new RealFft(n);
        var re = new float[n / 2 + 1]; var im = new float[n / 2 + 1]; var power = new float[n / 2 + 1];
        fft.Forward(x, re, im, fft.CreateScratch());
        fft.PowerSpectrum(x, power, fft.CreateScratch());
        double tol = 1e-5 * Math.Sqrt(n) * Math.Log2(n + 1);
        for (int k = 0; k <= n / 2; k++)
        {
            Assert.True(Math.Abs(re[k] - er[k]) < tol, $"re[{k}] {re[k]} vs {er[k]}");
            Assert.True(Math.Abs(im[k] - ei[k]) < tol, $"im[{k}] {im[k]} vs {ei[k]}");
            double p = er[k] * er[k] + ei[k] * ei[k];
            Assert.True(Math.Abs(power[k] - p) < tol * (1 + Math.Sqrt(p)) * 2, $"power[{k}] {power[k]} vs {p}");
        }
    }

    [Fact]
    public void Parseval_HoldsForRealAndComplex()
    {
        const int n = 4096;
        var rng = new Random(7);
        var x = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        double timeEnergy = x.Sum(v => (double)v * v);
        var re = (float[])x.Clone(); var im = new float[n];
        new ComplexFft(n).Forward(re, im);
        double freqEnergy = 0;
        for (int k = 0; k < n; k++) freqEnergy += (double)re[k] * re[k] + (double)im[k] * im[k];
        Assert.Equal(timeEnergy, freqEnergy / n, 6 - 4); // relative 1e-6 of ~1365
        Assert.True(Math.Abs(timeEnergy - freqEnergy / n) / timeEnergy < 1e-5);

        var fft = new RealFft(n);
        var p = new float[n / 2 + 1];
        fft.PowerSpectrum(x, p, fft.CreateScratch());
        double half = p[0] + p[n / 2];
        for (int k = 1; k < n / 2; k++) half += 2.0 * p[k];
        Assert.True(Math.Abs(timeEnergy - half / n) / timeEnergy < 1e-5, $"{timeEnergy} vs {half / n}");
    }

    [Fact]
    public void Inverse_RoundTrips()
    {
        const int n = 256;
        var rng = new Random(3);
        var xr = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
        var xi = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
        var re = (float[])xr.Clone(); var im = (float[])xi.Clone();
        var fft = new ComplexFft(n);
        fft.Forward(re, im); fft.Inverse(re, im);
        for (int i = 0; i < n; i++) { Assert.Equal(xr[i], re[i], 4); Assert.Equal(xi[i], im[i], 4); }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(500)]
    public void NonPowerOfTwo_IsRefused(int n)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ComplexFft(n));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RealFft(n));
    }

    [Fact]
    public void Windows_HaveTheDocumentedShape()
    {
        var sym = Window.Create(WindowKind.HannSymmetric, 512);
        Assert.Equal(0f, sym[0], 6); Assert.Equal(0f, sym[511], 6);
        Assert.Equal((float)(0.5 - 0.5 * Math.Cos(2 * Math.PI * 100 / 511)), sym[100], 6);
        var per = Window.Create(WindowKind.HannPeriodic, 512);
        Assert.Equal(1f, per[256], 6); Assert.Equal(per[1], per[511], 6);
        Assert.True(Window.TryParse("hann", out var k) && k == WindowKind.HannSymmetric);
        Assert.False(Window.TryParse("kaiser7", out _));
    }
}
