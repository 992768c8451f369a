using System.Text;
using MessTools.Core.Common;
using MessTools.Core.Embedding;

namespace MessTools.Tests.Unit.Embedding;

public class ProfileValidationTests
{
    private static MessException Bad(string json) =>
        Assert.Throws<MessException>(() => OnnxProfile.Parse(Encoding.UTF8.GetBytes(json), "test.onnx.json"));

    [Fact]
    public void MalformedJson_SaysWhere()
    {
        var ex = Bad("{ \"input\": { \"name\": \"x\", ");
        Assert.Equal("ModelProfileMalformed", ex.ErrorId);
        Assert.Contains("test.onnx.json", ex.Message);
    }

    [Fact]
    public void UnknownField_IsRefused()
    {
        var ex = Bad(TestProfiles.MusiCnn.Replace("\"patch_hop\"", "\"patch_hopp\""));
        Assert.Equal("ModelProfileMalformed", ex.ErrorId);
        Assert.Contains("patch_hopp", ex.Message);
    }

    [Theory]
    [InlineData("\"[batch, frames, bands]\"", "\"[batch, samples]\"", "input.layout")]
    [InlineData("\"[batch, dim]\"", "\"[dim, batch]\"", "output.layout")]
    [InlineData("\"kind\": \"log_mel\"", "\"kind\": \"spectrogram\"", "input.kind")]
    [InlineData("\"hop\": 256", "\"hop\": 0", "input.mel.hop")]
    [InlineData("\"scale\": \"slaney\"", "\"scale\": \"bark\"", "input.mel.scale")]
    [InlineData("\"fft_size\": 512", "\"fft_size\": 500", "input.mel.fft_size")]
    [InlineData("\"pooling\": \"mean\"", "\"pooling\": \"median\"", "pooling")]
    [InlineData("\"sample_rate\": 16000", "\"sample_rate\": 0", "input.sample_rate")]
    [InlineData("\"f_max\": 8000", "\"f_max\": 9000", "input.mel.f_min/f_max")]
    public void BadValues_NameTheField(string from, string to, string field)
    {
        string json = TestProfiles.MusiCnn.Replace(from, to);
        Assert.NotEqual(TestProfiles.MusiCnn, json);
        var ex = Bad(json);
        Assert.Equal("ModelProfileInvalid", ex.ErrorId);
        Assert.Contains(field, ex.Message);
    }

    [Fact]
    public void LayersOnAFlatOutput_AndOverlapLongerThanWindow_AreRefused()
    {
        Assert.Contains("output.layers", Bad(TestProfiles.TinyLastLayer.Replace("\"layout\": \"[batch, frames, dim]\"", "\"layout\": \"[batch, frames, dim]\", \"layers\": 2")).Message);
        Assert.Contains("chunking.overlap_seconds", Bad(TestProfiles.TinyLastLayer.Replace("\"overlap_seconds\": 0", "\"overlap_seconds\": 2.5")).Message);
    }

    [SharedDataFact("models/tiny-mert.onnx")]
    public void UnknownInputName_ListsTheModelsInputs()
    {
        using var dir = new TempDir();
        var profile = OnnxProfile.Load(TestProfiles.Write(dir, "p.json", TestProfiles.TinyMert.Replace("\"name\": \"input_values\"", "\"name\": \"audio\"")));
        var ex = Assert.Throws<MessException>(() => new OnnxEmbeddingModel(TestProfiles.Model("tiny-mert.onnx"), profile));
        Assert.Equal("ModelProfileMismatch", ex.ErrorId);
        Assert.Contains("'audio'", ex.Message);
        Assert.Contains("'input_values'", ex.Message);
    }

    [SharedDataFact("models/tiny-mert.onnx")]
    public void WrongLayouts_AgainstTheSession_AreRefused()
    {
        using var dir = new TempDir();
        var p1 = OnnxProfile.Load(TestProfiles.Write(dir, "p1.json", TestProfiles.TinyMert.Replace("\"[batch, samples]\"", "\"[batch, samples, 1]\"")));
        var e1 = Assert.Throws<MessException>(() => new OnnxEmbeddingModel(TestProfiles.Model("tiny-mert.onnx"), p1));
        Assert.Contains("rank 3", e1.Message);
        var p2 = OnnxProfile.Load(TestProfiles.Write(dir, "p2.json", TestProfiles.TinyMert.Replace("\"[layers, batch, frames, dim]\"", "\"[batch, frames, dim]\"").Replace("\"layers\": \"all\", ", "")));
        var e2 = Assert.Throws<MessException>(() => new OnnxEmbeddingModel(TestProfiles.Model("tiny-mert.onnx"), p2));
        Assert.Equal("ModelProfileMismatch", e2.ErrorId);
        Assert.Contains("output.layout", e2.Message);
        var p3 = OnnxProfile.Load(TestProfiles.Write(dir, "p3.json", TestProfiles.TinyMert.Replace("\"all\"", "[0, 7]")));
        Assert.Contains("layer 7", Assert.Throws<MessException>(() => new OnnxEmbeddingModel(TestProfiles.Model("tiny-mert.onnx"), p3)).Message);
    }

    [Fact]
    public void MissingProfileOrModel_IsNotFound()
    {
        using var dir = new TempDir();
        Assert.Equal("ModelProfileNotFound", Assert.Throws<MessException>(() => OnnxProfile.Load(dir["nope.onnx.json"])).ErrorId);
        var p = OnnxProfile.Load(TestProfiles.Write(dir, "p.json", TestProfiles.TinyMert));
        Assert.Equal("ModelNotFound", Assert.Throws<MessException>(() => new OnnxEmbeddingModel(dir["nope.onnx"], p)).ErrorId);
        File.WriteAllText(dir["junk.onnx"], "not a model");
        Assert.Equal("ModelLoadFailed", Assert.Throws<MessException>(() => new OnnxEmbeddingModel(dir["junk.onnx"], p)).ErrorId);
    }
}
