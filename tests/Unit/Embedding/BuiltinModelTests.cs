using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Embedding;
using MessTools.Core.Embedding.Builtin;

namespace MessTools.Tests.Unit.Embedding;

public class BuiltinModelTests
{
    [Fact]
    public void BuiltinModel_ThroughThePipeline_EqualsTheEmbedderAndKeepsSegments()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        var tracks = new[]
        {
            EmbeddingRunTests.WriteTrack(dir, "b1", 196, 22050, 4),
            EmbeddingRunTests.WriteTrack(dir, "b2", 262, 22050, 5),
            EmbeddingRunTests.WriteTrack(dir, "b3", 330, 22050, 3),
        };
        using var model = new BuiltinEmbeddingModel(batchSize: 2, threads: 2);
        var results = EmbeddingRunTests.RunAll(store, model, tracks, new EmbeddingRunOptions { SegmentSeconds = 2 });
        Assert.All(results, r => Assert.Null(r.Error));
        var m = EmbeddingMatrix.Load(store);
        Assert.Equal(new[] { "b1", "b2", "b3" }, m.TrackIds);
        var embedder = new BuiltinEmbedder();
        Assert.Equal(embedder.Dimension, m.Dimension);
        for (int i = 0; i < 3; i++)
        {
            var direct = embedder.Embed(WavFile.Read(tracks[i].WavPath!).Samples);
            for (int d = 0; d < m.Dimension; d++) Assert.Equal(direct[d], m.Row(i)[d], 5);
        }
        var meta = ArtifactJson.Read<EmbeddingsMeta>(store.EmbeddingsMetaFile);
        Assert.Equal("builtin", meta.Model);
        Assert.Equal(22050, meta.SampleRate);
        var segs = ArtifactJson.Read<List<SegmentRow>>(Path.Combine(store.EmbeddingsDir, "segments.json"));
        Assert.Equal(new[] { "b1", "b1", "b2", "b2", "b2", "b3", "b3" }, segs.Select(s => s.TrackId)); // 4 s: 0-2,2-4; 5 s: 0-2,2-4,4-5; 3 s: 0-2,2-3
        var again = EmbeddingRunTests.RunAll(store, model, tracks, new EmbeddingRunOptions { SegmentSeconds = 2 });
        Assert.All(again, r => Assert.True(r.Reused));
    }

    [Fact]
    public void BuiltinModel_TooShortAudio_IsAnErrorForThatTrackOnly()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        using var model = new BuiltinEmbeddingModel();
        var r = EmbeddingRunTests.RunAll(store, model, new[]
        {
            EmbeddingRunTests.WriteTrack(dir, "short", 220, 22050, 0.5),
            EmbeddingRunTests.WriteTrack(dir, "ok", 220, 44100, 2), // resampled to 22050
        });
        Assert.NotNull(r[0].Error);
        Assert.Null(r[1].Error);
        Assert.Equal(new[] { "ok" }, EmbeddingMatrix.Load(store).TrackIds);
    }
}
