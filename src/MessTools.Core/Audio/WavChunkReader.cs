namespace MessTools.Core.Audio;

/// <summary>
/// Reads a WAV file's samples as mono, chunk by chunk, so a long track never has to be in memory at once. The values
/// equal <see cref="WavFile.Read"/> followed by <see cref="AudioBuffer.ToMono"/>, bit for bit (same sample decoding,
/// same channel average).
/// </summary>
public sealed class WavChunkReader : IDisposable
{
    private readonly FileStream _file;
    private readonly bool _isFloat;
    private readonly int _bits, _bytesPerSample, _frameBytes;
    private readonly byte[] _bytes;
    private long _framesLeft;

    public int SampleRate { get; }
    public int Channels { get; }
    /// <summary>Mono samples in the file.</summary>
    public long Frames { get; }

    private WavChunkReader(string path, WavInfo info, int chunkFrames)
    {
        SampleRate = info.SampleRate;
        Channels = info.Channels;
        _isFloat = info.Format == "float";
        _bits = info.BitsPerSample;
        _bytesPerSample = _bits / 8;
        _frameBytes = _bytesPerSample * Channels;
        Frames = info.DataBytes / _frameBytes;
        _framesLeft = Frames;
        _bytes = new byte[chunkFrames * _frameBytes];
        _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        _file.Position = info.DataOffset;
    }

    /// <summary>A reader for a PCM (8/16/24/32-bit) or float (32/64-bit) WAV file, or null for anything else.</summary>
    public static WavChunkReader? TryOpen(string path, int chunkFrames = 1 << 16)
    {
        var info = WavFile.TryReadInfo(path);
        if (info is null || info.Channels <= 0 || info.SampleRate <= 0 || info.SampleRate > 1_000_000) return null;
        bool ok = (info.Format == "pcm" && info.BitsPerSample is 8 or 16 or 24 or 32) || (info.Format == "float" && info.BitsPerSample is 32 or 64);
        return ok ? new WavChunkReader(path, info, chunkFrames) : null;
    }

    /// <summary>Reads up to <paramref name="mono"/>.Length mono samples; 0 at the end.</summary>
    public int Read(Span<float> mono)
    {
        int frames = (int)Math.Min(Math.Min(mono.Length, _framesLeft), _bytes.Length / _frameBytes);
        if (frames == 0) return 0;
        var bytes = _bytes.AsSpan(0, frames * _frameBytes);
        _file.ReadExactly(bytes);
        for (int f = 0; f < frames; f++)
        {
            var frame = bytes.Slice(f * _frameBytes, _frameBytes);
            if (Channels == 1) { mono[f] = WavFile.Sample(frame, _isFloat, _bits); continue; }
            float sum = 0;
            for (int c = 0; c < Channels; c++) sum += WavFile.Sample(frame.Slice(c * _bytesPerSample, _bytesPerSample), _isFloat, _bits);
            mono[f] = sum / Channels;
        }
        _framesLeft -= frames;
        return frames;
    }

    public void Dispose() => _file.Dispose();
}
