using System.Text;
using MessTools.Core.Catalog;
using MessTools.Core.Common;

namespace MessTools.Tests.Unit.Catalog;

public class MetadataExporterTests
{
    private static List<ExportItem> Export(ICatalogSource source, ColumnMap? map = null, ComposerNormalizer? n = null)
    {
        using (source) return new MetadataExporter(map, n).Read(source).ToList();
    }

    [Fact]
    public void Sqlite_table_exports_normalised_tracks_in_order()
    {
        using var tmp = new TempDir();
        var db = CatalogTestData.CreateSqlite(tmp["c.sqlite"], new[]
        {
            CatalogTestData.Row("chopin-op28-4", "Chopin,  Frédéric"),
            CatalogTestData.Row("liszt-s139-1", "Liszt", "s139"),
        });
        var items = Export(CatalogSourceFactory.OpenFile(db, "tracks", null));
        Assert.All(items, i => Assert.Null(i.Error));
        var t = items[0].Track!;
        Assert.Equal(("chopin-op28-4", "op28", 1, "Frédéric Chopin", "s3://bucket/op28/chopin-op28-4.wav", 61.5),
            (t.TrackId, t.AlbumId, t.TrackNo!.Value, t.Composer, t.AudioUri, t.DurationSec!.Value));
        Assert.Equal("liszt-s139-1", items[1].Track!.TrackId);
    }

    [Fact]
    public void Query_and_quoted_schema_table_are_supported_and_injection_is_refused()
    {
        using var tmp = new TempDir();
        var db = CatalogTestData.CreateSqlite(tmp["c.sqlite"], new[] { CatalogTestData.Row("a"), CatalogTestData.Row("b", "Liszt") });
        var items = Export(CatalogSourceFactory.OpenFile(db, null, "SELECT * FROM tracks WHERE composer = 'Liszt'"));
        Assert.Equal("b", Assert.Single(items).Track!.TrackId);
        Assert.Single(Export(CatalogSourceFactory.OpenFile(db, "main.tracks", null)), i => i.Track?.TrackId == "a");
        var ex = Assert.Throws<MessException>(() => CatalogSourceFactory.OpenFile(db, "tracks; DROP TABLE tracks", null));
        Assert.Equal("InvalidTableName", ex.ErrorId);
    }

    [Fact]
    public void Empty_table_yields_nothing()
    {
        using var tmp = new TempDir();
        var db = CatalogTestData.CreateSqlite(tmp["c.sqlite"], Array.Empty<object?[]>());
        Assert.Empty(Export(CatalogSourceFactory.OpenFile(db, "tracks", null)));
    }

    [Fact]
    public void Missing_required_column_is_named()
    {
        using var tmp = new TempDir();
        var db = CatalogTestData.CreateSqlite(tmp["c.sqlite"], new[] { new object?[] { "a", "al", "x.wav" } }, columns: new[] { "track_id", "album_id", "audio_s3_key" });
        using var source = CatalogSourceFactory.OpenFile(db, "tracks", null);
        var ex = Assert.Throws<MessException>(() => new MetadataExporter().Read(source).ToList());
        Assert.Equal("RequiredColumnMissing", ex.ErrorId);
        Assert.Equal("composer", ex.Target);
        Assert.Contains("'composer'", ex.Message);
    }

    [Fact]
    public void Column_map_and_common_aliases_find_differently_named_columns()
    {
        using var tmp = new TempDir();
        var db = CatalogTestData.CreateSqlite(tmp["c.sqlite"], new[] { new object?[] { "7", "al", "Grieg", "a/b.flac", "12" } },
            columns: new[] { "id", "album", "author", "s3_path", "duration" });
        var map = new ColumnMap(new Dictionary<string, string> { ["composer"] = "author", ["audio_s3_key"] = "s3_path" });
        var t = Assert.Single(Export(CatalogSourceFactory.OpenFile(db, "tracks", null), map)).Track!;
        Assert.Equal(("7", "al", "Grieg", "a/b.flac", 12.0), (t.TrackId, t.AlbumId, t.Composer, t.AudioUri, t.DurationSec!.Value));
        Assert.Equal("MappedColumnMissing", Assert.Throws<MessException>(() =>
            new MetadataExporter(new ColumnMap(new Dictionary<string, string> { ["composer"] = "nope" })).Read(CatalogSourceFactory.OpenFile(db, "tracks", null)).ToList()).ErrorId);
        Assert.Equal("UnknownMappedColumn", Assert.Throws<MessException>(() => new ColumnMap(new Dictionary<string, string> { ["colour"] = "x" })).ErrorId);
    }

