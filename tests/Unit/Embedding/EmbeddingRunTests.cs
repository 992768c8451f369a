using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Common;
using MessTools.Core.Embedding;

namespace MessTools.Tests.Unit.Embedding;

public class EmbeddingRunTests
{
    internal static MessTrack WriteTrack(TempDir dir, string id, double freq, int sampleRate = 24000, double seconds = 3, float amplitude = 0.4f)
    {
        var x = new float[(int)(seconds * sampleRate)];
        for (int i = 0; i < x.Length; i++) x[i] = amplitude * (float)(Math.Sin(2 * Math.PI * freq * i / sampleRate) + 0.3 * Math.Sin(2 * Math.PI * 2.5 * freq * i / sampleRate));
        string path = dir[id + ".wav"];
        WavFile.Write(path, new AudioBuffer(x, sampleRate));
        return new MessTrack { TrackId = id, AlbumId = "a", Composer = "c", WavPath = path, Status = MessTrackStatus.Standardized };
    }

    private static OnnxEmbeddingModel TinyLast(TempDir dir, string profile = TestProfiles.TinyLastLayer) =>
        new(TestProfiles.Model("tiny-lastlayer.onnx"), OnnxProfile.Load(TestProfiles.Write(dir, "tl.json", profile)));

    internal static List<EmbeddingResult> RunAll(ArtifactStore store, IEmbeddingModel model, IEnumerable<MessTrack> tracks, EmbeddingRunOptions? options = null)
    {
        using var run = new EmbeddingRun(store, model, options ?? new EmbeddingRunOptions(), CancellationToken.None);
        var results = new List<EmbeddingResult>();
        foreach (var t in tracks) run.Post(t);
        run.Complete();
        results.AddRange(run.Drain());
        run.Save();
        return results;
    }

    [SharedDataFact("models/tiny-lastlayer.onnx")]
    public void Incremental_ReusesUnchanged_RecomputesChanged_AppendsNew()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        var tracks = new[] { WriteTrack(dir, "t1", 220), WriteTrack(dir, "t2", 330), WriteTrack(dir, "t3", 440) };
        using var model = TinyLast(dir);

        var r1 = RunAll(store, model, tracks);
        Assert.All(r1, r => { Assert.Null(r.Error); Assert.NotNull(r.Embedded); });
        var m1 = EmbeddingMatrix.Load(store);
        Assert.Equal(new[] { "t1", "t2", "t3" }, m1.TrackIds);
        Assert.Equal(32, m1.Dimension);
        for (int i = 0; i < 3; i++) Assert.Equal(1.0, Math.Sqrt(m1.Row(i).ToArray().Sum(v => (double)v * v)), 5);
        var meta = ArtifactJson.Read<EmbeddingsMeta>(store.EmbeddingsMetaFile);
        Assert.Equal("tiny-lastlayer", meta.Model);
        Assert.Equal(3, meta.Count);
        Assert.Equal("mean_std", meta.Pooling);
        Assert.Equal(24000, meta.SampleRate);
        Assert.False(string.IsNullOrEmpty(meta.OnnxRuntimeVersion));
        Assert.Equal(64, meta.ModelSha256!.Length);
        byte[] f32 = File.ReadAllBytes(store.EmbeddingsFile);

        // second run: nothing recomputed, nothing rewritten
        using (var run = new EmbeddingRun(store, model, new EmbeddingRunOptions(), CancellationToken.None))
        {
            foreach (var t in tracks) run.Post(t);
            run.Complete();
            var r2 = run.Drain().ToList();
            Assert.All(r2, r => Assert.True(r.Reused));
            Assert.Equal(0, run.Computed);
            Assert.Equal(3, run.Reused);
            Assert.False(run.Save());
        }
        Assert.Equal(f32, File.ReadAllBytes(store.EmbeddingsFile));

        // t2's audio changes, t4 is new
        WriteTrack(dir, "t2", 550);
        var t4 = WriteTrack(dir, "t4", 660);
        using (var run = new EmbeddingRun(store, model, new EmbeddingRunOptions(), CancellationToken.None))
        {
            foreach (var t in tracks.Append(t4)) run.Post(t);
            run.Complete();
            var r3 = run.Drain().ToList();
            Assert.Equal(new[] { "t1", "t2", "t3", "t4" }, r3.Select(r => r.Track.TrackId)); // input order
            Assert.Equal(2, run.Computed);
            Assert.Equal(2, run.Reused);
            Assert.True(run.Save());
        }
        var m3 = EmbeddingMatrix.Load(store);
        Assert.Equal(new[] { "t1", "t2", "t3", "t4" }, m3.TrackIds);
        Assert.Equal(m1.Row(0).ToArray(), m3.Row(0).ToArray());
        Assert.NotEqual(m1.Row(1).ToArray(), m3.Row(1).ToArray());
        Assert.Equal(m1.Row(2).ToArray(), m3.Row(2).ToArray());

