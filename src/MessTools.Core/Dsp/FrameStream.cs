namespace MessTools.Core.Dsp;

/// <summary>
/// Computes the frames of a <see cref="PowerSpectrogram"/> while the signal arrives in chunks, keeping only the samples
/// the next frames need (about one frame), so memory does not grow with the signal's length. The total length must be
/// known up front (frame count and end padding depend on it); every frame equals what
/// <see cref="PowerSpectrogram.Frame"/> gives on the whole signal, bit for bit.
/// </summary>
public sealed class FrameStream
{
    /// <summary>Receives frame <c>k</c>'s power spectrum (valid only during the call).</summary>
    public delegate void FrameSink(int k, ReadOnlySpan<float> power);

    private readonly PowerSpectrogram _stft;
    private readonly PowerSpectrogram.Scratch _scratch;
    private readonly float[] _power;
    private float[] _buffer;
    private long _bufferStart;  // absolute index of _buffer[0]
    private int _bufferLength;
    private long _received;
    private int _next;

    public long TotalSamples { get; }
    public int FrameCount { get; }

    public FrameStream(PowerSpectrogram stft, long totalSamples)
    {
        if (totalSamples < 0 || totalSamples > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(totalSamples));
        _stft = stft;
        TotalSamples = totalSamples;
        FrameCount = stft.FrameCount((int)totalSamples);
        _scratch = stft.CreateScratch();
        _power = new float[stft.Bins];
        _buffer = new float[Math.Max(stft.FrameLength * 2, 1 << 16)];
    }

    /// <summary>Adds the next samples and hands every frame they complete to <paramref name="sink"/>.</summary>
    public void Push(ReadOnlySpan<float> chunk, FrameSink sink)
    {
        if (_received + chunk.Length > TotalSamples)
            throw new InvalidOperationException($"The signal is longer than the {TotalSamples} samples announced.");
        while (!chunk.IsEmpty)
        {
            Compact();
            if (_bufferLength == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
            int n = Math.Min(chunk.Length, _buffer.Length - _bufferLength);
            chunk[..n].CopyTo(_buffer.AsSpan(_bufferLength));
            _bufferLength += n;
            _received += n;
            chunk = chunk[n..];
            Emit(sink);
        }
    }

    /// <summary>After the last chunk: the remaining frames (zero padded past the end, as on the whole signal).</summary>
    public void Finish(FrameSink sink)
    {
        if (_received != TotalSamples)
            throw new InvalidOperationException($"The signal ended after {_received} of the {TotalSamples} samples announced.");
        Emit(sink);
    }

    private void Emit(FrameSink sink)
    {
        long end = _bufferStart + _bufferLength;
        while (_next < FrameCount)
        {
            long need = Math.Min(TotalSamples, (long)_stft.FrameStart(_next) + _stft.FrameLength);
            if (need > end) break;
            _stft.FrameAt(_buffer.AsSpan(0, _bufferLength), _bufferStart, TotalSamples, _next, _power, _scratch);
            sink(_next, _power);
            _next++;
        }
    }

    // Drops the samples no later frame needs.
    private void Compact()
    {
        long keepFrom = _next < FrameCount ? Math.Max(0, _stft.FrameStart(_next)) : _bufferStart + _bufferLength;
        int drop = (int)Math.Clamp(keepFrom - _bufferStart, 0, _bufferLength);
        if (drop == 0) return;
        Array.Copy(_buffer, drop, _buffer, 0, _bufferLength - drop);
        _bufferLength -= drop;
        _bufferStart += drop;
    }
}
