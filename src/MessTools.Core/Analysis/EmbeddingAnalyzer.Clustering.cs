using System.Numerics;
using System.Numerics.Tensors;
using MessTools.Core.Evaluation;

namespace MessTools.Core.Analysis;

// Clustering: k-means (Lloyd) on E with k-means++ seeding, the composer x cluster table and the NMI.
public static partial class EmbeddingAnalyzer
{
    public const int MaxKMeansIterations = 300;

    private static void Cluster(float[] e, int n, int dim, Evaluator.Labels labels, AnalysisOptions o, EmbeddingAnalysis r)
    {
        var (assign, inertia, iterations) = KMeans(e, n, dim, o.Clusters, o.Seed, Threads(o), o.Cancellation);
        int k = o.Clusters, nc = labels.ComposerNames.Length;
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
    /// to the lower cluster. Assignments run in parallel, centres are summed in row order: the same result every run.
    /// </summary>
    internal static (int[] Assign, double Inertia, int Iterations) KMeans(float[] e, int n, int dim, int k, int seed, int threads, CancellationToken ct)
    {
        var rng = new Random(seed);
        var centres = new float[k * dim];
        var nearest = new double[n];
        var po = new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = ct };
        int first = rng.Next(n);
        e.AsSpan(first * dim, dim).CopyTo(centres.AsSpan(0, dim));
        Array.Fill(nearest, double.PositiveInfinity);
        for (int c = 1; c <= k; c++)
        {
            var centre = centres.AsSpan((c - 1) * dim, dim).ToArray();
            Parallel.For(0, n, po, i => nearest[i] = Math.Min(nearest[i], SquaredDistance(e.AsSpan(i * dim, dim), centre)));
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

        var assign = new int[n];
        Array.Fill(assign, -1);
        var dist = new double[n];
        int iterations = 0;
        var rowNorms = new double[n];
        Parallel.For(0, n, po, i => rowNorms[i] = TensorPrimitives.Dot<float>(e.AsSpan(i * dim, dim), e.AsSpan(i * dim, dim)));
        var nearestCentre = new NearestCentre(k, dim);
        int chunks = (n + SumChunk - 1) / SumChunk;
        var partial = new double[chunks][];
        var partialCounts = new int[chunks][];
        var sums = new double[k * dim];
        var counts = new int[k];
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            nearestCentre.SetCentres(centres);
            int changed = 0;
            // |x - c|^2 = |x|^2 + (|c|^2 - 2 x.c): blocks of rows against every centre (NearestCentre), in parallel.
            // The next centres' sums are taken in the same pass, while each row is in cache: fixed chunks of rows,
            // each summed in row order, then added in chunk order, so they never depend on the thread count.
            Parallel.For(0, chunks, po, () => 0, (c, _, local) =>
            {
                var s = partial[c] ??= new double[k * dim];
                var m = partialCounts[c] ??= new int[k];
                Array.Clear(s); Array.Clear(m);
                int from = c * SumChunk, to = Math.Min(n, from + SumChunk);
                local += nearestCentre.Assign(e, from, to, rowNorms, assign, dist, s, m);
                return local;
            }, local => Interlocked.Add(ref changed, local));
            iterations++;
            if (changed == 0 || iterations >= MaxKMeansIterations) break;
            Array.Clear(sums); Array.Clear(counts);
            for (int c = 0; c < chunks; c++)
            {
                TensorPrimitives.Add(sums, partial[c], sums);
                for (int j = 0; j < k; j++) counts[j] += partialCounts[c][j];
            }
            for (int c = 0; c < k; c++)
            {
                if (counts[c] == 0)
                {
                    // Empty: take the point farthest from its centre (lowest row on ties).
                    int far = 0;
                    for (int i = 1; i < n; i++) if (dist[i] > dist[far]) far = i;
                    dist[far] = 0;
                    e.AsSpan(far * dim, dim).CopyTo(centres.AsSpan(c * dim, dim));
                    assign[far] = -1; // forces another iteration
                    continue;
                }
                for (int j = 0; j < dim; j++) centres[c * dim + j] = (float)(sums[c * dim + j] / counts[c]);
            }
        }
        return (assign, dist.Sum(), iterations);
    }

    private const int SumChunk = 2048;

    /// <summary>|a − b|² in double: the differences widened from float, summed lane-wise (SIMD), then across lanes.</summary>
    private static double SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int j = 0, w = Vector<float>.Count;
        var acc = Vector<double>.Zero;
        if (Vector.IsHardwareAccelerated)
            for (; j + w <= a.Length; j += w)
            {
                Vector.Widen(new Vector<float>(a[j..]), out var alo, out var ahi);
                Vector.Widen(new Vector<float>(b[j..]), out var blo, out var bhi);
                var dlo = alo - blo;
                var dhi = ahi - bhi;
                acc += dlo * dlo + dhi * dhi;
            }
        double s = Vector.Sum(acc);
        for (; j < a.Length; j++) { double d = (double)a[j] - b[j]; s += d * d; }
        return s;
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
