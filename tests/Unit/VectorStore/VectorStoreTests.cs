using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Index;
using MessTools.Core.VectorStore;
using MessTools.Tests.Unit.Index;
using Npgsql;

namespace MessTools.Tests.Unit.VectorStore;

/// <summary>The test classes that use PGlite share one server (start-up is slow) and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class PgliteCollection : ICollectionFixture<PgliteServer>
{
    public const string Name = "PGlite";
}

/// <summary>
/// Publish and query against a real PostgreSQL with the real pgvector 0.8.7 (PGlite on loopback, one server shared by
/// the collection; each test uses its own table). The reference for agreement is our own exact search (flat index).
/// </summary>
[Collection(PgliteCollection.Name)]
public class VectorStoreTests
{
    private readonly PgliteServer _pg;
    private readonly Xunit.Abstractions.ITestOutputHelper _out;
    public VectorStoreTests(PgliteServer pg, Xunit.Abstractions.ITestOutputHelper output)
    {
        _pg = pg;
        _out = output;
        _pg.EnsureRunning();
    }

    private const int Dim = 32;
    private static string Album(int i) => $"a{i / 8:D3}";
    private static string Composer(int i) => (i % 4) switch { 0 => "Chopin", 1 => "Liszt", 2 => "Rachmaninoff", _ => "Scriabin" };

    /// <summary>An artifact folder like the demo set's (albums of 8 tracks, four composers), larger so HNSW has work to do.</summary>
    private static (ArtifactStore Store, string[] Ids, float[] Data) Artifacts(TempDir tmp, int n = 600, int seed = 5, int dim = Dim)
    {
        var ids = IndexTestData.Ids(n);
        var data = IndexTestData.Clustered(n, dim, 16, 0.5, seed);
        var store = IndexTestData.WriteStore(tmp["art"], ids, data, dim, i => (Album(i), Composer(i)));
        return (store, ids, data);
    }

    private VectorTable Table(string name) => VectorTable.Create(_pg.ConnectionString, name);

    private T Sql<T>(string sql) => _pg.Scalar<T>(sql);

    private static NeighborFinder ExactFinder(ArtifactStore store)
    {
        IndexBuilder.Write(store, IndexBuilder.Build(store, new IndexBuildOptions { Kind = IndexKind.Flat, RecallSampleSize = 0 }));
        return NeighborFinder.Open(store);
    }

    [Fact]
    public void Published_tracks_agree_with_exact_search_in_top_5_with_and_without_filters_and_never_return_the_query()
    {
        using var tmp = new TempDir();
        var (store, ids, _) = Artifacts(tmp);
        using (var table = Table("agree"))
        {
            var r = VectorPublisher.Publish(store, table, new VectorPublishOptions { BatchSize = 128 });
            Assert.Equal((600, 600, 0, 0, true), (r.Tracks, r.Inserted, r.Updated, r.Deleted, r.IndexBuilt));
        }
        var exact = ExactFinder(store);
        using var db = VectorStoreFinder.Open(_pg.ConnectionString, "agree");
        Assert.Equal((600, Dim, "test"), (db.Count, db.Dimension, db.Model));
        Assert.Equal(new[] { "Chopin", "Liszt", "Rachmaninoff", "Scriabin" }, db.Composers);

        var queries = new (string Name, NeighborQuery Query)[]
        {
            ("plain", new NeighborQuery { K = 5 }),
            ("composer", new NeighborQuery { K = 5, Composers = new[] { "liszt" } }),
            ("composer+album", new NeighborQuery { K = 5, Composers = new[] { "Chopin", "Scriabin" }, ExcludeSameAlbum = true }),
        };
        foreach (var (name, q) in queries)
        {
            int agree = 0, total = 0;
            foreach (string id in ids)
            {
                var got = db.ByTrackId(id, q);
                var want = exact.ByTrackId(id, new NeighborQuery { K = q.K, Exact = true, Composers = q.Composers, ExcludeSameAlbum = q.ExcludeSameAlbum });
                Assert.Equal(5, got.Count); // filtered queries still return K rows (iterative scan)
                Assert.DoesNotContain(got, x => x.TrackId == id);
                Assert.All(got, x => Assert.Equal(id, x.QueryTrackId));
                Assert.Equal(new[] { 1, 2, 3, 4, 5 }, got.Select(x => x.NeighborRank));
                if (q.Composers is not null) Assert.All(got, x => Assert.Contains(x.Composer, q.Composers, StringComparer.OrdinalIgnoreCase));
                if (q.ExcludeSameAlbum) Assert.All(got, x => Assert.NotEqual(Album(Array.IndexOf(ids, id)), x.AlbumId));
                for (int i = 0; i < 5; i++) if (got[i].TrackId == want[i].TrackId) agree++;
                total += 5;
                Assert.Equal(want[0].Similarity, got[0].Similarity, 4);
            }
            double share = (double)agree / total;
            _out.WriteLine($"{name}: top-5 positions equal to exact search: {agree}/{total} = {share:P2}");
            Assert.True(share >= 0.98, $"{name}: pgvector's top 5 agree with exact search in {share:P2} of positions (need 98%).");
        }
        var one = db.ByTrackId("t00007", new NeighborQuery { K = 3 })[0];
        Assert.Equal((Album(Array.IndexOf(ids, one.TrackId)), "Title " + one.TrackId), (one.AlbumId, one.Title));
    }

