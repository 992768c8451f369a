using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MessTools.Core.Index;

/// <summary>
/// The inner product the HNSW graph spends its time in: one query against one stored row, on pointers into
/// contiguous storage, with the widest SIMD the CPU has (AVX-512, AVX2+FMA, 128-bit, scalar tail) and four
/// independent accumulators so the fused multiply-adds pipeline.
/// </summary>
public static class VectorMath
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe float Dot(float* a, float* b, int n)
    {
        if (Vector512.IsHardwareAccelerated && n >= 16) return Dot512(a, b, n);
        if (Vector256.IsHardwareAccelerated && n >= 8) return Dot256(a, b, n);
        return Dot128(a, b, n);
    }

    public static unsafe float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"Lengths differ: {a.Length} and {b.Length}.");
        fixed (float* pa = a)
        fixed (float* pb = b)
            return Dot(pa, pb, a.Length);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe float Dot512(float* a, float* b, int n)
    {
        Vector512<float> s0 = Vector512<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        if (Avx512F.IsSupported)
        {
            for (; i <= n - 64; i += 64)
            {
                s0 = Avx512F.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), s0);
                s1 = Avx512F.FusedMultiplyAdd(Vector512.Load(a + i + 16), Vector512.Load(b + i + 16), s1);
                s2 = Avx512F.FusedMultiplyAdd(Vector512.Load(a + i + 32), Vector512.Load(b + i + 32), s2);
                s3 = Avx512F.FusedMultiplyAdd(Vector512.Load(a + i + 48), Vector512.Load(b + i + 48), s3);
            }
            for (; i <= n - 16; i += 16)
                s0 = Avx512F.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), s0);
        }
        else
        {
            for (; i <= n - 64; i += 64)
            {
                s0 += Vector512.Load(a + i) * Vector512.Load(b + i);
                s1 += Vector512.Load(a + i + 16) * Vector512.Load(b + i + 16);
                s2 += Vector512.Load(a + i + 32) * Vector512.Load(b + i + 32);
                s3 += Vector512.Load(a + i + 48) * Vector512.Load(b + i + 48);
            }
            for (; i <= n - 16; i += 16) s0 += Vector512.Load(a + i) * Vector512.Load(b + i);
        }
        float sum = Vector512.Sum((s0 + s1) + (s2 + s3));
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe float Dot256(float* a, float* b, int n)
    {
        Vector256<float> s0 = Vector256<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        if (Fma.IsSupported)
        {
            for (; i <= n - 32; i += 32)
            {
                s0 = Fma.MultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), s0);
                s1 = Fma.MultiplyAdd(Vector256.Load(a + i + 8), Vector256.Load(b + i + 8), s1);
                s2 = Fma.MultiplyAdd(Vector256.Load(a + i + 16), Vector256.Load(b + i + 16), s2);
                s3 = Fma.MultiplyAdd(Vector256.Load(a + i + 24), Vector256.Load(b + i + 24), s3);
            }
            for (; i <= n - 8; i += 8) s0 = Fma.MultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), s0);
        }
        else
        {
            for (; i <= n - 32; i += 32)
            {
                s0 += Vector256.Load(a + i) * Vector256.Load(b + i);
                s1 += Vector256.Load(a + i + 8) * Vector256.Load(b + i + 8);
                s2 += Vector256.Load(a + i + 16) * Vector256.Load(b + i + 16);
                s3 += Vector256.Load(a + i + 24) * Vector256.Load(b + i + 24);
            }
            for (; i <= n - 8; i += 8) s0 += Vector256.Load(a + i) * Vector256.Load(b + i);
        }
        float sum = Vector256.Sum((s0 + s1) + (s2 + s3));
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    private static unsafe float Dot128(float* a, float* b, int n)
    {
        int i = 0;
        float sum = 0;
        if (Vector128.IsHardwareAccelerated && n >= 4)
        {
            Vector128<float> s0 = Vector128<float>.Zero, s1 = s0;
            for (; i <= n - 8; i += 8)
            {
                s0 += Vector128.Load(a + i) * Vector128.Load(b + i);
                s1 += Vector128.Load(a + i + 4) * Vector128.Load(b + i + 4);
            }
            for (; i <= n - 4; i += 4) s0 += Vector128.Load(a + i) * Vector128.Load(b + i);
            sum = Vector128.Sum(s0 + s1);
        }
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>Hints the CPU to start fetching the cache lines at <paramref name="p"/> (no-op where unsupported).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Prefetch(void* p)
    {
        if (Sse.IsSupported) Sse.Prefetch0(p);
    }
}
