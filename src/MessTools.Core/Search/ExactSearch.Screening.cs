using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

// AvxVnni is marked preview in the net8.0 reference assemblies the engine compiles against; the runtime implements
// it as the same hardware intrinsic, and IsSupported gates every use (false: the float pass).
#pragma warning disable CA2252

namespace MessTools.Core.Search;

// A batch of queries screened in int8 first, then re-scored in float: the same answers as the float pass, bit for
// bit, at a quarter of the bytes and about twice the multiply-adds per instruction (AVX-VNNI's VPDPBUSD; without it,
// VPMADDUBSW and VPMADDWD with a 6-bit query).
public static unsafe partial class ExactSearch
{
    /// <summary>Benchmark and test switch: always take the float pass.</summary>
    internal static bool NoScreening;

    /// <summary>Test switch, for the calling thread: screen with the tile of CPUs without AVX-VNNI (VPMADDUBSW, a 6-bit
    /// query) on a CPU that has it, so both tiles are tested wherever the tests run.</summary>
    [ThreadStatic] internal static bool ScreenWithoutVnni;

    /// <summary>Fewer queries than this, or fewer rows: quantising the database costs more than it saves.</summary>
    internal const int ScreenMinQueries = 32, ScreenMinRows = 2048, ScreenMaxDim = 1024;

    /// <summary>The last screened search's seconds (quantising the rows; screening and re-scoring), mean rows
    /// re-scored per query, and queries sent to the float pass: for the benchmark.</summary>
    internal readonly record struct ScreenStats(double QuantiseSeconds, double SearchSeconds, double RescoredPerQuery, int Fallbacks);

    internal static ScreenStats? LastScreen;

    private static bool ScreeningApplies(Kernel kernel, int count, int dim, int queryCount, int k, PairFilter? allow, bool selfExclude) =>
        !NoScreening && kernel is Kernel.Avx512 or Kernel.Avx2
        && allow is null && !selfExclude && queryCount >= ScreenMinQueries && count >= ScreenMinRows
        && dim <= ScreenMaxDim && (long)k * 16 <= count;

    /// <summary>
    /// Exact top-K by an int8 screen and a float re-score.
    /// <para>
    /// Each row x is stored as int8 x̃ with a float scale s (x ≈ s·x̃, |x̃ᵢ| ≤ 127) and its residual r = x − s·x̃;
    /// each query likewise. The screen's score a = s_q·s_x·(q̃·x̃) (the integer dot exact, by VPDPBUSD) is within
    /// E = |s_q q̃|·max|r_x| + |r_q|·max|x| + the float rounding of a and of the exact pass's FMA chain, of the float
    /// score f the float pass computes, for every row (Cauchy–Schwarz; the norms in double). So with T the K-th best
    /// screen score, every row the float pass could return has a ≥ T − 2E, and only those rows are re-scored, with
    /// the float pass's own sequential FMA (<see cref="Dot"/>), and ranked by score, then lower row. The answer is
    /// the float pass's answer exactly; only the work differs.
    /// </para>
    /// <para>
    /// Falls back to the float pass, whole, when a row is not finite or the norms are outside 1e-10..1e15 (the
    /// bound would not hold in float), and per query for a query that is not finite or whose candidate list grows
    /// past its cap (a bound too loose for that query: many rows within 2E of its K-th).
    /// </para>
    /// </summary>
    private sealed class Screen
    {
        private const int Mr = 4, PanelRows = 8, Panels = 3, TileRows = PanelRows * Panels, ChunkRows = 504;
        private const double U = 1.0 / (1 << 24);

