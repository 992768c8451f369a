using System.Numerics;
using System.Runtime.CompilerServices;

namespace MessTools.Core.Analysis;

/// <summary>
/// 16 dot products at once: four vectors x against four vectors y, SIMD over their common length, each of the 8
/// loads per step shared by 4 products. The covariance (double columns) and the uniformity's Gram blocks (float rows)
/// both take their pairs this way. Sums run lane-wise then across lanes: a fixed order, the same bytes every run.
/// </summary>
internal static class DotTile
{
    /// <summary>x · y, SIMD lane-wise then across lanes. The analysis's per-row passes call it rather than
    /// <c>TensorPrimitives.Dot</c>: that one is compiled unoptimised first, and in a pass of a few tens of
    /// milliseconds the JIT does not get round to optimising it (a profile found a 100,000-row pass 4x slower).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static T Dot<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : unmanaged, INumber<T>
    {
        int n = x.Length, w = Vector<T>.Count, j = 0;
        Vector<T> s0 = default, s1 = default;
        for (; j + 2 * w <= n; j += 2 * w)
        {
            s0 += new Vector<T>(x[j..]) * new Vector<T>(y[j..]);
            s1 += new Vector<T>(x[(j + w)..]) * new Vector<T>(y[(j + w)..]);
        }
        if (j + w <= n) { s0 += new Vector<T>(x[j..]) * new Vector<T>(y[j..]); j += w; }
        T sum = Vector.Sum(s0 + s1);
        for (; j < n; j++) sum += x[j] * y[j];
        return sum;
    }

    /// <summary>dots[a*4+b] = x_a · y_b for a, b in 0..3 (the spans of one tile have equal lengths).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dots4x4<T>(ReadOnlySpan<T> x0, ReadOnlySpan<T> x1, ReadOnlySpan<T> x2, ReadOnlySpan<T> x3,
        ReadOnlySpan<T> y0, ReadOnlySpan<T> y1, ReadOnlySpan<T> y2, ReadOnlySpan<T> y3, Span<T> dots)
        where T : unmanaged, INumber<T>
    {
        int n = x0.Length, w = Vector<T>.Count, j = 0;
        Vector<T> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default,
            s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
        for (; j + w <= n; j += w)
        {
            var a0 = new Vector<T>(x0[j..]); var a1 = new Vector<T>(x1[j..]);
            var a2 = new Vector<T>(x2[j..]); var a3 = new Vector<T>(x3[j..]);
            var b0 = new Vector<T>(y0[j..]); var b1 = new Vector<T>(y1[j..]);
            var b2 = new Vector<T>(y2[j..]); var b3 = new Vector<T>(y3[j..]);
            s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3;
            s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3;
            s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3;
            s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3;
        }
        dots[0] = Vector.Sum(s00); dots[1] = Vector.Sum(s01); dots[2] = Vector.Sum(s02); dots[3] = Vector.Sum(s03);
        dots[4] = Vector.Sum(s10); dots[5] = Vector.Sum(s11); dots[6] = Vector.Sum(s12); dots[7] = Vector.Sum(s13);
        dots[8] = Vector.Sum(s20); dots[9] = Vector.Sum(s21); dots[10] = Vector.Sum(s22); dots[11] = Vector.Sum(s23);
        dots[12] = Vector.Sum(s30); dots[13] = Vector.Sum(s31); dots[14] = Vector.Sum(s32); dots[15] = Vector.Sum(s33);
        for (; j < n; j++)
        {
            T a0 = x0[j], a1 = x1[j], a2 = x2[j], a3 = x3[j], b0 = y0[j], b1 = y1[j], b2 = y2[j], b3 = y3[j];
            dots[0] += a0 * b0; dots[1] += a0 * b1; dots[2] += a0 * b2; dots[3] += a0 * b3;
            dots[4] += a1 * b0; dots[5] += a1 * b1; dots[6] += a1 * b2; dots[7] += a1 * b3;
            dots[8] += a2 * b0; dots[9] += a2 * b1; dots[10] += a2 * b2; dots[11] += a2 * b3;
            dots[12] += a3 * b0; dots[13] += a3 * b1; dots[14] += a3 * b2; dots[15] += a3 * b3;
        }
    }
}
