using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MessTools.Core.Search;

// Packing and the SIMD kernels: panel packing, 8 x 8 register transposes, in-place row dots (few queries)
// and the register-tiled micro-kernels (AVX-512 12 x 32, AVX2+FMA 6 x 16, portable Vector<T>).
public static unsafe partial class ExactSearch
{
    private static float* Align(float* p) => (float*)(((nint)p + 63) & ~(nint)63);

    /// <summary>Rows [first, first+width) of a row-major matrix into one panel [dim][width]; rows past the end are zero.</summary>
    private static void PackPanel(float* src, int rows, int dim, int first, int width, float* dst)
    {
        int r0 = 0;
        if (Avx.IsSupported && width % 8 == 0)
        {
            // Whole groups of 8 present rows: 8 x 8 register transposes, 8 contiguous stores each.
            nint d = dim, w = width;
            for (; r0 + 8 <= width && first + r0 + 8 <= rows; r0 += 8)
            {
                float* s = src + (nint)(first + r0) * d;
                float* o = dst + r0;
                nint p = 0;
                for (; p + 8 <= d; p += 8)
                {
                    Transpose8(s + p, d, out var v0, out var v1, out var v2, out var v3, out var v4, out var v5, out var v6, out var v7);
                    float* t = o + p * w;
                    v0.Store(t); v1.Store(t + w); v2.Store(t + 2 * w); v3.Store(t + 3 * w);
                    v4.Store(t + 4 * w); v5.Store(t + 5 * w); v6.Store(t + 6 * w); v7.Store(t + 7 * w);
                }
                for (; p < d; p++) Column(s, d, p).Store(o + p * w);
            }
        }
        for (int r = r0; r < width; r++)
        {
            int row = first + r;
            if (row < rows)
            {
                float* s = src + (nint)row * dim;
                float* d = dst + r;
                for (int p = 0; p < dim; p++) d[(nint)p * width] = s[p];
            }
            else
            {
                for (int p = 0; p < dim; p++) dst[(nint)p * width + r] = 0f;
            }
        }
    }

