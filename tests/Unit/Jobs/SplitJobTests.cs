using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Common;
using MessTools.Core.Jobs;
using MessTools.Core.Splitting;
using MessTools.Tests.Unit.Splitting;

namespace MessTools.Tests.Unit.Jobs;

/// <summary>Split-MessAudio's stage run from Core alone: the folder and its lock owned by the job, as for every track stage.</summary>
public class SplitJobTests
{
    private const int Rate = SyntheticMovements.Rate;

    [Fact]
    public void SplitJob_splits_under_the_lock_in_the_tracks_folder_reports_a_bad_track_and_writes_segments_and_the_record()
    {
        using var tmp = new TempDir();
        var folder = new ArtifactStore(tmp["artifacts/v1_model_builtin"]);
        var work = TestWorks.Build(SyntheticMovements.Three(20), Rate, new Random(3), pauses: new[] { true, true }, minPause: 2, maxPause: 3);
        WavFile.Write(folder.WavPath("w1"), new AudioBuffer(work.Samples, Rate));
        var host = new RecordingJobHost();
        var emitted = new List<MessTrack>();
        var request = new SplitStageRequest
        {
            Store = new ArtifactStore(tmp["default"]), Sharded = false, ShardIndex = 0, ShardCount = 8,
            Options = new SplitRequest { MinMovementSeconds = 10, KernelSeconds = 8 },
        };
        using (var job = new SplitJob(request, host, emitted.Add))
        {
            job.Post(new MessTrack { TrackId = "w1", AlbumId = "a", Title = "Sonata", WavPath = folder.WavPath("w1"), SampleRate = Rate, Status = MessTrackStatus.Standardized }, folder.Root);
            Assert.Equal(folder.Root, job.Store.Root);
            // While the job runs, another owner is refused: the lock is the job's, not a front end's.
            Assert.Equal(JobErrors.ArtifactFolderLocked, Assert.Throws<MessException>(() => JobFolder.Lock(job.Store, new RecordingJobHost(), TimeSpan.Zero)).ErrorId);
            job.Post(new MessTrack { TrackId = "gone", WavPath = tmp["gone.wav"], Status = MessTrackStatus.Standardized }, folder.Root);
            job.Post(new MessTrack { TrackId = "earlier", Status = MessTrackStatus.Failed }, folder.Root); // failed before: skipped, no error
            job.Complete();
        }
        Assert.Equal(new[] { "w1-m1", "w1-m2", "w1-m3" }, emitted.Select(t => t.TrackId)); // every track taken: Split is unsharded
        Assert.Equal(new[] { "AudioFileNotFound" }, host.Errors);
        Assert.Equal(3, MovementWriter.ReadSegments(Path.Combine(folder.MetadataDir, MovementWriter.SegmentsFileName)).Count);
        var record = File.ReadAllText(Assert.Single(Directory.GetFiles(Path.Combine(folder.Root, "runs"), "*.json")));
        Assert.Contains("completed_with_errors", record);
        Assert.Contains("\"boundaries\"", record);
        Assert.Equal(3, host.Run!.Counts["movements"]);
        Assert.False(Directory.Exists(tmp["default"]));
        using (JobFolder.Lock(folder, new RecordingJobHost(), TimeSpan.Zero)) { } // the lock went with the job
    }

    [Fact]
    public void Bad_split_options_are_refused_before_any_work()
    {
        using var tmp = new TempDir();
        var request = new SplitStageRequest { Store = new ArtifactStore(tmp["art"]), Options = new SplitRequest { MaxMovements = 0 } };
        var ex = Assert.Throws<MessException>(() => new SplitJob(request, new RecordingJobHost(), _ => { }));
        Assert.Equal("InvalidSplitOptions", ex.ErrorId);
        Assert.Equal("MaxMovements", ex.Target);
        Assert.False(Directory.Exists(tmp["art"]));
    }
}
