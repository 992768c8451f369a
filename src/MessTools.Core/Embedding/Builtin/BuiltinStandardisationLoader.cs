namespace MessTools.Core.Embedding.Builtin;

internal static partial class BuiltinStandardisation
{
    /// <summary>Added to every standard deviation (as in the prototype) so a constant feature cannot divide by zero.</summary>
    public const float StdEpsilon = 1e-6f;

    /// <summary>Means and reciprocal scales 1/(std + eps); the identity when no constants are compiled in (bootstrap).</summary>
    public static (float[] Mean, float[] Scale) Load(int dimension) => Load(dimension, Dimension, MeanBase64, StdBase64);

    /// <summary>Compiled-in constants (float32 little-endian base64) of <paramref name="declared"/> values, checked against the features' dimension.</summary>
    public static (float[] Mean, float[] Scale) Load(int dimension, int declared, string meanBase64, string stdBase64)
    {
        if (declared == 0)
        {
            var one = new float[dimension];
            Array.Fill(one, 1f);
            return (new float[dimension], one);
        }
        if (declared != dimension)
            throw new InvalidOperationException($"The built-in standardisation constants have {declared} values but the features have {dimension}; regenerate them (bench/BuiltinQuality --fit).");
        var mean = Decode(meanBase64, dimension);
        var std = Decode(stdBase64, dimension);
        return (mean, Scales(std));
    }

    /// <summary>1 / (std + <see cref="StdEpsilon"/>) per dimension.</summary>
    public static float[] Scales(ReadOnlySpan<float> std)
    {
        var scale = new float[std.Length];
        for (int i = 0; i < std.Length; i++) scale[i] = 1f / (std[i] + StdEpsilon);
        return scale;
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
