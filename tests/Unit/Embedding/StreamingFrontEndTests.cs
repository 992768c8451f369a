using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Dsp;
using MessTools.Core.Embedding;
using MessTools.Core.Embedding.Builtin;

namespace MessTools.Tests.Unit.Embedding;

/// <summary>
/// Issue 10, item 12: long tracks stream through decoding and the front end in chunks; the streamed embedding equals
/// the whole-track one. (Peak memory is measured by bench/EmbedBench, not here.)
/// </summary>
public class StreamingFrontEndTests
{
    /// <summary>Piano-like test audio: decaying tones that change every half second, plus a little noise.</summary>
    internal static float[] Music(int sampleRate, double seconds, int seed = 7)
    {
        var rng = new Random(seed);
        var x = new float[(int)(seconds * sampleRate)];
        int note = sampleRate / 2;
        double f = 220;
        for (int i = 0; i < x.Length; i++)
        {
            if (i % note == 0) f = 110 * Math.Pow(2, rng.Next(0, 36) / 12.0);
            double t = (double)(i % note) / sampleRate;
            x[i] = (float)(0.3 * Math.Exp(-3 * t) * (Math.Sin(2 * Math.PI * f * i / sampleRate) + 0.4 * Math.Sin(4 * Math.PI * f * i / sampleRate))
                           + 0.003 * (rng.NextDouble() - 0.5));
        }
        return x;
    }

    private static IEnumerable<int> ChunkSizes(int seed)
    {
        var rng = new Random(seed);
        int[] odd = { 1, 511, 512, 513, 4095, 4097, 65536, 100_003 };
        while (true) yield return odd[rng.Next(odd.Length)];
    }

    [Theory]
    [InlineData(FramePlacement.Centered, 512, 256, 512)]
    [InlineData(FramePlacement.Start, 4096, 512, 4096)]
    public void Frame_stream_gives_exactly_the_whole_signal_frames(FramePlacement placement, int frame, int hop, int fft)
    {
        var stft = new PowerSpectrogram(frame, hop, WindowKind.HannPeriodic, fft, placement);
        foreach (int n in new[] { 1, 100, frame - 1, frame, frame + 1, 200_001 })
        {
            var x = Music(22050, (n + 10) / 22050.0, n)[..n];
            var whole = stft.Compute(x, out int frames);
            var stream = new FrameStream(stft, n);
            var got = new float[whole.Length];
            int seen = 0;
            FrameStream.FrameSink sink = (k, p) => { Assert.Equal(seen++, k); p.CopyTo(got.AsSpan(k * stft.Bins)); };
            int pos = 0;
            foreach (int size in ChunkSizes(n))
            {
                if (pos >= n) break;
                int len = Math.Min(size, n - pos);
                stream.Push(x.AsSpan(pos, len), sink);
                pos += len;
            }
            stream.Finish(sink);
            Assert.Equal(frames, seen);
            Assert.Equal(whole, got); // bit for bit
        }
    }

    [Fact]
    public void Builtin_streamed_embedding_of_a_ten_minute_track_equals_the_whole_track_one()
    {
        var x = Music(BuiltinFrontEnd.SampleRate, 600);
        var embedder = new BuiltinEmbedder();
        var whole = embedder.Embed(x);
        var stream = embedder.OpenStream(x.Length);
        int pos = 0;
        foreach (int size in ChunkSizes(3))
        {
            if (pos >= x.Length) break;
            int len = Math.Min(size, x.Length - pos);
            stream.Push(x.AsSpan(pos, len));
            pos += len;
        }
        Assert.Equal(whole, stream.Finish()); // the same arithmetic: bit for bit
    }

