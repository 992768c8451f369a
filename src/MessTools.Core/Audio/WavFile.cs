using System.Buffers.Binary;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Audio;

/// <summary>Sample formats <see cref="WavFile"/> writes.</summary>
public enum WavSampleFormat { Float32, Pcm16 }

/// <summary>Decoded audio: interleaved samples in [-1, 1], with their rate and channel count.</summary>
public sealed class AudioBuffer
{
    public AudioBuffer(float[] samples, int sampleRate, int channels = 1)
    {
        if (sampleRate <= 0) throw new ArgumentOutOfRangeException(nameof(sampleRate));
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels));
        Samples = samples;
        SampleRate = sampleRate;
        Channels = channels;
    }

    public float[] Samples { get; }
    public int SampleRate { get; }
    public int Channels { get; }
    public long Frames => Samples.Length / Channels;
    public double DurationSec => (double)Frames / SampleRate;

    /// <summary>The channels averaged into one.</summary>
    public AudioBuffer ToMono()
    {
        if (Channels == 1) return this;
        var mono = new float[Frames];
        for (long f = 0; f < mono.Length; f++)
        {
            float sum = 0;
            for (int c = 0; c < Channels; c++) sum += Samples[f * Channels + c];
            mono[f] = sum / Channels;
        }
        return new AudioBuffer(mono, SampleRate, 1);
    }
}

/// <summary>
/// RIFF/WAVE reading (PCM 8/16/24/32-bit, IEEE float 32/64, WAVE_FORMAT_EXTENSIBLE) and atomic writing
/// (float32 or 16-bit PCM). Malformed files are refused with an error that says what is wrong and where.
/// </summary>
public static class WavFile
{
    private const ushort FormatPcm = 1, FormatFloat = 3, FormatExtensible = 0xFFFE;

    public static AudioBuffer Read(string path)
    {
        byte[] data;
        try { data = File.ReadAllBytes(path); }
        catch (FileNotFoundException ex) { throw new MessException(MessErrorIds.AudioFileNotFound, MessErrorKind.ObjectNotFound, $"The audio file '{path}' does not exist.", path, ex); }
        return Parse(data, path);
    }