    [Fact]
    public void Bad_rows_are_errors_naming_the_row_and_good_rows_go_on()
    {
        using var tmp = new TempDir();
        var db = CatalogTestData.CreateSqlite(tmp["c.sqlite"], new[]
        {
            CatalogTestData.Row("ok-1"),
            new object?[] { "no-composer", "al", "1", "t", null, "k.wav", "1" },
            CatalogTestData.Row("ok-1", "Liszt"),                       // duplicate of row 1
            CatalogTestData.Row("../../etc/passwd"),
            new object?[] { "bad-no", "al", "three", "t", "Bach", "k.wav", "1" },
            new object?[] { "bad-dur", "al", "1", "t", "Bach", "k.wav", "-4" },
            new object?[] { "no-album", " ", "1", "t", "Bach", "k.wav", "1" },
            new object?[] { "no-audio", "al", "1", "t", "Bach", "", "1" },
            new object?[] { "", "al", "1", "t", "Bach", "k.wav", "1" },
            CatalogTestData.Row("ok-2", "Haydn"),
        });
        var items = Export(CatalogSourceFactory.OpenFile(db, "tracks", null));
        Assert.Equal(10, items.Count);
        Assert.Equal(new[] { "ok-1", "ok-2" }, items.Where(i => i.Track is not null).Select(i => i.Track!.TrackId));
        var errors = items.Where(i => i.Error is not null).ToDictionary(i => i.RowNumber, i => i.Error!);
        Assert.Equal("MissingComposer", errors[2].ErrorId);
        Assert.Equal("DuplicateTrackId", errors[3].ErrorId);
        Assert.Contains("row 1", errors[3].Message);
        Assert.Contains("Row 3", errors[3].Message);
        Assert.Equal("UnsafeTrackId", errors[4].ErrorId);
        Assert.Contains("../../etc/passwd", errors[4].Message);
        Assert.Equal("InvalidTrackNo", errors[5].ErrorId);
        Assert.Equal("InvalidDuration", errors[6].ErrorId);
        Assert.Equal("MissingAlbumId", errors[7].ErrorId);
        Assert.Equal("MissingAudioKey", errors[8].ErrorId);
        Assert.Equal("MissingTrackId", errors[9].ErrorId);
        Assert.All(errors, e => Assert.Contains($"row {e.Key}", e.Value.Message, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Invalid_utf8_in_sqlite_text_is_a_row_error()
    {
        using var tmp = new TempDir();
        var db = CatalogTestData.CreateSqlite(tmp["c.sqlite"], new[] { CatalogTestData.Row("good") });
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + db))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            // 0xC3 0x28 is an invalid two-byte sequence, stored as TEXT.
            cmd.CommandText = "INSERT INTO tracks VALUES ('bad-utf8', 'al', '1', CAST(x'4368c328' AS TEXT), 'Chopin', 'k.wav', '1')";
            cmd.ExecuteNonQuery();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var items = Export(CatalogSourceFactory.OpenFile(db, "tracks", null));
        Assert.Equal("good", items[0].Track!.TrackId);
        Assert.Equal("InvalidText", items[1].Error!.ErrorId);
        Assert.Contains("title", items[1].Error!.Message);
    }

    [Fact]
    public void Csv_catalogue_with_invalid_utf8_and_short_rows()
    {
        using var tmp = new TempDir();
        var bytes = new List<byte>();
        bytes.AddRange(Encoding.UTF8.GetBytes("track_id,album_id,composer,audio_path\nt1,a,Chopin,x.wav\nt2,a,Ch"));
        bytes.AddRange(new byte[] { 0xFF, 0xFE });
        bytes.AddRange(Encoding.UTF8.GetBytes("pin,y.wav\nt3,a\nt4,a,\"Grieg, Edvard\",z.wav\n"));
        File.WriteAllBytes(tmp["c.csv"], bytes.ToArray());
        var items = Export(CatalogSourceFactory.OpenFile(tmp["c.csv"], null, null));
        Assert.Equal("t1", items[0].Track!.TrackId);
        Assert.Equal("InvalidText", items[1].Error!.ErrorId);
        Assert.Equal("MalformedRow", items[2].Error!.ErrorId);
        Assert.Equal("Edvard Grieg", items[3].Track!.Composer);
        Assert.Equal("z.wav", items[3].Track!.AudioUri);
    }

    [Fact]
    public void Csv_with_table_and_non_sqlite_db_file_are_refused()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["c.csv"], "track_id\n");
        Assert.Equal("CsvTakesNoTable", Assert.Throws<MessException>(() => CatalogSourceFactory.OpenFile(tmp["c.csv"], "tracks", null)).ErrorId);
        File.WriteAllText(tmp["fake.sqlite"], "not a database");
        Assert.Equal("NotASqliteFile", Assert.Throws<MessException>(() => CatalogSourceFactory.OpenFile(tmp["fake.sqlite"], "tracks", null)).ErrorId);
        Assert.Equal("CatalogFileNotFound", Assert.Throws<MessException>(() => CatalogSourceFactory.OpenFile(tmp["none.csv"], null, null)).ErrorId);
        File.WriteAllText(tmp["empty.csv"], "");
        Assert.Equal("CatalogEmptyFile", Assert.Throws<MessException>(() => CatalogSourceFactory.OpenFile(tmp["empty.csv"], null, null)).ErrorId);
    }

    [Theory]
    [InlineData("=cmd|' /C calc'!A0")]
    [InlineData("+1+1")]
    [InlineData("-2+3")]
    [InlineData("@SUM(A1)")]
    [InlineData("'=already quoted")]
    [InlineData("'plain apostrophe")]
    [InlineData("''=x")]
    [InlineData("Normal title")]
    public void Formula_escaping_round_trips(string title)
    {
        string escaped = MetadataCsv.EscapeFormula(title);
        Assert.False(escaped.Length > 0 && "=+-@\t\r".Contains(escaped[0]), "a spreadsheet would run " + escaped);
        Assert.Equal(title, MetadataCsv.UnescapeFormula(escaped));
    }

    [Fact]
    public void Metadata_csv_is_written_escaped_and_reads_back_identically()
    {
        using var tmp = new TempDir();
        var tracks = new[]
        {
            new MessTrack { TrackId = "t1", AlbumId = "a", TrackNo = 2, Title = "=cmd|' /C calc'!A0", Composer = "Chopin", AudioUri = "s3://b/k, with comma.wav", DurationSec = 12.25 },
            new MessTrack { TrackId = "t2", AlbumId = "a", Title = "Comma, \"quoted\"", Composer = "Frédéric Chopin", AudioUri = "x.wav" },
        };
        using (var w = new MetadataCsv.Writer(tmp["m.csv"]))
        {
            foreach (var t in tracks) w.Write(t);
            w.Commit();
        }
        string text = File.ReadAllText(tmp["m.csv"]);
        Assert.StartsWith("track_id,album_id,track_no,title,composer,audio_s3_key,duration_sec\n", text);
        Assert.Contains("'=cmd", text);
        var back = MetadataCsv.Read(tmp["m.csv"]).ToList();
        Assert.Equal(tracks.Select(t => (t.TrackId, t.AlbumId, t.TrackNo, t.Title, t.Composer, t.AudioUri, t.DurationSec)),
            back.Select(t => (t.TrackId, t.AlbumId, t.TrackNo, t.Title, t.Composer, t.AudioUri, t.DurationSec)));
    }

    [Fact]
    public void A_writer_disposed_without_commit_leaves_no_file()
    {
        using var tmp = new TempDir();
        using (var w = new MetadataCsv.Writer(tmp["m.csv"])) w.Write(new MessTrack { TrackId = "t", AlbumId = "a", Composer = "c", AudioUri = "u" });
        Assert.False(File.Exists(tmp["m.csv"]));
        Assert.Empty(Directory.GetFiles(tmp.Path));
    }

    [Fact]
    public void Hundred_thousand_rows_stream_through()
    {
        using var tmp = new TempDir();
        var db = CatalogTestData.CreateSqlite(tmp["big.sqlite"],
            Enumerable.Range(0, 100_000).Select(i => CatalogTestData.Row($"t{i:D6}", i % 7 == 0 ? "Mozart" : "Chopin", $"al{i / 10}")));
        long count = 0, mozart = 0;
        using (var source = CatalogSourceFactory.OpenFile(db, "tracks", null))
        using (var w = new MetadataCsv.Writer(tmp["m.csv"]))
        {
            foreach (var item in new MetadataExporter().Read(source))
            {
                Assert.Null(item.Error);
                w.Write(item.Track!);
                count++;
                if (item.Track!.Composer == "Mozart") mozart++;
            }
            w.Commit();
        }
        Assert.Equal(100_000, count);
        Assert.Equal(14_286, mozart);
        Assert.Equal(100_001, File.ReadLines(tmp["m.csv"]).Count());
    }
}
