using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using MessTools.Core.Common;

namespace MessTools.Core.Audio;

/// <summary>
/// Decodes any format ffmpeg reads (WAV, MP3, M4A/AAC, FLAC, Ogg/Opus, AIFF ...) to mono 32-bit float at a chosen
/// rate, straight from ffmpeg's stdout pipe (f32le): no temporary file. ffmpeg does the down-mix (channels averaged)
/// and the resampling (libswresample). Decoding problems become <see cref="MessException"/>s with stable ids:
/// AudioEmpty, AudioUndecodable, AudioTruncated, AudioFileNotFound.
/// </summary>
public sealed partial class FfmpegDecoder : IAudioDecoder
{
    /// <summary>The environment variable that names the ffmpeg executable.</summary>
    public const string EnvironmentVariable = "MESS_FFMPEG";

    /// <summary>How much of ffmpeg's error output is kept for messages.</summary>
    private const int MaxDiagnosticChars = 4000;

    /// <summary>The ffmpeg executable this decoder runs.</summary>
    public string FfmpegPath { get; }

    /// <summary>A decoder that runs <paramref name="ffmpegPath"/>, or the ffmpeg <see cref="Locate"/> finds.</summary>
    public FfmpegDecoder(string? ffmpegPath = null) => FfmpegPath = Locate(ffmpegPath);

