using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MessTools.Core.Common;

// AvxVnni is marked preview in the net8.0 reference assemblies the engine compiles against; the runtime implements
// it as the same hardware intrinsic, and IsSupported gates every use.
#pragma warning disable CA2252

namespace MessTools.Core.Index;

/// <summary>
/// The rows of an HNSW index in int8, for the graph walk: each row x as bytes x̃ with a scale s (x ≈ s·x̃,
/// |x̃ᵢ| ≤ 127, x̃ = round(x·127/max|x|)), stored shifted as unsigned bytes x̃ + 128 and padded to a multiple of 32
/// values. A query is quantised the same way as signed bytes q̃, so one VPDPBUSD multiplies 32 byte pairs (or, without
/// VNNI, two widenings to 16 bits and one VPMADDWD) and the
/// shift comes off once per query: s_q·s_x·(Σ(x̃ᵢ+128)q̃ᵢ − 128·Σq̃) = s_q·s_x·(q̃·x̃). A quarter of the
/// float rows' bytes, so the walk's memory traffic and its multiply-adds per instruction both improve; the walk's
/// final candidates are scored again in float by the caller, so the answers carry exact scores.
/// </summary>
internal sealed unsafe class QuantisedRows
{
    /// <summary>Fewer rows than this: the float rows fit in cache and quantising saves nothing.</summary>
    internal const int MinRows = 4096;

    private readonly Memory<byte> _bytes;
    private readonly float[] _scale;

    /// <summary>Row i's bytes (x̃ + 128) at i·DimPad, in memory or a mapped section of the index file.</summary>
    internal Memory<byte> Bytes => _bytes;
    /// <summary>Row i's scale s.</summary>
    internal float[] Scale => _scale;

    public int Count { get; }
    public int Dim { get; }
    public int DimPad { get; }

    /// <summary>The bytes of one row: the dimension rounded up to a multiple of 32.</summary>
    public static int PaddedDim(int dim) => (dim + 31) / 32 * 32;

    /// <summary>Rows read from an index file (see <see cref="IndexFile"/>).</summary>
    internal QuantisedRows(Memory<byte> bytes, float[] scale, int count, int dim)
    {
        Count = count;
        Dim = dim;
        DimPad = PaddedDim(dim);
        if (bytes.Length != (long)count * DimPad || scale.Length != count)
            throw new ArgumentException($"{bytes.Length} bytes and {scale.Length} scales for {count} rows of {DimPad}.");
        _bytes = bytes;
        _scale = scale;
    }

    /// <summary>Whether this CPU runs the int8 walk: with AVX-VNNI, or without it by widening the bytes to 16 bits and
    /// multiplying pairs (<see cref="DotWidened"/>, AVX-512BW or AVX2; the same integers). Servers with AVX-512 but
    /// without the VEX-encoded AVX-VNNI (AMD Zen 4, Intel Cascade Lake and Ice Lake) take AVX-512BW.</summary>
    public static bool Supported => Avx2.IsSupported;

    /// <summary>The first <paramref name="count"/> rows quantised; null when a value is not finite (the float walk
    /// answers such an index). The same rows give the same bytes on every CPU (IEEE arithmetic, ties to even).</summary>
    public static QuantisedRows? Create(ReadOnlySpan<float> vectors, int count, int dim)
    {
        int pad = PaddedDim(dim);
        var bytes = LargeArray.Uninitialized<byte>((long)count * pad);
        var scale = new float[count];
        fixed (float* v = vectors)
        fixed (byte* b = bytes)
        {
            for (int i = 0; i < count; i++)
                if (!Quantise(v + (long)i * dim, dim, pad, b + (long)i * pad, shifted: true, out scale[i], out _))
                    return null;
        }
        return new QuantisedRows(bytes, scale, count, dim);
    }

