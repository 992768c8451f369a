using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MessTools.Core.Dsp;

/// <summary>
/// An in-place iterative radix-2 complex FFT on split real/imaginary arrays, with per-stage precomputed
/// twiddles (contiguous, so the butterflies of every stage wider than one SIMD register run on
/// <see cref="Vector{T}"/>). The plan is immutable and thread-safe; the caller owns the data.
/// Measured against MathNet.Numerics' Fourier.Forward in bench/EmbedBench (mode fft).
/// </summary>
public sealed class ComplexFft
{
    private readonly int[] _swapA, _swapB;
    private readonly float[][] _twRe, _twIm;

    public int Size { get; }

    public ComplexFft(int size)
    {
        if (size < 1 || !BitOperations.IsPow2(size))
            throw new ArgumentOutOfRangeException(nameof(size), size, "The FFT size must be a power of two.");
        Size = size;
        int bits = BitOperations.Log2((uint)size);
        var a = new List<int>(); var b = new List<int>();
        for (int i = 0; i < size; i++)
        {
            int j = bits == 0 ? 0 : (int)(ReverseBits((uint)i) >> (32 - bits));
            if (j > i) { a.Add(i); b.Add(j); }
        }
        _swapA = a.ToArray(); _swapB = b.ToArray();
        _twRe = new float[bits][]; _twIm = new float[bits][];
        for (int s = 0, half = 1; s < bits; s++, half <<= 1)
        {
            _twRe[s] = new float[half]; _twIm[s] = new float[half];
            for (int j = 0; j < half; j++)
            {
                double th = -Math.PI * j / half; // exp(-2*pi*i*j/(2*half))
                _twRe[s][j] = (float)Math.Cos(th);
                _twIm[s][j] = (float)Math.Sin(th);
            }
        }
    }

    private static uint ReverseBits(uint v)
    {
        v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
        v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
        v = ((v >> 4) & 0x0F0F0F0Fu) | ((v & 0x0F0F0F0Fu) << 4);
        v = ((v >> 8) & 0x00FF00FFu) | ((v & 0x00FF00FFu) << 8);
        return (v >> 16) | (v << 16);
    }

    /// <summary>Forward transform X[k] = sum x[n] exp(-2 pi i k n / N), in place.</summary>
    public void Forward(Span<float> re, Span<float> im)
    {
        int n = Size;
        if (re.Length < n || im.Length < n) throw new ArgumentException($"The FFT needs {n} values in each array.");
        ref float r0 = ref MemoryMarshal.GetReference(re);
        ref float i0 = ref MemoryMarshal.GetReference(im);
        for (int k = 0; k < _swapA.Length; k++)
        {
            int x = _swapA[k], y = _swapB[k];
            (Unsafe.Add(ref r0, x), Unsafe.Add(ref r0, y)) = (Unsafe.Add(ref r0, y), Unsafe.Add(ref r0, x));
            (Unsafe.Add(ref i0, x), Unsafe.Add(ref i0, y)) = (Unsafe.Add(ref i0, y), Unsafe.Add(ref i0, x));
        }
        int vw = Vector<float>.Count;
        for (int s = 0, half = 1; half < n; s++, half <<= 1)
        {
            int step = half << 1;
            ref float wr0 = ref MemoryMarshal.GetArrayDataReference(_twRe[s]);
            ref float wi0 = ref MemoryMarshal.GetArrayDataReference(_twIm[s]);
            if (Vector.IsHardwareAccelerated && half >= vw)
            {
                for (int blk = 0; blk < n; blk += step)
                {
                    for (int j = 0; j < half; j += vw)
                    {
                        nuint p = (nuint)(blk + j), q = (nuint)(blk + j + half);
                        var ar = Vector.LoadUnsafe(ref r0, p); var ai = Vector.LoadUnsafe(ref i0, p);
                        var br = Vector.LoadUnsafe(ref r0, q); var bi = Vector.LoadUnsafe(ref i0, q);
                        var cr = Vector.LoadUnsafe(ref wr0, (nuint)j); var ci = Vector.LoadUnsafe(ref wi0, (nuint)j);
                        var tr = br * cr - bi * ci;
                        var ti = br * ci + bi * cr;
                        (ar + tr).StoreUnsafe(ref r0, p); (ai + ti).StoreUnsafe(ref i0, p);
                        (ar - tr).StoreUnsafe(ref r0, q); (ai - ti).StoreUnsafe(ref i0, q);
                    }
                }
            }
            else
            {
                for (int blk = 0; blk < n; blk += step)
                {
                    for (int j = 0; j < half; j++)
                    {
                        int p = blk + j, q = p + half;
                        float cr = Unsafe.Add(ref wr0, j), ci = Unsafe.Add(ref wi0, j);
                        float br = Unsafe.Add(ref r0, q), bi = Unsafe.Add(ref i0, q);
                        float tr = br * cr - bi * ci, ti = br * ci + bi * cr;
                        float ar = Unsafe.Add(ref r0, p), ai = Unsafe.Add(ref i0, p);
                        Unsafe.Add(ref r0, p) = ar + tr; Unsafe.Add(ref i0, p) = ai + ti;
                        Unsafe.Add(ref r0, q) = ar - tr; Unsafe.Add(ref i0, q) = ai - ti;
                    }
                }
            }
        }
    }

