using MessTools.Core.Artifacts;
using MessTools.Core.Catalog;
using MessTools.Core.Index;
using MessTools.Core.Jobs;
using MessTools.Tests.Infrastructure;
using MessTools.Tests.Unit.Jobs;
using Xunit;

namespace MessTools.Tests.Unit.Index;

/// <summary>index/track_table.bin: the metadata's served columns in binary, trusted only while the CSV is unchanged.</summary>
public sealed class TrackTableFileTests
{
    private static readonly MessTrack[] Tracks =
    {
        new() { TrackId = "t1", AlbumId = "a1", Title = "Ballade, \"No. 1\"", Composer = "Chopin", AudioUri = "s3://b/1.wav" },
        new() { TrackId = "=t2", AlbumId = "+a2", Title = "-Line, break", Composer = "Dvořák", AudioUri = "s3://b/2.wav" },
        new() { TrackId = "t3", AlbumId = "a1", Title = null, Composer = "Chopin", AudioUri = "s3://b/3.wav" },
        new() { TrackId = "日本-4", AlbumId = "アルバム", Title = "Étude 🎹", Composer = "Satie", AudioUri = "s3://b/4.wav" },
    };

    private static ArtifactStore StoreWith(TempDir tmp, IEnumerable<MessTrack> tracks)
    {
        var store = new ArtifactStore(tmp.Path);
        Directory.CreateDirectory(store.MetadataDir);
        using var w = new MetadataCsv.Writer(store.MetadataCsv);
        foreach (var t in tracks) w.Write(t);
        w.Commit();
        return store;
    }

