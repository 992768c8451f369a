using System.Diagnostics;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Tests.Unit.Artifacts;

public class ArtifactWriterLockTests
{
    [Fact]
    public void A_second_owner_fails_at_once_with_the_holder_named()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        using var first = ArtifactWriterLock.Acquire(store, "runspace-1", "ConvertTo-MessEmbedding", TimeSpan.Zero);
        Assert.True(first.Fresh);
        var sw = Stopwatch.StartNew();
        var ex = Assert.Throws<MessException>(() => ArtifactWriterLock.Acquire(store, "runspace-2", "New-MessIndex", TimeSpan.Zero));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"failing at once took {sw.Elapsed}");
        Assert.Equal(ArtifactWriterLock.ErrorId, ex.ErrorId);
        Assert.Equal(MessErrorKind.ResourceUnavailable, ex.Kind);
        Assert.Contains("ConvertTo-MessEmbedding", ex.Message);
        Assert.Contains($"process {Environment.ProcessId}", ex.Message);
        Assert.Contains(Environment.MachineName, ex.Message);
        Assert.Contains("started", ex.Message);
        var holder = ArtifactWriterLock.CurrentHolder(store);
        Assert.NotNull(holder);
        Assert.Equal("ConvertTo-MessEmbedding", holder!.Command);
    }

    [Fact]
    public void The_same_owner_shares_the_lock_and_it_goes_with_the_last_release()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        var a = ArtifactWriterLock.Acquire(store, "rs", "Export-MessMetadata", TimeSpan.Zero);
        var b = ArtifactWriterLock.Acquire(store, "rs", "Get-MessAudio", TimeSpan.Zero);
        Assert.False(b.Fresh);
        a.Dispose();
        Assert.Throws<MessException>(() => ArtifactWriterLock.Acquire(store, "other", "x", TimeSpan.Zero));
        b.Dispose();
        Assert.Null(ArtifactWriterLock.CurrentHolder(store));
        Assert.False(File.Exists(Path.Combine(store.Root, ArtifactWriterLock.HolderFileName)));
        using var c = ArtifactWriterLock.Acquire(store, "other", "x", TimeSpan.Zero);
        Assert.True(c.Fresh);
    }

    [Fact]
    public async Task A_waiting_writer_gets_the_lock_when_the_holder_releases_it_within_the_timeout()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        var first = ArtifactWriterLock.Acquire(store, "one", "a", TimeSpan.Zero);
        WriterLockHolder? seen = null;
        var release = Task.Run(async () => { await Task.Delay(400); first.Dispose(); });
        using var second = ArtifactWriterLock.Acquire(store, "two", "b", TimeSpan.FromSeconds(20), waiting: h => seen = h);
        Assert.True(second.Fresh);
        Assert.Equal("a", seen?.Command);
        await release;
    }

    [Fact]
    public void Waiting_ends_with_the_timeout_and_honours_cancellation()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        using var first = ArtifactWriterLock.Acquire(store, "one", "a", TimeSpan.Zero);
        var sw = Stopwatch.StartNew();
        var ex = Assert.Throws<MessException>(() => ArtifactWriterLock.Acquire(store, "two", "b", TimeSpan.FromMilliseconds(600)));
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(550), $"gave up after {sw.Elapsed}");
        Assert.Contains("Waited", ex.Message);
        using var cts = new CancellationTokenSource(300);
        Assert.ThrowsAny<OperationCanceledException>(() => ArtifactWriterLock.Acquire(store, "two", "b", TimeSpan.FromMinutes(5), cts.Token));
    }

    [Fact]
    public void The_OS_lock_excludes_another_open_of_the_lock_file()
    {
        // What another process meets: the .lock file is held with FileShare.None (flock on Unix).
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        using var held = ArtifactWriterLock.Acquire(store, "one", "a", TimeSpan.Zero);
        Assert.Throws<IOException>(() => new FileStream(Path.Combine(store.Root, ArtifactWriterLock.LockFileName), FileMode.Open, FileAccess.ReadWrite, FileShare.None));
    }

    [Fact]
    public void A_fresh_lock_removes_the_temporaries_killed_writers_left_but_a_shared_one_does_not()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        Directory.CreateDirectory(store.EmbeddingsDir);
        string stale = Path.Combine(store.EmbeddingsDir, ".embeddings.f32.0123" + AtomicFileWriter.TempSuffix);
        File.WriteAllText(stale, "half");
        File.WriteAllText(Path.Combine(store.EmbeddingsDir, "keep.json"), "{}");
        using (var l = ArtifactWriterLock.Acquire(store, "one", "a", TimeSpan.Zero))
        {
            Assert.Equal(new[] { stale }, l.RemovedTemporaries);
            Assert.False(File.Exists(stale));
            File.WriteAllText(stale, "being written by this pipeline");
            using var joined = ArtifactWriterLock.Acquire(store, "one", "b", TimeSpan.Zero);
            Assert.Empty(joined.RemovedTemporaries);
            Assert.True(File.Exists(stale));
        }
        Assert.True(File.Exists(Path.Combine(store.EmbeddingsDir, "keep.json")));
    }
}