    /// <summary>One row or query into <paramref name="dimPad"/> bytes: x̃ + 128 as unsigned bytes for a row
    /// (<paramref name="shifted"/>), x̃ as signed bytes for a query; <paramref name="sum"/> is Σx̃. False when a
    /// value is not finite.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool Quantise(float* x, int dim, int dimPad, byte* dest, bool shifted, out float scale, out int sum)
    {
        scale = 0;
        sum = 0;
        float max = 0;
        for (int i = 0; i < dim; i++)
        {
            float a = x[i];
            if (!float.IsFinite(a)) return false;
            max = Math.Max(max, Math.Abs(a));
        }
        byte zero = shifted ? (byte)128 : (byte)0;
        new Span<byte>(dest, dimPad).Fill(zero);
        if (max == 0) return true;
        scale = max / 127f;
        float inv = 127f / max;
        int i2 = 0;
        if (Avx2.IsSupported)
        {
            var vinv = Vector256.Create(inv);
            var lo = Vector256.Create(-127f);
            var hi = Vector256.Create(127f);
            var shift = Vector256.Create(shifted ? 128 : 0);
            var vsum = Vector256<int>.Zero;
            for (; i2 + 32 <= dim; i2 += 32)
            {
                var b0 = Avx.ConvertToVector256Int32(Vector256.Min(hi, Vector256.Max(lo, Avx.RoundToNearestInteger(Avx.LoadVector256(x + i2) * vinv))));
                var b1 = Avx.ConvertToVector256Int32(Vector256.Min(hi, Vector256.Max(lo, Avx.RoundToNearestInteger(Avx.LoadVector256(x + i2 + 8) * vinv))));
                var b2 = Avx.ConvertToVector256Int32(Vector256.Min(hi, Vector256.Max(lo, Avx.RoundToNearestInteger(Avx.LoadVector256(x + i2 + 16) * vinv))));
                var b3 = Avx.ConvertToVector256Int32(Vector256.Min(hi, Vector256.Max(lo, Avx.RoundToNearestInteger(Avx.LoadVector256(x + i2 + 24) * vinv))));
                vsum += (b0 + b1) + (b2 + b3);
                // Narrowing truncates to the low byte: -127..127 as signed bytes, or 1..255 shifted, exactly.
                var packed = Vector256.Narrow(Vector256.Narrow(b0 + shift, b1 + shift), Vector256.Narrow(b2 + shift, b3 + shift));
                packed.AsByte().Store(dest + i2);
            }
            sum = Vector256.Sum(vsum);
        }
        for (; i2 < dim; i2++)
        {
            int b = (int)Math.Clamp(MathF.Round(x[i2] * inv), -127f, 127f);
            sum += b;
            dest[i2] = (byte)(shifted ? b + 128 : b);
        }
        return true;
    }

    /// <summary>Σ (x̃ᵢ+128)·q̃ᵢ = x̃·q̃ + 128·Σq̃ over <paramref name="dimPad"/> bytes, a multiple of 32: one VPDPBUSD
    /// per 32 (unsigned row bytes by signed query bytes). The shift is the query's alone, so it comes off once per
    /// query, not per row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Dot(byte* row, sbyte* q, int dimPad) =>
        AvxVnni.IsSupported ? DotVnni(row, q, dimPad) : Avx512BW.IsSupported ? DotWidened(row, q, dimPad) : DotWidened256(row, q, dimPad);

    /// <summary><see cref="Dot"/> by VPDPBUSD.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int DotVnni(byte* row, sbyte* q, int dimPad)
    {
        var a0 = Vector256<int>.Zero;
        var a1 = Vector256<int>.Zero;
        int i = 0;
        for (; i + 64 <= dimPad; i += 64)
        {
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, Avx.LoadVector256(row + i), Avx.LoadVector256(q + i));
            a1 = AvxVnni.MultiplyWideningAndAdd(a1, Avx.LoadVector256(row + i + 32), Avx.LoadVector256(q + i + 32));
        }
        if (i < dimPad) a0 = AvxVnni.MultiplyWideningAndAdd(a0, Avx.LoadVector256(row + i), Avx.LoadVector256(q + i));
        return Vector256.Sum(a0 + a1);
    }

    /// <summary><see cref="Dot"/> without VNNI: 32 row bytes zero-extended and 32 query bytes sign-extended to 16 bits,
    /// multiplied in pairs into 32-bit sums (VPMADDWD). A pair is at most 2·255·127, so nothing saturates (VPMADDUBSW's
    /// 16-bit sums would) and the result is VPDPBUSD's integer exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int DotWidened(byte* row, sbyte* q, int dimPad)
    {
        var a0 = Vector512<int>.Zero;
        var a1 = Vector512<int>.Zero;
        int i = 0;
        for (; i + 64 <= dimPad; i += 64)
        {
            a0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(row + i)), Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(q + i)));
            a1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(row + i + 32)), Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(q + i + 32)));
        }
        if (i < dimPad)
            a0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(row + i)), Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(q + i)));
        return Vector512.Sum(a0 + a1);
    }

    /// <summary><see cref="DotWidened"/> in 256-bit vectors (AVX2 alone): 16 bytes of each widened per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int DotWidened256(byte* row, sbyte* q, int dimPad)
    {
        var a0 = Vector256<int>.Zero;
        var a1 = Vector256<int>.Zero;
        for (int i = 0; i < dimPad; i += 32)
        {
            a0 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(row + i), Avx2.ConvertToVector256Int16(q + i));
            a1 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(row + i + 16), Avx2.ConvertToVector256Int16(q + i + 16));
        }
        return Vector256.Sum(a0 + a1);
    }
}
