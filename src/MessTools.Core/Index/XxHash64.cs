using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace MessTools.Core.Index;

/// <summary>
/// XXH64 (Yann Collet's xxHash, 64-bit, seed 0 by default), streaming: the checksum of index files. It detects
/// damage (truncation, flipped bits, stray writes) at several GB/s, so loading a 100,000-track index checks every
/// byte in a few milliseconds; identity of the embeddings stays with SHA-256. Written here because the BCL has no
/// xxHash and System.IO.Hashing is not a dependency of the engine.
/// </summary>
public sealed class XxHash64
{
    private const ulong P1 = 11400714785074694791UL;
    private const ulong P2 = 14029467366897019727UL;
    private const ulong P3 = 1609587929392839161UL;
    private const ulong P4 = 9650029242287828579UL;
    private const ulong P5 = 2870177450012600261UL;

    private readonly ulong _seed;
    private ulong _v1, _v2, _v3, _v4;
    private readonly byte[] _buffer = new byte[32];
    private int _buffered;
    private ulong _total;

    public XxHash64(ulong seed = 0)
    {
        _seed = seed;
        Reset();
    }

    public void Reset()
    {
        _v1 = unchecked(_seed + P1 + P2);
        _v2 = unchecked(_seed + P2);
        _v3 = _seed;
        _v4 = unchecked(_seed - P1);
        _buffered = 0;
        _total = 0;
    }

    public static ulong Hash(ReadOnlySpan<byte> data, ulong seed = 0)
    {
        var h = new XxHash64(seed);
        h.Append(data);
        return h.Digest();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Round(ulong acc, ulong input) => unchecked(BitOperations.RotateLeft(acc + input * P2, 31) * P1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Merge(ulong acc, ulong value) => unchecked((acc ^ Round(0, value)) * P1 + P4);

    public void Append(ReadOnlySpan<byte> data)
    {
        _total += (ulong)data.Length;
        if (_buffered > 0)
        {
            int take = Math.Min(32 - _buffered, data.Length);
            data[..take].CopyTo(_buffer.AsSpan(_buffered));
            _buffered += take;
            data = data[take..];
            if (_buffered < 32) return;
            Stripes(_buffer);
            _buffered = 0;
        }
        int whole = data.Length & ~31;
        if (whole > 0) Stripes(data[..whole]);
        data[whole..].CopyTo(_buffer);
        _buffered = data.Length - whole;
    }

    private void Stripes(ReadOnlySpan<byte> data)
    {
        ulong v1 = _v1, v2 = _v2, v3 = _v3, v4 = _v4;
        for (int i = 0; i + 32 <= data.Length; i += 32)
        {
            v1 = Round(v1, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
            v2 = Round(v2, BinaryPrimitives.ReadUInt64LittleEndian(data[(i + 8)..]));
            v3 = Round(v3, BinaryPrimitives.ReadUInt64LittleEndian(data[(i + 16)..]));
            v4 = Round(v4, BinaryPrimitives.ReadUInt64LittleEndian(data[(i + 24)..]));
        }
        _v1 = v1; _v2 = v2; _v3 = v3; _v4 = v4;
    }

    public ulong Digest()
    {
        unchecked
        {
            ulong h;
            if (_total >= 32)
            {
                h = BitOperations.RotateLeft(_v1, 1) + BitOperations.RotateLeft(_v2, 7) + BitOperations.RotateLeft(_v3, 12) + BitOperations.RotateLeft(_v4, 18);
                h = Merge(h, _v1);
                h = Merge(h, _v2);
                h = Merge(h, _v3);
                h = Merge(h, _v4);
            }
            else h = _seed + P5;
            h += _total;
            ReadOnlySpan<byte> rest = _buffer.AsSpan(0, _buffered);
            while (rest.Length >= 8)
            {
                h ^= Round(0, BinaryPrimitives.ReadUInt64LittleEndian(rest));
                h = BitOperations.RotateLeft(h, 27) * P1 + P4;
                rest = rest[8..];
            }
            if (rest.Length >= 4)
            {
                h ^= BinaryPrimitives.ReadUInt32LittleEndian(rest) * P1;
                h = BitOperations.RotateLeft(h, 23) * P2 + P3;
                rest = rest[4..];
            }
            foreach (byte b in rest)
            {
                h ^= b * P5;
                h = BitOperations.RotateLeft(h, 11) * P1;
            }
            h ^= h >> 33;
            h *= P2;
            h ^= h >> 29;
            h *= P3;
            h ^= h >> 32;
            return h;
        }
    }
}