        private readonly ReadOnlyMemory<float> _vectors;
        private readonly float[] _queries;
        private readonly int _count, _dim, _dimPad, _groups, _queryCount, _k, _threads;
        private readonly ExactSearchOptions? _options;
        private readonly sbyte[] _packed;          // [tile of 24 rows][panel][dim group][8 rows][4 bytes]; rented, may be longer
        private readonly int _tiles;
        private readonly float[] _rowScale;        // s_x, 0 past the last row
        private readonly int[] _rowOffset;         // bias·Σ x̃ (the unsigned-query correction)
        // VPDPBUSD (AVX-VNNI) multiplies unsigned by signed bytes and adds 4 products into 32 bits: the query is
        // q̃ + 128, |q̃| ≤ 127. Without VNNI, VPMADDUBSW adds 2 products into 16 bits with saturation, so the query has
        // 6 bits, q̃ + 32 with |q̃| ≤ 31: a pair is at most 2·63·127 = 16,002, two groups' pairs add in 16 bits
        // (32,004 fits), and VPMADDWD adds them into 32 bits. The same integer dot either way; the coarser query only
        // widens the bound E (it is measured).
        private readonly bool _vnni;
        private readonly int _bias, _queryLevels;
        private double _maxResidual, _maxNorm;
        private long _done;

        private Screen(ReadOnlyMemory<float> vectors, int count, int dim, float[] queries, int queryCount, int k, int threads, ExactSearchOptions? options)
        {
            _vectors = vectors; _count = count; _dim = dim; _queries = queries; _queryCount = queryCount; _k = k;
            _threads = threads; _options = options;
            _vnni = AvxVnni.IsSupported && !ScreenWithoutVnni;
            (_bias, _queryLevels) = _vnni ? (128, 127) : (32, 31);
            _dimPad = (dim + 7) / 8 * 8; // an even number of groups of 4 bytes: the tile without VNNI takes them in pairs
            _groups = _dimPad / 4;
            int tiles = (count + TileRows - 1) / TileRows;
            // Rented, not allocated: a fresh 25 MB array per search (100,000 x 256) is thousands of first-touch page
            // faults, which cost more than the quantising itself on a virtual machine; the pool hands back the last
            // search's pages. Every byte the search reads is written by Quantise first.
            _tiles = tiles;
            _packed = ArrayPool<sbyte>.Shared.Rent(checked(tiles * TileRows * _dimPad));
            // 8 spare entries: the scan reads whole vectors past the last row (masked).
            _rowScale = new float[tiles * TileRows + 8];
            _rowOffset = new int[tiles * TileRows + 8];
        }

        /// <summary>The answers, or null when the data needs the float pass. <paramref name="fallback"/> lists the
        /// queries the caller must answer with the float pass.</summary>
        public static Neighbor[][]? TrySearch(ReadOnlyMemory<float> vectors, int count, int dim, float[] queries, int queryCount, int k,
            int threads, ExactSearchOptions? options, out List<int> fallback)
        {
            fallback = new List<int>();
            var screen = new Screen(vectors, count, dim, queries, queryCount, k, threads, options);
            var ct = options?.Cancellation ?? CancellationToken.None;
            var po = new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = ct };
            try
            {
                using var pin = vectors.Pin();
                var clock = System.Diagnostics.Stopwatch.StartNew();
                if (!screen.Quantise(po)) return null;
                double quantise = clock.Elapsed.TotalSeconds;
                var results = screen.Search(po, ct, fallback);
                LastScreen = new ScreenStats(quantise, clock.Elapsed.TotalSeconds - quantise,
                    (double)Interlocked.Read(ref screen._rescored) / Math.Max(1, queryCount - fallback.Count), fallback.Count);
                return results;
            }
            finally { ArrayPool<sbyte>.Shared.Return(screen._packed); }
        }

        private long _rescored;

        // ------------------------------------------------------------------ the database