    public static AudioBuffer Parse(ReadOnlySpan<byte> data, string name)
    {
        MessException Bad(string why) => new(MessErrorIds.InvalidWav, MessErrorKind.InvalidData, $"'{name}' is not a readable WAV file: {why}.", name);
        if (data.Length < 12 || !data[..4].SequenceEqual("RIFF"u8) || !data.Slice(8, 4).SequenceEqual("WAVE"u8))
            throw Bad("it does not start with a RIFF/WAVE header");
        int pos = 12;
        ushort format = 0, channels = 0, bits = 0;
        int rate = 0;
        ReadOnlySpan<byte> pcm = default;
        bool haveFmt = false, haveData = false;
        while (pos + 8 <= data.Length)
        {
            var id = data.Slice(pos, 4);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(pos + 4, 4));
            int body = pos + 8;
            long available = data.Length - body;
            if (id.SequenceEqual("fmt "u8))
            {
                if (size < 16 || size > available) throw Bad("its fmt chunk is truncated");
                format = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(body, 2));
                channels = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(body + 2, 2));
                rate = BinaryPrimitives.ReadInt32LittleEndian(data.Slice(body + 4, 4));
                bits = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(body + 14, 2));
                if (format == FormatExtensible && size >= 40)
                    format = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(body + 24, 2));
                haveFmt = true;
            }
            else if (id.SequenceEqual("data"u8))
            {
                // A streamed writer may leave the size at 0 or 0xFFFFFFFF: take what is there.
                long len = size == 0 || size == uint.MaxValue || size > available ? available : size;
                pcm = data.Slice(body, (int)len);
                haveData = true;
                break;
            }
            pos = body + (int)Math.Min(size + (size & 1), (uint)int.MaxValue - body);
        }
        if (!haveFmt) throw Bad("it has no fmt chunk");
        if (!haveData) throw Bad("it has no data chunk");
        if (channels == 0 || rate <= 0 || rate > 1_000_000) throw Bad($"its header says {channels} channels at {rate} Hz");
        int bytesPerSample = bits / 8;
        if (bits % 8 != 0 || bytesPerSample == 0) throw Bad($"{bits}-bit samples are not supported");
        bool ok = (format == FormatPcm && bits is 8 or 16 or 24 or 32) || (format == FormatFloat && bits is 32 or 64);
        if (!ok) throw Bad($"format {format} with {bits}-bit samples is not supported (PCM 8/16/24/32-bit or float 32/64-bit)");
        int frameBytes = bytesPerSample * channels;
        int count = pcm.Length / frameBytes * channels;
        var samples = new float[count];
        for (int i = 0; i < count; i++) samples[i] = Sample(pcm.Slice(i * bytesPerSample, bytesPerSample), format == FormatFloat, bits);
        return new AudioBuffer(samples, rate, channels);
    }

    /// <summary>One sample in [-1, 1] from its bytes (PCM 8/16/24/32-bit or IEEE float 32/64-bit).</summary>
    internal static float Sample(ReadOnlySpan<byte> s, bool isFloat, int bits) => (isFloat, bits) switch
    {
        (true, 32) => BinaryPrimitives.ReadSingleLittleEndian(s),
        (true, 64) => (float)BinaryPrimitives.ReadDoubleLittleEndian(s),
        (_, 8) => (s[0] - 128) / 128f,
        (_, 16) => BinaryPrimitives.ReadInt16LittleEndian(s) / 32768f,
        (_, 24) => ((s[0] | (s[1] << 8) | (s[2] << 16)) << 8 >> 8) / 8388608f,
        _ => BinaryPrimitives.ReadInt32LittleEndian(s) / 2147483648f,
    };

    /// <summary>
    /// The header of a WAV file without reading its samples, or null when the file is missing or not a RIFF/WAVE
    /// file with fmt and data chunks. <see cref="WavInfo.Truncated"/> says whether the data chunk is shorter than declared.
    /// </summary>
    public static WavInfo? TryReadInfo(string path)
    {
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
            long length = fs.Length;
            var head = new byte[(int)Math.Min(length, 1 << 16)];
            fs.ReadExactly(head);
            var data = (ReadOnlySpan<byte>)head;
            if (data.Length < 12 || !data[..4].SequenceEqual("RIFF"u8) || !data.Slice(8, 4).SequenceEqual("WAVE"u8)) return null;
            long pos = 12;
            ushort format = 0, channels = 0, bits = 0;
            int rate = 0;
            bool haveFmt = false;
            while (pos + 8 <= data.Length)
            {
                var id = data.Slice((int)pos, 4);
                uint size = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice((int)pos + 4, 4));
                long body = pos + 8;
                if (id.SequenceEqual("fmt "u8))
                {
                    if (size < 16 || body + 16 > data.Length) return null;
                    format = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice((int)body, 2));
                    channels = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice((int)body + 2, 2));
                    rate = BinaryPrimitives.ReadInt32LittleEndian(data.Slice((int)body + 4, 4));
                    bits = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice((int)body + 14, 2));
                    if (format == FormatExtensible && size >= 40 && body + 26 <= data.Length)
                        format = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice((int)body + 24, 2));
                    haveFmt = true;
                }
                else if (id.SequenceEqual("data"u8))
                {
                    if (!haveFmt) return null;
                    long available = length - body;
                    bool streamed = size == 0 || size == uint.MaxValue;
                    long declared = streamed ? available : size;
                    return new WavInfo(format == FormatFloat ? "float" : format == FormatPcm ? "pcm" : $"format{format}", channels, rate, bits,
                        body, Math.Min(declared, available), declared, length);
                }
                pos = body + size + (size & 1);
            }
            return null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>Size of the canonical 44-byte header <see cref="WriteHeader"/> writes.</summary>
    public const int HeaderBytes = 44;

    /// <summary>The canonical RIFF/WAVE header (fmt chunk of 16 bytes, then the data chunk's header).</summary>
    public static void WriteHeader(Span<byte> h, WavSampleFormat format, int channels, int sampleRate, long dataBytes)
    {
        int bytesPerSample = format == WavSampleFormat.Float32 ? 4 : 2;
        "RIFF"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)(36 + dataBytes));
        "WAVE"u8.CopyTo(h[8..]);
        "fmt "u8.CopyTo(h[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(h[20..], format == WavSampleFormat.Float32 ? FormatFloat : FormatPcm);
        BinaryPrimitives.WriteUInt16LittleEndian(h[22..], (ushort)channels);
        BinaryPrimitives.WriteInt32LittleEndian(h[24..], sampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(h[28..], sampleRate * channels * bytesPerSample);
        BinaryPrimitives.WriteUInt16LittleEndian(h[32..], (ushort)(channels * bytesPerSample));
        BinaryPrimitives.WriteUInt16LittleEndian(h[34..], (ushort)(bytesPerSample * 8));
        "data"u8.CopyTo(h[36..]);
        BinaryPrimitives.WriteUInt32LittleEndian(h[40..], (uint)dataBytes);
    }

    /// <summary>Writes <paramref name="audio"/> atomically as float32 or 16-bit PCM.</summary>
    public static void Write(string path, AudioBuffer audio, WavSampleFormat format = WavSampleFormat.Float32)
    {
        int bytesPerSample = format == WavSampleFormat.Float32 ? 4 : 2;
        long dataBytes = (long)audio.Samples.Length * bytesPerSample;
        if (dataBytes > uint.MaxValue - 44)
            throw new MessException(MessErrorIds.WavTooLarge, MessErrorKind.InvalidData, $"'{path}': {dataBytes} bytes of audio do not fit in a WAV file.", path);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> h = stackalloc byte[HeaderBytes];
            WriteHeader(h, format, audio.Channels, audio.SampleRate, dataBytes);
            stream.Write(h);
            var buf = new byte[1 << 16];
            int n = 0;
            foreach (float x in audio.Samples)
            {
                if (format == WavSampleFormat.Float32) BinaryPrimitives.WriteSingleLittleEndian(buf.AsSpan(n), x);
                else BinaryPrimitives.WriteInt16LittleEndian(buf.AsSpan(n), (short)Math.Clamp(MathF.Round(x * 32767f), -32768f, 32767f));
                n += bytesPerSample;
                if (n == buf.Length) { stream.Write(buf, 0, n); n = 0; }
            }
            stream.Write(buf, 0, n);
        });
    }
}

