using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MessTools.Core.Analysis;

/// <summary>
/// The assignment step of k-means: each row's nearest centre by |c|² − 2 x·c (|x|² added after), ties to the lower
/// centre. The centres are held transposed (dimension-major, padded to the vector width), so one pass over a block
/// of rows scores it against every centre with the row values broadcast: 8 rows at a time, one register of centres
/// per row (AVX-512: 16 centres, AVX2+FMA: 8), sequential fused multiply-adds over the dimensions. Every x·c is
/// therefore the same float whichever path or thread computed it.
/// </summary>
internal sealed unsafe class NearestCentre
{
    private const int Rows = 8;
    private readonly int _k, _dim, _width, _padded;
    private readonly float[] _transposed;
    private readonly double[] _norms;

    public NearestCentre(int k, int dim)
    {
        _k = k; _dim = dim;
        _width = Avx512F.IsSupported ? 16 : Fma.IsSupported && Avx.IsSupported ? 8 : 1;
        _padded = (k + _width - 1) / _width * _width;
        _transposed = new float[dim * _padded];
        _norms = new double[k];
    }

    /// <summary>Takes the k centres (row-major, k × dim) for the next assignments.</summary>
    public void SetCentres(float[] centres)
    {
        for (int c = 0; c < _k; c++)
        {
            float norm = 0;
            for (int j = 0; j < _dim; j++)
            {
                float v = centres[c * _dim + j];
                _transposed[j * _padded + c] = v;
                norm = MathF.FusedMultiplyAdd(v, v, norm);
            }
            _norms[c] = norm;
        }
    }

    /// <summary>Assigns rows [from, to): writes assign and the squared distance, adds each row (in double, in row
    /// order) to its centre's sum and count, and returns how many assignments changed.</summary>
    public int Assign(float[] e, int from, int to, double[] rowNorms, int[] assign, double[] dist, double[] sums, int[] counts)
    {
        int changed = 0;
        var scores = new float[Rows * _padded];
        fixed (float* x = e)
        fixed (float* ct = _transposed)
        fixed (float* s = scores)
        {
            for (int r0 = from; r0 < to; r0 += Rows)
            {
                int rows = Math.Min(Rows, to - r0);
                for (int g = 0; g < _padded; g += _width)
                {
                    if (_width == 16 && rows == Rows) Block16(x + (nint)r0 * _dim, ct + g, s + g);
                    else if (_width == 8 && rows == Rows) Block8(x + (nint)r0 * _dim, ct + g, s + g);
                    else Scalar(x + (nint)r0 * _dim, rows, ct + g, s + g);
                }
                for (int r = 0; r < rows; r++)
                {
                    int best = 0;
                    double bestD = double.PositiveInfinity;
                    for (int c = 0; c < _k; c++)
                    {
                        double d = _norms[c] - 2.0 * s[r * _padded + c];
                        if (d < bestD) { bestD = d; best = c; }
                    }
                    int i = r0 + r;
                    dist[i] = Math.Max(0, bestD + rowNorms[i]);
                    if (assign[i] != best) { assign[i] = best; changed++; }
                    counts[best]++;
                    AddWidened(new ReadOnlySpan<float>(x + (nint)i * _dim, _dim), sums.AsSpan(best * _dim, _dim));
                }
            }
        }
        return changed;
    }

    /// <summary>target[j] += source[j] in double, SIMD-widened.</summary>
    private static void AddWidened(ReadOnlySpan<float> source, Span<double> target)
    {
        int j = 0, w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
            for (; j + w <= source.Length; j += w)
            {
                Vector.Widen(new Vector<float>(source[j..]), out var lo, out var hi);
                (new Vector<double>(target[j..]) + lo).CopyTo(target[j..]);
                (new Vector<double>(target[(j + w / 2)..]) + hi).CopyTo(target[(j + w / 2)..]);
            }
        for (; j < source.Length; j++) target[j] += source[j];
    }

    private void Block16(float* x, float* ct, float* s)
    {
        var a0 = Vector512<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0; var a4 = a0; var a5 = a0; var a6 = a0; var a7 = a0;
        int d = _dim;
        for (int j = 0; j < d; j++)
        {
            var c = Avx512F.LoadVector512(ct + (nint)j * _padded);
            a0 = Avx512F.FusedMultiplyAdd(Vector512.Create(x[j]), c, a0);
            a1 = Avx512F.FusedMultiplyAdd(Vector512.Create(x[d + j]), c, a1);
            a2 = Avx512F.FusedMultiplyAdd(Vector512.Create(x[2 * d + j]), c, a2);
            a3 = Avx512F.FusedMultiplyAdd(Vector512.Create(x[3 * d + j]), c, a3);
            a4 = Avx512F.FusedMultiplyAdd(Vector512.Create(x[4 * d + j]), c, a4);
            a5 = Avx512F.FusedMultiplyAdd(Vector512.Create(x[5 * d + j]), c, a5);
            a6 = Avx512F.FusedMultiplyAdd(Vector512.Create(x[6 * d + j]), c, a6);
            a7 = Avx512F.FusedMultiplyAdd(Vector512.Create(x[7 * d + j]), c, a7);
        }
        int p = _padded;
        a0.Store(s); a1.Store(s + p); a2.Store(s + 2 * p); a3.Store(s + 3 * p);
        a4.Store(s + 4 * p); a5.Store(s + 5 * p); a6.Store(s + 6 * p); a7.Store(s + 7 * p);
    }

    private void Block8(float* x, float* ct, float* s)
    {
        var a0 = Vector256<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0; var a4 = a0; var a5 = a0; var a6 = a0; var a7 = a0;
        int d = _dim;
        for (int j = 0; j < d; j++)
        {
            var c = Avx.LoadVector256(ct + (nint)j * _padded);
            a0 = Fma.MultiplyAdd(Vector256.Create(x[j]), c, a0);
            a1 = Fma.MultiplyAdd(Vector256.Create(x[d + j]), c, a1);
            a2 = Fma.MultiplyAdd(Vector256.Create(x[2 * d + j]), c, a2);
            a3 = Fma.MultiplyAdd(Vector256.Create(x[3 * d + j]), c, a3);
            a4 = Fma.MultiplyAdd(Vector256.Create(x[4 * d + j]), c, a4);
            a5 = Fma.MultiplyAdd(Vector256.Create(x[5 * d + j]), c, a5);
            a6 = Fma.MultiplyAdd(Vector256.Create(x[6 * d + j]), c, a6);
            a7 = Fma.MultiplyAdd(Vector256.Create(x[7 * d + j]), c, a7);
        }
        int p = _padded;
        a0.Store(s); a1.Store(s + p); a2.Store(s + 2 * p); a3.Store(s + 3 * p);
        a4.Store(s + 4 * p); a5.Store(s + 5 * p); a6.Store(s + 6 * p); a7.Store(s + 7 * p);
    }

    private void Scalar(float* x, int rows, float* ct, float* s)
    {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < _width; c++)
            {
                float acc = 0;
                for (int j = 0; j < _dim; j++) acc = MathF.FusedMultiplyAdd(x[(nint)r * _dim + j], ct[(nint)j * _padded + c], acc);
                s[r * _padded + c] = acc;
            }
    }
}
