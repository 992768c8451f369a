using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Common;

namespace MessTools.Core.Embedding;

/// <summary>
/// Embeds an audio file that is not in the catalogue (Find-MessNeighbor -AudioPath) with exactly the model the
/// folder's embeddings were made with, so query and index agree: the built-in embedder, or the ONNX file the
/// user names, whose hash and output-deciding settings must match the ones recorded with the embeddings.
/// </summary>
public static class QueryEmbedder
{
    /// <summary>Opens the model recorded in embeddings_meta.json (an ONNX model needs its file: <paramref name="modelPath"/>).</summary>
    public static IEmbeddingModel OpenRecordedModel(ArtifactStore store, string? modelPath, string? profilePath)
    {
        var meta = ArtifactJson.Read<EmbeddingsMeta>(store.EmbeddingsMetaFile);
        string? builtinName = EmbeddingModels.BuiltinName(meta.Model);
        bool builtin = builtinName is not null;
        if (!builtin && string.IsNullOrWhiteSpace(modelPath))
            throw new MessException(MessErrorIds.QueryModelRequired, MessErrorKind.InvalidArgument,
                $"The embeddings in '{store.EmbeddingsDir}' were made with the ONNX model '{meta.Model}' (file '{meta.ModelFile}', SHA-256 {meta.ModelSha256}). " +
                "Pass that file with -Model (and its profile with -ModelProfile when it is not beside it) so the query audio is embedded the same way.", meta.Model);
        var model = EmbeddingModels.Open(builtin ? builtinName : modelPath, builtin ? null : profilePath, null, null);
        try
        {
            string key = EmbeddingSet.ComputeModelKey(model.ModelSha256, model.Identity);
            string rowsPath = Path.Combine(store.EmbeddingsDir, EmbeddingSet.RowsFileName);
            bool same = File.Exists(rowsPath)
                ? ArtifactJson.Read<EmbeddingRowsFile>(rowsPath).ModelKey == key
                : string.Equals(model.ModelSha256, meta.ModelSha256, StringComparison.OrdinalIgnoreCase);
            if (!same)
                throw new MessException(MessErrorIds.QueryModelMismatch, MessErrorKind.InvalidOperation,
                    $"'{model.Name}' with these settings is not the model the embeddings in '{store.EmbeddingsDir}' were made with ('{meta.Model}', SHA-256 {meta.ModelSha256}): " +
                    "a query embedded with it would not be comparable. Name the same model file and profile, or embed the catalogue again.", model.Name);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Decodes <paramref name="audioPath"/> at the model's rate and returns its L2-normalised embedding.</summary>
    public static async Task<float[]> EmbedFileAsync(IEmbeddingModel model, IAudioDecoder decoder, string audioPath, CancellationToken cancellationToken = default)
    {
        var audio = (await decoder.DecodeAsync(audioPath, model.SampleRate, cancellationToken).ConfigureAwait(false)).ToMono();
        if (audio.Samples.Length == 0)
            throw new MessException(MessErrorIds.AudioEmpty, MessErrorKind.InvalidData, $"'{audioPath}' holds no audio samples.", audioPath);
        var units = model.Prepare(audio.Samples, Array.Empty<(int, int)>());
        int batch = Math.Max(1, model.BatchSize);
        for (int i = 0; i < units.Count; i += batch)
            model.Run(units.GetRange(i, Math.Min(batch, units.Count - i)), cancellationToken);
        if (units.FirstOrDefault(u => u.Error is not null) is { } failed)
            throw new MessException(failed.Error!.ErrorId, failed.Error.Kind, $"'{audioPath}': {failed.Error.Message}", audioPath, failed.Error);
        if (units.Any(u => u.Frames is null || !EmbeddingPipeline.AllFinite(u.Frames)))
            throw new MessException(MessErrorIds.EmbeddingNotFinite, MessErrorKind.InvalidData, $"The model's output for '{audioPath}' is missing or holds NaN or infinity.", audioPath);
        return EmbeddingPipeline.Normalised(model.Pool(units.Where(u => u.ForTrack).ToList()), Path.GetFileName(audioPath), "");
    }
}