    private static void AssertSameRows(TrackInfoTable expected, TrackInfoTable actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int row = 0; row < expected.Count; row++)
        {
            Assert.Equal(expected.TrackId(row), actual.TrackId(row));
            Assert.True(actual.TryGetRow(expected.TrackId(row), out int r));
            Assert.Equal(row, r);
            Assert.Equal(expected.AlbumId(row), actual.AlbumId(row));
            Assert.Equal(expected.Title(row), actual.Title(row));
            Assert.Equal(expected.Composer(row), actual.Composer(row));
        }
    }

    [Fact]
    public void The_table_gives_exactly_the_rows_the_csv_gives_and_is_used_while_the_csv_is_unchanged()
    {
        using var tmp = new TempDir();
        var store = StoreWith(tmp, Tracks);
        Assert.Equal("csv", TrackInfoTable.Load(store)!.Source);
        Assert.Null(TrackInfoTable.WriteTable(store));
        var fromTable = TrackInfoTable.Load(store)!;
        Assert.Equal("table", fromTable.Source);
        AssertSameRows(TrackInfoTable.Read(store.MetadataCsv), fromTable);
        Assert.Equal("", fromTable.Title(2));
        Assert.Equal("Étude 🎹", fromTable.Title(3));
    }

    [Fact]
    public void The_same_csv_gives_the_same_bytes()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var sa = StoreWith(a, Tracks);
        var sb = StoreWith(b, Tracks);
        TrackInfoTable.WriteTable(sa);
        TrackInfoTable.WriteTable(sb);
        Assert.Equal(File.ReadAllBytes(sa.TrackTableFile), File.ReadAllBytes(sb.TrackTableFile));
    }

    [Fact]
    public void A_csv_changed_after_the_table_is_read_from_the_csv()
    {
        using var tmp = new TempDir();
        var store = StoreWith(tmp, Tracks);
        TrackInfoTable.WriteTable(store);
        byte[] table = File.ReadAllBytes(store.TrackTableFile);
        // One title changed, same length: only the content tells.
        var changed = Tracks.Select(t => t.TrackId == "t1"
            ? new MessTrack { TrackId = t.TrackId, AlbumId = t.AlbumId, Title = "Ballade, \"No. 2\"", Composer = t.Composer, AudioUri = t.AudioUri }
            : t).ToArray();
        StoreWith(tmp, changed);
        Assert.Equal(table, File.ReadAllBytes(store.TrackTableFile));
        var loaded = TrackInfoTable.Load(store)!;
        Assert.Equal("csv", loaded.Source);
        Assert.Equal("Ballade, \"No. 2\"", loaded.Title(0));
        Assert.Null(TrackTableFile.TryRead(store.TrackTableFile, TrackTableFile.FingerprintFile(store.MetadataCsv), out string why));
        Assert.Contains("CSV changed", why);
        // Writing it again brings it up to date.
        Assert.Null(TrackInfoTable.WriteTable(store));
        Assert.Equal("table", TrackInfoTable.Load(store)!.Source);
        Assert.Equal("Ballade, \"No. 2\"", TrackInfoTable.Load(store)!.Title(0));
    }

    [Theory]
    [InlineData("flip")]
    [InlineData("truncate")]
    [InlineData("foreign")]
    [InlineData("empty")]
    public void A_damaged_or_foreign_table_is_ignored_for_the_csv(string damage)
    {
        using var tmp = new TempDir();
        var store = StoreWith(tmp, Tracks);
        TrackInfoTable.WriteTable(store);
        byte[] bytes = File.ReadAllBytes(store.TrackTableFile);
        byte[] bad = damage switch
        {
            "flip" => bytes.Select((b, i) => i == bytes.Length / 2 ? (byte)(b ^ 0x20) : b).ToArray(),
            "truncate" => bytes[..^9],
            "foreign" => "track_id,album_id\n"u8.ToArray(),
            _ => Array.Empty<byte>(),
        };
        File.WriteAllBytes(store.TrackTableFile, bad);
        Assert.Null(TrackTableFile.TryRead(store.TrackTableFile, TrackTableFile.FingerprintFile(store.MetadataCsv), out string why));
        Assert.NotEqual("", why);
        var loaded = TrackInfoTable.Load(store)!;
        Assert.Equal("csv", loaded.Source);
        AssertSameRows(TrackInfoTable.Read(store.MetadataCsv), loaded);
    }

    [Fact]
    public void A_malformed_or_missing_csv_leaves_no_table()
    {
        using var tmp = new TempDir();
        var store = StoreWith(tmp, Tracks);
        TrackInfoTable.WriteTable(store);
        Assert.True(File.Exists(store.TrackTableFile));
        File.WriteAllText(store.MetadataCsv, "album_id,composer\na1,Chopin\n");
        Assert.Contains("track_id", TrackInfoTable.WriteTable(store));
        Assert.False(File.Exists(store.TrackTableFile));
        Assert.Equal("MetadataMalformed", Assert.Throws<MessTools.Core.Common.MessException>(() => TrackInfoTable.Load(store)).ErrorId);
        StoreWith(tmp, Tracks);
        TrackInfoTable.WriteTable(store);
        File.Delete(store.MetadataCsv);
        Assert.Contains("does not exist", TrackInfoTable.WriteTable(store));
        Assert.False(File.Exists(store.TrackTableFile));
        Assert.Null(TrackInfoTable.Load(store));
    }

    [Fact]
    public void New_MessIndex_writes_the_table_and_the_finder_answers_from_it()
    {
        using var tmp = new TempDir();
        int dim = 16, n = 120;
        var data = IndexTestData.Clustered(n, dim, 4, 0.6, seed: 3);
        var ids = IndexTestData.Ids(n);
        var store = IndexTestData.WriteStore(tmp.Path, ids, data.ToArray(), dim, i => ($"alb{i / 10}", i % 2 == 0 ? "Chopin" : "Liszt"));
        Assert.NotNull(IndexJob.Run(new IndexRequest { Store = store, Options = new IndexBuildOptions { RecallSampleSize = 0 } }, new RecordingJobHost()));
        Assert.True(File.Exists(store.TrackTableFile));
        Assert.Equal("table", TrackInfoTable.Load(store)!.Source);
        var res = NeighborFinder.Open(store).ByTrackId(ids[4], new NeighborQuery { K = 3, Composers = new[] { "liszt" } });
        Assert.All(res, r => Assert.Equal("Liszt", r.Composer));
        Assert.Equal("Title " + res[0].TrackId, res[0].Title);

        // -WhatIf writes nothing; a run over an unchanged index still brings a stale table up to date.
        File.Delete(store.TrackTableFile);
        Assert.Null(IndexJob.Run(new IndexRequest { Store = store }, new RecordingJobHost { WhatIf = true }));
        Assert.False(File.Exists(store.TrackTableFile));
        IndexJob.Run(new IndexRequest { Store = store, Options = new IndexBuildOptions { RecallSampleSize = 0 } }, new RecordingJobHost());
        Assert.Equal("table", TrackInfoTable.Load(store)!.Source);
    }

    [Fact]
    public void A_table_that_cannot_be_written_warns_and_the_index_run_still_completes()
    {
        using var tmp = new TempDir();
        int dim = 8, n = 40;
        var ids = IndexTestData.Ids(n);
        var store = IndexTestData.WriteStore(tmp.Path, ids, IndexTestData.Clustered(n, dim, 2, 0.6, seed: 5).ToArray(), dim, i => ("alb", "Chopin"));
        Directory.CreateDirectory(store.TrackTableFile); // a folder where the table would go: the rename onto it fails
        var host = new RecordingJobHost();
        var info = IndexJob.Run(new IndexRequest { Store = store, Options = new IndexBuildOptions { RecallSampleSize = 0 } }, host);
        Assert.NotNull(info);
        Assert.True(File.Exists(store.HnswIndexFile));
        Assert.Contains(host.Warnings, w => w.Contains("track_table.bin could not be written", StringComparison.Ordinal));
        Assert.Equal("csv", TrackInfoTable.Load(store)!.Source);
        Assert.Equal("completed", host.Run!.Status);
    }

    [Fact]
    public void Export_MessMetadata_after_the_index_brings_the_table_up_to_date_and_a_first_export_writes_none()
    {
        using var tmp = new TempDir();
        var store = StoreWith(tmp, Tracks);
        string catalogue = tmp["catalogue.csv"];
        File.WriteAllText(catalogue, "track_id,album_id,title,composer,audio_s3_key\nt1,a1,Ballade No. 4,Chopin,s3://b/1.wav\nt9,a9,Prelude,Bach,s3://b/9.wav\n");
        void Export()
        {
            using var source = new CsvCatalogSource(catalogue);
            ExportJob.Run(new ExportRequest { Store = store }, source, new RecordingJobHost(), _ => { });
        }
        // No index yet, so no table: an export writes the CSV only.
        Export();
        Assert.False(File.Exists(store.TrackTableFile));
        // After New-MessIndex wrote a table, an export brings it up to date with the new CSV.
        TrackInfoTable.WriteTable(store);
        File.WriteAllText(catalogue, "track_id,album_id,title,composer,audio_s3_key\nt1,a1,Ballade No. 1,Chopin,s3://b/1.wav\n");
        Export();
        var loaded = TrackInfoTable.Load(store)!;
        Assert.Equal("table", loaded.Source);
        Assert.Equal(1, loaded.Count);
        Assert.Equal("Ballade No. 1", loaded.Title(0));
    }
}
