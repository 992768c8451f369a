using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Common;
using MessTools.Core.Embedding;
using MessTools.Core.Jobs;
using MessTools.Tests.Infrastructure;

namespace MessTools.Tests.Unit.Jobs;

/// <summary>
/// The streaming track stages run from Core alone (no PowerShell), as any front end runs them: the folder decided once
/// (named path, the tracks' own folder, model, shard), the writer lock held while they work, the run record written.
/// </summary>
public class TrackStageJobTests
{
    private static string Tone(TempDir dir, string id, double freq)
    {
        const int sr = 22050;
        var x = Enumerable.Range(0, 2 * sr).Select(i => (float)(0.3 * Math.Sin(2 * Math.PI * freq * i / sr))).ToArray();
        string p = dir[id + ".wav"];
        WavFile.Write(p, new AudioBuffer(x, sr));
        return p;
    }

    private static string Sep(string p) => p.Replace('/', Path.DirectorySeparatorChar);

    [Fact]
    public void The_first_tracks_folder_decides_mapped_to_the_model_and_shard_and_a_second_folder_is_refused()
    {
        using var tmp = new TempDir();
        var resolved = new ArtifactStore(tmp["artifacts/v1_model_builtin"]);
        var folders = new TrackFolders(resolved, pathNamed: false, shardIndex: 1, shardCount: 2, model: "other");
        Assert.Equal(Path.Combine(resolved.Root, Sep("shards/1-of-2")), folders.Store.Root);
        folders.Follow(tmp["artifacts/v1_model_builtin"]);
        Assert.Equal(tmp[Sep("artifacts/v1_model_other/shards/1-of-2")], folders.Store.Root);
        folders.Follow(tmp["artifacts/v1_model_builtin"]); // the same folder again: fine
        var ex = Assert.Throws<MessException>(() => folders.Follow(tmp["elsewhere"]));
        Assert.Equal("MixedArtifactFolders", ex.ErrorId);

        // A sharded Get-MessAudio's tracks already come from the shard's folder: it is not nested again.
        var again = new TrackFolders(resolved, false, 1, 2);
        again.Follow(tmp[Sep("art/shards/1-of-2")]);
        Assert.Equal(tmp[Sep("art/shards/1-of-2")], again.Store.Root);

        // A named folder wins over the tracks' own, and the shard keeps the tracks that hash to it.
        var named = new TrackFolders(resolved, pathNamed: true, shardIndex: 0, shardCount: 2);
        named.Follow(tmp["elsewhere"]);
        Assert.Equal(Path.Combine(resolved.Root, Sep("shards/0-of-2")), named.Store.Root);
        var ids = Enumerable.Range(0, 40).Select(i => $"t{i}").ToList();
        int other = ids.Count(named.InOtherShard);
        Assert.InRange(other, 1, 39);
        Assert.Equal(other, named.OtherShardTracks);
    }

    [Fact]
    public void EmbedJob_embeds_in_the_model_folder_beside_the_tracks_under_the_lock_and_writes_the_run_record()
    {
        using var tmp = new TempDir();
        var trackFolder = tmp["artifacts/v1_model_other"];
        var host = new RecordingJobHost();
        var emitted = new List<MessTrack>();
        var request = new EmbedRequest { Store = new ArtifactStore(tmp["default"]) };
        using (var job = new EmbedJob(request, host, emitted.Add))
        {
            job.Post(new MessTrack { TrackId = "a", WavPath = Tone(tmp, "a", 220) }, trackFolder);
            var store = job.Store;
            Assert.Equal(tmp[Sep("artifacts/v1_model_builtin")], store.Root);
            // While the job runs, another owner is refused.
            var ex = Assert.Throws<MessException>(() => JobFolder.Lock(store, new RecordingJobHost(), TimeSpan.Zero));
            Assert.Equal(JobErrors.ArtifactFolderLocked, ex.ErrorId);
            job.Post(new MessTrack { TrackId = "b", WavPath = Tone(tmp, "b", 440) }, trackFolder);
            job.Post(new MessTrack { TrackId = "gone", WavPath = tmp["gone.wav"] }, trackFolder);
            job.Complete();
        }
        var done = new ArtifactStore(tmp["artifacts/v1_model_builtin"]);
        Assert.Equal(new[] { "a", "b" }, emitted.Select(t => t.TrackId).OrderBy(x => x));
        Assert.All(emitted, t => Assert.Equal(MessTrackStatus.Embedded, t.Status));
        Assert.Contains("\"a\"", File.ReadAllText(Path.Combine(done.EmbeddingsDir, "track_ids.json")));
        Assert.Single(host.Errors);
        var record = Assert.Single(Directory.GetFiles(Path.Combine(done.Root, "runs"), "*.json"));
        Assert.Contains("completed_with_errors", File.ReadAllText(record));
        Assert.Equal(2, host.Run!.Counts["computed"]);
        Assert.False(Directory.Exists(tmp["default"])); // the default folder was never written
        using (JobFolder.Lock(done, new RecordingJobHost(), TimeSpan.Zero)) { } // the lock went with the job
    }

