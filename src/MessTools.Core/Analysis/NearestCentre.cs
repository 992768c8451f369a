using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MessTools.Core.Analysis;

/// <summary>
/// The assignment step of k-means: each row's nearest centre by |c|² − 2 x·c (|x|² added after), ties to the lower
/// centre. The centres are held transposed (dimension-major, padded to the vector width), so one pass over a block
/// of rows scores it against every centre with the row values broadcast: 8 rows at a time, one register of centres
/// per row (AVX-512: 16 centres, AVX2+FMA: 8), sequential fused multiply-adds over the dimensions. Every x·c is
/// therefore the same float whichever path or thread computed it, and wherever the row was gathered from.
/// </summary>
internal sealed unsafe class NearestCentre
{
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

    /// <summary>Rows scored at once by <see cref="Score"/>.</summary>
    public const int Rows = 8;

    /// <summary>The padded row stride of the scores <see cref="Score"/> writes.</summary>
    public int Stride => _padded;

    /// <summary>s[r * Stride + c] = x_r · c for <paramref name="rows"/> (at most <see cref="Rows"/>) rows, each
    /// given by its address: the same float for a row whichever rows come with it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Score(float** x, int rows, float* s)
    {
        fixed (float* ct = _transposed)
            for (int g = 0; g < _padded; g += _width)
            {
                if (_width == 16 && rows == Rows) Block16(x, ct + g, s + g);
                else if (_width == 8 && rows == Rows) Block8(x, ct + g, s + g);
                else Scalar(x, rows, ct + g, s + g);
            }
    }

    /// <summary>|c|² − 2 x·c for centre <paramref name="c"/> from one row's scores: its squared distance less |x|².</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double Value(float* s, int c) => _norms[c] - 2.0 * s[c];

    /// <summary>From one row's scores: the nearest centre by <see cref="Value"/>, ties to the lower centre.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Nearest(float* s, out double best)
    {
        int at = 0;
        best = double.PositiveInfinity;
        for (int c = 0; c < _k; c++)
        {
            double d = Value(s, c);
            if (d < best) { best = d; at = c; }
        }
        return at;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Block16(float** x, float* ct, float* s)
    {
        var a0 = Vector512<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0; var a4 = a0; var a5 = a0; var a6 = a0; var a7 = a0;
        float* x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4], x5 = x[5], x6 = x[6], x7 = x[7];
        for (int j = 0; j < _dim; j++)
        {
            var c = Avx512F.LoadVector512(ct + (nint)j * _padded);
            a0 = Avx512F.FusedMultiplyAdd(Vector512.Create(x0[j]), c, a0);
            a1 = Avx512F.FusedMultiplyAdd(Vector512.Create(x1[j]), c, a1);
            a2 = Avx512F.FusedMultiplyAdd(Vector512.Create(x2[j]), c, a2);
            a3 = Avx512F.FusedMultiplyAdd(Vector512.Create(x3[j]), c, a3);
            a4 = Avx512F.FusedMultiplyAdd(Vector512.Create(x4[j]), c, a4);
            a5 = Avx512F.FusedMultiplyAdd(Vector512.Create(x5[j]), c, a5);
            a6 = Avx512F.FusedMultiplyAdd(Vector512.Create(x6[j]), c, a6);
            a7 = Avx512F.FusedMultiplyAdd(Vector512.Create(x7[j]), c, a7);
        }
        int p = _padded;
        a0.Store(s); a1.Store(s + p); a2.Store(s + 2 * p); a3.Store(s + 3 * p);
        a4.Store(s + 4 * p); a5.Store(s + 5 * p); a6.Store(s + 6 * p); a7.Store(s + 7 * p);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Block8(float** x, float* ct, float* s)
    {
        var a0 = Vector256<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0; var a4 = a0; var a5 = a0; var a6 = a0; var a7 = a0;
        float* x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4], x5 = x[5], x6 = x[6], x7 = x[7];
        for (int j = 0; j < _dim; j++)
        {
            var c = Avx.LoadVector256(ct + (nint)j * _padded);
            a0 = Fma.MultiplyAdd(Vector256.Create(x0[j]), c, a0);
            a1 = Fma.MultiplyAdd(Vector256.Create(x1[j]), c, a1);
            a2 = Fma.MultiplyAdd(Vector256.Create(x2[j]), c, a2);
            a3 = Fma.MultiplyAdd(Vector256.Create(x3[j]), c, a3);
            a4 = Fma.MultiplyAdd(Vector256.Create(x4[j]), c, a4);
            a5 = Fma.MultiplyAdd(Vector256.Create(x5[j]), c, a5);
            a6 = Fma.MultiplyAdd(Vector256.Create(x6[j]), c, a6);
            a7 = Fma.MultiplyAdd(Vector256.Create(x7[j]), c, a7);
        }
        int p = _padded;
        a0.Store(s); a1.Store(s + p); a2.Store(s + 2 * p); a3.Store(s + 3 * p);
        a4.Store(s + 4 * p); a5.Store(s + 5 * p); a6.Store(s + 6 * p); a7.Store(s + 7 * p);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Scalar(float** x, int rows, float* ct, float* s)
    {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < _width; c++)
            {
                float acc = 0;
                for (int j = 0; j < _dim; j++) acc = MathF.FusedMultiplyAdd(x[r][j], ct[(nint)j * _padded + c], acc);
                s[r * _padded + c] = acc;
            }
    }
}
