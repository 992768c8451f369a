using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Embedding;

namespace MessTools.Tests.Unit.Embedding;

/// <summary>Item 2 of issue 10: finished tracks survive a kill at any moment; a half-saved first set is no dead end.</summary>
public class EmbeddingJournalTests
{
    private static List<MessTrack> Tracks(TempDir dir, int n) =>
        Enumerable.Range(1, n).Select(i => EmbeddingRunTests.WriteTrack(dir, $"t{i}", 150 + 70 * i, seconds: 2)).ToList();

    /// <summary>A run that embeds everything and is then "killed": never saved, its objects dropped without a save.</summary>
    private static void RunWithoutSaving(ArtifactStore store, IEmbeddingModel model, IEnumerable<MessTrack> tracks)
    {
        using var run = new EmbeddingRun(store, model, new EmbeddingRunOptions(), CancellationToken.None);
        foreach (var t in tracks) run.Post(t);
        run.Complete();
        Assert.All(run.Drain().ToList(), r => Assert.Null(r.Error));
    }

    [Fact]
    public void Tracks_finished_before_a_kill_are_folded_in_by_the_next_run_not_recomputed()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        var tracks = Tracks(dir, 3);
        using var model = new BuiltinEmbeddingModel(batchSize: 2, threads: 1);
        RunWithoutSaving(store, model, tracks);
        Assert.False(File.Exists(store.EmbeddingsMetaFile));
        Assert.True(new FileInfo(EmbeddingJournal.PathIn(store)).Length > 0);

        var warnings = new List<string>();
        using (var run = new EmbeddingRun(store, model, new EmbeddingRunOptions { Warn = warnings.Add }, CancellationToken.None))
        {
            Assert.Equal(3, run.Recovered);
            foreach (var t in tracks) run.Post(t);
            run.Complete();
            var results = run.Drain().ToList();
            Assert.All(results, r => Assert.True(r.Reused));
            Assert.Equal(0, run.Computed);
            Assert.True(run.Save());
        }
        Assert.Contains(warnings, w => w.Contains("3 track(s)") && w.Contains("recovered"));
        Assert.False(File.Exists(EmbeddingJournal.PathIn(store))); // emptied by the save, deleted when closed

        // the recovered rows equal a clean run's bytes
        using var clean = new TempDir();
        var cleanStore = new ArtifactStore(clean["art"]);
        EmbeddingRunTests.RunAll(cleanStore, model, Tracks(clean, 3));
        Assert.Equal(File.ReadAllBytes(cleanStore.EmbeddingsFile), File.ReadAllBytes(store.EmbeddingsFile));
    }

    [Fact]
    public void A_first_save_killed_before_its_meta_is_recovered_not_a_dead_end()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        var tracks = Tracks(dir, 2);
        using var model = new BuiltinEmbeddingModel(batchSize: 2, threads: 1);
        Assert.Throws<IOException>(() => EmbeddingRunTests.RunAll(store, model, tracks, new EmbeddingRunOptions
        {
            BeforeWrite = name => { if (name == "embeddings_meta.json") throw new IOException("killed"); },
        }));
        Assert.True(File.Exists(Path.Combine(store.EmbeddingsDir, EmbeddingSet.RowsFileName)));
        Assert.False(File.Exists(store.EmbeddingsMetaFile));

        var warnings = new List<string>();
        using (var run = new EmbeddingRun(store, model, new EmbeddingRunOptions { Warn = warnings.Add }, CancellationToken.None))
        {
            Assert.Equal(2, run.Recovered);
            foreach (var t in tracks) run.Post(t);
            run.Complete();
            Assert.All(run.Drain().ToList(), r => Assert.True(r.Reused));
            run.Save();
        }
        Assert.Contains(warnings, w => w.Contains("interrupted") && w.Contains("discarded"));
        Assert.Equal(new[] { "t1", "t2" }, EmbeddingMatrix.Load(store).TrackIds);
    }

    [Fact]
    public void A_torn_tail_and_records_of_another_model_are_dropped_with_a_warning()
    {
        using var dir = new TempDir();
        var store = new ArtifactStore(dir["art"]);
        using var model = new BuiltinEmbeddingModel(batchSize: 2, threads: 1);
        RunWithoutSaving(store, model, Tracks(dir, 2));
        string path = EmbeddingJournal.PathIn(store);
        byte[] good = File.ReadAllBytes(path);
        // an interrupted append: the first 30 bytes of a third record
        File.WriteAllBytes(path, good.Concat(good.Take(30)).ToArray());
        string key = EmbeddingSet.ComputeModelKey(model.ModelSha256, model.Identity);
        var warnings = new List<string>();
        var (tracks, valid) = EmbeddingJournal.Read(store, key, warnings.Add);
        Assert.Equal(new[] { "t1", "t2" }, tracks.Select(t => t.Info.TrackId).ToArray());
        Assert.Equal(good.Length, valid);
        Assert.Contains(warnings, w => w.Contains("30 byte(s)"));

        // a flipped bit in the second record: its checksum ends the journal there
        var damaged = (byte[])good.Clone();
        damaged[^12] ^= 0x01;
        File.WriteAllBytes(path, damaged);
        Assert.Single(EmbeddingJournal.Read(store, key, null).Tracks);

        File.WriteAllBytes(path, good);
        warnings.Clear();
        Assert.Empty(EmbeddingJournal.Read(store, "another-model-key", warnings.Add).Tracks);
        Assert.Contains(warnings, w => w.Contains("another model"));
    }
}
