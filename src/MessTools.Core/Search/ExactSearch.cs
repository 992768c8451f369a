using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
public static unsafe partial class ExactSearch
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

    /// <summary>
    /// <see cref="Search(float[], int, int, float[], int, int, PairFilter?, int)"/> over rows held anywhere: an array, or
    /// an index file's memory-mapped vector section (<see cref="Index.IndexFile"/>), searched in place.
    /// </summary>
    public static Neighbor[][] Search(ReadOnlyMemory<float> vectors, int count, int dim, float[] queries, int queryCount, int k,
        PairFilter? allow = null, int maxThreads = 0) =>
        Run(Kernel.Auto, vectors, count, dim, queries, queryCount, k, allow, maxThreads, selfExclude: false, null);

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
        return Run(kernel, vectors.AsMemory(), count, dim, queries, queryCount, k, allow, maxThreads, selfExclude, options, queryBlock, dimBlock, rowBlock);
    }

    internal static Neighbor[][] Run(Kernel kernel, ReadOnlyMemory<float> vectors, int count, int dim, float[] queries, int queryCount, int k,
        PairFilter? allow, int maxThreads, bool selfExclude, ExactSearchOptions? options,
        int queryBlock = 0, int dimBlock = 0, int rowBlock = 0)
    {
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
        // Block sizes given (tests and the benchmark tuning the float kernels): the float pass itself.
        if (queryBlock == 0 && dimBlock == 0 && rowBlock == 0 && ScreeningApplies(kernel, count, dim, queryCount, k, allow, selfExclude))
        {
            var screened = Screen.TrySearch(vectors, count, dim, queries, queryCount, k,
                maxThreads > 0 ? maxThreads : Environment.ProcessorCount, options, out var fallback);
            if (screened is not null)
            {
                // Queries the screen could not bound: the float pass, then back in their places.
                if (fallback.Count > 0)
                {
                    var rest = new float[fallback.Count * dim];
                    for (int i = 0; i < fallback.Count; i++) queries.AsSpan(fallback[i] * dim, dim).CopyTo(rest.AsSpan(i * dim));
                    var answered = RunFloat(kernel, vectors, count, dim, rest, fallback.Count, k, allow, maxThreads, selfExclude, null, 0, 0, 0);
                    for (int i = 0; i < fallback.Count; i++) screened[fallback[i]] = answered[i];
                }
                return screened;
            }
        }
        return RunFloat(kernel, vectors, count, dim, queries, queryCount, k, allow, maxThreads, selfExclude, options, queryBlock, dimBlock, rowBlock);
    }

    private static Neighbor[][] RunFloat(Kernel kernel, ReadOnlyMemory<float> vectors, int count, int dim, float[] queries, int queryCount, int k,
        PairFilter? allow, int maxThreads, bool selfExclude, ExactSearchOptions? options, int queryBlock, int dimBlock, int rowBlock)
    {
        var results = new Neighbor[queryCount][];
        var job = new Job(kernel, vectors, count, dim, queries, queryCount, k, allow, selfExclude, maxThreads, options,
            queryBlock > 0 ? queryBlock : QueryBlock, dimBlock > 0 ? dimBlock : DimBlock, rowBlock > 0 ? rowBlock : RowBlock);
        // Pinned for the whole run: an array stays put, and a memory-mapped section stays mapped while the kernels read it.
        using (vectors.Pin()) job.Execute(results);
        return results;
    }
}
