namespace MessTools.Tests.Unit.Embedding;

/// <summary>Profiles for the test models in ../shared/models (kept in the tests, never shipped).</summary>
internal static class TestProfiles
{
    public const string MusiCnn = """
    {
      "name": "msd-musicnn-1",
      "input": {
        "name": "model/Placeholder", "kind": "log_mel", "sample_rate": 16000, "layout": "[batch, frames, bands]",
        "mel": { "frame_length": 512, "hop": 256, "fft_size": 512, "window": "hann_symmetric", "centered": true,
                 "bands": 96, "f_min": 0, "f_max": 8000, "scale": "slaney", "normalization": "slaney",
                 "log": "log10_1p", "log_parameter": 10000 },
        "patch_frames": 187, "patch_hop": 93
      },
      "output": { "name": "model/dense/BiasAdd", "layout": "[batch, dim]" },
      "pooling": "mean",
      "batch_size": 16
    }
    """;

    public static string MusiCnnTags => MusiCnn.Replace("model/dense/BiasAdd", "model/Sigmoid").Replace("\"msd-musicnn-1\"", "\"msd-musicnn-1-tags\"");

    public const string TinyMert = """
    {
      "name": "tiny-mert",
      "input": { "name": "input_values", "kind": "waveform", "sample_rate": 24000, "layout": "[batch, samples]", "normalize": false },
      "output": { "name": "hidden_states", "layout": "[layers, batch, frames, dim]", "layers": "all", "layer_combine": "concat" },
      "pooling": "mean"
    }
    """;

    public const string TinyLastLayer = """
    {
      "name": "tiny-lastlayer",
      "input": { "name": "input_values", "kind": "waveform", "sample_rate": 24000, "layout": "[batch, samples]" },
      "output": { "name": "last_hidden_state", "layout": "[batch, frames, dim]" },
      "chunking": { "window_seconds": 2.0, "overlap_seconds": 0 },
      "pooling": "mean_std",
      "batch_size": 4
    }
    """;

    public const string BasicPitch = """
    {
      "name": "basic-pitch",
      "input": { "name": "input_2", "kind": "waveform", "sample_rate": 22050, "layout": "[batch, samples, 1]", "window_samples": 43844 },
      "output": { "name": "note", "layout": "[batch, frames, dim]" },
      "pooling": "mean",
      "batch_size": 4
    }
    """;

    public static string Write(TempDir dir, string name, string json)
    {
        string path = dir[name];
        File.WriteAllText(path, json);
        return path;
    }

    public static string Model(string file) => Path.Combine(RepoPaths.SharedModels, file);
}