        /// <summary>Rows to int8 tiles; false when a row is not finite or the norms leave the safe range.</summary>
        private bool Quantise(ParallelOptions po)
        {
            int tiles = _tiles;
            bool bad = false;
            object gate = new();
            double maxResidual = 0, maxNorm = 0;
            fixed (float* v0 = _vectors.Span)
            fixed (sbyte* p0 = _packed)
            {
                nint vAddr = (nint)v0, pAddr = (nint)p0;
                Parallel.For(0, tiles, po, () => (0.0, 0.0), (t, state, local) =>
                {
                    var row = stackalloc sbyte[_dimPad];
                    for (int r = 0; r < TileRows; r++)
                    {
                        int id = t * TileRows + r;
                        var x = id < _count ? new ReadOnlySpan<float>((float*)vAddr + (nint)id * _dim, _dim) : default;
                        if (!QuantiseRow(x, row, out float scale, out int sum, out double residual, out double norm))
                        {
                            bad = true;
                            state.Stop();
                            return local;
                        }
                        _rowScale[id] = scale;
                        _rowOffset[id] = _bias * sum;
                        Scatter(row, (sbyte*)pAddr + (nint)t * TileRows * _dimPad, r);
                        local = (Math.Max(local.Item1, residual), Math.Max(local.Item2, norm));
                    }
                    return local;
                }, local => { lock (gate) { maxResidual = Math.Max(maxResidual, local.Item1); maxNorm = Math.Max(maxNorm, local.Item2); } });
            }
            _maxResidual = maxResidual;
            _maxNorm = maxNorm;
            return !bad && maxNorm <= 1e15 && (maxNorm >= 1e-10 || maxNorm == 0);
        }

        /// <summary>One row's bytes into its tile: panel r/8, lane r%8, 4 bytes per dimension group.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Scatter(sbyte* row, sbyte* tile, int r)
        {
            sbyte* panel = tile + (nint)(r / PanelRows) * _groups * 32 + (r % PanelRows) * 4;
            for (int g = 0; g < _groups; g++) *(int*)(panel + (nint)g * 32) = *(int*)(row + 4 * g);
        }

        /// <summary>x ≈ scale·x̃ with |x̃ᵢ| ≤ 127 (zero past the values), and bounds on the residual |x − scale·x̃| and
        /// on |x| (|scale·x̃| + residual). False when a value is not finite or the scale is not a normal float.
        /// x̃ = round(x·127/max); any rounding is fine, because the residual is measured, not assumed. The sums of
        /// squares run in float with FMA (each term within one rounding, the sum within 256 units of rounding per
        /// 256 terms), so both are widened by 1e-4 relative: a bound, never an estimate.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private bool QuantiseRow(ReadOnlySpan<float> x, sbyte* q, out float scale, out int sum, out double residual, out double norm)
        {
            new Span<sbyte>(q, _dimPad).Clear();
            scale = 0; sum = 0; residual = 0; norm = 0;
            int n = x.Length, i = 0;
            var vmax = Vector256<float>.Zero;
            var finite = Vector256<float>.AllBitsSet;
            fixed (float* p = x)
            {
                for (; i + 8 <= n; i += 8)
                {
                    var v = Avx.LoadVector256(p + i);
                    finite &= Vector256.Equals(v - v, Vector256<float>.Zero);
                    vmax = Vector256.Max(vmax, Vector256.Abs(v));
                }
                if (finite.ExtractMostSignificantBits() != 0xFF) return false;
                float max = 0;
                for (int l = 0; l < 8; l++) max = Math.Max(max, vmax.GetElement(l));
                for (int j = i; j < n; j++)
                {
                    if (!float.IsFinite(p[j])) return false;
                    max = Math.Max(max, Math.Abs(p[j]));
                }
                if (max == 0) return true;
                scale = max / 127f;
                if (!float.IsNormal(scale)) return false; // a row of subnormals: leave it to the float pass
                float inv = 127f / max;
                var vinv = Vector256.Create(inv);
                var vscale = Vector256.Create(scale);
                var lo = Vector256.Create(-127f);
                var hi = Vector256.Create(127f);
                var r2 = Vector256<float>.Zero;
                var n2 = Vector256<float>.Zero;
                var vsum = Vector256<int>.Zero;
                i = 0;
                for (; i + 32 <= n; i += 32)
                {
                    var b0 = Step(p + i, vinv, vscale, lo, hi, ref r2, ref n2, ref vsum);
                    var b1 = Step(p + i + 8, vinv, vscale, lo, hi, ref r2, ref n2, ref vsum);
                    var b2 = Step(p + i + 16, vinv, vscale, lo, hi, ref r2, ref n2, ref vsum);
                    var b3 = Step(p + i + 24, vinv, vscale, lo, hi, ref r2, ref n2, ref vsum);
                    Vector256.Narrow(Vector256.Narrow(b0, b1), Vector256.Narrow(b2, b3)).Store(q + i);
                }
                for (; i + 8 <= n; i += 8)
                {
                    var bi = Step(p + i, vinv, vscale, lo, hi, ref r2, ref n2, ref vsum);
                    for (int l = 0; l < 8; l++) q[i + l] = (sbyte)bi.GetElement(l);
                }
                float r2s = Vector256.Sum(r2), n2s = Vector256.Sum(n2);
                sum = Vector256.Sum(vsum);
                for (; i < n; i++)
                {
                    float b = Math.Clamp(MathF.Round(p[i] * inv), -127f, 127f);
                    q[i] = (sbyte)b;
                    sum += (int)b;
                    float d = MathF.FusedMultiplyAdd(-scale, b, p[i]);
                    r2s = MathF.FusedMultiplyAdd(d, d, r2s);
                    n2s = MathF.FusedMultiplyAdd(scale * b, scale * b, n2s);
                }
                residual = Math.Sqrt(r2s * (1 + 1e-4)) + 1e-30;
                norm = Math.Sqrt(n2s * (1 + 1e-4)) + residual;
            }
            return true;
        }