        // -Force recomputes everything
        using (var run = new EmbeddingRun(store, model, new EmbeddingRunOptions { Force = true }, CancellationToken.None))
        {
            foreach (var t in tracks) run.Post(t);
            run.Complete();
            _ = run.Drain().ToList();
            Assert.Equal(3, run.Computed);
        }
    }

    [SharedDataFact("models/tiny-lastlayer.onnx", "models/tiny-mert.onnx")]
    public void AnotherModelOrProfile_IsRefusedUnlessForced()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        var tracks = new[] { WriteTrack(dir, "t1", 220), WriteTrack(dir, "t2", 330) };
        using (var model = TinyLast(dir)) RunAll(store, model, tracks);
        using var mert = new OnnxEmbeddingModel(TestProfiles.Model("tiny-mert.onnx"), OnnxProfile.Load(TestProfiles.Write(dir, "tm.json", TestProfiles.TinyMert)));
        var ex = Assert.Throws<MessException>(() => new EmbeddingRun(store, mert, new EmbeddingRunOptions(), CancellationToken.None));
        Assert.Equal("EmbeddingsModelMismatch", ex.ErrorId);
        using (var cosmetic = TinyLast(dir, TestProfiles.TinyLastLayer.Replace("\"batch_size\": 4", "\"batch_size\": 2, \"description\": \"renamed\"")))
        {
            var same = RunAll(store, cosmetic, tracks); // batch size and description do not change the vectors
            Assert.All(same, r => Assert.True(r.Reused));
        }
        using var other = TinyLast(dir, TestProfiles.TinyLastLayer.Replace("mean_std", "mean"));
        Assert.Equal("EmbeddingsModelMismatch", Assert.Throws<MessException>(() => new EmbeddingRun(store, other, new EmbeddingRunOptions(), CancellationToken.None)).ErrorId);
        RunAll(store, other, tracks.Take(1), new EmbeddingRunOptions { Force = true });
        var m = EmbeddingMatrix.Load(store);
        Assert.Equal(new[] { "t1" }, m.TrackIds);
        Assert.Equal(16, m.Dimension);
    }

    [SharedDataTheory("models/tiny-lastlayer.onnx")]
    [InlineData("rows.json")]
    [InlineData("embeddings.f32")]
    [InlineData("track_ids.json")]
    [InlineData("embeddings_meta.json")]
    public void KilledWhileSaving_PreviousArtifactsStillLoad(string killAt)
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        var tracks = new[] { WriteTrack(dir, "t1", 220), WriteTrack(dir, "t2", 330) };
        using var model = TinyLast(dir);
        RunAll(store, model, tracks);
        var before = EmbeddingMatrix.Load(store);

        var more = tracks.Append(WriteTrack(dir, "t3", 440)).ToList();
        Assert.Throws<IOException>(() => RunAll(store, model, more, new EmbeddingRunOptions
        {
            BeforeWrite = name => { if (name == killAt) throw new IOException("simulated kill before " + name); },
        }));
        var after = EmbeddingMatrix.Load(store); // the main set or, when it is out of step, .previous/
        Assert.Equal(before.TrackIds, after.TrackIds);
        Assert.Equal(before.Data, after.Data);

        // the next run recovers and completes; t3, finished before the kill, comes from the journal (not recomputed)
        var r = RunAll(store, model, more);
        Assert.Equal(new[] { "t1", "t2", "t3" }, EmbeddingMatrix.Load(store).TrackIds);
        Assert.All(r, x => Assert.True(x.Reused));
    }

    [SharedDataFact("models/tiny-lastlayer.onnx")]
    public void FirstRunKilledBeforeMeta_IsDetected()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        using var model = TinyLast(dir);
        Assert.Throws<IOException>(() => RunAll(store, model, new[] { WriteTrack(dir, "t1", 220) }, new EmbeddingRunOptions
        {
            BeforeWrite = name => { if (name == "embeddings_meta.json") throw new IOException("killed"); },
        }));
        var ex = Assert.Throws<MessException>(() => EmbeddingMatrix.Load(store));
        Assert.Equal("EmbeddingsOutOfStep", ex.ErrorId);
        // a tampered matrix is caught by its SHA-256
        RunAll(store, model, new[] { WriteTrack(dir, "t1", 220) }, new EmbeddingRunOptions { Force = true });
        var bytes = File.ReadAllBytes(store.EmbeddingsFile);
        bytes[5] ^= 0x40;
        File.WriteAllBytes(store.EmbeddingsFile, bytes);
        Assert.False(File.Exists(Path.Combine(store.EmbeddingsDir, ".previous", "embeddings_meta.json"))); // nothing complete to fall back to
        Assert.Equal("EmbeddingsOutOfStep", Assert.Throws<MessException>(() => EmbeddingMatrix.Load(store)).ErrorId);
    }

    [SharedDataFact("models/tiny-lastlayer.onnx")]
    public void Npy_HeaderAndDataAreNumpys()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        using var model = TinyLast(dir);
        RunAll(store, model, new[] { WriteTrack(dir, "t1", 220), WriteTrack(dir, "t2", 330), WriteTrack(dir, "t3", 110) }, new EmbeddingRunOptions { WriteNpy = true });
        byte[] npy = File.ReadAllBytes(Path.Combine(store.EmbeddingsDir, "embeddings.npy"));
        Assert.Equal(0x93, npy[0]);
        Assert.Equal("NUMPY", Encoding.ASCII.GetString(npy, 1, 5));
        Assert.Equal(1, npy[6]); Assert.Equal(0, npy[7]);
        int hlen = BinaryPrimitives.ReadUInt16LittleEndian(npy.AsSpan(8));
        Assert.Equal(0, (10 + hlen) % 64);
        string header = Encoding.ASCII.GetString(npy, 10, hlen);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 32), }", header);
        Assert.EndsWith("\n", header);
        Assert.Equal(File.ReadAllBytes(store.EmbeddingsFile), npy.AsSpan(10 + hlen).ToArray());
        var meta = ArtifactJson.Read<EmbeddingsMeta>(store.EmbeddingsMetaFile);
        Assert.True(meta.Files!.ContainsKey("embeddings.npy"));
    }

    [SharedDataFact("models/tiny-lastlayer.onnx")]
    public void Segments_AreWrittenPerTrack()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        using var model = TinyLast(dir);
        // 5 s at 2 s segments: 0-2, 2-4, 4-5 ; 3 s: 0-2, 2-3
        RunAll(store, model, new[] { WriteTrack(dir, "long", 220, seconds: 5), WriteTrack(dir, "short", 330, seconds: 3) }, new EmbeddingRunOptions { SegmentSeconds = 2 });
        var rows = ArtifactJson.Read<List<SegmentRow>>(Path.Combine(store.EmbeddingsDir, "segments.json"));
        Assert.Equal(new[] { "long", "long", "long", "short", "short" }, rows.Select(r => r.TrackId));
        Assert.Equal(new[] { 0.0, 2.0, 4.0, 0.0, 2.0 }, rows.Select(r => r.Start));
        Assert.Equal(new[] { 2.0, 4.0, 5.0, 2.0, 3.0 }, rows.Select(r => r.End));
        var seg = File.ReadAllBytes(Path.Combine(store.EmbeddingsDir, "segments.f32"));
        Assert.Equal(5 * 32 * 4, seg.Length);
        var v = MemoryMarshal.Cast<byte, float>(seg);
        for (int r = 0; r < 5; r++) Assert.Equal(1.0, Math.Sqrt(v.Slice(r * 32, 32).ToArray().Sum(x => (double)x * x)), 5);
        var meta = ArtifactJson.Read<EmbeddingsMeta>(store.EmbeddingsMetaFile);
        Assert.Equal(2.0, meta.SegmentSeconds);
        Assert.Equal(5, meta.SegmentCount);
        // a rerun keeps the segments without recomputing
        var again = RunAll(store, model, new[] { WriteTrack(dir, "long", 220, seconds: 5) }, new EmbeddingRunOptions { SegmentSeconds = 2 });
        Assert.True(again[0].Reused);
        Assert.Equal(5, ArtifactJson.Read<List<SegmentRow>>(Path.Combine(store.EmbeddingsDir, "segments.json")).Count);
    }

    [SharedDataFact("models/tiny-lastlayer.onnx")]
    public void ResamplesWavsAtAnotherRate_AndReportsBadAudio()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        using var model = TinyLast(dir);
        var hi = WriteTrack(dir, "t48k", 220, sampleRate: 48000, seconds: 2);
        var missing = new MessTrack { TrackId = "gone", WavPath = dir["gone.wav"] };
        File.WriteAllText(dir["text.mp3"], "not audio");
        var notWav = new MessTrack { TrackId = "mp3", AudioPath = dir["text.mp3"] };
        var silent = WriteTrack(dir, "silent", 220, amplitude: 0f);
        var r = RunAll(store, model, new[] { hi, missing, notWav, silent });
        Assert.Null(r[0].Error);
        Assert.Equal(2.0, r[0].AudioSeconds, 2);
        Assert.Equal("AudioFileNotFound", r[1].Error!.ErrorId);
        Assert.Equal("AudioDecoderUnavailable", r[2].Error!.ErrorId);
        Assert.Null(r[3].Error); // tiny-lastlayer's biases make silence a non-zero vector
        Assert.Equal(new[] { "silent", "t48k" }, EmbeddingMatrix.Load(store).TrackIds); // rows in track-id order
    }

    /// <summary>A model with scripted outputs, to drive the pipeline's validation (NaN, zero vector, dimension).</summary>
    private sealed class ScriptedModel : IEmbeddingModel
    {
        public string Name => "scripted";
        public string ModelSha256 => new('0', 64);
        public int SampleRate => 8000;
        public string Identity => "scripted";
        public int Dimension => 4;
        public int BatchSize => 3;
        public void Describe(EmbeddingsMeta meta) { meta.Model = Name; meta.ModelSha256 = ModelSha256; meta.Pooling = "mean"; meta.SampleRate = SampleRate; }
        public List<ModelUnit> Prepare(float[] mono, IReadOnlyList<(int Start, int End)> segments) =>
            new() { new ModelUnit(mono, mono.Length, 0, mono.Length / 8000.0) };
        public void Run(IReadOnlyList<ModelUnit> units, CancellationToken cancellationToken)
        {
            foreach (var u in units)
            {
                // the track's peak amplitude selects the behaviour
                float peak = u.Input.Take(u.Length).Max(Math.Abs);
                float[] v = peak switch
                {
                    < 0.15f => new float[4],                                   // zero vector
                    < 0.25f => new[] { 1f, float.NaN, 0f, 0f },               // NaN
                    < 0.35f => new[] { 1f, 2f, 3f, 4f, 5f },                  // another dimension
                    _ => new[] { peak, 1f, 2f, 3f },
                };
                u.Frames = v; u.FrameCount = 1; u.FrameDim = v.Length;
            }
        }
        public float[] Pool(IReadOnlyList<ModelUnit> units) => FramePooling.Pool(units, TimePooling.Mean);
        public void Dispose() { }
    }

    [Fact]
    public void NaN_ZeroVector_AndDimensionMismatch_AreRejectedPerTrack()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        using var model = new ScriptedModel();
        // amplitude 0.4 * 1.3 peak -> good; 0.1 -> zero; 0.15 -> NaN; 0.22 -> dimension 5
        var tracks = new[]
        {
            WriteTrack(dir, "good1", 100, 8000, 1, 0.4f), WriteTrack(dir, "zero", 100, 8000, 1, 0.1f),
            WriteTrack(dir, "nan", 100, 8000, 1, 0.15f), WriteTrack(dir, "wide", 100, 8000, 1, 0.22f),
            WriteTrack(dir, "good2", 100, 8000, 1, 0.5f),
        };
        var r = RunAll(store, model, tracks);
        Assert.Null(r[0].Error);
        Assert.Equal("EmbeddingZeroVector", r[1].Error!.ErrorId);
        Assert.Equal("EmbeddingNotFinite", r[2].Error!.ErrorId);
        Assert.Equal("EmbeddingDimensionMismatch", r[3].Error!.ErrorId);
        Assert.Contains("4-dimensional", r[3].Error!.Message);
        Assert.Null(r[4].Error);
        var m = EmbeddingMatrix.Load(store);
        Assert.Equal(new[] { "good1", "good2" }, m.TrackIds);
        Assert.Equal(4, m.Dimension);
    }

    [Fact]
    public void Segmenting_MergesAShortTail()
    {
        Assert.Equal(new[] { (0, 10), (10, 20), (20, 25) }, EmbeddingPipeline.Segment(25, 10));
        Assert.Equal(new[] { (0, 10), (10, 24) }, EmbeddingPipeline.Segment(24, 10));
        Assert.Equal(new[] { (0, 7) }, EmbeddingPipeline.Segment(7, 10));
    }
}
