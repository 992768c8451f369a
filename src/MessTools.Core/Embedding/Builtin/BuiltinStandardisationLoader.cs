namespace MessTools.Core.Embedding.Builtin;

internal static partial class BuiltinStandardisation
{
    /// <summary>Added to every standard deviation (as in the prototype) so a constant feature cannot divide by zero.</summary>
    public const float StdEpsilon = 1e-6f;

    /// <summary>Means and reciprocal scales 1/(std + eps); the identity when no constants are compiled in (bootstrap).</summary>
    public static (float[] Mean, float[] Scale) Load(int dimension)
    {
        if (Dimension == 0)
        {
            var one = new float[dimension];
            Array.Fill(one, 1f);
            return (new float[dimension], one);
        }
        if (Dimension != dimension)
            throw new InvalidOperationException($"The built-in standardisation constants have {Dimension} values but the features have {dimension}; regenerate them (bench/BuiltinQuality --fit).");
        var mean = Decode(MeanBase64, dimension);
        var std = Decode(StdBase64, dimension);
        var scale = new float[dimension];
        for (int i = 0; i < dimension; i++) scale[i] = 1f / (std[i] + StdEpsilon);
        return (mean, scale);
    }

    private static float[] Decode(string base64, int n)
    {
        var bytes = Convert.FromBase64String(base64);
        if (bytes.Length != 4 * n) throw new InvalidOperationException("The built-in standardisation constants are corrupt.");
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = BitConverter.ToSingle(bytes, 4 * i); // little-endian on every supported platform
        return v;
    }
}
