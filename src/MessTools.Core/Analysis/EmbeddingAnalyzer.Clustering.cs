using System.Numerics;
using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using MessTools.Core.Common;
using MessTools.Core.Evaluation;

namespace MessTools.Core.Analysis;

// Clustering: k-means (Lloyd) on E with k-means++ seeding, the composer x cluster table and the NMI.
public static partial class EmbeddingAnalyzer
{
    public const int MaxKMeansIterations = 300;

    private static void Cluster(float[] e, int n, int dim, Evaluator.Labels labels, int[]? sample, AnalysisOptions o, EmbeddingAnalysis r)
    {
        int k = o.Clusters, nc = labels.ComposerNames.Length;
        int[] assign;
        double inertia;
        int iterations;
        if (sample is not null)
        {
            // Above the sample size the centres are fitted on the silhouette's seeded sample (faiss also fits on a
            // subsample), and every track then takes its nearest fitted centre.
            var fit = Gather(e, dim, sample, Parallelism(o));
            var sampled = KMeans(fit, sample.Length, dim, k, o.Seed, Threads(o), o.Cancellation);
            (assign, inertia) = AssignNearest(e, n, dim, sampled.Centres, Parallelism(o));
            iterations = sampled.Iterations;
        }
        else (assign, inertia, iterations, _) = KMeans(e, n, dim, k, o.Seed, Threads(o), o.Cancellation);
        var sizes = new int[k];
        var table = new int[nc][];
        for (int c = 0; c < nc; c++) table[c] = new int[k];
        for (int i = 0; i < n; i++) { sizes[assign[i]]++; table[labels.Composer[i]][assign[i]]++; }
        r.ClusterSizes = sizes;
        r.ComposerByCluster = new SortedDictionary<string, int[]>(StringComparer.Ordinal);
        for (int c = 0; c < nc; c++) r.ComposerByCluster[labels.ComposerNames[c]] = table[c];
        r.ClusterOfTrack = assign;
        r.ClusterInertia = inertia;
        r.ClusterIterations = iterations;
        r.ClusterNmi = NormalizedMutualInformation(labels.Composer, assign);
    }

    /// <summary>
    /// k-means++ seeding (the first centre uniformly, each next one with probability proportional to the squared
    /// distance to the nearest centre chosen, from <see cref="Random"/> with <paramref name="seed"/>), then Lloyd
    /// iterations until no assignment changes. An emptied cluster takes the point farthest from its centre. Ties go
    /// to the lower cluster. The same result every run, whatever the thread count.
    /// <para>Each iteration gives every row the centre a full Lloyd pass would (<see cref="NearestCentre"/>'s
    /// arithmetic), but reads only the rows whose centre may change: Elkan's bounds (2003), an upper bound on a row's
    /// distance to its centre and a lower bound on its distance to each other one, moved by how far the centres
    /// moved, with the centres' distances to each other. A row is skipped only when the bounds prove that the
    /// computed distances could not pick another centre: the squared gap must exceed twice the float error of
    /// |x|² + |c|² − 2 x·c. Centre sums are kept in 64-bit fixed point and updated by the rows that move, so they are
    /// exactly the sums of the rows assigned, in any order. After the last iteration every row is scored once more
    /// for the inertia.
    /// <paramref name="bounds"/> false, or more than 2²⁵ bounds (N × k), reads every row every iteration (the former
    /// is the reference the tests compare with).</para>
    /// </summary>
    internal static unsafe (int[] Assign, double Inertia, int Iterations, float[] Centres) KMeans(float[] e, int n, int dim, int k, int seed, int threads,
        CancellationToken ct, bool bounds = true)
    {
        var po = new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = ct };
        var centres = SeedCentres(e, n, dim, k, seed, po);
        var rowNorms = new double[n];
        RowChunks(n, po, (from, to) =>
        {
            for (int i = from; i < to; i++) rowNorms[i] = DotTile.Dot<float>(e.AsSpan(i * dim, dim), e.AsSpan(i * dim, dim));
        });
        int chunks = (n + RowChunk - 1) / RowChunk;
        double maxNorm = 0;
        foreach (double q in rowNorms) maxNorm = Math.Max(maxNorm, q);
        // The float error of a computed squared distance is at most dim·2⁻²⁴·(|x| + |c|)² ≤ 4·dim·2⁻²⁴·max|x|²
        // (a centre is a mean of rows); twice that.
        double eta = 8.0 * dim * Math.ScaleB(1, -24) * maxNorm;
        // Fixed point: n rows of |value| ≤ max|x| summed stay under 2⁶².
        double scale = Math.ScaleB(1, 61 - (int)Math.Ceiling(Math.Log2(Math.Max(1e-30, n * Math.Sqrt(maxNorm)))));

