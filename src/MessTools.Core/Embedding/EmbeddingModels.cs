using MessTools.Core.Common;

namespace MessTools.Core.Embedding;

/// <summary>Opens the model a user names: "builtin" (builtin-1), "builtin-2" or a path to an .onnx file (with its JSON profile).</summary>
public static class EmbeddingModels
{
    /// <summary>builtin-1, the default: its artifact folders are v1_model_builtin.</summary>
    public const string Builtin = "builtin";
    /// <summary>The music as written rather than the recording (docs/builtin-embedder.md); selectable, not the default.</summary>
    public const string Builtin2 = "builtin-2";

    /// <summary>The built-in models by name, with what the completer says of them.</summary>
    public static IReadOnlyList<(string Name, string Description)> BuiltinModels { get; } = new[]
    {
        (Builtin, "The built-in embedder builtin-1 (no weights; the default)"),
        (Builtin2, "The built-in embedder builtin-2: harmony, chords, register, rhythm (no weights)"),
    };

    /// <summary>The built-in model's name when <paramref name="model"/> names one (empty means builtin), else null.</summary>
    public static string? BuiltinName(string? model)
    {
        if (string.IsNullOrWhiteSpace(model)) return Builtin;
        string m = model.Trim();
        foreach (var (name, _) in BuiltinModels)
            if (string.Equals(m, name, StringComparison.OrdinalIgnoreCase)) return name;
        return null;
    }

    public static bool IsBuiltin(string? model) => BuiltinName(model) is not null;

    /// <summary>The profile file used for <paramref name="modelPath"/>: the explicit one, else model.onnx.json beside it.</summary>
    public static string ProfilePath(string modelPath, string? explicitProfile) => explicitProfile ?? modelPath + ".json";

    /// <summary>The model's name (the artifact folder is v1_model_&lt;name&gt;) without loading the model.</summary>
    public static string NameOf(string? model, string? profilePath)
    {
        if (BuiltinName(model) is { } builtin) return builtin;
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
        if (BuiltinName(model) is { } builtin) return new BuiltinEmbeddingModel(builtin, batchSize, threads);
        string path = Path.GetFullPath(model!);
        if (!File.Exists(path))
            throw new MessException(MessErrorIds.ModelNotFound, MessErrorKind.ObjectNotFound,
                $"The model '{model}' is neither 'builtin', 'builtin-2' nor an existing .onnx file ('{path}').", model);
        return OnnxEmbeddingModel.Open(path, ProfilePath(path, profilePath), batchSize, threads);
    }
}