    /// <summary>Inverse transform (scaled by 1/N), in place.</summary>
    public void Inverse(Span<float> re, Span<float> im)
    {
        // conj(FFT(conj(x))) / N
        var imv = im[..Size];
        System.Numerics.Tensors.TensorPrimitives.Negate(imv, imv);
        Forward(re, im);
        float scale = 1f / Size;
        System.Numerics.Tensors.TensorPrimitives.Multiply(re[..Size], scale, re[..Size]);
        System.Numerics.Tensors.TensorPrimitives.Multiply(imv, -scale, imv);
    }
}

/// <summary>
/// The FFT of a real signal of even power-of-two length N through one complex FFT of N/2 points and a
/// twiddle post-pass; yields the N/2+1 non-negative-frequency bins. Plan immutable and thread-safe; every
/// call takes its scratch from the caller (<see cref="CreateScratch"/>), so one plan serves many threads.
/// </summary>
public sealed class RealFft
{
    private readonly ComplexFft _half;
    private readonly float[] _wr, _wi;

    public int Size { get; }
    public int Bins => Size / 2 + 1;

    public RealFft(int size)
    {
        if (size < 2 || !BitOperations.IsPow2(size))
            throw new ArgumentOutOfRangeException(nameof(size), size, "The real FFT size must be a power of two, at least 2.");
        Size = size;
        _half = new ComplexFft(size / 2);
        _wr = new float[size / 2 + 1]; _wi = new float[size / 2 + 1];
        for (int k = 0; k <= size / 2; k++)
        {
            double th = -2 * Math.PI * k / size;
            _wr[k] = (float)Math.Cos(th); _wi[k] = (float)Math.Sin(th);
        }
    }

    /// <summary>Scratch for one thread: two arrays of N/2.</summary>
    public float[] CreateScratch() => new float[Size];

    /// <summary>X[k] for k = 0..N/2 into <paramref name="outRe"/>/<paramref name="outIm"/> (N/2+1 each).</summary>
    public void Forward(ReadOnlySpan<float> x, Span<float> outRe, Span<float> outIm, Span<float> scratch)
    {
        int m = Size / 2;
        if (x.Length < Size) throw new ArgumentException($"The real FFT needs {Size} samples, got {x.Length}.");
        if (outRe.Length < m + 1 || outIm.Length < m + 1) throw new ArgumentException($"The output needs {m + 1} bins.");
        HalfSpectrum(x, scratch);
        for (int k = 0; k <= m; k++) Bin(scratch, k, out outRe[k], out outIm[k]);
    }

    /// <summary>Into scratch (real parts, then imaginary parts): the N/2-point complex FFT of the even/odd samples.</summary>
    private void HalfSpectrum(ReadOnlySpan<float> x, Span<float> scratch)
    {
        int m = Size / 2;
        var zr = scratch[..m]; var zi = scratch.Slice(m, m);
        for (int k = 0; k < m; k++) { zr[k] = x[2 * k]; zi[k] = x[2 * k + 1]; }
        _half.Forward(zr, zi);
    }

    /// <summary>X[k] of the real input, untangled from the half-size spectrum.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void Bin(ReadOnlySpan<float> scratch, int k, out float xr, out float xi)
    {
        int m = Size / 2;
        var zr = scratch[..m]; var zi = scratch.Slice(m, m);
        int k1 = k == m ? 0 : k, k2 = k == 0 ? 0 : m - k;
        float a = zr[k1], b = zi[k1], c = zr[k2], d = zi[k2];
        float er = 0.5f * (a + c), ei = 0.5f * (b - d);
        float or = 0.5f * (b + d), oi = -0.5f * (a - c);
        float wr = _wr[k], wi = _wi[k];
        xr = er + wr * or - wi * oi;
        xi = ei + wr * oi + wi * or;
    }

    /// <summary>|X[k]|^2 for k = 0..N/2.</summary>
    public void PowerSpectrum(ReadOnlySpan<float> x, Span<float> power, Span<float> scratch)
    {
        int m = Size / 2;
        if (x.Length < Size) throw new ArgumentException($"The real FFT needs {Size} samples, got {x.Length}.");
        if (power.Length < m + 1) throw new ArgumentException($"The output needs {m + 1} bins.");
        HalfSpectrum(x, scratch);
        for (int k = 0; k <= m; k++)
        {
            Bin(scratch, k, out float xr, out float xi);
            power[k] = xr * xr + xi * xi;
        }
    }
}