        bounds &= (long)n * k <= 1 << 25;
        var assign = new int[n];   // Lloyd's assignment; -1 until the first pass, and for a row given to an empty cluster
        var member = new int[n];   // the cluster whose sum holds the row (-1: none yet)
        Array.Fill(assign, -1);
        Array.Fill(member, -1);
        var dist = new double[n];
        var upper = new double[n];
        var lower = new double[bounds ? n * k : 0]; // row i, centre c at i * k + c
        var sums = new long[k * dim];
        var counts = new int[k];
        var delta = new long[chunks][];
        var deltaCounts = new int[chunks][];
        var moved = new bool[chunks];
        var drift = new double[k];          // how far each centre moved in the last update
        var apart = new double[k * k];      // the centres' distances to each other
        var previous = new float[k * dim];
        var nearestCentre = new NearestCentre(k, dim);
        int stride = nearestCentre.Stride;

        // Whether the bounds, moved by the last drifts, prove that row i keeps centre a (and store them moved).
        // Optimised at once: called from the parallel passes, it otherwise runs unoptimised for much of the fit.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        bool Kept(int i, int a)
        {
            double u = upper[i] + drift[a];
            upper[i] = u;
            for (int c = 0, at = i * k; c < k; c++, at++)
            {
                if (c == a) continue;
                double l = lower[at] - drift[c];
                lower[at] = l;
                double m = Math.Max(l, apart[a * k + c] - u);
                if (!(m > u && m * m - u * u > 2 * eta)) return false;
            }
            return true;
        }

        // One pass at the current centres: every row (full) or the rows the bounds cannot keep. Moves rows between
        // the fixed-point sums; returns how many assignments changed.
        int Pass(bool full)
        {
            int changed = 0;
            Array.Clear(moved);
            Parallel.For(0, chunks, po, () => 0, (chunk, _, local) =>
            {
                var addresses = stackalloc float*[NearestCentre.Rows];
                var scores = stackalloc float[NearestCentre.Rows * stride];
                var rows = stackalloc int[NearestCentre.Rows];
                int from = chunk * RowChunk, to = Math.Min(n, from + RowChunk), count = 0;
                fixed (float* x = e)
                    for (int i = from; ; i++)
                    {
                        bool end = i >= to;
                        if (!end)
                        {
                            int a = assign[i];
                            if (!full && a >= 0 && Kept(i, a)) continue;
                            rows[count++] = i;
                            if (count < NearestCentre.Rows) continue;
                        }
                        if (count > 0)
                        {
                            for (int r = 0; r < count; r++) addresses[r] = x + (nint)rows[r] * dim;
                            nearestCentre.Score(addresses, count, scores);
                            for (int r = 0; r < count; r++)
                            {
                                int i2 = rows[r];
                                float* rs = scores + r * stride;
                                int best = nearestCentre.Nearest(rs, out double d1);
                                dist[i2] = Math.Max(0, d1 + rowNorms[i2]);
                                if (bounds)
                                {
                                    upper[i2] = Math.Sqrt(dist[i2] + eta);
                                    for (int c = 0; c < k; c++)
                                        lower[i2 * k + c] = Math.Sqrt(Math.Max(0, nearestCentre.Value(rs, c) + rowNorms[i2] - eta));
                                }
                                if (assign[i2] != best) { assign[i2] = best; local++; }
                                if (member[i2] != best)
                                {
                                    var sum = delta[chunk] ??= new long[k * dim];
                                    var cnt = deltaCounts[chunk] ??= new int[k];
                                    if (!moved[chunk]) { Array.Clear(sum); Array.Clear(cnt); moved[chunk] = true; }
                                    var row = new ReadOnlySpan<float>(x + (nint)i2 * dim, dim);
                                    if (member[i2] >= 0)
                                    {
                                        var old = sum.AsSpan(member[i2] * dim, dim);
                                        for (int j = 0; j < dim; j++) old[j] -= (long)(row[j] * scale);
                                        cnt[member[i2]]--;
                                    }
                                    var add = sum.AsSpan(best * dim, dim);
                                    for (int j = 0; j < dim; j++) add[j] += (long)(row[j] * scale);
                                    cnt[best]++;
                                    member[i2] = best;
                                }
                            }
                            count = 0;
                        }
                        if (end) break;
                    }
                return local;
            }, local => Interlocked.Add(ref changed, local));
            for (int c = 0; c < chunks; c++)
            {
                if (!moved[c]) continue;
                for (int j = 0; j < sums.Length; j++) sums[j] += delta[c]![j];
                for (int j = 0; j < k; j++) counts[j] += deltaCounts[c]![j];
            }
            return changed;
        }

