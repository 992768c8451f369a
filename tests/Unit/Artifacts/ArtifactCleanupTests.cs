using MessTools.Core.Artifacts;

namespace MessTools.Tests.Unit.Artifacts;

public class ArtifactCleanupTests
{
    [Fact]
    public void Cleanup_never_follows_links_out_of_the_folder()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        string outside = tmp["outside"];
        Directory.CreateDirectory(Path.Combine(outside, "sub"));
        string outsideFile = Path.Combine(outside, "precious.txt");
        string outsideTemp = Path.Combine(outside, "sub", ".x" + AtomicFileWriter.TempSuffix);
        File.WriteAllText(outsideFile, "keep");
        File.WriteAllText(outsideTemp, "not ours");
        Directory.CreateDirectory(Path.Combine(store.CacheDir, "nested"));
        File.WriteAllText(Path.Combine(store.CacheDir, "nested", "a.bin"), "cache");
        Directory.CreateSymbolicLink(Path.Combine(store.CacheDir, "dirlink"), outside);
        File.CreateSymbolicLink(Path.Combine(store.CacheDir, "filelink"), outsideFile);
        Directory.CreateSymbolicLink(Path.Combine(store.CacheDir, "nested", "deeplink"), outside);
        Directory.CreateSymbolicLink(Path.Combine(store.Root, "linked_out"), outside);
        string ours = Path.Combine(store.Root, "index", ".hnsw.index.1" + AtomicFileWriter.TempSuffix);
        Directory.CreateDirectory(Path.GetDirectoryName(ours)!);
        File.WriteAllText(ours, "half");

        Assert.Equal(new[] { ours }, ArtifactCleanup.StaleTemporaries(store.Root, TimeSpan.Zero).Select(f => f.FullName).ToArray());
        var entries = ArtifactCleanup.CacheEntries(store.CacheDir);
        Assert.Equal(new[] { "dirlink", "filelink", "nested" }, entries.Select(e => e.Name).ToArray());
        Assert.True(ArtifactCleanup.IsLink(entries[0]) && ArtifactCleanup.IsLink(entries[1]) && !ArtifactCleanup.IsLink(entries[2]));
        foreach (var e in entries) ArtifactCleanup.Remove(e);
        ArtifactCleanup.RemoveStaleTemporaries(store.Root, TimeSpan.Zero);

        Assert.Empty(Directory.EnumerateFileSystemEntries(store.CacheDir));
        Assert.False(File.Exists(ours));
        Assert.Equal("keep", File.ReadAllText(outsideFile));
        Assert.True(File.Exists(outsideTemp));
        Assert.True(Directory.Exists(Path.Combine(outside, "sub")));
    }

    [Fact]
    public void The_cleanup_of_a_folder_leaves_the_temporaries_of_a_nested_folder_with_its_own_lock()
    {
        // A sharded run: the root's writer (Export-MessMetadata) and a shard's writer (Get-MessAudio in
        // shards/1-of-3/) work at once; the root's fresh lock must not delete the file the shard is writing.
        using var tmp = new TempDir();
        string shard = Path.Combine(tmp["art"], "shards", "1-of-3");
        Directory.CreateDirectory(Path.Combine(shard, "audio_wav"));
        File.WriteAllText(Path.Combine(shard, ArtifactWriterLock.LockFileName), "");
        string busy = Path.Combine(shard, "audio_wav", ".t1.wav.0123" + AtomicFileWriter.TempSuffix);
        File.WriteAllText(busy, "half");
        Directory.CreateDirectory(tmp["art/metadata"]);
        string stale = Path.Combine(tmp["art/metadata"], ".x.csv.4567" + AtomicFileWriter.TempSuffix);
        File.WriteAllText(stale, "half");

        var removed = ArtifactCleanup.RemoveStaleTemporaries(tmp["art"], TimeSpan.Zero);

        Assert.Equal(new[] { stale }, removed);
        Assert.True(File.Exists(busy));
    }
}