    [Fact]
    public void The_pipeline_streams_a_long_wav_and_writes_the_whole_track_embedding()
    {
        using var dir = new TempDir();
        var x = Music(BuiltinFrontEnd.SampleRate, 600, seed: 11);
        // 16-bit stereo: the streamed reader decodes and mixes exactly as WavFile.Read + ToMono do
        var stereo = new float[x.Length * 2];
        for (int i = 0; i < x.Length; i++) { stereo[2 * i] = x[i]; stereo[2 * i + 1] = -0.5f * x[i]; }
        string path = dir["long.wav"];
        WavFile.Write(path, new AudioBuffer(stereo, BuiltinFrontEnd.SampleRate, 2), WavSampleFormat.Pcm16);
        using (var reader = WavChunkReader.TryOpen(path, 1000)!)
        {
            var mono = WavFile.Read(path).ToMono().Samples;
            var streamed = new float[reader.Frames];
            int pos = 0, n;
            while ((n = reader.Read(streamed.AsSpan(pos))) > 0) pos += n;
            Assert.Equal(mono, streamed);
        }
        var whole = new BuiltinEmbedder().Embed(WavFile.Read(path).ToMono().Samples);

        var store = new ArtifactStore(dir["art"]);
        using var model = new BuiltinEmbeddingModel();
        var track = new MessTrack { TrackId = "long", AlbumId = "a", Composer = "c", WavPath = path, Status = MessTrackStatus.Standardized };
        var result = Assert.Single(EmbeddingRunTests.RunAll(store, model, new[] { track }));
        Assert.Null(result.Error);
        Assert.Equal(600, result.AudioSeconds, 3);
        var row = EmbeddingMatrix.Load(store).Row(0).ToArray();
        var expected = EmbeddingPipeline.Normalised(whole, "long", "");
        for (int i = 0; i < row.Length; i++) Assert.Equal(expected[i], row[i], 1e-6f);
    }

    [Fact]
    public void A_streamed_track_with_nan_samples_fails_alone_and_the_next_track_is_embedded()
    {
        using var dir = new TempDir();
        var bad = Music(BuiltinFrontEnd.SampleRate, 20, seed: 1);
        bad[300_000] = float.NaN;
        WavFile.Write(dir["bad.wav"], new AudioBuffer(bad, BuiltinFrontEnd.SampleRate));
        WavFile.Write(dir["good.wav"], new AudioBuffer(Music(BuiltinFrontEnd.SampleRate, 20, seed: 2), BuiltinFrontEnd.SampleRate));
        var tracks = new[] { "bad", "good" }.Select(id => new MessTrack { TrackId = id, AlbumId = "a", Composer = "c", WavPath = dir[id + ".wav"], Status = MessTrackStatus.Standardized });
        using var model = new BuiltinEmbeddingModel();
        var results = EmbeddingRunTests.RunAll(new ArtifactStore(dir["art"]), model, tracks);
        Assert.Equal("AudioNotFinite", results[0].Error!.ErrorId);
        Assert.Null(results[1].Error);
        Assert.NotNull(results[1].Embedded);
    }

    [SharedDataFact("models/msd-musicnn-1.onnx")]
    public void Onnx_log_mel_stream_cuts_the_same_patches_and_the_same_embedding()
    {
        using var dir = new TempDir();
        using var model = new OnnxEmbeddingModel(TestProfiles.Model("msd-musicnn-1.onnx"), OnnxProfile.Load(TestProfiles.Write(dir, "m.json", TestProfiles.MusiCnn)));
        // a long input: every patch of a ten-minute track, compared value for value (no inference needed)
        var x = Music(16000, 600, seed: 5);
        var segments = EmbeddingPipeline.Segment(x.Length, 30 * 16000);
        var whole = model.Prepare(x, segments);
        var stream = model.OpenStream(x.Length, segments)!;
        var streamed = new List<ModelUnit>();
        int pos = 0;
        foreach (int size in ChunkSizes(9))
        {
            if (pos >= x.Length) break;
            int len = Math.Min(size, x.Length - pos);
            stream.Push(x.AsSpan(pos, len), streamed);
            pos += len;
        }
        stream.Finish(streamed);
        Assert.Equal(whole.Count, streamed.Count);
        for (int i = 0; i < whole.Count; i++)
        {
            Assert.Equal(whole[i].StartSec, streamed[i].StartSec);
            Assert.Equal(whole[i].Segments, streamed[i].Segments);
            Assert.Equal(whole[i].Input, streamed[i].Input);
        }
        // and through the pipeline (a 40 s track keeps the test short): the streamed embedding equals EmbedTrack's
        var clip = Music(16000, 40, seed: 6);
        WavFile.Write(dir["clip.wav"], new AudioBuffer(clip, 16000));
        var expected = EmbeddingPipeline.Normalised(model.EmbedTrack(clip), "clip", "");
        var track = new MessTrack { TrackId = "clip", AlbumId = "a", Composer = "c", WavPath = dir["clip.wav"], Status = MessTrackStatus.Standardized };
        var result = Assert.Single(EmbeddingRunTests.RunAll(new ArtifactStore(dir["art"]), model, new[] { track }));
        Assert.Null(result.Error);
        var row = EmbeddingMatrix.Load(new ArtifactStore(dir["art"])).Row(0).ToArray();
        for (int i = 0; i < row.Length; i++) Assert.Equal(expected[i], row[i], 1e-5f);
    }
}
