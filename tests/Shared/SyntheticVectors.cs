namespace MessTools.Tests.Infrastructure;

/// <summary>Synthetic clustered, L2-normalised vectors (row-major), reproducible from a seed.</summary>
public static class SyntheticVectors
{
    public static float[] Clustered(int n, int dim, int clusters, double noise, int seed) =>
        Clustered(n, dim, clusters, noise, seed, out _);

    /// <summary>As above, with the cluster each row was drawn from (labels such as composers for the analysis tests).</summary>
    public static float[] Clustered(int n, int dim, int clusters, double noise, int seed, out int[] labels)
    {
        var rng = new Random(seed);
        labels = new int[n];
        var centers = new double[clusters * dim];
        for (int i = 0; i < centers.Length; i++) centers[i] = Gauss(rng);
        var data = new float[n * dim];
        for (int i = 0; i < n; i++)
        {
            int c = rng.Next(clusters);
            labels[i] = c;
            double norm = 0;
            for (int d = 0; d < dim; d++)
            {
                double x = centers[c * dim + d] + noise * Gauss(rng);
                data[i * dim + d] = (float)x;
                norm += x * x;
            }
            norm = Math.Sqrt(norm);
            for (int d = 0; d < dim; d++) data[i * dim + d] = (float)(data[i * dim + d] / norm);
        }
        return data;
    }

    /// <summary>A standard normal draw (Box-Muller).</summary>
    public static double Gauss(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