    [Fact]
    public void AudioJob_standardises_nothing_it_cannot_find_and_refuses_a_missing_audio_root_before_any_work()
    {
        using var tmp = new TempDir();
        var host = new RecordingJobHost();
        var emitted = new List<MessTrack>();
        var request = new AudioRequest
        {
            Store = new ArtifactStore(tmp["art"]),
            Fetch = new AudioFetchOptions { AudioRoot = tmp["no-such-root"] },
            AudioRootNamed = true,
        };
        using var job = new AudioJob(request, host, emitted.Add);
        var ex = Assert.Throws<MessException>(() => job.Post(new MessTrack { TrackId = "a", AudioUri = "a.wav" }, null));
        Assert.Equal("AudioRootNotFound", ex.ErrorId);
        Assert.Empty(emitted);
    }

    [Fact]
    public void AudioJob_hands_on_local_tracks_fails_a_duplicate_and_records_every_count()
    {
        using var tmp = new TempDir();
        Tone(tmp, "a", 220);
        var host = new RecordingJobHost();
        var emitted = new List<MessTrack>();
        var request = new AudioRequest
        {
            Store = new ArtifactStore(tmp["art"]),
            Fetch = new AudioFetchOptions { AudioRoot = tmp.Path },
            PassThru = true,
        };
        using (var job = new AudioJob(request, host, emitted.Add))
        {
            job.Post(new MessTrack { TrackId = "a", AlbumId = "x", AudioUri = "a.wav" }, null);
            job.Post(new MessTrack { TrackId = "a", AlbumId = "x", AudioUri = "a.wav" }, null);
            job.Complete();
        }
        Assert.Equal(new[] { MessTrackStatus.Failed, MessTrackStatus.Fetched }, emitted.Select(t => t.Status).OrderByDescending(s => s == MessTrackStatus.Failed));
        Assert.Equal(new[] { "DuplicateTrackId" }, host.Errors);
        var counts = host.Run!.Counts;
        Assert.Equal(2, counts["tracks"]);
        Assert.Equal(1, counts["local"]);
        Assert.Equal(1, counts["failed"]);
        Assert.Equal(0, counts["fetched"]);
        Assert.Single(Directory.GetFiles(tmp["art/runs"], "*.json"));
    }

    [Fact]
    public void CacheJob_clears_cache_and_refuses_a_folder_that_does_not_exist()
    {
        using var tmp = new TempDir();
        var missing = Assert.Throws<MessException>(() => CacheJob.Run(new CacheRequest { Store = new ArtifactStore(tmp["none"]) }, new RecordingJobHost(), _ => { }));
        Assert.Equal(JobErrors.ArtifactsNotFound, missing.ErrorId);
        Assert.False(Directory.Exists(tmp["none"]));

        var store = new ArtifactStore(tmp["art"]);
        Directory.CreateDirectory(store.CacheDir);
        File.WriteAllText(Path.Combine(store.CacheDir, "x.bin"), "x");
        Directory.CreateDirectory(store.EmbeddingsDir);
        File.WriteAllText(Path.Combine(store.EmbeddingsDir, "keep.txt"), "k");
        var removed = new List<FileSystemInfo>();
        Assert.Equal(1, CacheJob.Run(new CacheRequest { Store = store }, new RecordingJobHost(), removed.Add));
        Assert.Single(removed);
        Assert.Empty(Directory.GetFileSystemEntries(store.CacheDir));
        Assert.True(File.Exists(Path.Combine(store.EmbeddingsDir, "keep.txt")));
    }
}
