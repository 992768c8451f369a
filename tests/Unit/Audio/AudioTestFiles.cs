using System.Diagnostics;
using MessTools.Core.Audio;

namespace MessTools.Tests.Unit.Audio;

/// <summary>Synthetic test signals, written as WAV by the engine and converted to other formats by ffmpeg.</summary>
internal static class AudioTestFiles
{
    public static float[] Sine(double freq, double amplitude, int rate, double seconds, int channels = 1)
    {
        long frames = (long)Math.Round(seconds * rate);
        var s = new float[frames * channels];
        for (long i = 0; i < frames; i++)
        {
            float v = (float)(amplitude * Math.Sin(2 * Math.PI * freq * i / rate));
            for (int c = 0; c < channels; c++) s[i * channels + c] = v;
        }
        return s;
    }

    /// <summary>A float WAV of a sine, then (when <paramref name="ffmpegArgs"/> is given) converted by ffmpeg to <paramref name="path"/>.</summary>
    public static string Make(string path, double seconds = 2.0, int rate = 44100, int channels = 1, double freq = 1000, double amplitude = 0.5, params string[] ffmpegArgs)
    {
        var samples = Sine(freq, amplitude, rate, seconds, channels);
        if (ffmpegArgs.Length == 0 && path.EndsWith(".wav", StringComparison.OrdinalIgnoreCase))
        {
            WavFile.Write(path, new AudioBuffer(samples, rate, channels));
            return path;
        }
        string src = path + ".src.wav";
        WavFile.Write(src, new AudioBuffer(samples, rate, channels));
        Ffmpeg(new[] { "-i", src }.Concat(ffmpegArgs).Concat(new[] { "-y", path }).ToArray());
        File.Delete(src);
        return path;
    }

    public static void Ffmpeg(params string[] args)
    {
        var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "-nostdin", "-v", "error" }.Concat(args)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"ffmpeg {string.Join(' ', args)} failed: {err}");
    }

    public static double RmsDb(ReadOnlySpan<float> x)
    {
        double sum = 0;
        foreach (float v in x) sum += (double)v * v;
        return 10 * Math.Log10(sum / x.Length);
    }

    /// <summary>The RMS level of the middle of a signal (away from codec edges), in dBFS.</summary>
    public static double MiddleRmsDb(float[] x)
    {
        int n = x.Length;
        return RmsDb(x.AsSpan(n / 4, n / 2));
    }
}
