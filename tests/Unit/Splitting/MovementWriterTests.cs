using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Catalog;
using MessTools.Core.Common;
using MessTools.Core.Splitting;

namespace MessTools.Tests.Unit.Splitting;

public class MovementWriterTests
{
    private const int Rate = SyntheticMovements.Rate;
    private static readonly SplitRequest Request = new() { MinMovementSeconds = 10, KernelSeconds = 8 };

    private static MessTrack WorkTrack(ArtifactStore store, string id, float[] samples, WavSampleFormat format = WavSampleFormat.Float32)
    {
        string wav = store.WavPath(id);
        WavFile.Write(wav, new AudioBuffer(samples, Rate), format);
        return new MessTrack { TrackId = id, AlbumId = "album", Title = "Sonata", Composer = "Haydn", WavPath = wav, SampleRate = Rate, Status = MessTrackStatus.Standardized };
    }

    private static TestWorks.Work ThreeWithPauses(int seed) =>
        TestWorks.Build(SyntheticMovements.Three(20), Rate, new Random(seed), pauses: new[] { true, true }, minPause: 2, maxPause: 3);

    [Fact]
    public void Writes_one_track_and_one_wav_per_movement_with_the_source_samples()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir.Path);
        var work = ThreeWithPauses(1);
        var job = new MovementWriter(store, Request);
        var r = job.Split(WorkTrack(store, "w1", work.Samples, WavSampleFormat.Pcm16));
        Assert.Null(r.Error);
        Assert.Equal(new[] { "w1-m1", "w1-m2", "w1-m3" }, r.Tracks.Select(t => t.TrackId));
        var source = WavFile.Read(store.WavPath("w1")).Samples;
        foreach (var t in r.Tracks)
        {
            Assert.Equal("w1", t.AlbumId);
            Assert.Equal("w1", t.SourceTrackId);
            Assert.Equal($"Sonata ({t.TrackNo})", t.Title);
            Assert.Equal("Haydn", t.Composer);
            Assert.Equal(store.WavPath(t.TrackId), t.WavPath);
            var info = WavFile.TryReadInfo(t.WavPath!)!;
            Assert.True(info.Matches(Rate, WavSampleFormat.Pcm16)); // the source's format, its samples copied
            var m = WavFile.Read(t.WavPath!).Samples;
            int from = (int)Math.Round(t.StartSeconds!.Value * Rate);
            Assert.Equal(source.AsSpan(from, m.Length).ToArray(), m);
            Assert.Equal(t.EndSeconds!.Value - t.StartSeconds.Value, t.DurationSec!.Value, 3);
        }
        Assert.Equal(3, job.Save());
        var rows = MovementWriter.ReadSegments(job.SegmentsFile);
        Assert.Equal(r.Tracks.Select(t => t.TrackId), rows.Select(x => x.TrackId));
        Assert.Equal("source_track_id,track_id,movement,start_sec,end_sec", File.ReadLines(job.SegmentsFile).First());
    }

    [Fact]
    public void A_rerun_that_finds_fewer_movements_removes_the_stale_movement_wavs_and_rows()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir.Path);
        var w = WorkTrack(store, "w1", ThreeWithPauses(5).Samples);
        var first = new MovementWriter(store, Request);
        Assert.Equal(3, first.Split(w).Tracks.Count);
        first.Save();
        Assert.True(File.Exists(store.WavPath("w1-m3")));

        var again = new MovementWriter(store, Request with { MaxMovements = 2 });
        Assert.Equal(new[] { "w1-m1", "w1-m2" }, again.Split(w).Tracks.Select(t => t.TrackId));
        again.Save();
        Assert.Equal(new[] { "w1-m1", "w1-m2" }, MovementWriter.ReadSegments(again.SegmentsFile).Select(r => r.TrackId));
        Assert.False(File.Exists(store.WavPath("w1-m3")));
        Assert.True(File.Exists(store.WavPath("w1-m2")) && File.Exists(store.WavPath("w1")));
    }

    [Fact]
    public void A_rerun_writes_the_same_bytes_and_keeps_other_tracks_rows_in_order()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir.Path);
        var b = WorkTrack(store, "b-work", ThreeWithPauses(2).Samples);
        var a = WorkTrack(store, "a-single", SyntheticMovements.Make(4, 60, 3, 15));
        var job = new MovementWriter(store, Request);
        job.Split(b); job.Split(a);
        job.Save();
        byte[] first = File.ReadAllBytes(job.SegmentsFile);
        var wavTimes = Directory.GetFiles(store.AudioWavDir, "b-work-m*.wav").ToDictionary(f => f, File.GetLastWriteTimeUtc);
        Thread.Sleep(20);

        var again = new MovementWriter(store, Request);
        var r = again.Split(b); // only b this time: a's row stays
        Assert.Equal(0, r.WavsWritten); // same bytes: not rewritten, so their embeddings are reused
        again.Save();
        Assert.Equal(first, File.ReadAllBytes(job.SegmentsFile));
        foreach (var (f, t) in wavTimes) Assert.Equal(t, File.GetLastWriteTimeUtc(f));
        var rows = MovementWriter.ReadSegments(job.SegmentsFile);
        Assert.Equal("a-single", rows[0].SourceTrackId); // ordinal source order
        Assert.Equal(new SegmentRow("a-single", "a-single", 1, 0, 15), rows[0]); // one movement: one row, itself
    }

    [Fact]
    public void A_track_with_one_movement_passes_through_unchanged()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir.Path);
        var t = WorkTrack(store, "quiet", new float[40 * Rate]);
        var r = new MovementWriter(store, Request).Split(t);
        Assert.Same(t, Assert.Single(r.Tracks));
        Assert.Contains("silent", r.Note);
        Assert.False(File.Exists(store.WavPath("quiet-m1")));
    }

    [Fact]
    public void A_missing_or_corrupt_wav_is_an_error_naming_the_track()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir.Path);
        var job = new MovementWriter(store, Request);
        var missing = job.Split(new MessTrack { TrackId = "gone", WavPath = dir["nope.wav"] });
        Assert.Equal("AudioFileNotFound", missing.Error!.ErrorId);
        Assert.Contains("'gone'", missing.Error.Message);
        Assert.Empty(missing.Tracks);

        File.WriteAllText(dir["bad.wav"], "this is not audio");
        var corrupt = job.Split(new MessTrack { TrackId = "bad", WavPath = dir["bad.wav"] });
        Assert.Equal("InvalidWav", corrupt.Error!.ErrorId);
        Assert.Contains("'bad'", corrupt.Error.Message);

        var none = job.Split(new MessTrack { TrackId = "raw" });
        Assert.Equal("NoStandardizedAudio", none.Error!.ErrorId);
        Assert.Equal(3, job.Failed);
    }

    [Fact]
    public void A_malformed_segments_file_is_refused_with_its_line()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir.Path);
        Directory.CreateDirectory(store.MetadataDir);
        var job = new MovementWriter(store, Request);
        File.WriteAllText(job.SegmentsFile, "source_track_id,track_id,movement,start_sec,end_sec\nw,w-m1,one,0,10\n");
        var ex = Assert.Throws<MessException>(() => MovementWriter.ReadSegments(job.SegmentsFile));
        Assert.Equal("SegmentsMalformed", ex.ErrorId);
        Assert.Contains("line 2", ex.Message);
        File.WriteAllText(job.SegmentsFile, "a,b\n");
        Assert.Equal("SegmentsMalformed", Assert.Throws<MessException>(() => MovementWriter.ReadSegments(job.SegmentsFile)).ErrorId);
    }

    [Fact]
    public void The_metadata_reader_adds_the_movements_of_split_tracks()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir.Path);
        Directory.CreateDirectory(store.MetadataDir);
        using (var w = new MetadataCsv.Writer(store.MetadataCsv))
        {
            w.Write(new MessTrack { TrackId = "w1", AlbumId = "op1", Title = "Sonata", Composer = "Haydn", AudioUri = "a.wav" });
            w.Write(new MessTrack { TrackId = "w2", AlbumId = "op2", Title = "Etude", Composer = "Liszt", AudioUri = "b.wav" });
            w.Commit();
        }
        File.WriteAllText(Path.Combine(store.MetadataDir, MovementWriter.SegmentsFileName),
            "source_track_id,track_id,movement,start_sec,end_sec\nw1,w1-m1,1,0.0,60.0\nw1,w1-m2,2,62.5,120.0\nw2,w2,1,0.0,30.0\n");
        var all = MetadataCsv.ReadById(store.MetadataCsv);
        Assert.Equal(new[] { "w1", "w1-m1", "w1-m2", "w2" }, all.Keys.Order(StringComparer.Ordinal));
        var m2 = all["w1-m2"];
        Assert.Equal(("w1", "Haydn", "Sonata (2)", 2, 57.5), (m2.AlbumId, m2.Composer, m2.Title, m2.TrackNo!.Value, m2.DurationSec!.Value));
    }
}