    /// <summary>
    /// The ffmpeg executable: <paramref name="explicitPath"/> when given (a file, or a folder holding ffmpeg), else
    /// $env:MESS_FFMPEG, else the first ffmpeg on PATH. Throws a MessException (FfmpegNotFound) that says how to
    /// install ffmpeg on Linux, macOS and Windows.
    /// </summary>
    public static string Locate(string? explicitPath)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath))
            return Existing(explicitPath, "-FfmpegPath")
                   ?? throw NotFound($"-FfmpegPath '{explicitPath}' is not an ffmpeg executable (or a folder holding one).");
        string? env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env))
            return Existing(env, "$env:" + EnvironmentVariable)
                   ?? throw NotFound($"${EnvironmentVariable} is '{env}', which is not an ffmpeg executable (or a folder holding one).");
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string? found = InFolder(dir.Trim('"'));
            if (found is not null) return found;
        }
        throw NotFound("ffmpeg was not found on PATH.");
    }

    private static string ExeName => OperatingSystem.IsWindows() ? "ffmpeg.exe" : "ffmpeg";

    private static string? Existing(string path, string what)
    {
        _ = what;
        string full;
        try { full = Path.GetFullPath(Environment.ExpandEnvironmentVariables(path.Trim().Trim('"'))); }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException) { return null; }
        if (Directory.Exists(full)) return InFolder(full);
        if (File.Exists(full)) return full;
        if (OperatingSystem.IsWindows() && File.Exists(full + ".exe")) return full + ".exe";
        return null;
    }

    private static string? InFolder(string dir)
    {
        try
        {
            string candidate = Path.Combine(dir, ExeName);
            return File.Exists(candidate) ? Path.GetFullPath(candidate) : null;
        }
        catch (ArgumentException) { return null; }
    }

    /// <summary>The one error for a missing ffmpeg, with install instructions for each platform.</summary>
    public static MessException NotFound(string why) => new(MessErrorIds.FfmpegNotFound, MessErrorKind.NotInstalled,
        why + " MessTools decodes audio with ffmpeg. Install it and open a new shell, or name it with -FfmpegPath or $env:" + EnvironmentVariable + ":" +
        " Linux: 'sudo apt-get install ffmpeg' (Debian/Ubuntu), 'sudo dnf install ffmpeg' (Fedora, RPM Fusion) or 'sudo pacman -S ffmpeg';" +
        " macOS: 'brew install ffmpeg';" +
        " Windows: 'winget install Gyan.FFmpeg' (or 'choco install ffmpeg', or 'scoop install ffmpeg').", "ffmpeg");

    /// <inheritdoc />
    /// <remarks>Throws MessException AudioFileNotFound, AudioEmpty, AudioUndecodable or AudioTruncated.</remarks>
    public async Task<AudioBuffer> DecodeAsync(string path, int sampleRate, CancellationToken cancellationToken = default)
    {
        var samples = new SampleList();
        await DecodeStreamAsync(path, sampleRate, span => samples.Add(span), cancellationToken).ConfigureAwait(false);
        return new AudioBuffer(samples.ToArray(), sampleRate, 1);
    }

    /// <summary>
    /// Decodes <paramref name="path"/> to mono float at <paramref name="sampleRate"/> and hands the samples to
    /// <paramref name="sink"/> block by block as ffmpeg produces them (a few thousand samples each), so a long
    /// track never needs to be held in memory. Returns what was decoded and what the container declared.
    /// </summary>
    public async Task<DecodeInfo> DecodeStreamAsync(string path, int sampleRate, SampleSink sink, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sink);
        if (sampleRate is < 1000 or > 768_000)
            throw new MessException(MessErrorIds.InvalidSampleRate, MessErrorKind.InvalidArgument, $"The sample rate {sampleRate} Hz is outside 1000..768000.", sampleRate);
        string full = Path.GetFullPath(path);
        var file = new FileInfo(full);
        if (!file.Exists)
            throw new MessException(MessErrorIds.AudioFileNotFound, MessErrorKind.ObjectNotFound, $"The audio file '{full}' does not exist.", full);
        if (file.Length == 0)
            throw new MessException(MessErrorIds.AudioEmpty, MessErrorKind.InvalidData, $"The audio file '{full}' is empty (0 bytes).", full);

        var psi = new ProcessStartInfo(FfmpegPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            CreateNoWindow = true,
            StandardErrorEncoding = Encoding.UTF8,
        };
        // -rematrix_maxval 1: the down-mix averages the channels (ffmpeg's default mixes stereo at +3 dB, which can clip).
        // -protocol_whitelist: a playlist disguised as audio cannot make ffmpeg open URLs. "level+" tags each line with its
        // level, so errors can be told from the informational header (whose Duration line is used to spot truncation).
        foreach (string a in new[]
                 {
                     "-nostdin", "-hide_banner", "-nostats", "-loglevel", "level+info", "-protocol_whitelist", "file,pipe",
                     "-i", "file:" + full, "-map", "0:a:0", "-vn", "-sn", "-dn",
                     "-ac", "1", "-rematrix_maxval", "1.0", "-ar", sampleRate.ToString(CultureInfo.InvariantCulture), "-c:a", "pcm_f32le", "-f", "f32le", "pipe:1",
                 })
            psi.ArgumentList.Add(a);

        using var process = new Process { StartInfo = psi };
        try { process.Start(); }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw NotFound($"ffmpeg at '{FfmpegPath}' could not be started ({ex.Message}).");
        }

        var stderr = new Diagnostics();
        Task stderrTask = ReadDiagnosticsAsync(process.StandardError, stderr);
        long samples = 0;
        await using (cancellationToken.Register(static p => KillQuietly((Process)p!), process).ConfigureAwait(false))
        {
            var stdout = process.StandardOutput.BaseStream;
            byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
            try
            {
                int carry = 0;
                while (true)
                {
                    int n;
                    try { n = await stdout.ReadAsync(buffer.AsMemory(carry, buffer.Length - carry), cancellationToken).ConfigureAwait(false); }
                    catch (IOException) when (cancellationToken.IsCancellationRequested) { n = 0; }
                    if (n == 0) break;
                    int total = carry + n;
                    int whole = total & ~3;
                    if (whole > 0)
                    {
                        var floats = MemoryMarshal.Cast<byte, float>(buffer.AsSpan(0, whole));
                        if (!BitConverter.IsLittleEndian) ReverseEndianness(floats);
                        samples += floats.Length;
                        sink(floats);
                    }
                    carry = total - whole;
                    if (carry > 0) Buffer.BlockCopy(buffer, whole, buffer, 0, carry);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
                if (!process.HasExited) KillQuietly(process);
            }
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            await stderrTask.ConfigureAwait(false);
        }
        cancellationToken.ThrowIfCancellationRequested();

        string diag = stderr.ToString();
        var lines = diag.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string[] errors = lines.Where(l => l.Contains("[error]", StringComparison.Ordinal) || l.Contains("[fatal]", StringComparison.Ordinal))
                               .Select(StripLevel).ToArray();
        if (process.ExitCode != 0)
        {
            string why = errors.Length > 0 ? errors[^1] : lines.Length > 0 ? StripLevel(lines[^1]) : $"exit code {process.ExitCode}";
            throw new MessException(MessErrorIds.AudioUndecodable, MessErrorKind.InvalidData,
                $"ffmpeg cannot decode '{full}': {why}", full);
        }
        double decodedSec = (double)samples / sampleRate;
        if (samples == 0)
            throw new MessException(MessErrorIds.AudioEmpty, MessErrorKind.InvalidData,
                $"'{full}' holds no audio samples{(errors.Length > 0 ? " (" + errors[^1] + ")" : "")}.", full);

        double? declared = DeclaredDuration(lines);
        bool estimated = lines.Any(l => l.Contains("Estimating duration from bitrate", StringComparison.Ordinal));
        var info = new DecodeInfo(full, sampleRate, samples, declared, errors);
        if (declared is { } d && !estimated && d - decodedSec > Math.Max(0.5, 0.02 * d))
            throw new MessException(MessErrorIds.AudioTruncated, MessErrorKind.InvalidData,
                $"'{full}' is truncated or damaged: its header declares {d:0.###} s but only {decodedSec:0.###} s decode{(errors.Length > 0 ? " (" + errors[^1] + ")" : "")}.", full);
        if (IsWav(full) && WavFile.TryReadInfo(full) is { Truncated: true } wav)
            throw new MessException(MessErrorIds.AudioTruncated, MessErrorKind.InvalidData,
                $"'{full}' is truncated: its data chunk declares {wav.DeclaredDataBytes:N0} bytes but the file holds {wav.DataBytes:N0}.", full);
        return info;
    }

    private static bool IsWav(string path)
    {
        string ext = Path.GetExtension(path);
        return ext.Equals(".wav", StringComparison.OrdinalIgnoreCase) || ext.Equals(".wave", StringComparison.OrdinalIgnoreCase);
    }

    private static void ReverseEndianness(Span<float> floats)
    {
        var ints = MemoryMarshal.Cast<float, int>(floats);
        System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(ints, ints);
    }

    private static double? DeclaredDuration(string[] lines)
    {
        foreach (string l in lines)
        {
            var m = DurationLine().Match(l);
            if (m.Success)
                return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * 3600 + int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) * 60
                       + double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
        }
        return null;
    }

    private static string StripLevel(string line) => LevelTag().Replace(line, "").Trim();

    private static async Task ReadDiagnosticsAsync(StreamReader reader, Diagnostics into)
    {
        string? line;
        while ((line = await reader.ReadLineAsync().ConfigureAwait(false)) is not null) into.Add(line);
    }

    /// <summary>ffmpeg's stderr, bounded: the head (with the Duration line) and the tail (with the final error).</summary>
    private sealed class Diagnostics
    {
        private readonly StringBuilder _head = new();
        private readonly Queue<string> _tail = new();
        private int _tailChars;

        public void Add(string line)
        {
            if (_head.Length < MaxDiagnosticChars) { _head.Append(line).Append('\n'); return; }
            _tail.Enqueue(line);
            _tailChars += line.Length;
            while (_tailChars > MaxDiagnosticChars && _tail.Count > 1) _tailChars -= _tail.Dequeue().Length;
        }

        public override string ToString() => _head + string.Join('\n', _tail);
    }

    private static void KillQuietly(Process p)
    {
        try { if (!p.HasExited) p.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        catch (System.ComponentModel.Win32Exception) { }
        catch (NotSupportedException) { }
    }

    [GeneratedRegex(@"Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")]
    private static partial Regex DurationLine();

    [GeneratedRegex(@"^(\[[^\]]*@[^\]]*\]\s*)?\[(?:info|error|fatal|warning|verbose|debug|panic|trace)\]\s*")]
    private static partial Regex LevelTag();

    /// <summary>A growable float list that avoids the copy-on-grow of a List for long tracks.</summary>
    private sealed class SampleList
    {
        private readonly List<float[]> _blocks = new();
        private float[] _current = new float[1 << 16];
        private int _used;
        private long _count;

        public void Add(ReadOnlySpan<float> span)
        {
            while (!span.IsEmpty)
            {
                if (_used == _current.Length)
                {
                    _blocks.Add(_current);
                    _current = new float[Math.Min(_current.Length * 2, 1 << 22)];
                    _used = 0;
                }
                int n = Math.Min(span.Length, _current.Length - _used);
                span[..n].CopyTo(_current.AsSpan(_used));
                _used += n;
                _count += n;
                span = span[n..];
            }
        }

        public float[] ToArray()
        {
            if (_count > Array.MaxLength) throw new MessException(MessErrorIds.AudioTooLong, MessErrorKind.InvalidData, $"{_count:N0} samples do not fit in memory as one buffer.");
            var all = new float[_count];
            int at = 0;
            foreach (var b in _blocks) { b.CopyTo(all, at); at += b.Length; }
            Array.Copy(_current, 0, all, at, _used);
            return all;
        }
    }
}

/// <summary>What one decode produced: samples at <see cref="SampleRate"/>, the container's declared duration, ffmpeg's error lines.</summary>
public sealed record DecodeInfo(string Path, int SampleRate, long Samples, double? DeclaredDurationSec, IReadOnlyList<string> DecoderErrors)
{
    public double DurationSec => (double)Samples / SampleRate;
}

/// <summary>Receives decoded samples block by block; the span is only valid during the call.</summary>
public delegate void SampleSink(ReadOnlySpan<float> samples);
