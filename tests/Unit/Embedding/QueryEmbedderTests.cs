using System.Numerics.Tensors;
using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Common;
using MessTools.Core.Embedding;

namespace MessTools.Tests.Unit.Embedding;

public class QueryEmbedderTests
{
    private static float[] Tone(double seconds, int rate, params double[] freqs)
    {
        var x = new float[(int)(seconds * rate)];
        for (int i = 0; i < x.Length; i++)
            foreach (var f in freqs) x[i] += (float)(0.2 * Math.Sin(2 * Math.PI * f * i / rate) * (1 + 0.5 * Math.Sin(2 * Math.PI * 2 * i / rate)));
        return x;
    }

    [Fact]
    public async Task A_query_file_embeds_like_the_same_audio_in_the_catalogue()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        using var model = EmbeddingModels.Open(null, null, null, null);
        var wav = tmp["q.wav"];
        WavFile.Write(wav, new AudioBuffer(Tone(8, model.SampleRate, 220, 330, 440), model.SampleRate));

        // the catalogue: the same file embedded by the pipeline
        var run = new EmbeddingPipeline(model, new EmbeddingPipelineOptions(), CancellationToken.None);
        run.Post(new MessTrack { TrackId = "t1", AlbumId = "a", Composer = "c", AudioUri = wav }, wav);
        run.Complete();
        var row = Assert.Single(run.Drain().ToList()).Embedded!;
        run.Dispose();
        var set = EmbeddingSet.Empty(model.Name, EmbeddingSet.ComputeModelKey(model.ModelSha256, model.Identity), null);
        set.Put(row);
        var meta = new EmbeddingsMeta();
        model.Describe(meta);
        set.Save(store, meta, writeNpy: false);

        using var recorded = QueryEmbedder.OpenRecordedModel(store, null, null);
        var q = await QueryEmbedder.EmbedFileAsync(recorded, new FfmpegDecoder(), wav);
        Assert.Equal(row.Vector.Length, q.Length);
        Assert.Equal(1.0, TensorPrimitives.Dot(q, row.Vector), 4);
    }

    [Fact]
    public void An_onnx_folder_without_the_model_file_asks_for_it()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        Directory.CreateDirectory(store.EmbeddingsDir);
        ArtifactJson.Write(store.EmbeddingsMetaFile, new EmbeddingsMeta { Model = "msd-musicnn-1", ModelFile = "msd-musicnn-1.onnx", ModelSha256 = "ab12" });
        var ex = Assert.Throws<MessException>(() => QueryEmbedder.OpenRecordedModel(store, null, null));
        Assert.Equal("QueryModelRequired", ex.ErrorId);
        Assert.Contains("-Model", ex.Message);
    }

    [Fact]
    public void A_different_model_is_refused()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        Directory.CreateDirectory(store.EmbeddingsDir);
        ArtifactJson.Write(store.EmbeddingsMetaFile, new EmbeddingsMeta { Model = "builtin", ModelSha256 = "not-this-version" });
        Assert.Equal("QueryModelMismatch", Assert.Throws<MessException>(() => QueryEmbedder.OpenRecordedModel(store, null, null)).ErrorId);
    }
}
