using System.Text.Json;
using MessTools.Core.Dsp;

namespace MessTools.Tests.Unit.Dsp;

public class MelTests
{
    internal static float[] ReadF32(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var x = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, x, 0, x.Length * 4);
        return x;
    }

    [SharedDataFact("models/reference/expected.json", "models/reference/signal_16000.f32")]
    public void MusiCnnFrontEnd_ReproducesReferenceFrames()
    {
        var signal = ReadF32(Path.Combine(RepoPaths.SharedModels, "reference", "signal_16000.f32"));
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(RepoPaths.SharedModels, "reference", "expected.json")));
        var mn = doc.RootElement.GetProperty("musicnn");
        var mel = new LogMelSpectrogram(LogMelSettings.MusiCnn);
        var m = mel.Compute(signal, out int frames);
        Assert.Equal(mn.GetProperty("mel_frames").GetInt32(), frames);
        foreach (var (frame, key) in new[] { (0, "mel_frame0_first8"), (100, "mel_frame100_first8") })
        {
            var expected = mn.GetProperty(key).EnumerateArray().Select(e => e.GetDouble()).ToArray();
            for (int b = 0; b < expected.Length; b++)
                Assert.True(Math.Abs(m[frame * 96 + b] - expected[b]) < 1e-4, $"frame {frame} band {b}: {m[frame * 96 + b]} vs {expected[b]}");
        }
    }

    [Fact]
    public void SlaneyScale_IsLinearBelow1kHzAndLogAbove()
    {
        Assert.Equal(15.0, MelFilterBank.HzToMel(1000, MelScale.Slaney), 9);
        Assert.Equal(7.5, MelFilterBank.HzToMel(500, MelScale.Slaney), 9);
        Assert.Equal(15.0 + 27.0, MelFilterBank.HzToMel(6400, MelScale.Slaney), 9);
        Assert.Equal(1000.0, MelFilterBank.HzToMel(1000, MelScale.Htk), 0);
        foreach (var f in new[] { 0.0, 123.0, 999.0, 1000.0, 4321.0, 8000.0 })
            foreach (var s in new[] { MelScale.Slaney, MelScale.Htk })
                Assert.Equal(f, MelFilterBank.MelToHz(MelFilterBank.HzToMel(f, s), s), 6);
    }

    [Fact]
    public void SlaneyNormalisation_GivesEachTriangleTheSameArea()
    {
        // with a fine frequency grid, area of 2/(hi-lo) scaled triangles is 1 (in Hz units) for every band
        var fb = new MelFilterBank(16000, 1 << 14, 40, 0, 8000, MelScale.Slaney, MelNormalization.Slaney);
        double binHz = 16000.0 / (1 << 14);
        for (int b = 0; b < fb.Bands; b++)
        {
            double area = 0;
            for (int k = 0; k < fb.Bins; k++) area += fb.Weight(b, k) * binHz;
            Assert.InRange(area, 0.98, 1.02);
        }
        var peak = new MelFilterBank(16000, 512, 40, 0, 8000, MelScale.Htk, MelNormalization.None);
        for (int b = 0; b < peak.Bands; b++)
            Assert.InRange(Enumerable.Range(0, peak.Bins).Max(k => peak.Weight(b, k)), 0.5f, 1.0f);
    }

    [Fact]
    public void Spectrogram_CentredFraming_CountsAndPeaks()
    {
        const int sr = 16000;
        var x = Enumerable.Range(0, sr).Select(i => (float)Math.Sin(2 * Math.PI * 1000 * i / sr)).ToArray();
        var spec = new PowerSpectrogram(512, 256, WindowKind.HannPeriodic);
        var p = spec.Compute(x, out int frames);
        Assert.Equal(sr / 256 + 1, frames);
        int mid = frames / 2;
        int best = Enumerable.Range(0, spec.Bins).MaxBy(k => p[mid * spec.Bins + k]);
        Assert.Equal(32, best); // 1000 Hz * 512 / 16000
        var start = new PowerSpectrogram(512, 256, WindowKind.HannPeriodic, placement: FramePlacement.Start);
        Assert.Equal(1 + (sr - 512) / 256, start.FrameCount(sr));
        Assert.Equal(1, start.FrameCount(10));
    }

    [Fact]
    public void LogCompression_Variants()
    {
        var v = new[] { 0f, 1f, 9f };
        LogCompressor.Apply(v, LogCompression.Log10OnePlus, 1f);
        Assert.Equal(new[] { 0f, (float)Math.Log10(2), 1f }, v);
        var d = new[] { 1e-20f, 1f, 100f };
        LogCompressor.Apply(d, LogCompression.Decibel, 1e-10f);
        Assert.Equal(new[] { -100f, 0f, 20f }, d);
    }

    [Fact]
    public void Resampler_KeepsATonesFrequencyAndLength()
    {
        const int inRate = 44100, outRate = 16000;
        var x = Enumerable.Range(0, inRate).Select(i => (float)Math.Sin(2 * Math.PI * 440 * i / inRate)).ToArray();
        var y = new Resampler(inRate, outRate).Process(x);
        Assert.Equal(outRate, y.Length);
        // compare with the ideal sine away from the edges
        double err = 0;
        for (int i = 1000; i < 15000; i++) err = Math.Max(err, Math.Abs(y[i] - Math.Sin(2 * Math.PI * 440 * i / outRate)));
        Assert.True(err < 2e-3, $"max error {err}");
        // a tone above the new Nyquist is removed
        var hi = Enumerable.Range(0, inRate).Select(i => (float)Math.Sin(2 * Math.PI * 12000 * i / inRate)).ToArray();
        var z = new Resampler(inRate, outRate).Process(hi);
        double rms = Math.Sqrt(z.Skip(1000).Take(14000).Average(v => (double)v * v));
        Assert.True(rms < 1e-3, $"alias rms {rms}");
    }
}