    [Fact]
    public void A_second_run_changes_nothing()
    {
        using var tmp = new TempDir();
        var (store, _, _) = Artifacts(tmp, 300);
        using var table = Table("rerun");
        VectorPublisher.Publish(store, table, new VectorPublishOptions());
        var stamp = Sql<DateTime>("SELECT max(updated_at) FROM rerun");
        var published = Sql<DateTime>("SELECT published_at FROM mess_vector_meta WHERE table_name = 'rerun'");
        var again = VectorPublisher.Publish(store, table, new VectorPublishOptions());
        Assert.Equal((300, 0, 0, 0, 300, false), (again.Tracks, again.Inserted, again.Updated, again.Deleted, again.Unchanged, again.IndexBuilt));
        Assert.Equal(300L, Sql<long>("SELECT count(*) FROM rerun"));
        Assert.Equal(stamp, Sql<DateTime>("SELECT max(updated_at) FROM rerun"));
        Assert.Equal(published, Sql<DateTime>("SELECT published_at FROM mess_vector_meta WHERE table_name = 'rerun'"));
    }

    [Fact]
    public void Removed_and_changed_tracks_are_followed_and_the_metadata_table_records_the_new_set()
    {
        using var tmp = new TempDir();
        var (store, ids, data) = Artifacts(tmp, 200);
        using var table = Table("follow");
        VectorPublisher.Publish(store, table, new VectorPublishOptions { BatchSize = 64 });
        var before = Sql<DateTime>("SELECT max(updated_at) FROM follow");

        // Remove t00003 and t00150, change t00010's vector (use t00011's), keep the rest.
        var keep = Enumerable.Range(0, ids.Length).Where(i => i != 3 && i != 150).ToArray();
        var newIds = keep.Select(i => ids[i]).ToArray();
        var newData = keep.SelectMany(i => data.AsSpan((i == 10 ? 11 : i) * Dim, Dim).ToArray()).ToArray();
        Directory.Delete(store.EmbeddingsDir, true);
        store = IndexTestData.WriteStore(store.Root, newIds, newData, Dim, i => (Album(keep[i]), Composer(keep[i])));

        var r = VectorPublisher.Publish(store, table, new VectorPublishOptions { BatchSize = 64 });
        Assert.Equal((198, 0, 1, 2, 197), (r.Tracks, r.Inserted, r.Updated, r.Deleted, r.Unchanged));
        Assert.Equal(198L, Sql<long>("SELECT count(*) FROM follow"));
        Assert.Equal(0L, Sql<long>("SELECT count(*) FROM follow WHERE track_id IN ('t00003', 't00150')"));
        Assert.Equal(1L, Sql<long>($"SELECT count(*) FROM follow WHERE updated_at > '{before:O}'::timestamptz"));
        Assert.Equal("t00010", Sql<string>($"SELECT track_id FROM follow WHERE updated_at > '{before:O}'::timestamptz"));
        Assert.Equal(0.0, Sql<double>("SELECT (a.embedding <=> b.embedding) FROM follow a, follow b WHERE a.track_id = 't00010' AND b.track_id = 't00011'"), 6);
        Assert.Equal(r.EmbeddingsSha256, Sql<string>("SELECT embeddings_sha256 FROM mess_vector_meta WHERE table_name = 'follow'"));
        Assert.Equal(198, Sql<int>("SELECT track_count FROM mess_vector_meta WHERE table_name = 'follow'"));
    }