/// <summary>A WAV file's header: sample format ("pcm" or "float"), layout, and where its samples are.</summary>
public sealed record WavInfo(string Format, int Channels, int SampleRate, int BitsPerSample, long DataOffset, long DataBytes, long DeclaredDataBytes, long FileBytes)
{
    /// <summary>Frames actually present.</summary>
    public long Frames => Channels <= 0 || BitsPerSample < 8 ? 0 : DataBytes / (Channels * (BitsPerSample / 8));
    public double DurationSec => SampleRate <= 0 ? 0 : (double)Frames / SampleRate;
    /// <summary>The data chunk declares more bytes than the file holds.</summary>
    public bool Truncated => DeclaredDataBytes > DataBytes;
    /// <summary>True when the file is mono at <paramref name="sampleRate"/> in <paramref name="format"/>.</summary>
    public bool Matches(int sampleRate, WavSampleFormat format) =>
        Channels == 1 && SampleRate == sampleRate &&
        (format == WavSampleFormat.Float32 ? Format == "float" && BitsPerSample == 32 : Format == "pcm" && BitsPerSample == 16);
}

/// <summary>
/// Writes a WAV file sample block by sample block (mono or interleaved), atomically: the file appears under its
/// name only on <see cref="Commit"/>, with the header's sizes filled in; disposing without commit leaves nothing.
/// </summary>
public sealed class WavStreamWriter : IDisposable
{
    private readonly AtomicFileWriter _file;
    private readonly WavSampleFormat _format;
    private readonly int _channels;
    private readonly int _sampleRate;
    private readonly byte[] _buffer = new byte[1 << 16];
    private long _samples;

    public WavStreamWriter(string path, int sampleRate, int channels = 1, WavSampleFormat format = WavSampleFormat.Float32)
    {
        if (sampleRate <= 0) throw new ArgumentOutOfRangeException(nameof(sampleRate));
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels));
        _format = format;
        _channels = channels;
        _sampleRate = sampleRate;
        _file = AtomicFileWriter.Create(path);
        _file.Stream.Write(new byte[44]);
    }

    public string Path => _file.TargetPath;
    public long SamplesWritten => _samples;
    private int BytesPerSample => _format == WavSampleFormat.Float32 ? 4 : 2;

    public void Write(ReadOnlySpan<float> samples)
    {
        int bps = BytesPerSample;
        while (!samples.IsEmpty)
        {
            int n = Math.Min(samples.Length, _buffer.Length / bps);
            var dst = _buffer.AsSpan(0, n * bps);
            if (_format == WavSampleFormat.Float32 && BitConverter.IsLittleEndian)
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(samples[..n]).CopyTo(dst);
            else
                for (int i = 0; i < n; i++)
                {
                    float x = samples[i];
                    if (_format == WavSampleFormat.Float32) BinaryPrimitives.WriteSingleLittleEndian(dst[(i * 4)..], x);
                    else BinaryPrimitives.WriteInt16LittleEndian(dst[(i * 2)..], float.IsNaN(x) ? (short)0 : (short)Math.Clamp(MathF.Round(x * 32767f), -32768f, 32767f));
                }
            _file.Stream.Write(dst);
            _samples += n;
            samples = samples[n..];
        }
    }

    /// <summary>Fills in the header and moves the file into place.</summary>
    public void Commit()
    {
        int bps = BytesPerSample;
        long dataBytes = _samples * bps;
        if (dataBytes > uint.MaxValue - 44)
            throw new MessException(MessErrorIds.WavTooLarge, MessErrorKind.InvalidData, $"'{Path}': {dataBytes} bytes of audio do not fit in a WAV file.", Path);
        Span<byte> h = stackalloc byte[WavFile.HeaderBytes];
        WavFile.WriteHeader(h, _format, _channels, _sampleRate, dataBytes);
        _file.Stream.Position = 0;
        _file.Stream.Write(h);
        _file.Commit();
    }

    public void Dispose() => _file.Dispose();
}
