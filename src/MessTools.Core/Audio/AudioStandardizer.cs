using System.Globalization;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Audio;

/// <summary>How audio is standardised for the model.</summary>
public sealed class StandardizeOptions
{
    /// <summary>The built-in embedder's rate. ONNX models want their own (24000 for MERT-class, 16000 for MusiCNN).</summary>
    public const int DefaultSampleRate = 22050;

    public int SampleRate { get; init; } = DefaultSampleRate;
    public WavSampleFormat Format { get; init; } = WavSampleFormat.Float32;
    public double MinDurationSec { get; init; } = 1.0;
    /// <summary>Decode again even when audio_wav/ already holds the track from the same source.</summary>
    public bool Force { get; init; }
}

public sealed record StandardizeResult(string WavPath, double DurationSec, int SampleRate, double PeakDbfs, bool Cached);

/// <summary>audio_wav/&lt;track&gt;.wav.source.json: what the WAV was made from, so a rerun can skip it.</summary>
public sealed class WavSourceEntry
{
    public string Source { get; set; } = "";
    public long SourceSize { get; set; }
    public long SourceMtimeTicks { get; set; }
    public int SampleRate { get; set; }
    public string Format { get; set; } = "";
    public double DurationSec { get; set; }
    public double PeakDbfs { get; set; }

    public const string Suffix = ".source.json";
}

/// <summary>
/// Decodes a track's audio with ffmpeg to mono at the target rate, streams it into audio_wav/&lt;track_id&gt;.wav
/// (atomically) while checking it (<see cref="AudioCheck"/>), and keeps it only when every check passes.
/// A WAV made earlier from the same source file with the same settings is reused.
/// </summary>
public sealed class AudioStandardizer
{
    private readonly ArtifactStore _store;
    private readonly FfmpegDecoder _decoder;

    public AudioStandardizer(ArtifactStore store, FfmpegDecoder decoder, StandardizeOptions options)
    {
        if (options.SampleRate is < 4000 or > 192_000)
            throw new MessException(MessErrorIds.InvalidSampleRate, MessErrorKind.InvalidArgument, $"-SampleRate {options.SampleRate} is outside 4000..192000 Hz.", "SampleRate");
        if (options.MinDurationSec < 0 || double.IsNaN(options.MinDurationSec))
            throw new MessException(MessErrorIds.InvalidMinDuration, MessErrorKind.InvalidArgument, $"-MinDurationSec {options.MinDurationSec} is negative.", "MinDurationSec");
        _store = store;
        _decoder = decoder;
        Options = options;
    }

    public StandardizeOptions Options { get; }

    public async Task<StandardizeResult> RunAsync(string trackId, string audioPath, CancellationToken ct)
    {
        string wavPath = _store.WavPath(trackId);
        string sidecar = wavPath + WavSourceEntry.Suffix;
        var source = new FileInfo(audioPath);
        string format = Options.Format.ToString().ToLowerInvariant();
        if (!Options.Force && source.Exists && ReadEntry(sidecar) is { } e
            && e.Source == source.FullName && e.SourceSize == source.Length && e.SourceMtimeTicks == source.LastWriteTimeUtc.Ticks
            && e.SampleRate == Options.SampleRate && e.Format == format
            && WavFile.TryReadInfo(wavPath) is { Truncated: false } info && info.Matches(Options.SampleRate, Options.Format)
            && Math.Abs(info.DurationSec - e.DurationSec) < 0.01 && info.DurationSec >= Options.MinDurationSec)
            return new StandardizeResult(wavPath, info.DurationSec, Options.SampleRate, e.PeakDbfs, Cached: true);

        var check = new AudioCheck(Options.SampleRate);
        string what = $"Track '{trackId}' ({audioPath})";
        using (var writer = new WavStreamWriter(wavPath, Options.SampleRate, 1, Options.Format))
        {
            try
            {
                await _decoder.DecodeStreamAsync(audioPath, Options.SampleRate, block =>
                {
                    check.Add(block);
                    writer.Write(block);
                }, ct).ConfigureAwait(false);
            }
            catch (MessException ex) when (ex.Target is string)
            {
                // Name the track in the decoder's message.
                throw new MessException(ex.ErrorId, ex.Kind, $"Track '{trackId}': {ex.Message}", trackId, ex);
            }
            check.Validate(what, Options.MinDurationSec);
            ct.ThrowIfCancellationRequested();
            try { File.Delete(sidecar); } catch (DirectoryNotFoundException) { }
            writer.Commit();
        }
        ArtifactJson.Write(sidecar, new WavSourceEntry
        {
            Source = source.FullName,
            SourceSize = source.Length,
            SourceMtimeTicks = source.LastWriteTimeUtc.Ticks,
            SampleRate = Options.SampleRate,
            Format = format,
            DurationSec = Math.Round(check.DurationSec, 6),
            PeakDbfs = Math.Round(check.PeakDbfs, 2),
        });
        return new StandardizeResult(wavPath, check.DurationSec, Options.SampleRate, check.PeakDbfs, Cached: false);
    }

    private static WavSourceEntry? ReadEntry(string path)
    {
        if (!File.Exists(path)) return null;
        try { return ArtifactJson.Read<WavSourceEntry>(path); }
        catch (MessException) { return null; }
        catch (IOException) { return null; }
    }

    internal static string Invariant(double d) => d.ToString("0.###", CultureInfo.InvariantCulture);
}