    [Fact]
    public void A_table_of_another_dimension_or_model_is_an_error_naming_both_and_nothing_is_written()
    {
        using var tmp = new TempDir();
        var (store, _, _) = Artifacts(tmp, 50);
        using var table = Table("shape");
        VectorPublisher.Publish(store, table, new VectorPublishOptions());

        using var other = new TempDir();
        var (store16, _, _) = Artifacts(other, 40, dim: 16);
        var ex = Assert.Throws<MessException>(() => VectorPublisher.Publish(store16, table, new VectorPublishOptions()));
        Assert.Equal("VectorTableMismatch", ex.ErrorId);
        Assert.Contains("32-dimensional", ex.Message);
        Assert.Contains("16-dimensional", ex.Message);
        Assert.Contains("'shape'", ex.Message);

        using var third = new TempDir();
        var (storeB, ids, data) = Artifacts(third, 40);
        new Core.Embedding.EmbeddingMatrix(ids, data, Dim).Save(storeB, new Core.Embedding.EmbeddingsMeta { Model = "msd-musicnn-1" });
        ex = Assert.Throws<MessException>(() => VectorPublisher.Publish(storeB, table, new VectorPublishOptions()));
        Assert.Equal("VectorTableMismatch", ex.ErrorId);
        Assert.Contains("'test'", ex.Message);
        Assert.Contains("'msd-musicnn-1'", ex.Message);
        Assert.Equal(50L, Sql<long>("SELECT count(*) FROM shape"));
    }

    [Fact]
    public void Other_hnsw_parameters_rebuild_the_index_and_bad_ones_are_refused()
    {
        using var tmp = new TempDir();
        var (store, _, _) = Artifacts(tmp, 60);
        using var table = Table("params");
        Assert.True(VectorPublisher.Publish(store, table, new VectorPublishOptions()).IndexBuilt);
        var r = VectorPublisher.Publish(store, table, new VectorPublishOptions { M = 8, EfConstruction = 40 });
        Assert.True(r.IndexBuilt);
        Assert.Equal(0, r.Inserted + r.Updated + r.Deleted);
        Assert.Contains("m=8", Sql<string>("SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = 'params_embedding_hnsw'"));
        Assert.Equal("InvalidHnswParameter", Assert.Throws<MessException>(() => VectorPublisher.Publish(store, table, new VectorPublishOptions { M = 16, EfConstruction = 20 })).ErrorId);
        Assert.Equal("InvalidTableName", Assert.Throws<MessException>(() => VectorTable.Create(_pg.ConnectionString, "x; DROP TABLE params")).ErrorId);
    }

    [Fact]
    public async Task Readers_during_a_publish_see_the_old_version_or_the_new_one_never_a_mix()
    {
        using var tmp = new TempDir();
        var ids = IndexTestData.Ids(200);
        var v1 = IndexTestData.Clustered(200, Dim, 8, 0.5, 21);
        var v2 = IndexTestData.Clustered(200, Dim, 8, 0.5, 22);
        var store1 = IndexTestData.WriteStore(tmp["v1"], ids, v1, Dim, i => (Album(i), Composer(i)));
        var store2 = IndexTestData.WriteStore(tmp["v2"], ids, v2, Dim, i => (Album(i), Composer(i)));
        using (var table = Table("versions")) VectorPublisher.Publish(store1, table, new VectorPublishOptions { BatchSize = 20 });
        var probes = new[] { "t00000", "t00050", "t00101", "t00150" };
        string Answer(VectorStoreFinder f, string id) => string.Join(",", f.ByTrackId(id, new NeighborQuery { K = 5, Exact = true }).Select(r => r.TrackId));
        Dictionary<string, string> Expected(ArtifactStore store)
        {
            var exact = ExactFinder(store);
            return probes.ToDictionary(id => id, id => string.Join(",", exact.ByTrackId(id, new NeighborQuery { K = 5, Exact = true }).Select(r => r.TrackId)));
        }
        var old = Expected(store1);
        var fresh = Expected(store2);
        Assert.NotEqual(old.Values, fresh.Values);

        int answers = 0, mixed = 0;
        var failures = new List<string>();
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(() =>
        {
            using var db = VectorStoreFinder.Open(_pg.ConnectionString, "versions");
            while (!stop.IsCancellationRequested)
                foreach (string id in probes)
                {
                    try
                    {
                        string a = Answer(db, id);
                        answers++;
                        if (a != old[id] && a != fresh[id]) mixed++;
                    }
                    catch (MessException ex) { failures.Add(ex.Message); }
                }
        });
        Thread.Sleep(300);
        int during = 0;
        using (var table = Table("versions"))
            VectorPublisher.Publish(store2, table, new VectorPublishOptions { BatchSize = 20 }, progress: _ => during = answers);
        Thread.Sleep(300);
        stop.Cancel();
        await reader;
        _out.WriteLine($"{answers} answers, {during} of them before the last progress report, {mixed} of neither version, {failures.Count} errors");
        Assert.True(during > 0, "the reader ran while the publish wrote");
        Assert.Equal(0, mixed);
        Assert.Empty(failures);
        using var after = VectorStoreFinder.Open(_pg.ConnectionString, "versions");
        Assert.All(probes, id => Assert.Equal(fresh[id], Answer(after, id)));
    }

