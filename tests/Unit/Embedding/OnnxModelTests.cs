using System.Text.Json;
using MessTools.Core.Common;
using MessTools.Core.Embedding;
using MessTools.Tests.Unit.Dsp;

namespace MessTools.Tests.Unit.Embedding;

public class OnnxModelTests
{
    private static JsonElement Expected(string section)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(RepoPaths.SharedModels, "reference", "expected.json")));
        return doc.RootElement.GetProperty(section).Clone();
    }

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(x => x.GetDouble()).ToArray();

    private static OnnxEmbeddingModel Open(TempDir dir, string model, string profileJson) =>
        new(TestProfiles.Model(model), OnnxProfile.Load(TestProfiles.Write(dir, model + ".json", profileJson)));

    [SharedDataFact("models/msd-musicnn-1.onnx", "models/reference/expected.json", "models/reference/signal_16000.f32")]
    public void MusiCnn_ReproducesReferenceEmbeddingAndTags()
    {
        using var dir = new TempDir();
        var signal = MelTests.ReadF32(Path.Combine(RepoPaths.SharedModels, "reference", "signal_16000.f32"));
        var exp = Expected("musicnn");
        using var model = Open(dir, "msd-musicnn-1.onnx", TestProfiles.MusiCnn);
        Assert.Equal(200, model.Dimension);
        var units = model.Prepare(signal, Array.Empty<(int, int)>());
        Assert.Equal(exp.GetProperty("patches").GetInt32(), units.Count);
        var emb = model.EmbedTrack(signal);
        var e = Doubles(exp.GetProperty("embedding_mean_over_patches"));
        Assert.Equal(e.Length, emb.Length);
        for (int i = 0; i < e.Length; i++) Assert.True(Math.Abs(emb[i] - e[i]) < 1e-4, $"dim {i}: {emb[i]} vs {e[i]}");

        using var tags = Open(dir, "msd-musicnn-1.onnx", TestProfiles.MusiCnnTags);
        var t = tags.EmbedTrack(signal);
        var et = Doubles(exp.GetProperty("tags_mean_over_patches"));
        Assert.Equal(50, t.Length);
        for (int i = 0; i < et.Length; i++) Assert.True(Math.Abs(t[i] - et[i]) < 1e-4, $"tag {i}: {t[i]} vs {et[i]}");
    }

    [SharedDataFact("models/tiny-mert.onnx", "models/reference/expected.json", "models/reference/signal_24000.f32")]
    public void TinyMert_ReproducesPerLayerTimeMeans()
    {
        using var dir = new TempDir();
        var signal = MelTests.ReadF32(Path.Combine(RepoPaths.SharedModels, "reference", "signal_24000.f32"));
        var exp = Expected("tiny_mert");
        var shape = exp.GetProperty("hidden_states_shape").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        using var model = Open(dir, "tiny-mert.onnx", TestProfiles.TinyMert);
        var units = model.Prepare(signal, Array.Empty<(int, int)>());
        Assert.Single(units);
        Assert.Equal(signal.Length, units[0].Length);
        model.Run(units, CancellationToken.None);
        Assert.Equal(shape[2], units[0].FrameCount);               // 750 frames
        Assert.Equal(shape[0] * shape[3], units[0].FrameDim);      // 4 layers x 16, concatenated
        var pooled = model.Pool(units);
        var layers = exp.GetProperty("time_mean_per_layer").EnumerateArray().Select(Doubles).ToArray();
        for (int l = 0; l < layers.Length; l++)
            for (int d = 0; d < layers[l].Length; d++)
                Assert.True(Math.Abs(pooled[l * 16 + d] - layers[l][d]) < 1e-4, $"layer {l} dim {d}: {pooled[l * 16 + d]} vs {layers[l][d]}");

        // the default combination (mean of all layers) and a single negative index
        using var mean = Open(dir, "tiny-mert.onnx", TestProfiles.TinyMert.Replace("\"concat\"", "\"mean\""));
        var m = mean.EmbedTrack(signal);
        Assert.Equal(16, m.Length);
        for (int d = 0; d < 16; d++) Assert.True(Math.Abs(m[d] - layers.Average(l => l[d])) < 1e-4);
        using var last = Open(dir, "tiny-mert.onnx", TestProfiles.TinyMert.Replace("\"all\"", "-1"));
        var ll = last.EmbedTrack(signal);
        for (int d = 0; d < 16; d++) Assert.True(Math.Abs(ll[d] - layers[3][d]) < 1e-4);
    }

    [SharedDataFact("models/tiny-lastlayer.onnx", "models/tiny-mert.onnx", "models/reference/signal_24000.f32")]
    public void TinyLastLayer_ChunksAndPoolsMeanStd()
    {
        using var dir = new TempDir();
        var signal = MelTests.ReadF32(Path.Combine(RepoPaths.SharedModels, "reference", "signal_24000.f32"));
        using var model = Open(dir, "tiny-lastlayer.onnx", TestProfiles.TinyLastLayer);
        Assert.Equal(32, model.Dimension);
        var units = model.Prepare(signal, Array.Empty<(int, int)>());
        Assert.Equal(5, units.Count); // 10 s in 2 s windows
        Assert.All(units, u => Assert.Equal(48000, u.Length));
        model.Run(units, CancellationToken.None);
        Assert.All(units, u => Assert.Equal(150, u.FrameCount));
        var v = model.Pool(units);
        Assert.Equal(32, v.Length);
        // 2 s windows at hop 320 (a multiple): frames equal the whole-track run's, so the means agree
        using var whole = Open(dir, "tiny-lastlayer.onnx", TestProfiles.TinyLastLayer.Replace("\"window_seconds\": 2.0, ", ""));
        var w = whole.EmbedTrack(signal);
        for (int d = 0; d < 32; d++) Assert.True(Math.Abs(v[d] - w[d]) < 1e-4, $"dim {d}: {v[d]} vs {w[d]}");
        Assert.All(v.Skip(16), s => Assert.True(s >= 0));
    }

    [SharedDataFact("models/basic-pitch.onnx")]
    public void BasicPitch_FixedWindows_A440PeaksAtNote48()
    {
        using var dir = new TempDir();
        const int sr = 22050;
        var sine = Enumerable.Range(0, sr * 3).Select(i => 0.5f * (float)Math.Sin(2 * Math.PI * 440 * i / sr)).ToArray();
        using var model = Open(dir, "basic-pitch.onnx", TestProfiles.BasicPitch);
        var units = model.Prepare(sine, Array.Empty<(int, int)>());
        Assert.Equal(2, units.Count); // 3 s = one full 43844-sample window + one zero-padded
        Assert.All(units, u => Assert.Equal(43844, u.Length));
        model.Run(units, CancellationToken.None);
        Assert.Equal(172, units[0].FrameCount);
        var v = model.Pool(units);
        Assert.Equal(88, v.Length);
        Assert.Equal(48, Array.IndexOf(v, v.Max()));
    }

    [SharedDataFact("models/basic-pitch.onnx")]
    public void BasicPitch_WindowSamplesIsTakenFromTheModel()
    {
        using var dir = new TempDir();
        using var model = Open(dir, "basic-pitch.onnx", TestProfiles.BasicPitch.Replace("\"window_samples\": 43844", "\"normalize\": false"));
        Assert.Equal(43844, model.Profile.WindowSamples);
        var ex = Assert.Throws<MessException>(() => Open(dir, "basic-pitch.onnx", TestProfiles.BasicPitch.Replace("43844", "44100")));
        Assert.Equal("ModelProfileMismatch", ex.ErrorId);
        Assert.Contains("43844", ex.Message);
    }
}