    // ---------------------------------------------------------------- in-place kernels (few queries)
    // Scores of 8 consecutive rows (row-major, stride dim) with 4 or 1 queries; lane r = row r; out[j * ldo + r].
    // Each 8 x 8 block of the rows is transposed in registers, so lane r still sees dimensions 0, 1, 2 ... in order.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(float* r, nint ld, out Vector256<float> o0, out Vector256<float> o1, out Vector256<float> o2, out Vector256<float> o3,
        out Vector256<float> o4, out Vector256<float> o5, out Vector256<float> o6, out Vector256<float> o7) =>
        Transpose8(Avx.LoadVector256(r), Avx.LoadVector256(r + ld), Avx.LoadVector256(r + 2 * ld), Avx.LoadVector256(r + 3 * ld),
            Avx.LoadVector256(r + 4 * ld), Avx.LoadVector256(r + 5 * ld), Avx.LoadVector256(r + 6 * ld), Avx.LoadVector256(r + 7 * ld),
            out o0, out o1, out o2, out o3, out o4, out o5, out o6, out o7);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7,
        out Vector256<float> o0, out Vector256<float> o1, out Vector256<float> o2, out Vector256<float> o3,
        out Vector256<float> o4, out Vector256<float> o5, out Vector256<float> o6, out Vector256<float> o7)
    {
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        o0 = Avx.Permute2x128(u0, u4, 0x20); o1 = Avx.Permute2x128(u1, u5, 0x20);
        o2 = Avx.Permute2x128(u2, u6, 0x20); o3 = Avx.Permute2x128(u3, u7, 0x20);
        o4 = Avx.Permute2x128(u0, u4, 0x31); o5 = Avx.Permute2x128(u1, u5, 0x31);
        o6 = Avx.Permute2x128(u2, u6, 0x31); o7 = Avx.Permute2x128(u3, u7, 0x31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Column(float* r, nint ld, nint p) =>
        Vector256.Create(r[p], r[ld + p], r[2 * ld + p], r[3 * ld + p], r[4 * ld + p], r[5 * ld + p], r[6 * ld + p], r[7 * ld + p]);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowDots4(float* rows, int dim, float* q, float* output, int ldo)
    {
        nint d = dim;
        float* q1 = q + d, q2 = q + 2 * d, q3 = q + 3 * d;
        Vector256<float> a = default, b = default, c = default, e = default;
        nint p = 0;
        for (; p + 8 <= d; p += 8)
        {
            Transpose8(rows + p, d, out var v0, out var v1, out var v2, out var v3, out var v4, out var v5, out var v6, out var v7);
            a = Fma.MultiplyAdd(Vector256.Create(q[p]), v0, a); b = Fma.MultiplyAdd(Vector256.Create(q1[p]), v0, b);
            c = Fma.MultiplyAdd(Vector256.Create(q2[p]), v0, c); e = Fma.MultiplyAdd(Vector256.Create(q3[p]), v0, e);
            a = Fma.MultiplyAdd(Vector256.Create(q[p + 1]), v1, a); b = Fma.MultiplyAdd(Vector256.Create(q1[p + 1]), v1, b);
            c = Fma.MultiplyAdd(Vector256.Create(q2[p + 1]), v1, c); e = Fma.MultiplyAdd(Vector256.Create(q3[p + 1]), v1, e);
            a = Fma.MultiplyAdd(Vector256.Create(q[p + 2]), v2, a); b = Fma.MultiplyAdd(Vector256.Create(q1[p + 2]), v2, b);
            c = Fma.MultiplyAdd(Vector256.Create(q2[p + 2]), v2, c); e = Fma.MultiplyAdd(Vector256.Create(q3[p + 2]), v2, e);
            a = Fma.MultiplyAdd(Vector256.Create(q[p + 3]), v3, a); b = Fma.MultiplyAdd(Vector256.Create(q1[p + 3]), v3, b);
            c = Fma.MultiplyAdd(Vector256.Create(q2[p + 3]), v3, c); e = Fma.MultiplyAdd(Vector256.Create(q3[p + 3]), v3, e);
            a = Fma.MultiplyAdd(Vector256.Create(q[p + 4]), v4, a); b = Fma.MultiplyAdd(Vector256.Create(q1[p + 4]), v4, b);
            c = Fma.MultiplyAdd(Vector256.Create(q2[p + 4]), v4, c); e = Fma.MultiplyAdd(Vector256.Create(q3[p + 4]), v4, e);
            a = Fma.MultiplyAdd(Vector256.Create(q[p + 5]), v5, a); b = Fma.MultiplyAdd(Vector256.Create(q1[p + 5]), v5, b);
            c = Fma.MultiplyAdd(Vector256.Create(q2[p + 5]), v5, c); e = Fma.MultiplyAdd(Vector256.Create(q3[p + 5]), v5, e);
            a = Fma.MultiplyAdd(Vector256.Create(q[p + 6]), v6, a); b = Fma.MultiplyAdd(Vector256.Create(q1[p + 6]), v6, b);
            c = Fma.MultiplyAdd(Vector256.Create(q2[p + 6]), v6, c); e = Fma.MultiplyAdd(Vector256.Create(q3[p + 6]), v6, e);
            a = Fma.MultiplyAdd(Vector256.Create(q[p + 7]), v7, a); b = Fma.MultiplyAdd(Vector256.Create(q1[p + 7]), v7, b);
            c = Fma.MultiplyAdd(Vector256.Create(q2[p + 7]), v7, c); e = Fma.MultiplyAdd(Vector256.Create(q3[p + 7]), v7, e);
        }
        for (; p < d; p++)
        {
            var v = Column(rows, d, p);
            a = Fma.MultiplyAdd(Vector256.Create(q[p]), v, a); b = Fma.MultiplyAdd(Vector256.Create(q1[p]), v, b);
            c = Fma.MultiplyAdd(Vector256.Create(q2[p]), v, c); e = Fma.MultiplyAdd(Vector256.Create(q3[p]), v, e);
        }
        nint lo = ldo;
        a.Store(output); b.Store(output + lo); c.Store(output + 2 * lo); e.Store(output + 3 * lo);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowDots1(float* rows, int dim, float* q, float* output)
    {
        nint d = dim;
        Vector256<float> a = default;
        nint p = 0;
        for (; p + 8 <= d; p += 8)
        {
            Transpose8(rows + p, d, out var v0, out var v1, out var v2, out var v3, out var v4, out var v5, out var v6, out var v7);
            a = Chain8(a, q + p, v0, v1, v2, v3, v4, v5, v6, v7);
        }
        for (; p < d; p++) a = Fma.MultiplyAdd(Vector256.Create(q[p]), Column(rows, d, p), a);
        a.Store(output);
    }

    /// <summary>a + q[0]·v0 + ... + q[7]·v7, one FMA after another in that order: the chain every lane of the row dots runs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Chain8(Vector256<float> a, float* q, Vector256<float> v0, Vector256<float> v1, Vector256<float> v2,
        Vector256<float> v3, Vector256<float> v4, Vector256<float> v5, Vector256<float> v6, Vector256<float> v7)
    {
        a = Fma.MultiplyAdd(Vector256.Create(q[0]), v0, a);
        a = Fma.MultiplyAdd(Vector256.Create(q[1]), v1, a);
        a = Fma.MultiplyAdd(Vector256.Create(q[2]), v2, a);
        a = Fma.MultiplyAdd(Vector256.Create(q[3]), v3, a);
        a = Fma.MultiplyAdd(Vector256.Create(q[4]), v4, a);
        a = Fma.MultiplyAdd(Vector256.Create(q[5]), v5, a);
        a = Fma.MultiplyAdd(Vector256.Create(q[6]), v6, a);
        return Fma.MultiplyAdd(Vector256.Create(q[7]), v7, a);
    }

    /// <summary><see cref="RowDots1(float*, int, float*, float*)"/> of 8 rows anywhere in memory (<paramref name="rows"/>: 8 pointers), read in place:
    /// the same FMA chain per lane, so the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowDots1(float** rows, int dim, float* q, float* output)
    {
        nint d = dim;
        float* x0 = rows[0], x1 = rows[1], x2 = rows[2], x3 = rows[3], x4 = rows[4], x5 = rows[5], x6 = rows[6], x7 = rows[7];
        Vector256<float> a = default;
        nint p = 0;
        for (; p + 8 <= d; p += 8)
        {
            Transpose8(Avx.LoadVector256(x0 + p), Avx.LoadVector256(x1 + p), Avx.LoadVector256(x2 + p), Avx.LoadVector256(x3 + p),
                Avx.LoadVector256(x4 + p), Avx.LoadVector256(x5 + p), Avx.LoadVector256(x6 + p), Avx.LoadVector256(x7 + p),
                out var v0, out var v1, out var v2, out var v3, out var v4, out var v5, out var v6, out var v7);
            a = Chain8(a, q + p, v0, v1, v2, v3, v4, v5, v6, v7);
        }
        for (; p < d; p++)
            a = Fma.MultiplyAdd(Vector256.Create(q[p]), Vector256.Create(x0[p], x1[p], x2[p], x3[p], x4[p], x5[p], x6[p], x7[p]), a);
        a.Store(output);
    }

    // ---------------------------------------------------------------- micro-kernels
    // C[MR x NR] (+)= sum over p < kc of A[p][r] * B[p][c]. A panel: [kc][MR]; B panel: [kc][NR]; C row stride ldc.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel12x32(float* a, float* b, int kc, float* c, int ldc, bool accumulate)
    {
        Vector512<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51,
                         c60, c61, c70, c71, c80, c81, c90, c91, ca0, ca1, cb0, cb1;
        nint ld = ldc;
        if (accumulate)
        {
            c00 = Vector512.Load(c); c01 = Vector512.Load(c + 16);
            c10 = Vector512.Load(c + ld); c11 = Vector512.Load(c + ld + 16);
            c20 = Vector512.Load(c + 2 * ld); c21 = Vector512.Load(c + 2 * ld + 16);
            c30 = Vector512.Load(c + 3 * ld); c31 = Vector512.Load(c + 3 * ld + 16);
            c40 = Vector512.Load(c + 4 * ld); c41 = Vector512.Load(c + 4 * ld + 16);
            c50 = Vector512.Load(c + 5 * ld); c51 = Vector512.Load(c + 5 * ld + 16);
            c60 = Vector512.Load(c + 6 * ld); c61 = Vector512.Load(c + 6 * ld + 16);
            c70 = Vector512.Load(c + 7 * ld); c71 = Vector512.Load(c + 7 * ld + 16);
            c80 = Vector512.Load(c + 8 * ld); c81 = Vector512.Load(c + 8 * ld + 16);
            c90 = Vector512.Load(c + 9 * ld); c91 = Vector512.Load(c + 9 * ld + 16);
            ca0 = Vector512.Load(c + 10 * ld); ca1 = Vector512.Load(c + 10 * ld + 16);
            cb0 = Vector512.Load(c + 11 * ld); cb1 = Vector512.Load(c + 11 * ld + 16);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector512<float>.Zero;
            c60 = c61 = c70 = c71 = c80 = c81 = c90 = c91 = ca0 = ca1 = cb0 = cb1 = Vector512<float>.Zero;
        }
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            Vector512<float> x;
            x = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
            x = Vector512.Create(a[8]); c80 = Avx512F.FusedMultiplyAdd(x, b0, c80); c81 = Avx512F.FusedMultiplyAdd(x, b1, c81);
            x = Vector512.Create(a[9]); c90 = Avx512F.FusedMultiplyAdd(x, b0, c90); c91 = Avx512F.FusedMultiplyAdd(x, b1, c91);
            x = Vector512.Create(a[10]); ca0 = Avx512F.FusedMultiplyAdd(x, b0, ca0); ca1 = Avx512F.FusedMultiplyAdd(x, b1, ca1);
            x = Vector512.Create(a[11]); cb0 = Avx512F.FusedMultiplyAdd(x, b0, cb0); cb1 = Avx512F.FusedMultiplyAdd(x, b1, cb1);
            a += 12;
            b += 32;
        }
        c00.Store(c); c01.Store(c + 16);
        c10.Store(c + ld); c11.Store(c + ld + 16);
        c20.Store(c + 2 * ld); c21.Store(c + 2 * ld + 16);
        c30.Store(c + 3 * ld); c31.Store(c + 3 * ld + 16);
        c40.Store(c + 4 * ld); c41.Store(c + 4 * ld + 16);
        c50.Store(c + 5 * ld); c51.Store(c + 5 * ld + 16);
        c60.Store(c + 6 * ld); c61.Store(c + 6 * ld + 16);
        c70.Store(c + 7 * ld); c71.Store(c + 7 * ld + 16);
        c80.Store(c + 8 * ld); c81.Store(c + 8 * ld + 16);
        c90.Store(c + 9 * ld); c91.Store(c + 9 * ld + 16);
        ca0.Store(c + 10 * ld); ca1.Store(c + 10 * ld + 16);
        cb0.Store(c + 11 * ld); cb1.Store(c + 11 * ld + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16(float* a, float* b, int kc, float* c, int ldc, bool accumulate)
    {
        Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        nint ld = ldc;
        if (accumulate)
        {
            c00 = Vector256.Load(c); c01 = Vector256.Load(c + 8);
            c10 = Vector256.Load(c + ld); c11 = Vector256.Load(c + ld + 8);
            c20 = Vector256.Load(c + 2 * ld); c21 = Vector256.Load(c + 2 * ld + 8);
            c30 = Vector256.Load(c + 3 * ld); c31 = Vector256.Load(c + 3 * ld + 8);
            c40 = Vector256.Load(c + 4 * ld); c41 = Vector256.Load(c + 4 * ld + 8);
            c50 = Vector256.Load(c + 5 * ld); c51 = Vector256.Load(c + 5 * ld + 8);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector256<float>.Zero;
        }
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            Vector256<float> x;
            x = Vector256.Create(a[0]); c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
            a += 6;
            b += 16;
        }
        c00.Store(c); c01.Store(c + 8);
        c10.Store(c + ld); c11.Store(c + ld + 8);
        c20.Store(c + 2 * ld); c21.Store(c + 2 * ld + 8);
        c30.Store(c + 3 * ld); c31.Store(c + 3 * ld + 8);
        c40.Store(c + 4 * ld); c41.Store(c + 4 * ld + 8);
        c50.Store(c + 5 * ld); c51.Store(c + 5 * ld + 8);
    }

    /// <summary>Portable fallback (no FMA guarantee: multiply then add). MR = 4, NR = 2 vectors.</summary>
    private static void KernelPortable(float* a, float* b, int kc, float* c, int ldc, bool accumulate)
    {
        int w = Vector<float>.Count;
        nint ld = ldc;
        Vector<float> c00, c01, c10, c11, c20, c21, c30, c31;
        if (accumulate)
        {
            c00 = Unsafe.ReadUnaligned<Vector<float>>(c); c01 = Unsafe.ReadUnaligned<Vector<float>>(c + w);
            c10 = Unsafe.ReadUnaligned<Vector<float>>(c + ld); c11 = Unsafe.ReadUnaligned<Vector<float>>(c + ld + w);
            c20 = Unsafe.ReadUnaligned<Vector<float>>(c + 2 * ld); c21 = Unsafe.ReadUnaligned<Vector<float>>(c + 2 * ld + w);
            c30 = Unsafe.ReadUnaligned<Vector<float>>(c + 3 * ld); c31 = Unsafe.ReadUnaligned<Vector<float>>(c + 3 * ld + w);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = Vector<float>.Zero;
        }
        for (int p = 0; p < kc; p++)
        {
            var b0 = Unsafe.ReadUnaligned<Vector<float>>(b);
            var b1 = Unsafe.ReadUnaligned<Vector<float>>(b + w);
            var x = new Vector<float>(a[0]); c00 += x * b0; c01 += x * b1;
            x = new Vector<float>(a[1]); c10 += x * b0; c11 += x * b1;
            x = new Vector<float>(a[2]); c20 += x * b0; c21 += x * b1;
            x = new Vector<float>(a[3]); c30 += x * b0; c31 += x * b1;
            a += 4;
            b += 2 * w;
        }
        Unsafe.WriteUnaligned(c, c00); Unsafe.WriteUnaligned(c + w, c01);
        Unsafe.WriteUnaligned(c + ld, c10); Unsafe.WriteUnaligned(c + ld + w, c11);
        Unsafe.WriteUnaligned(c + 2 * ld, c20); Unsafe.WriteUnaligned(c + 2 * ld + w, c21);
        Unsafe.WriteUnaligned(c + 3 * ld, c30); Unsafe.WriteUnaligned(c + 3 * ld + w, c31);
    }
}
