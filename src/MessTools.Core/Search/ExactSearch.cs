using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

[assembly: InternalsVisibleTo("EvalBench")]

namespace MessTools.Core.Search;

/// <summary>One search result: the row index of a database vector and its inner product with the query.</summary>
public readonly record struct Neighbor(int Id, float Score);

/// <summary>
/// True when <paramref name="candidateIndex"/> may be returned for <paramref name="queryIndex"/>: the allow-filter
/// contract of <see cref="MessTools.Core.Index.NodeFilter"/> (and hnswlib) for a batch of queries.
/// Called from several threads at once, and only for candidates that would otherwise enter the top K.
/// </summary>
public delegate bool PairFilter(int queryIndex, int candidateIndex);

/// <summary>Cancellation and progress for a long exact search.</summary>
public sealed class ExactSearchOptions
{
    public CancellationToken Cancellation { get; init; }

    /// <summary>Called from worker threads with the fraction done (0..1); keep it cheap and thread-safe.</summary>
    public Action<double>? Progress { get; init; }
}

/// <summary>
/// Exact top-K search by inner product: a blocked, register-tiled matrix product (queries x database rows) fused
/// with bounded per-query top-K heaps, so the score matrix is never held whole.
/// <para>
/// Layout (the usual GEMM scheme): the database is packed once into panels of NR rows stored dimension-major
/// ([panel][dim][NR]); each block of queries is packed into panels of MR queries ([panel][dim][MR]). A micro-kernel
/// keeps an MR x NR tile of scores in registers (AVX-512: 12 x 32 in 24 zmm registers; AVX2+FMA: 6 x 16 in
/// 12 ymm registers; elsewhere <see cref="Vector{T}"/>: 4 x 2 vectors) and walks KC dimensions at a time, so one
/// database panel stays in L1 while the query panels stream from L2. After every NC database rows the tile of scores
/// is scanned (SIMD compare with the heap's threshold) into the heaps. Query blocks run in parallel.
/// </para>
/// <para>
/// Every score is the sequential fused multiply-add over dimensions 0..dim-1 (with AVX-512 or AVX2+FMA), bit for
/// bit what <c>acc = MathF.FusedMultiplyAdd(q[p], v[p], acc)</c> gives, whichever tile or thread computed it; ties
/// are broken by the lower row index. So results never depend on thread timing or block sizes. Rows whose score
/// is NaN are never returned.
/// </para>
/// </summary>
public static unsafe class ExactSearch
{
    internal enum Kernel { Auto, Avx512, Avx2, Portable }

    /// <summary>Block sizes; internal so the benchmark can tune them.</summary>
    internal static int QueryBlock = 240, DimBlock = 256, RowBlock = 512;
    /// <summary>Benchmark switch: score all pairs in both directions instead of once.</summary>
    internal static bool NoSymmetricPass;

    internal static Kernel Best { get; } =
        Avx512F.IsSupported && Vector512.IsHardwareAccelerated ? Kernel.Avx512
        : Fma.IsSupported && Avx.IsSupported ? Kernel.Avx2
        : Kernel.Portable;

    /// <summary>Each query's <paramref name="k"/> best rows by inner product, descending; ties by lower Id.
    /// <paramref name="queries"/> is <paramref name="queryCount"/> x <paramref name="dim"/>, row-major, like
    /// <paramref name="vectors"/> (<paramref name="count"/> rows). <paramref name="maxThreads"/> 0 = all cores.</summary>
    public static Neighbor[][] Search(float[] vectors, int count, int dim, float[] queries, int queryCount, int k,
        PairFilter? allow = null, int maxThreads = 0) =>
        Run(Kernel.Auto, vectors, count, dim, queries, queryCount, k, allow, maxThreads, selfExclude: false, null);

    /// <inheritdoc cref="Search(float[], int, int, float[], int, int, PairFilter?, int)"/>
    public static Neighbor[][] Search(float[] vectors, int count, int dim, float[] queries, int queryCount, int k,
        PairFilter? allow, int maxThreads, ExactSearchOptions? options) =>
        Run(Kernel.Auto, vectors, count, dim, queries, queryCount, k, allow, maxThreads, selfExclude: false, options);