        int iterations = 0;
        bool lastFull = true;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            nearestCentre.SetCentres(centres);
            bool full = !bounds || iterations == 0;
            int changed = Pass(full);
            lastFull = full;
            iterations++;
            if (changed == 0 || iterations >= MaxKMeansIterations) break;
            centres.CopyTo(previous, 0);
            for (int c = 0; c < k; c++)
            {
                if (counts[c] == 0)
                {
                    // Empty: take the point farthest from its centre (lowest row on ties), by every row's distance.
                    if (!lastFull) { Pass(full: true); lastFull = true; }
                    int far = 0;
                    for (int i = 1; i < n; i++) if (dist[i] > dist[far]) far = i;
                    dist[far] = 0;
                    e.AsSpan(far * dim, dim).CopyTo(centres.AsSpan(c * dim, dim));
                    assign[far] = -1; // forces another iteration, and a fresh look at the row
                    continue;
                }
                for (int j = 0; j < dim; j++) centres[c * dim + j] = (float)((double)sums[c * dim + j] / scale / counts[c]);
            }
            if (bounds) Drifts(centres, previous, k, dim, drift, apart);
        }
        // Every row's centre and distance at the final centres (the inertia), as the last full pass gave them or would.
        var (final, inertia) = AssignNearest(e, n, dim, centres, po, rowNorms);
        return (final, inertia, iterations, centres);
    }

    /// <summary>Every row's nearest of the given centres (ties to the lower, the arithmetic of a Lloyd pass) and the
    /// sum of the squared distances, in row order. <paramref name="rowNorms"/>: each row's x·x (<see cref="DotTile.Dot{T}"/>),
    /// when the caller has them already.</summary>
    internal static unsafe (int[] Assign, double Inertia) AssignNearest(float[] e, int n, int dim, float[] centres, ParallelOptions po,
        double[]? rowNorms = null)
    {
        int k = centres.Length / dim;
        var nearestCentre = new NearestCentre(k, dim);
        nearestCentre.SetCentres(centres);
        int stride = nearestCentre.Stride;
        var assign = new int[n];
        var dist = new double[n];
        RowChunks(n, po, (from, to) =>
        {
            var addresses = stackalloc float*[NearestCentre.Rows];
            var scores = stackalloc float[NearestCentre.Rows * stride];
            fixed (float* x = e)
                for (int i = from; i < to; i += NearestCentre.Rows)
                {
                    int count = Math.Min(NearestCentre.Rows, to - i);
                    for (int r = 0; r < count; r++) addresses[r] = x + (nint)(i + r) * dim;
                    nearestCentre.Score(addresses, count, scores);
                    for (int r = 0; r < count; r++)
                    {
                        var row = new ReadOnlySpan<float>(addresses[r], dim);
                        assign[i + r] = nearestCentre.Nearest(scores + r * stride, out double d1);
                        dist[i + r] = Math.Max(0, d1 + (rowNorms?[i + r] ?? DotTile.Dot<float>(row, row)));
                    }
                }
        });
        return (assign, dist.Sum());
    }

    /// <summary>How far each centre moved, and the centres' distances to each other; rounded outward (moves up,
    /// distances down) so the bounds stay bounds.</summary>
    private static void Drifts(float[] centres, float[] previous, int k, int dim, double[] drift, double[] apart)
    {
        const double Up = 1 + 1e-9, Down = 1 - 1e-9;
        for (int c = 0; c < k; c++)
        {
            drift[c] = Math.Sqrt(SquaredDistance(centres.AsSpan(c * dim, dim), previous.AsSpan(c * dim, dim))) * Up;
            for (int o = 0; o < c; o++)
                apart[c * k + o] = apart[o * k + c] = Math.Sqrt(SquaredDistance(centres.AsSpan(c * dim, dim), centres.AsSpan(o * dim, dim))) * Down;
        }
    }

    /// <summary>k-means++ seeding: the first centre uniformly, each next one with probability proportional to the
    /// squared distance to the nearest centre chosen so far.</summary>
    private static float[] SeedCentres(float[] e, int n, int dim, int k, int seed, ParallelOptions po)
    {
        var rng = new Random(seed);
        var centres = new float[k * dim];
        var nearest = new double[n];
        int first = rng.Next(n);
        e.AsSpan(first * dim, dim).CopyTo(centres.AsSpan(0, dim));
        Array.Fill(nearest, double.PositiveInfinity);
        for (int c = 1; c <= k; c++)
        {
            var centre = centres.AsSpan((c - 1) * dim, dim).ToArray();
            RowChunks(n, po, (from, to) =>
            {
                for (int i = from; i < to; i++) nearest[i] = Math.Min(nearest[i], SquaredDistance(e.AsSpan(i * dim, dim), centre));
            });
            if (c == k) break;
            double total = nearest.Sum();
            int pick;
            if (total <= 0) pick = rng.Next(n); // every point sits on a centre already
            else
            {
                double target = rng.NextDouble() * total, acc = 0;
                pick = n - 1;
                for (int i = 0; i < n; i++) { acc += nearest[i]; if (acc > target) { pick = i; break; } }
            }
            e.AsSpan(pick * dim, dim).CopyTo(centres.AsSpan(c * dim, dim));
        }
        return centres;
    }

    /// <summary>scikit-learn's normalized_mutual_info_score (average_method="arithmetic", natural log): MI divided by
    /// the mean of the two entropies; 1 when both labelings have one class; 0 when MI is 0.</summary>
    public static double NormalizedMutualInformation(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        if (a.Count != b.Count) throw new ArgumentException("The two labelings differ in length.");
        int n = a.Count;
        var joint = new Dictionary<(int, int), int>();
        var ca = new Dictionary<int, int>();
        var cb = new Dictionary<int, int>();
        for (int i = 0; i < n; i++)
        {
            joint[(a[i], b[i])] = joint.GetValueOrDefault((a[i], b[i])) + 1;
            ca[a[i]] = ca.GetValueOrDefault(a[i]) + 1;
            cb[b[i]] = cb.GetValueOrDefault(b[i]) + 1;
        }
        if ((ca.Count == 1 && cb.Count == 1) || n == 0) return 1.0;
        double mi = 0;
        foreach (var ((x, y), nxy) in joint.OrderBy(p => p.Key.Item1).ThenBy(p => p.Key.Item2))
            mi += nxy / (double)n * (Math.Log(nxy) + Math.Log(n) - Math.Log(ca[x]) - Math.Log(cb[y]));
        mi = Math.Max(0, mi);
        if (mi == 0) return 0;
        double Entropy(Dictionary<int, int> counts) =>
            -counts.Values.Select(c => c / (double)n).Sum(p => p * Math.Log(p));
        double ha = Entropy(ca), hb = Entropy(cb);
        return mi / ((ha + hb) / 2);
    }
}
