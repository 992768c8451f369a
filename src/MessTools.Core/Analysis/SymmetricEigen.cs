namespace MessTools.Core.Analysis;

/// <summary>
/// Eigenvalues and eigenvectors of a real symmetric matrix: Householder reduction to tridiagonal form and the
/// implicit QL algorithm (tred2/tql2 of EISPACK, as in JAMA). O(n^3); exact to rounding, deterministic.
/// No eigen-solver ships with .NET or System.Numerics.Tensors, and MathNet.Numerics was taken out of the engine.
/// </summary>
public static class SymmetricEigen
{
    /// <summary>Eigenvalues descending, and <c>vectors[i][k]</c> = component i of the k-th eigenvector (same order).</summary>
    public static (double[] Values, double[][] Vectors) Decompose(double[][] symmetric)
    {
        int n = symmetric.Length;
        var v = symmetric.Select(r => (double[])r.Clone()).ToArray();
        var d = new double[n];
        var e = new double[n];
        if (n == 0) return (d, v);
        Tred2(v, d, e);
        Tql2(v, d, e);
        // Descending order, eigenvector columns with them.
        var order = Enumerable.Range(0, n).OrderByDescending(i => d[i]).ThenBy(i => i).ToArray();
        var values = order.Select(i => d[i]).ToArray();
        var vectors = new double[n][];
        for (int i = 0; i < n; i++)
        {
            vectors[i] = new double[n];
            for (int k = 0; k < n; k++) vectors[i][k] = v[i][order[k]];
        }
        return (values, vectors);
    }

    private static void Tred2(double[][] V, double[] d, double[] e)
    {
        int n = d.Length;
        for (int j = 0; j < n; j++) d[j] = V[n - 1][j];
        for (int i = n - 1; i > 0; i--)
        {
            double scale = 0, h = 0;
            for (int k = 0; k < i; k++) scale += Math.Abs(d[k]);
            if (scale == 0)
            {
                e[i] = d[i - 1];
                for (int j = 0; j < i; j++) { d[j] = V[i - 1][j]; V[i][j] = 0; V[j][i] = 0; }
            }
            else
            {
                for (int k = 0; k < i; k++) { d[k] /= scale; h += d[k] * d[k]; }
                double f = d[i - 1];
                double g = Math.Sqrt(h);
                if (f > 0) g = -g;
                e[i] = scale * g;
                h -= f * g;
                d[i - 1] = f - g;
                for (int j = 0; j < i; j++) e[j] = 0;
                for (int j = 0; j < i; j++)
                {
                    f = d[j];
                    V[j][i] = f;
                    g = e[j] + V[j][j] * f;
                    for (int k = j + 1; k <= i - 1; k++) { g += V[k][j] * d[k]; e[k] += V[k][j] * f; }
                    e[j] = g;
                }
                f = 0;
                for (int j = 0; j < i; j++) { e[j] /= h; f += e[j] * d[j]; }
                double hh = f / (h + h);
                for (int j = 0; j < i; j++) e[j] -= hh * d[j];
                for (int j = 0; j < i; j++)
                {
                    f = d[j]; g = e[j];
                    for (int k = j; k <= i - 1; k++) V[k][j] -= f * e[k] + g * d[k];
                    d[j] = V[i - 1][j];
                    V[i][j] = 0;
                }
            }
            d[i] = h;
        }
        for (int i = 0; i < n - 1; i++)
        {
            V[n - 1][i] = V[i][i];
            V[i][i] = 1;
            double h = d[i + 1];
            if (h != 0)
            {
                for (int k = 0; k <= i; k++) d[k] = V[k][i + 1] / h;
                for (int j = 0; j <= i; j++)
                {
                    double g = 0;
                    for (int k = 0; k <= i; k++) g += V[k][i + 1] * V[k][j];
                    for (int k = 0; k <= i; k++) V[k][j] -= g * d[k];
                }
            }
            for (int k = 0; k <= i; k++) V[k][i + 1] = 0;
        }
        for (int j = 0; j < n; j++) { d[j] = V[n - 1][j]; V[n - 1][j] = 0; }
        V[n - 1][n - 1] = 1;
        e[0] = 0;
    }

    private static void Tql2(double[][] V, double[] d, double[] e)
    {
        int n = d.Length;
        for (int i = 1; i < n; i++) e[i - 1] = e[i];
        e[n - 1] = 0;
        double f = 0, tst1 = 0, eps = Math.Pow(2, -52);
        for (int l = 0; l < n; l++)
        {
            tst1 = Math.Max(tst1, Math.Abs(d[l]) + Math.Abs(e[l]));
            int m = l;
            while (m < n - 1 && Math.Abs(e[m]) > eps * tst1) m++;
            if (m > l)
            {
                int iter = 0;
                do
                {
                    if (++iter > 300) throw new InvalidOperationException("The eigenvalue iteration did not converge.");
                    double g = d[l];
                    double p = (d[l + 1] - g) / (2 * e[l]);
                    double r = Hypot(p, 1);
                    if (p < 0) r = -r;
                    d[l] = e[l] / (p + r);
                    d[l + 1] = e[l] * (p + r);
                    double dl1 = d[l + 1];
                    double h = g - d[l];
                    for (int i = l + 2; i < n; i++) d[i] -= h;
                    f += h;
                    p = d[m];
                    double c = 1, c2 = c, c3 = c, el1 = e[l + 1], s = 0, s2 = 0;
                    for (int i = m - 1; i >= l; i--)
                    {
                        c3 = c2; c2 = c; s2 = s;
                        g = c * e[i];
                        h = c * p;
                        r = Hypot(p, e[i]);
                        e[i + 1] = s * r;
                        s = e[i] / r;
                        c = p / r;
                        p = c * d[i] - s * g;
                        d[i + 1] = h + s * (c * g + s * d[i]);
                        for (int k = 0; k < n; k++)
                        {
                            var row = V[k];
                            h = row[i + 1];
                            row[i + 1] = s * row[i] + c * h;
                            row[i] = c * row[i] - s * h;
                        }
                    }
                    p = -s * s2 * c3 * el1 * e[l] / dl1;
                    e[l] = s * p;
                    d[l] = c * p;
                } while (Math.Abs(e[l]) > eps * tst1);
            }
            d[l] += f;
            e[l] = 0;
        }
    }

    private static double Hypot(double a, double b)
    {
        double x = Math.Abs(a), y = Math.Abs(b);
        if (x < y) (x, y) = (y, x);
        if (x == 0) return 0;
        double t = y / x;
        return x * Math.Sqrt(1 + t * t);
    }
}