    /// <summary>Every row as a query against all rows, the row itself excluded.</summary>
    public static Neighbor[][] AllPairs(float[] vectors, int count, int dim, int k, PairFilter? allow = null, int maxThreads = 0) =>
        Run(Kernel.Auto, vectors, count, dim, vectors, count, k, allow, maxThreads, selfExclude: true, null);

    /// <inheritdoc cref="AllPairs(float[], int, int, int, PairFilter?, int)"/>
    public static Neighbor[][] AllPairs(float[] vectors, int count, int dim, int k, PairFilter? allow, int maxThreads, ExactSearchOptions? options) =>
        Run(Kernel.Auto, vectors, count, dim, vectors, count, k, allow, maxThreads, selfExclude: true, options);

    /// <summary>The inner product exactly as the kernels compute it (sequential FMA); for tests and callers that must agree bit for bit.</summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException("The vectors differ in length.");
        float acc = 0f;
        for (int i = 0; i < a.Length; i++) acc = MathF.FusedMultiplyAdd(a[i], b[i], acc);
        return acc;
    }

    internal static Neighbor[][] Run(Kernel kernel, float[] vectors, int count, int dim, float[] queries, int queryCount, int k,
        PairFilter? allow, int maxThreads, bool selfExclude, ExactSearchOptions? options,
        int queryBlock = 0, int dimBlock = 0, int rowBlock = 0)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        ArgumentOutOfRangeException.ThrowIfNegative(queryCount);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfNegative(maxThreads);
        if ((long)count * dim > vectors.Length)
            throw new ArgumentException($"{count} rows x {dim} dims need {(long)count * dim} values; the array holds {vectors.Length}.", nameof(vectors));
        if ((long)queryCount * dim > queries.Length)
            throw new ArgumentException($"{queryCount} queries x {dim} dims need {(long)queryCount * dim} values; the array holds {queries.Length}.", nameof(queries));
        if (kernel == Kernel.Auto) kernel = Best;
        if (kernel == Kernel.Avx512 && !Avx512F.IsSupported) throw new PlatformNotSupportedException("AVX-512F");
        if (kernel == Kernel.Avx2 && !(Fma.IsSupported && Avx.IsSupported)) throw new PlatformNotSupportedException("AVX2/FMA");

        var results = new Neighbor[queryCount][];
        if (queryCount == 0) return results;
        k = Math.Min(k, count); // never more results than rows (keeps the heaps small for a huge K)
        if (k == 0 || count == 0)
        {
            for (int i = 0; i < queryCount; i++) results[i] = Array.Empty<Neighbor>();
            return results;
        }
        var job = new Job(kernel, vectors, count, dim, queries, queryCount, k, allow, selfExclude, maxThreads, options,
            queryBlock > 0 ? queryBlock : QueryBlock, dimBlock > 0 ? dimBlock : DimBlock, rowBlock > 0 ? rowBlock : RowBlock);
        job.Execute(results);
        return results;
    }

    /// <summary>One call's data, block plan and shared packed database.</summary>
    private sealed class Job
    {
        private readonly float[] _vectors, _queries;
        private readonly int _count, _dim, _queryCount, _k, _threads;
        private readonly PairFilter? _allow;
        private readonly bool _selfExclude;
        private readonly ExactSearchOptions? _options;
        private readonly Kernel _kernel;
        private readonly int _mr, _nr, _kc, _nc, _mq;
        private readonly int _queryBlocks;
        private readonly int _rowRanges, _rangeRows;
        private long _done;
        private readonly long _total;

        public Job(Kernel kernel, float[] vectors, int count, int dim, float[] queries, int queryCount, int k,
            PairFilter? allow, bool selfExclude, int maxThreads, ExactSearchOptions? options,
            int queryBlock, int dimBlock, int rowBlock)
        {
            _kernel = kernel;
            (_mr, _nr) = kernel switch
            {
                Kernel.Avx512 => (12, 32),
                Kernel.Avx2 => (6, 16),
                _ => (4, 2 * Vector<float>.Count),
            };
            _vectors = vectors; _count = count; _dim = dim; _queries = queries; _queryCount = queryCount; _k = k;
            _allow = allow; _selfExclude = selfExclude; _options = options;
            _threads = maxThreads > 0 ? maxThreads : Environment.ProcessorCount;
            _kc = dimBlock;
            _nc = Math.Max(_nr, RoundUp(rowBlock, _nr));
            // Query blocks: about QueryBlock queries each, a multiple of the thread count so no core idles at the end.
            int target = Math.Max(_mr, queryBlock);
            int blocks = (queryCount + target - 1) / target;
            if (blocks > 1 && blocks % _threads != 0) blocks += _threads - blocks % _threads;
            blocks = Math.Min(blocks, (queryCount + _mr - 1) / _mr);
            _mq = RoundUp((queryCount + blocks - 1) / blocks, _mr);
            _queryBlocks = (queryCount + _mq - 1) / _mq;
            // Too few query blocks to keep every thread busy: split the database rows too, and merge at the end.
            _rowRanges = _queryBlocks >= _threads ? 1 : Math.Min((_threads + _queryBlocks - 1) / _queryBlocks, Math.Max(1, count / _nr));
            _rangeRows = RoundUp((count + _rowRanges - 1) / _rowRanges, _nr);
            _rowRanges = (count + _rangeRows - 1) / _rangeRows;
            _total = (long)queryCount * count;
            // All pairs of one set: score each pair once (upper triangle of blocks) and offer it both ways.
            _symmetric = !NoSymmetricPass && selfExclude && ReferenceEquals(queries, vectors) && queryCount == count;
            if (_symmetric)
            {
                _mq = RoundUp(Math.Max(_mr, queryBlock), Lcm(_mr, _nr));
                _queryBlocks = (count + _mq - 1) / _mq;
                _total = 0;
                for (int b = 0; b < _queryBlocks; b++) _total += (long)Math.Min(_mq, count - b * _mq) * (count - b * _mq);
            }
        }

        private readonly bool _symmetric;

        private static int Lcm(int a, int b)
        {
            int x = a, y = b;
            while (y != 0) (x, y) = (y, x % y);
            return a / x * b;
        }

        private static int RoundUp(int x, int m) => (x + m - 1) / m * m;

        /// <summary>Scores of the packed query block (mqPad rows) against database rows jc..jc+nc-1 into c (row stride NC).</summary>
        private void ComputeTile(float* a, float* pb, int mqPad, int jc, int nc, float* c)
        {
            int ldc = _nc;
            int ncPanels = (nc + _nr - 1) / _nr;
            for (int pc = 0; pc < _dim; pc += _kc)
            {
                int kc = Math.Min(_kc, _dim - pc);
                bool accumulate = pc > 0;
                for (int jp = 0; jp < ncPanels; jp++)
                {
                    float* bPanel = pb + (nint)((jc / _nr) + jp) * _dim * _nr + (nint)pc * _nr;
                    float* cCol = c + jp * _nr;
                    for (int ip = 0; ip < mqPad / _mr; ip++)
                    {
                        float* aPanel = a + (nint)ip * _dim * _mr + (nint)pc * _mr;
                        float* cTile = cCol + (nint)ip * _mr * ldc;
                        switch (_kernel)
                        {
                            case Kernel.Avx512: Kernel12x32(aPanel, bPanel, kc, cTile, ldc, accumulate); break;
                            case Kernel.Avx2: Kernel6x16(aPanel, bPanel, kc, cTile, ldc, accumulate); break;
                            default: KernelPortable(aPanel, bPanel, kc, cTile, ldc, accumulate); break;
                        }
                    }
                }
            }
        }

        public void Execute(Neighbor[][] results)
        {
            var ct = _options?.Cancellation ?? CancellationToken.None;
            if (UseInPlacePath)
            {
                ExecuteInPlace(results, ct);
                return;
            }
            int panels = (_count + _nr - 1) / _nr;
            // The packed database, shared read-only by all threads: [panel][dim][NR], zero rows after the last.
            float[] packedStore = GC.AllocateUninitializedArray<float>(checked((int)((long)panels * _nr * _dim + 16)), pinned: true);
            var po = new ParallelOptions { MaxDegreeOfParallelism = _threads, CancellationToken = ct };
            fixed (float* vp = _vectors)
            fixed (float* pb0 = packedStore)
            {
                float* pb = Align(pb0);
                nint vAddr = (nint)vp, bAddr = (nint)pb;
                int chunk = Math.Max(1, panels / (_threads * 8));
                Parallel.For(0, (panels + chunk - 1) / chunk, po, c =>
                {
                    for (int jp = c * chunk; jp < Math.Min(panels, (c + 1) * chunk); jp++)
                        PackPanel((float*)vAddr, _count, _dim, jp * _nr, _nr, (float*)bAddr + (nint)jp * _dim * _nr);
                });

                if (_symmetric)
                {
                    ExecuteSymmetric((float*)bAddr, results, po, ct);
                    return;
                }
                int items = _queryBlocks * _rowRanges;
                var partial = new Candidates[items];
                Parallel.For(0, items, po,
                    () => new Workspace(_mq, _dim, _nc),
                    (item, _, ws) =>
                    {
                        partial[item] = RunItem(item / _rowRanges, item % _rowRanges, (float*)bAddr, ws, ct);
                        return ws;
                    },
                    _ => { });

                for (int qb = 0; qb < _queryBlocks; qb++)
                {
                    int q0 = qb * _mq, mq = Math.Min(_mq, _queryCount - q0);
                    for (int qi = 0; qi < mq; qi++)
                        results[q0 + qi] = Merge(partial, qb * _rowRanges, _rowRanges, qi);
                }
            }
            GC.KeepAlive(packedStore);
        }

        /// <summary>
        /// A few queries: packing the whole database would cost more than the products, so rows are read in place,
        /// 8 at a time, transposed in registers (lane r = row r), giving the same sequential-FMA scores.
        /// </summary>
        private bool UseInPlacePath => !_symmetric && _queryCount < _mr && _kernel is Kernel.Avx512 or Kernel.Avx2 && Avx.IsSupported && Fma.IsSupported;

        private void ExecuteInPlace(Neighbor[][] results, CancellationToken ct)
        {
            const int group = 8;
            int chunks = Math.Max(1, Math.Min(_threads * 4, _count / (4 * group)));
            int chunkRows = RoundUp((_count + chunks - 1) / chunks, group);
            chunks = (_count + chunkRows - 1) / chunkRows;
            var partial = new Candidates[chunks];
            var po = new ParallelOptions { MaxDegreeOfParallelism = _threads, CancellationToken = ct };
            Parallel.For(0, chunks, po, () => GC.AllocateArray<float>(_queryCount * _nc + 16, pinned: true), (chunk, _, buffer) =>
            {
                var heaps = new Candidates(_queryCount, _k);
                int start = chunk * chunkRows, end = Math.Min(_count, start + chunkRows);
                fixed (float* v = _vectors)
                fixed (float* q = _queries)
                fixed (float* c = buffer)
                {
                    for (int rb = start; rb < end; rb += _nc)
                    {
                        ct.ThrowIfCancellationRequested();
                        int nc = Math.Min(_nc, end - rb);
                        int full = nc / group * group;
                        for (int r = 0; r < full; r += group)
                        {
                            float* rows = v + (nint)(rb + r) * _dim;
                            int j = 0;
                            for (; j + 4 <= _queryCount; j += 4) RowDots4(rows, _dim, q + (nint)j * _dim, c + (nint)j * _nc + r, _nc);
                            for (; j < _queryCount; j++) RowDots1(rows, _dim, q + (nint)j * _dim, c + (nint)j * _nc + r);
                        }
                        for (int r = full; r < nc; r++)
                            for (int j = 0; j < _queryCount; j++)
                                c[(nint)j * _nc + r] = Dot(new ReadOnlySpan<float>(q + (nint)j * _dim, _dim), new ReadOnlySpan<float>(v + (nint)(rb + r) * _dim, _dim));
                        for (int j = 0; j < _queryCount; j++)
                            heaps.Scan(j, j, c + (nint)j * _nc, nc, rb, _selfExclude, _allow);
                        if (_options?.Progress is { } progress)
                            progress((double)Interlocked.Add(ref _done, (long)_queryCount * nc) / _total);
                    }
                }
                partial[chunk] = heaps;
                return buffer;
            }, _ => { });
            for (int j = 0; j < _queryCount; j++)
                results[j] = MergeRange(partial, j);
        }

        private Neighbor[] MergeRange(Candidates[] parts, int h)
        {
            int total = 0;
            foreach (var p in parts) total += p.Count[h];
            var all = new Neighbor[total];
            int at = 0;
            foreach (var p in parts)
                for (int i = 0; i < p.Count[h]; i++) all[at++] = new Neighbor(p.Ids[h * _k + i], p.Scores[h * _k + i]);
            Array.Sort(all, NeighborOrder.Instance);
            return all.Length > _k ? all[.._k] : all;
        }

        /// <summary>
        /// All pairs, each scored once: block I of rows against rows from the start of block I to the end. Inside the
        /// diagonal block every row offers to every other; beyond it each score is offered to the row's heap and,
        /// transposed, to the column's heap. Every thread keeps heaps for all rows; they are merged at the end.
        /// Blocks are taken largest first from a shared counter, so the uneven items balance out.
        /// </summary>
        private void ExecuteSymmetric(float* pb, Neighbor[][] results, ParallelOptions po, CancellationToken ct)
        {
            int next = -1;
            var sets = new System.Collections.Concurrent.ConcurrentBag<Candidates>();
            nint bAddr = (nint)pb;
            int workers = Math.Max(1, Math.Min(_threads, _queryBlocks));
            Parallel.For(0, workers, po, _ =>
            {
                var heaps = new Candidates(_count, _k);
                sets.Add(heaps);
                var ws = new Workspace(_mq, _dim, _nc);
                int item;
                while ((item = Interlocked.Increment(ref next)) < _queryBlocks)
                    RunSymmetricItem(item, (float*)bAddr, ws, heaps, ct);
            });
            var all = sets.ToArray();
            Parallel.For(0, _count, po, q =>
            {
                int total = 0;
                foreach (var h in all) total += h.Count[q];
                var list = new Neighbor[total];
                int at = 0;
                foreach (var h in all)
                    for (int i = 0; i < h.Count[q]; i++) list[at++] = new Neighbor(h.Ids[q * _k + i], h.Scores[q * _k + i]);
                Array.Sort(list, NeighborOrder.Instance);
                results[q] = list.Length > _k ? list[.._k] : list;
            });
        }

        private void RunSymmetricItem(int block, float* pb, Workspace ws, Candidates heaps, CancellationToken ct)
        {
            int q0 = block * _mq, mq = Math.Min(_mq, _count - q0), diagEnd = q0 + mq;
            int mqPad = RoundUp(mq, _mr);
            float* a = ws.A, c = ws.C;
            fixed (float* vp = _vectors)
            {
                for (int ip = 0; ip < mqPad / _mr; ip++)
                    PackPanel(vp, _count, _dim, q0 + ip * _mr, _mr, a + (nint)ip * _dim * _mr);
            }
            for (int jc = q0; jc < _count; jc += _nc)
            {
                ct.ThrowIfCancellationRequested();
                int nc = Math.Min(_nc, _count - jc);
                ComputeTile(a, pb, mqPad, jc, nc, c);
                int offDiag = Math.Clamp(diagEnd - jc, 0, nc); // first column beyond the diagonal block
                for (int qi = 0; qi < mq; qi++)
                {
                    int q = q0 + qi;
                    float* row = c + (nint)qi * _nc;
                    heaps.Scan(q, q, row, nc, jc, true, _allow);
                    if (offDiag < nc) heaps.ScanColumns(q, row + offDiag, nc - offDiag, jc + offDiag, _allow);
                }
                if (_options?.Progress is { } progress)
                    progress((double)Interlocked.Add(ref _done, (long)mq * nc) / _total);
            }
        }

        private Neighbor[] Merge(Candidates[] partial, int first, int n, int qi)
        {
            int total = 0;
            for (int r = 0; r < n; r++) total += partial[first + r].Count[qi];
            var all = new Neighbor[total];
            int at = 0;
            for (int r = 0; r < n; r++)
            {
                var c = partial[first + r];
                int m = c.Count[qi];
                for (int i = 0; i < m; i++) all[at++] = new Neighbor(c.Ids[qi * _k + i], c.Scores[qi * _k + i]);
            }
            Array.Sort(all, NeighborOrder.Instance);
            return all.Length > _k ? all[.._k] : all;
        }

        /// <summary>One query block against one range of database rows.</summary>
        private Candidates RunItem(int qb, int range, float* pb, Workspace ws, CancellationToken ct)
        {
            int q0 = qb * _mq, mq = Math.Min(_mq, _queryCount - q0);
            int mqPad = RoundUp(mq, _mr);
            int rowStart = range * _rangeRows, rowEnd = Math.Min(_count, rowStart + _rangeRows);
            var heaps = new Candidates(mq, _k);
            float* a = ws.A, c = ws.C;
            int ldc = _nc;
            fixed (float* qp = _queries)
            {
                for (int ip = 0; ip < mqPad / _mr; ip++)
                    PackPanel(qp, _queryCount, _dim, q0 + ip * _mr, _mr, a + (nint)ip * _dim * _mr);
            }
            for (int jc = rowStart; jc < rowEnd; jc += _nc)
            {
                ct.ThrowIfCancellationRequested();
                int nc = Math.Min(_nc, rowEnd - jc);
                ComputeTile(a, pb, mqPad, jc, nc, c);
                for (int qi = 0; qi < mq; qi++)
                    heaps.Scan(qi, q0 + qi, c + (nint)qi * ldc, nc, jc, _selfExclude, _allow);
                if (_options?.Progress is { } progress)
                    progress((double)Interlocked.Add(ref _done, (long)mq * nc) / _total);
            }
            return heaps;
        }
    }

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

    /// <summary>Per-thread buffers: packed query block and a block of scores, 64-byte aligned.</summary>
    private sealed class Workspace
    {
        private readonly float[] _a, _c;
        public readonly float* A, C;

        public Workspace(int mq, int dim, int nc)
        {
            _a = GC.AllocateUninitializedArray<float>(checked(mq * dim + 16), pinned: true);
            _c = GC.AllocateArray<float>(checked(mq * nc + 16), pinned: true);
            A = Align((float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_a)));
            C = Align((float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_c)));
        }
    }

    /// <summary>Bounded min-heaps (root = the worst kept result), one per query, with each heap's admission threshold.</summary>
    private sealed class Candidates
    {
        public readonly float[] Scores;
        public readonly int[] Ids;
        public readonly int[] Count;
        /// <summary>-inf while the heap has room, else its root's score: a score below it can never enter.</summary>
        public readonly float[] Threshold;
        private readonly int _k;

        public Candidates(int queries, int k)
        {
            _k = k;
            Scores = new float[queries * k];
            Ids = new int[queries * k];
            Count = new int[queries];
            Threshold = new float[queries];
            Array.Fill(Threshold, float.NegativeInfinity);
        }

        /// <summary>Offers database rows rowBase..rowBase+n-1 (their scores) to heap h, the heap of query q.</summary>
        public void Scan(int h, int q, float* scores, int n, int rowBase, bool selfExclude, PairFilter? allow)
        {
            float threshold = Threshold[h];
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var t = Vector256.Create(threshold);
                for (; i + 8 <= n; i += 8)
                {
                    uint mask = Vector256.GreaterThanOrEqual(Vector256.Load(scores + i), t).ExtractMostSignificantBits();
                    while (mask != 0)
                    {
                        int j = i + BitOperations.TrailingZeroCount(mask);
                        mask &= mask - 1;
                        if (scores[j] >= threshold && Offer(h, q, scores[j], rowBase + j, selfExclude, allow))
                        {
                            threshold = Threshold[h];
                            t = Vector256.Create(threshold);
                        }
                    }
                }
            }
            for (; i < n; i++)
            {
                if (scores[i] >= threshold && Offer(h, q, scores[i], rowBase + i, selfExclude, allow))
                    threshold = Threshold[h];
            }
        }

        /// <summary>The transposed offer of the symmetric all-pairs pass: row q as a candidate for the queries
        /// colBase..colBase+n-1 (heaps indexed by query), their scores with q in <paramref name="scores"/>.</summary>
        public void ScanColumns(int q, float* scores, int n, int colBase, PairFilter? allow)
        {
            int i = 0;
            fixed (float* thr = Threshold)
            {
                if (Vector256.IsHardwareAccelerated)
                {
                    for (; i + 8 <= n; i += 8)
                    {
                        uint mask = Vector256.GreaterThanOrEqual(Vector256.Load(scores + i), Vector256.Load(thr + colBase + i)).ExtractMostSignificantBits();
                        while (mask != 0)
                        {
                            int j = i + BitOperations.TrailingZeroCount(mask);
                            mask &= mask - 1;
                            Offer(colBase + j, colBase + j, scores[j], q, false, allow);
                        }
                    }
                }
                for (; i < n; i++)
                    if (scores[i] >= thr[colBase + i]) Offer(colBase + i, colBase + i, scores[i], q, false, allow);
            }
        }

        private bool Offer(int h, int q, float s, int id, bool selfExclude, PairFilter? allow)
        {
            int at = h * _k;
            int n = Count[h];
            if (n == _k && !(s > Scores[at] || (s == Scores[at] && id < Ids[at]))) return false;
            if (selfExclude && id == q) return false;
            if (allow is not null && !allow(q, id)) return false;
            var sc = Scores.AsSpan(at, _k);
            var ids = Ids.AsSpan(at, _k);
            if (n < _k)
            {
                // Sift up from the new leaf.
                int i = n;
                while (i > 0)
                {
                    int parent = (i - 1) >> 1;
                    if (!Worse(s, id, sc[parent], ids[parent])) break;
                    sc[i] = sc[parent]; ids[i] = ids[parent];
                    i = parent;
                }
                sc[i] = s; ids[i] = id;
                Count[h] = n + 1;
            }
            else
            {
                // Replace the root and sift down.
                int i = 0;
                while (true)
                {
                    int l = 2 * i + 1;
                    if (l >= _k) break;
                    int w = l;
                    if (l + 1 < _k && Worse(sc[l + 1], ids[l + 1], sc[l], ids[l])) w = l + 1;
                    if (!Worse(sc[w], ids[w], s, id)) break;
                    sc[i] = sc[w]; ids[i] = ids[w];
                    i = w;
                }
                sc[i] = s; ids[i] = id;
            }
            if (Count[h] == _k) Threshold[h] = sc[0];
            return true;
        }

        private static bool Worse(float s1, int id1, float s2, int id2) => s1 < s2 || (s1 == s2 && id1 > id2);
    }

    private sealed class NeighborOrder : IComparer<Neighbor>
    {
        public static readonly NeighborOrder Instance = new();
        public int Compare(Neighbor x, Neighbor y) =>
            x.Score > y.Score ? -1 : x.Score < y.Score ? 1 : x.Id.CompareTo(y.Id);
    }

    // ---------------------------------------------------------------- in-place kernels (few queries)
    // Scores of 8 consecutive rows (row-major, stride dim) with 4 or 1 queries; lane r = row r; out[j * ldo + r].
    // Each 8 x 8 block of the rows is transposed in registers, so lane r still sees dimensions 0, 1, 2 ... in order.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(float* r, nint ld, out Vector256<float> o0, out Vector256<float> o1, out Vector256<float> o2, out Vector256<float> o3,
        out Vector256<float> o4, out Vector256<float> o5, out Vector256<float> o6, out Vector256<float> o7)
    {
        var r0 = Avx.LoadVector256(r); var r1 = Avx.LoadVector256(r + ld);
        var r2 = Avx.LoadVector256(r + 2 * ld); var r3 = Avx.LoadVector256(r + 3 * ld);
        var r4 = Avx.LoadVector256(r + 4 * ld); var r5 = Avx.LoadVector256(r + 5 * ld);
        var r6 = Avx.LoadVector256(r + 6 * ld); var r7 = Avx.LoadVector256(r + 7 * ld);
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
            a = Fma.MultiplyAdd(Vector256.Create(q[p]), v0, a);
            a = Fma.MultiplyAdd(Vector256.Create(q[p + 1]), v1, a);
            a = Fma.MultiplyAdd(Vector256.Create(q[p + 2]), v2, a);
            a = Fma.MultiplyAdd(Vector256.Create(q[p + 3]), v3, a);
            a = Fma.MultiplyAdd(Vector256.Create(q[p + 4]), v4, a);
            a = Fma.MultiplyAdd(Vector256.Create(q[p + 5]), v5, a);
            a = Fma.MultiplyAdd(Vector256.Create(q[p + 6]), v6, a);
            a = Fma.MultiplyAdd(Vector256.Create(q[p + 7]), v7, a);
        }
        for (; p < d; p++) a = Fma.MultiplyAdd(Vector256.Create(q[p]), Column(rows, d, p), a);
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
