using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Embedding;

namespace MessTools.Tests.Unit.Embedding;

/// <summary>The pipeline runs batches on several inference workers at once (one shared ONNX session).</summary>
public class ConcurrentInferenceTests
{
    private static MessTrack Track(TempDir dir, string id, double freq, double seconds) =>
        EmbeddingRunTests.WriteTrack(dir, id, freq, 16000, seconds);

    [SharedDataFact("models/msd-musicnn-1.onnx")]
    public void MusiCnn_ConcurrentWorkers_GiveTheSameVectorsInInputOrder()
    {
        using var dir = new TempDir();
        // lengths differ so that batches (2 patches) span tracks and finish out of order
        var tracks = new List<MessTrack>();
        double[] secs = { 9, 3.5, 12, 4, 7, 3.2, 10, 5 };
        for (int i = 0; i < secs.Length; i++) tracks.Add(Track(dir, "t" + i, 110 * (i + 1), secs[i]));
        tracks.Insert(3, new MessTrack { TrackId = "missing", AlbumId = "a", Composer = "c", WavPath = dir["missing.wav"], Status = MessTrackStatus.Standardized });
        var profile = OnnxProfile.Load(TestProfiles.Write(dir, "m.json", TestProfiles.MusiCnn));

        EmbeddingMatrix RunWith(int threads, string art, out List<EmbeddingResult> results)
        {
            using var model = new OnnxEmbeddingModel(TestProfiles.Model("msd-musicnn-1.onnx"), profile, batchSize: 2, threads: threads);
            Assert.Equal(threads, model.InferenceWorkers);
            var store = new ArtifactStore(dir[art]);
            results = EmbeddingRunTests.RunAll(store, model, tracks);
            return EmbeddingMatrix.Load(store);
        }

        var one = RunWith(1, "one", out var r1);
        var three = RunWith(3, "three", out var r3);
        var expectedOrder = tracks.Select(t => t.TrackId).ToArray();
        Assert.Equal(expectedOrder, r1.Select(r => r.Track.TrackId).ToArray());
        Assert.Equal(expectedOrder, r3.Select(r => r.Track.TrackId).ToArray());
        Assert.Equal("AudioFileNotFound", r3[3].Error!.ErrorId);
        Assert.All(r3.Where(r => r.Track.TrackId != "missing"), r => Assert.Null(r.Error));
        Assert.Equal(one.TrackIds, three.TrackIds);
        Assert.Equal(expectedOrder.Where(id => id != "missing"), three.TrackIds);
        Assert.Equal(200, three.Dimension);
        for (int i = 0; i < one.Count; i++)
        {
            var a = one.Row(i).ToArray(); var b = three.Row(i).ToArray();
            for (int d = 0; d < a.Length; d++) Assert.True(Math.Abs(a[d] - b[d]) < 1e-6, $"{one.TrackIds[i]} dim {d}: {a[d]} vs {b[d]}");
        }
    }

    /// <summary>Three concurrent workers, batches that finish in scrambled order, and one failing batch.</summary>
    private sealed class SlowScriptedModel : IEmbeddingModel
    {
        private int _running, _maxRunning;
        public const int FailingLength = 5600;
        public int MaxConcurrentRuns => _maxRunning;
        public string Name => "slow";
        public string ModelSha256 => new('0', 64);
        public int SampleRate => 8000;
        public string Identity => "slow";
        public int Dimension => 4;
        public int BatchSize => 2;
        public int InferenceWorkers => 3;
        public void Describe(EmbeddingsMeta meta) { meta.Model = Name; meta.ModelSha256 = ModelSha256; meta.Pooling = "mean"; meta.SampleRate = SampleRate; }
        public List<ModelUnit> Prepare(float[] mono, IReadOnlyList<(int Start, int End)> segments) =>
            new() { new ModelUnit(mono, mono.Length, 0, mono.Length / 8000.0) };
        public void Run(IReadOnlyList<ModelUnit> units, CancellationToken cancellationToken)
        {
            int now = Interlocked.Increment(ref _running);
            int seen;
            while ((seen = _maxRunning) < now && Interlocked.CompareExchange(ref _maxRunning, now, seen) != seen) { }
            try
            {
                float peak0 = units[0].Input.Take(units[0].Length).Max(Math.Abs);
                Thread.Sleep((int)(peak0 * 1000) % 37 + 5); // scrambles which batch finishes first
                foreach (var u in units)
                {
                    float peak = u.Input.Take(u.Length).Max(Math.Abs);
                    if (u.Length == FailingLength) throw new MessException("ModelRunFailed", MessErrorKind.InvalidOperation, "scripted failure");
                    u.Frames = new[] { peak, 1f, 2f, 3f }; u.FrameCount = 1; u.FrameDim = 4;
                }
            }
            finally { Interlocked.Decrement(ref _running); }
        }
        public float[] Pool(IReadOnlyList<ModelUnit> units) => FramePooling.Pool(units, TimePooling.Mean);
        public void Dispose() { }
    }

    [Fact]
    public void ConcurrentWorkers_KeepInputOrder_AndAFailingBatchFailsOnlyItsTracks()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        using var model = new SlowScriptedModel();
        var tracks = new List<MessTrack>();
        // track 9 (0.7 s = the failing length) is batched with track 8
        for (int i = 0; i < 20; i++)
            tracks.Add(EmbeddingRunTests.WriteTrack(dir, "t" + i, 100, 8000, i == 9 ? SlowScriptedModel.FailingLength / 8000.0 : 0.5, 0.3f + 0.02f * i));
        var r = EmbeddingRunTests.RunAll(store, model, tracks);
        Assert.Equal(tracks.Select(t => t.TrackId), r.Select(x => x.Track.TrackId));
        Assert.True(model.MaxConcurrentRuns > 1, "the pipeline never ran two batches at once");
        var failed = r.Where(x => x.Error is not null).Select(x => x.Track.TrackId).ToArray();
        Assert.Equal(new[] { "t8", "t9" }, failed);
        Assert.All(r.Where(x => x.Error is not null), x => Assert.Equal("ModelRunFailed", x.Error!.ErrorId));
        var m = EmbeddingMatrix.Load(store);
        // results come in input order; the matrix rows are in track-id order (deterministic files)
        Assert.Equal(tracks.Select(t => t.TrackId).Where(id => id is not "t8" and not "t9").Order(StringComparer.Ordinal), m.TrackIds);
    }

    [Fact]
    public void ConcurrentWorkers_StopPromptlyWhenCancelled()
    {
        using var dir = new TempDir();
        using var model = new SlowScriptedModel();
        using var cts = new CancellationTokenSource();
        var pipeline = new EmbeddingPipeline(model, new EmbeddingPipelineOptions(), cts.Token);
        var tracks = Enumerable.Range(0, 60).Select(i => EmbeddingRunTests.WriteTrack(dir, "t" + i, 100, 8000, 0.5, 0.3f + 0.01f * i)).ToList();
        var poster = Task.Run(() =>
        {
            try { foreach (var t in tracks) pipeline.Post(t, t.WavPath!); pipeline.Complete(); }
            catch (InvalidOperationException) { } // adding after the pipeline was disposed
        });
        Assert.True(pipeline.TryTake(out var first, 10_000));
        Assert.Equal("t0", first!.Track.TrackId);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => pipeline.Drain().ToList());
        pipeline.Dispose();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"stopping took {sw.Elapsed}");
        poster.Wait(TimeSpan.FromSeconds(5));
    }
}
