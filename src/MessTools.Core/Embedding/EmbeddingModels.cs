using MessTools.Core.Common;

namespace MessTools.Core.Embedding;

/// <summary>Opens the model a user names: "builtin" or a path to an .onnx file (with its JSON profile).</summary>
public static class EmbeddingModels
{
    public const string Builtin = "builtin";

    public static bool IsBuiltin(string? model) =>
        string.IsNullOrWhiteSpace(model) || string.Equals(model.Trim(), Builtin, StringComparison.OrdinalIgnoreCase);

    /// <summary>The profile file used for <paramref name="modelPath"/>: the explicit one, else model.onnx.json beside it.</summary>
    public static string ProfilePath(string modelPath, string? explicitProfile) => explicitProfile ?? modelPath + ".json";

    /// <summary>The model's name (the artifact folder is v1_model_&lt;name&gt;) without loading the model.</summary>
    public static string NameOf(string? model, string? profilePath)
    {
        if (IsBuiltin(model)) return Builtin;
        string path = model!;
        string prof = ProfilePath(path, profilePath);
        string? name = null;
        if (File.Exists(prof))
        {
            try { name = OnnxProfile.Load(prof).Name; }
            catch (MessException) { /* reported when the model is opened */ }
        }
        if (!string.IsNullOrWhiteSpace(name)) return name!;
        string file = Path.GetFileName(path);
        return file.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? file[..^5] : Path.GetFileNameWithoutExtension(file);
    }

    /// <summary>Opens the model (one ONNX session: create it once per run).</summary>
    public static IEmbeddingModel Open(string? model, string? profilePath, int? batchSize, int? threads)
    {
        if (IsBuiltin(model)) return OpenBuiltin(batchSize, threads);
        string path = Path.GetFullPath(model!);
        if (!File.Exists(path))
            throw new MessException("ModelNotFound", MessErrorKind.ObjectNotFound,
                $"The model '{model}' is neither 'builtin' nor an existing .onnx file ('{path}').", model);
        return OnnxEmbeddingModel.Open(path, ProfilePath(path, profilePath), batchSize, threads);
    }

    private static IEmbeddingModel OpenBuiltin(int? batchSize, int? threads) => new BuiltinEmbeddingModel(batchSize, threads);
}