        /// <summary>8 values: x̃ = clamp(round(x·127/max)), the squares of the residual and of scale·x̃ added up.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<int> Step(float* p, Vector256<float> inv, Vector256<float> scale, Vector256<float> lo, Vector256<float> hi,
            ref Vector256<float> r2, ref Vector256<float> n2, ref Vector256<int> sum)
        {
            var v = Avx.LoadVector256(p);
            var b = Vector256.Min(hi, Vector256.Max(lo, Avx.RoundToNearestInteger(v * inv)));
            var approx = b * scale;
            var d = Fma.MultiplyAddNegated(scale, b, v); // v − scale·b, one rounding
            r2 = Fma.MultiplyAdd(d, d, r2);
            n2 = Fma.MultiplyAdd(approx, approx, n2);
            var bi = Avx.ConvertToVector256Int32(b);
            sum += bi;
            return bi;
        }

        // ------------------------------------------------------------------ the queries

        private Neighbor[][] Search(ParallelOptions po, CancellationToken ct, List<int> fallback)
        {
            var results = new Neighbor[_queryCount][];
            // Blocks of about 256 queries, a multiple of the thread count, each a multiple of Mr.
            int blocks = Math.Max(1, (_queryCount + 255) / 256);
            if (blocks % _threads != 0) blocks += _threads - blocks % _threads;
            int per = (_queryCount + blocks - 1) / blocks;
            per = (per + Mr - 1) / Mr * Mr;
            blocks = (_queryCount + per - 1) / per;
            var failed = new bool[_queryCount];
            Parallel.For(0, blocks, po, b => SearchBlock(b * per, Math.Min(per, _queryCount - b * per), results, failed, ct));
            for (int q = 0; q < _queryCount; q++) if (failed[q]) fallback.Add(q);
            return results;
        }

        /// <summary>Per query: the screen's K best scores (a min-heap, for the threshold) and every row within 2E of
        /// them (the candidates), pruned as the threshold rises.</summary>
        private sealed class QueryState
        {
            public float Scale, Bound2; // s_q, 2E
            public readonly float[] Heap;
            public int HeapCount;
            public int[] Ids;
            public float[] Scores;
            public int Count;
            public bool Failed;
            public float Threshold = float.NegativeInfinity; // heap root − 2E once the heap is full

            public QueryState(int k, int capacity) { Heap = new float[k]; Ids = new int[capacity]; Scores = new float[capacity]; }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void SearchBlock(int q0, int mq, Neighbor[][] results, bool[] failed, CancellationToken ct)
        {
            int mqPad = (mq + Mr - 1) / Mr * Mr;
            var qBytes = GC.AllocateArray<byte>(mqPad * _dimPad, pinned: true);
            var states = new QueryState[mqPad];
            int capacity = Math.Max(1024, 8 * _k);
            int maxCapacity = Math.Max(16384, Math.Min(_count, 64 * _k));
            for (int i = 0; i < mq; i++)
            {
                states[i] = new QueryState(_k, capacity);
                if (!QuantiseQuery(new ReadOnlySpan<float>(_queries, (q0 + i) * _dim, _dim), qBytes.AsSpan(i * _dimPad, _dimPad), states[i]))
                    states[i].Failed = true;
            }
            for (int i = mq; i < mqPad; i++) qBytes.AsSpan(i * _dimPad, _dimPad).Fill((byte)_bias); // zero queries
            var scores = GC.AllocateArray<int>(Mr * ChunkRows + 16, pinned: true);
            fixed (byte* qb = qBytes)
            fixed (sbyte* pb = _packed)
            fixed (int* c = scores)
            fixed (float* rs = _rowScale)
            fixed (int* ro = _rowOffset)
            {
                for (int jc = 0; jc < _count; jc += ChunkRows)
                {
                    ct.ThrowIfCancellationRequested();
                    int nc = Math.Min(ChunkRows, _count - jc);
                    int tiles = (nc + TileRows - 1) / TileRows;
                    for (int g = 0; g < mqPad; g += Mr)
                    {
                        for (int t = 0; t < tiles; t++)
                            Tile(qb + (nint)g * _dimPad, pb + (nint)(jc + t * TileRows) * _dimPad, c + t * TileRows, ChunkRows);
                        for (int i = g; i < Math.Min(mq, g + Mr); i++)
                            if (!states[i].Failed) Scan(states[i], c + (i - g) * ChunkRows, rs + jc, ro + jc, nc, jc, maxCapacity);
                    }
                    if (_options?.Progress is { } progress)
                        progress((double)Interlocked.Add(ref _done, (long)mq * nc) / ((long)_queryCount * _count));
                }
            }
            var ids = new int[capacity];
            for (int i = 0; i < mq; i++)
            {
                if (states[i].Failed) { failed[q0 + i] = true; continue; }
                results[q0 + i] = Rescore(states[i], q0 + i, ref ids);
            }
        }

        /// <summary>The query as unsigned bytes q̃ + bias (the tiles multiply unsigned by signed), its scale and 2E.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private bool QuantiseQuery(ReadOnlySpan<float> q, Span<byte> bytes, QueryState state)
        {
            bytes.Fill((byte)_bias);
            float max = 0;
            foreach (float v in q)
            {
                if (!float.IsFinite(v)) return false;
                max = Math.Max(max, Math.Abs(v));
            }
            double qNorm = 0, rNorm = 0;
            float scale = max / _queryLevels;
            if (max > 0)
            {
                if (!float.IsNormal(scale)) return false;
                for (int i = 0; i < q.Length; i++)
                {
                    int b = (int)Math.Clamp(MathF.Round(q[i] / scale), -_queryLevels, _queryLevels);
                    bytes[i] = (byte)(b + _bias);
                    double approx = (double)scale * b, d = q[i] - approx;
                    qNorm += approx * approx; rNorm += d * d;
                }
            }
            qNorm = Math.Sqrt(qNorm); rNorm = Math.Sqrt(rNorm);
            if (qNorm + rNorm > 1e15) return false;
            // |f − a| ≤ |s_q q̃|·max|r_x| + |r_q|·max|x|      (quantisation, Cauchy–Schwarz)
            //         + (dim + 2)·u·|q|·max|x|                (the float pass's FMA chain, each step one rounding)
            //         + 4u·|a| ≤ 4u·|q|·max|x|                (a's two float products)
            double full = qNorm + rNorm;
            double e = qNorm * _maxResidual + rNorm * _maxNorm + (_dim + 6) * U * full * _maxNorm;
            e = e * 1.001 + 1e-30;
            state.Scale = scale;
            state.Bound2 = (float)(2 * e * 1.0001);
            return true;
        }

        /// <summary>Integer dots of 4 queries (bytes, stride dimPad) with one tile of 24 rows, into c (row stride ldc).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Tile(byte* q, sbyte* tile, int* c, int ldc)
        {
            if (!_vnni) { TileMadd(q, tile, c, ldc); return; }
            Vector256<int> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default,
                c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default;
            nint ld = _dimPad, stride = (nint)_groups * 32;
            sbyte* p0 = tile, p1 = tile + stride, p2 = tile + 2 * stride;
            byte* q1 = q + ld, q2 = q + 2 * ld, q3 = q + 3 * ld;
            for (nint g = 0; g < _groups; g++)
            {
                var b0 = Avx.LoadVector256(p0 + g * 32);
                var b1 = Avx.LoadVector256(p1 + g * 32);
                var b2 = Avx.LoadVector256(p2 + g * 32);
                var a = Vector256.Create(*(int*)(q + 4 * g)).AsByte();
                c00 = AvxVnni.MultiplyWideningAndAdd(c00, a, b0);
                c01 = AvxVnni.MultiplyWideningAndAdd(c01, a, b1);
                c02 = AvxVnni.MultiplyWideningAndAdd(c02, a, b2);
                a = Vector256.Create(*(int*)(q1 + 4 * g)).AsByte();
                c10 = AvxVnni.MultiplyWideningAndAdd(c10, a, b0);
                c11 = AvxVnni.MultiplyWideningAndAdd(c11, a, b1);
                c12 = AvxVnni.MultiplyWideningAndAdd(c12, a, b2);
                a = Vector256.Create(*(int*)(q2 + 4 * g)).AsByte();
                c20 = AvxVnni.MultiplyWideningAndAdd(c20, a, b0);
                c21 = AvxVnni.MultiplyWideningAndAdd(c21, a, b1);
                c22 = AvxVnni.MultiplyWideningAndAdd(c22, a, b2);
                a = Vector256.Create(*(int*)(q3 + 4 * g)).AsByte();
                c30 = AvxVnni.MultiplyWideningAndAdd(c30, a, b0);
                c31 = AvxVnni.MultiplyWideningAndAdd(c31, a, b1);
                c32 = AvxVnni.MultiplyWideningAndAdd(c32, a, b2);
            }
            nint l = ldc;
            c00.Store(c); c01.Store(c + 8); c02.Store(c + 16);
            c10.Store(c + l); c11.Store(c + l + 8); c12.Store(c + l + 16);
            c20.Store(c + 2 * l); c21.Store(c + 2 * l + 8); c22.Store(c + 2 * l + 16);
            c30.Store(c + 3 * l); c31.Store(c + 3 * l + 8); c32.Store(c + 3 * l + 16);
        }

        /// <summary><see cref="Tile"/> without VNNI: VPMADDUBSW adds each pair of query byte × row byte products into 16 bits
        /// (at most 2·63·127 = 16,002, the query having 6 bits), the pairs of two dimension groups are added in 16 bits
        /// (at most 32,004), and VPMADDWD by ones adds them into 32 bits: VPDPBUSD's integers for two groups in five
        /// instructions (two of them multiplies per 64 byte pairs, against one per 32 for the float FMA's 8 pairs).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TileMadd(byte* q, sbyte* tile, int* c, int ldc)
        {
            Vector256<int> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default,
                c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default;
            var ones = Vector256.Create((short)1);
            nint ld = _dimPad, stride = (nint)_groups * 32;
            sbyte* p0 = tile, p1 = tile + stride, p2 = tile + 2 * stride;
            byte* q1 = q + ld, q2 = q + 2 * ld, q3 = q + 3 * ld;
            for (nint g = 0; g < _groups; g += 2)
            {
                var b0 = Avx.LoadVector256(p0 + g * 32);
                var b1 = Avx.LoadVector256(p1 + g * 32);
                var b2 = Avx.LoadVector256(p2 + g * 32);
                var d0 = Avx.LoadVector256(p0 + g * 32 + 32);
                var d1 = Avx.LoadVector256(p1 + g * 32 + 32);
                var d2 = Avx.LoadVector256(p2 + g * 32 + 32);
                var a = Vector256.Create(*(int*)(q + 4 * g)).AsByte();
                var e = Vector256.Create(*(int*)(q + 4 * g + 4)).AsByte();
                c00 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, b0) + Avx2.MultiplyAddAdjacent(e, d0), ones);
                c01 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, b1) + Avx2.MultiplyAddAdjacent(e, d1), ones);
                c02 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, b2) + Avx2.MultiplyAddAdjacent(e, d2), ones);
                a = Vector256.Create(*(int*)(q1 + 4 * g)).AsByte();
                e = Vector256.Create(*(int*)(q1 + 4 * g + 4)).AsByte();
                c10 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, b0) + Avx2.MultiplyAddAdjacent(e, d0), ones);
                c11 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, b1) + Avx2.MultiplyAddAdjacent(e, d1), ones);
                c12 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, b2) + Avx2.MultiplyAddAdjacent(e, d2), ones);
                a = Vector256.Create(*(int*)(q2 + 4 * g)).AsByte();
                e = Vector256.Create(*(int*)(q2 + 4 * g + 4)).AsByte();
                c20 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, b0) + Avx2.MultiplyAddAdjacent(e, d0), ones);
                c21 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, b1) + Avx2.MultiplyAddAdjacent(e, d1), ones);
                c22 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, b2) + Avx2.MultiplyAddAdjacent(e, d2), ones);
                a = Vector256.Create(*(int*)(q3 + 4 * g)).AsByte();
                e = Vector256.Create(*(int*)(q3 + 4 * g + 4)).AsByte();
                c30 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, b0) + Avx2.MultiplyAddAdjacent(e, d0), ones);
                c31 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, b1) + Avx2.MultiplyAddAdjacent(e, d1), ones);
                c32 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, b2) + Avx2.MultiplyAddAdjacent(e, d2), ones);
            }
            nint l = ldc;
            c00.Store(c); c01.Store(c + 8); c02.Store(c + 16);
            c10.Store(c + l); c11.Store(c + l + 8); c12.Store(c + l + 16);
            c20.Store(c + 2 * l); c21.Store(c + 2 * l + 8); c22.Store(c + 2 * l + 16);
            c30.Store(c + 3 * l); c31.Store(c + 3 * l + 8); c32.Store(c + 3 * l + 16);
        }

        /// <summary>Rows jc..jc+n-1 of one query: screen scores against the threshold, into the heap and the candidates.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Scan(QueryState s, int* dots, float* rowScale, int* rowOffset, int n, int jc, int maxCapacity)
        {
            var qs = Vector256.Create(s.Scale);
            float threshold = s.Threshold;
            var t = Vector256.Create(threshold);
            int i = 0;
            var a = stackalloc float[8];
            for (; i < n; i += 8)
            {
                var d = Avx2.Subtract(Avx.LoadVector256(dots + i), Avx.LoadVector256(rowOffset + i));
                var score = Avx.Multiply(Avx.Multiply(Avx.ConvertToVector256Single(d), Avx.LoadVector256(rowScale + i)), qs);
                uint mask = Vector256.GreaterThanOrEqual(score, t).ExtractMostSignificantBits();
                if (i + 8 > n) mask &= (1u << (n - i)) - 1;
                if (mask == 0) continue;
                score.Store(a);
                while (mask != 0)
                {
                    int j = BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                    if (a[j] < threshold) continue;
                    Offer(s, jc + i + j, a[j], maxCapacity);
                    if (s.Failed) return;
                    threshold = s.Threshold;
                    t = Vector256.Create(threshold);
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Offer(QueryState s, int id, float a, int maxCapacity)
        {
            // The K best screen scores (values only: the threshold needs the K-th).
            var heap = s.Heap;
            if (s.HeapCount < _k)
            {
                int i = s.HeapCount++;
                while (i > 0 && heap[(i - 1) >> 1] > a) { heap[i] = heap[(i - 1) >> 1]; i = (i - 1) >> 1; }
                heap[i] = a;
            }
            else if (a > heap[0])
            {
                int i = 0;
                while (true)
                {
                    int l = 2 * i + 1;
                    if (l >= _k) break;
                    int w = l + 1 < _k && heap[l + 1] < heap[l] ? l + 1 : l;
                    if (heap[w] >= a) break;
                    heap[i] = heap[w];
                    i = w;
                }
                heap[i] = a;
            }
            // Rounded down: the float threshold never passes the true root − 2E.
            if (s.HeapCount == _k) s.Threshold = MathF.BitDecrement((float)(heap[0] - (double)s.Bound2));
            if (s.Count == s.Ids.Length && !Compact(s, maxCapacity)) return;
            s.Ids[s.Count] = id;
            s.Scores[s.Count++] = a;
        }

        /// <summary>Drops candidates under the current threshold; grows the list when that frees too little, up to
        /// the cap, past which the query goes to the float pass.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static bool Compact(QueryState s, int maxCapacity)
        {
            int kept = 0;
            for (int i = 0; i < s.Count; i++)
                if (s.Scores[i] >= s.Threshold) { s.Ids[kept] = s.Ids[i]; s.Scores[kept++] = s.Scores[i]; }
            s.Count = kept;
            if (kept <= s.Ids.Length / 2) return true;
            if (s.Ids.Length >= maxCapacity) { s.Failed = true; return false; }
            int grown = Math.Min(maxCapacity, s.Ids.Length * 2);
            Array.Resize(ref s.Ids, grown);
            Array.Resize(ref s.Scores, grown);
            return true;
        }

        /// <summary>The candidates within 2E of the final K-th, scored by the float pass's FMA chain in row order, the K
        /// best kept (by score, then lower row: the float pass's order). <paramref name="ids"/> is the block's buffer.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private Neighbor[] Rescore(QueryState s, int query, ref int[] ids)
        {
            if (ids.Length < s.Count) ids = new int[s.Count];
            int n = 0;
            for (int i = 0; i < s.Count; i++) if (s.Scores[i] >= s.Threshold) ids[n++] = s.Ids[i];
            Interlocked.Add(ref _rescored, n);
            Array.Sort(ids, 0, n);
            var best = new Neighbor[Math.Min(_k, n)];
            int kept = 0;
            var dots = stackalloc float[8];
            var rows = stackalloc float*[PanelRows];
            fixed (float* v = _vectors.Span)
            fixed (float* q = _queries)
            {
                float* qp = q + (nint)query * _dim;
                int i = 0;
                for (; i + PanelRows <= n; i += PanelRows)
                {
                    for (int r = 0; r < PanelRows; r++) rows[r] = v + (nint)ids[i + r] * _dim;
                    RowDots1(rows, _dim, qp, dots);
                    for (int r = 0; r < PanelRows; r++) Keep(best, ref kept, new Neighbor(ids[i + r], dots[r]));
                }
                for (; i < n; i++)
                    Keep(best, ref kept, new Neighbor(ids[i], Dot(new ReadOnlySpan<float>(qp, _dim), new ReadOnlySpan<float>(v + (nint)ids[i] * _dim, _dim))));
            }
            return best;
        }

        /// <summary>Inserts <paramref name="x"/> into the sorted best list when it ranks among its length.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Keep(Neighbor[] best, ref int kept, Neighbor x)
        {
            int i = kept;
            if (kept < best.Length) kept++;
            else if (NeighborOrder.Instance.Compare(x, best[--i]) >= 0) return;
            for (; i > 0 && NeighborOrder.Instance.Compare(x, best[i - 1]) < 0; i--) best[i] = best[i - 1];
            best[i] = x;
        }
    }
}