    [Fact]
    public void A_publish_stopped_halfway_leaves_the_old_version_answering_and_the_meta_row_true()
    {
        using var tmp = new TempDir();
        var ids = IndexTestData.Ids(120);
        var store1 = IndexTestData.WriteStore(tmp["v1"], ids, IndexTestData.Clustered(120, Dim, 8, 0.5, 31), Dim, i => (Album(i), Composer(i)));
        var store2 = IndexTestData.WriteStore(tmp["v2"], ids, IndexTestData.Clustered(120, Dim, 8, 0.5, 32), Dim, i => (Album(i), Composer(i)));
        using var table = Table("halfway");
        var first = VectorPublisher.Publish(store1, table, new VectorPublishOptions { BatchSize = 15 });
        string digests = Sql<string>("SELECT string_agg(digest, ',' ORDER BY track_id) FROM halfway");
        using var cancel = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => VectorPublisher.Publish(store2, table, new VectorPublishOptions { BatchSize = 15 },
            progress: p => { if (p.Phase.StartsWith("Writing", StringComparison.Ordinal) && p.Done >= 45) cancel.Cancel(); }, cancellationToken: cancel.Token));
        Assert.Equal(digests, Sql<string>("SELECT string_agg(digest, ',' ORDER BY track_id) FROM halfway"));
        Assert.Equal(first.EmbeddingsSha256, Sql<string>("SELECT embeddings_sha256 FROM mess_vector_meta WHERE table_name = 'halfway'"));
        var done = VectorPublisher.Publish(store2, table, new VectorPublishOptions { BatchSize = 15 });
        Assert.Equal((120, 0, 120), (done.Tracks, done.Inserted, done.Updated));
        Assert.Equal(done.EmbeddingsSha256, Sql<string>("SELECT embeddings_sha256 FROM mess_vector_meta WHERE table_name = 'halfway'"));
        Assert.Equal(0L, Sql<long>("SELECT count(*) FROM pg_class WHERE relname = 'halfway_next'"));
        Assert.Equal(1L, Sql<long>("SELECT count(*) FROM pg_class WHERE relname = 'halfway_embedding_hnsw'"));
    }

    [Theory]
    [InlineData(48, true)]
    [InlineData(49, false)]
    [InlineData(70, false)]
    public void Table_names_are_checked_against_PostgreSQLs_63_bytes_with_every_derived_name(int length, bool ok)
    {
        string name = "t" + new string('a', length - 1);
        if (ok)
        {
            using var tmp = new TempDir();
            var (store, _, _) = Artifacts(tmp, 30);
            using var table = Table(name);
            VectorPublisher.Publish(store, table, new VectorPublishOptions());
            Assert.Equal(30L, Sql<long>($"SELECT count(*) FROM \"{name}\""));
            Assert.Equal(1L, Sql<long>($"SELECT count(*) FROM mess_vector_meta WHERE table_name = '{name}'"));
            VectorPublisher.Publish(IndexTestData.WriteStore(tmp["b"], IndexTestData.Ids(31), IndexTestData.Clustered(31, Dim, 4, 0.5, 9), Dim, i => (Album(i), Composer(i))),
                table, new VectorPublishOptions());
            Assert.Equal(31L, Sql<long>($"SELECT count(*) FROM \"{name}\""));
        }
        else
        {
            var ex = Assert.Throws<MessException>(() => Table(name));
            Assert.Equal("InvalidTableName", ex.ErrorId);
            Assert.Contains("48", ex.Message);
        }
    }

    [Fact]
    public void Unknown_ids_suggest_close_ones_and_K_is_checked()
    {
        using var tmp = new TempDir();
        var (store, _, _) = Artifacts(tmp, 40);
        using (var table = Table("lookup")) VectorPublisher.Publish(store, table, new VectorPublishOptions());
        using var db = VectorStoreFinder.Open(_pg.ConnectionString, "lookup");
        var ex = Assert.ThrowsAny<MessException>(() => db.ByTrackId("t00001x", new NeighborQuery()));
        Assert.Equal("UnknownTrackId", ex.ErrorId);
        Assert.Contains("'t00001'", ex.Message);
        Assert.Equal("KOutOfRange", Assert.ThrowsAny<MessException>(() => db.ByTrackId("t00001", new NeighborQuery { K = 41 })).ErrorId);
        Assert.Equal(39, db.ByTrackId("t00001", new NeighborQuery { K = 39, Exact = true }).Count);
        Assert.Equal("VectorTableMissing", Assert.Throws<MessException>(() => VectorStoreFinder.Open(_pg.ConnectionString, "nope")).ErrorId);
    }
}

/// <summary>PostgreSQL 15 without pgvector: the extension missing, and a wrong password that is never echoed.</summary>
public class VectorStoreWithoutExtensionTests : IClassFixture<VectorStoreWithoutExtensionTests.Server>
{
    public sealed class Server : IDisposable
    {
        public PostgresServer Pg { get; } = new();
        public void Dispose() => Pg.Dispose();
    }

    private readonly PostgresServer _pg;
    public VectorStoreWithoutExtensionTests(Server s) => _pg = s.Pg;

    [Fact]
    public void A_server_without_the_vector_extension_is_one_error_saying_so()
    {
        using var tmp = new TempDir();
        var store = IndexTestData.WriteStore(tmp["art"], IndexTestData.Ids(5), IndexTestData.Clustered(5, 8, 2, 0.3, 1), 8);
        using var table = VectorTable.Create(_pg.ConnectionString, null);
        var ex = Assert.Throws<MessException>(() => VectorPublisher.Publish(store, table, new VectorPublishOptions()));
        Assert.Equal(("VectorExtensionMissing", MessErrorKind.NotInstalled), (ex.ErrorId, ex.Kind));
        Assert.Contains("no 'vector' extension", ex.Message);
        Assert.Equal("VectorExtensionMissing", Assert.Throws<MessException>(() => VectorStoreFinder.Open(_pg.ConnectionString, null)).ErrorId);
    }

    [Fact]
    public void A_wrong_password_fails_without_echoing_it_in_key_value_or_uri_form()
    {
        using var tmp = new TempDir();
        var store = IndexTestData.WriteStore(tmp["art"], IndexTestData.Ids(5), IndexTestData.Clustered(5, 8, 2, 0.3, 1), 8);
        const string wrong = "Wr0ng-Secret-991";
        foreach (string cs in new[]
                 {
                     _pg.ConnectionString.Replace(PostgresServer.Password, wrong),
                     $"postgres://{PostgresServer.User}:{wrong}@127.0.0.1:{_pg.Port}/postgres",
                 })
        {
            using var table = VectorTable.Create(cs, null);
            var ex = Assert.Throws<MessException>(() => VectorPublisher.Publish(store, table, new VectorPublishOptions()));
            Assert.Equal(("VectorStoreConnectFailed", MessErrorKind.ConnectionError), (ex.ErrorId, ex.Kind));
            Assert.Contains($"127.0.0.1:{_pg.Port}/postgres", ex.Message);
            Assert.DoesNotContain(wrong, ex.Message + ex.Target + ex.InnerException?.Message);
            Assert.DoesNotContain(PostgresServer.Password, ex.Message);
        }
        using var right = VectorTable.Create(_pg.ConnectionStringWithoutPassword, null, PostgresServer.User, wrong);
        Assert.Equal("VectorStoreConnectFailed", Assert.Throws<MessException>(() => right.Open()).ErrorId);
    }
}
