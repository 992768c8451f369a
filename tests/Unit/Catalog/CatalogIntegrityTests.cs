using System.Text;
using MessTools.Core.Artifacts;
using MessTools.Core.Catalog;
using MessTools.Core.Common;
using Microsoft.Data.Sqlite;

namespace MessTools.Tests.Unit.Catalog;

/// <summary>Issue 10, items 5 to 7: catalogue data is never silently changed on its way to tracks_metadata.csv.</summary>
public class CatalogIntegrityTests
{
    private static List<ExportItem> Export(ICatalogSource source)
    {
        using (source) return new MetadataExporter().Read(source).ToList();
    }

    private static string SqliteWithBlobs(TempDir tmp)
    {
        string db = tmp["blobs.sqlite"];
        using var c = new SqliteConnection("Data Source=" + db);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE tracks (track_id, album_id, title, composer, audio_s3_key, cover BLOB);
            INSERT INTO tracks VALUES (CAST('blob-utf8' AS BLOB), 'a', 't', CAST('Frédéric Chopin' AS BLOB), 'k1.wav', x'00FF00');
            INSERT INTO tracks VALUES ('blob-bad', 'a', 't', x'C328FF', 'k2.wav', NULL);
            INSERT INTO tracks VALUES (x'FFFE01', 'a', 't', 'Liszt', 'k3.wav', NULL);
            INSERT INTO tracks VALUES ('int-title', 'a', 42, 'Liszt', 'k4.wav', NULL);
            INSERT INTO tracks VALUES ('real-title', 'a', 0.1, 'Liszt', 'k5.wav', NULL);
            """;
        cmd.ExecuteNonQuery();
        SqliteConnection.ClearAllPools();
        return db;
    }

    [Fact]
    public void Sqlite_blobs_are_utf8_text_or_a_row_error_never_a_type_name()
    {
        using var tmp = new TempDir();
        var items = Export(CatalogSourceFactory.OpenFile(SqliteWithBlobs(tmp), "tracks", null));
        Assert.Equal(5, items.Count);
        // A valid UTF-8 BLOB is its text; an unused BLOB column (cover) does not fail the row.
        Assert.Equal("blob-utf8", items[0].Track!.TrackId);
        Assert.Equal("Frédéric Chopin", items[0].Track!.Composer);
        Assert.Equal("InvalidText", items[1].Error!.ErrorId);
        Assert.Contains("composer", items[1].Error!.Message);
        Assert.Contains("BLOB", items[1].Error!.Message);
        Assert.Equal("InvalidText", items[2].Error!.ErrorId);
        Assert.Contains("track_id", items[2].Error!.Message);
        Assert.Equal("42", items[3].Track!.Title);
        Assert.Equal("0.1", items[4].Track!.Title);
        Assert.All(items, i => Assert.DoesNotContain("System.", (i.Track?.TrackId ?? "") + i.Track?.Composer + i.Track?.Title + i.Error?.Message));
    }

    [Theory]
    [InlineData(new byte[] { 0x61, 0x62 }, "ab", null)]
    [InlineData(new byte[] { 0xEF, 0xBB, 0xBF, 0x61 }, "a", null)]
    [InlineData(new byte[] { 0xC3, 0x28 }, null, "BLOB or bytea of 2 bytes")]
    public void Bytes_become_strict_utf8_text(byte[] value, string? text, string? problem)
    {
        Assert.Equal(text, DbValueText.ToText(value, out var p));
        if (problem is null) Assert.Null(p); else Assert.Contains(problem, p);
    }

    [Fact]
    public void Every_ado_value_type_has_a_text_form_or_a_reason()
    {
        Assert.Equal("1.5", DbValueText.ToText(1.5m, out _));
        Assert.Equal("0.1", DbValueText.ToText(0.1f, out _));
        Assert.Equal("true", DbValueText.ToText(true, out _));
        Assert.Equal("2026-11-25", DbValueText.ToText(new DateOnly(2026, 11, 25), out _));
        Assert.Equal("2026-11-25T10:00:00.0000000Z", DbValueText.ToText(new DateTime(2026, 11, 25, 10, 0, 0, DateTimeKind.Utc), out _));
        Assert.Equal("00000000-0000-0000-0000-000000000001", DbValueText.ToText(new Guid("00000000-0000-0000-0000-000000000001"), out _));
        Assert.Null(DbValueText.ToText(new[] { "a", "b" }, out var arrayProblem));
        Assert.Contains("array", arrayProblem);
        Assert.Null(DbValueText.ToText(new object(), out var objectProblem));
        Assert.Contains("no text form", objectProblem);
    }

    [Fact]
    public void Identifiers_are_written_verbatim_and_round_trip_through_our_reader_and_a_re_export()
    {
        using var tmp = new TempDir();
        var tracks = new[]
        {
            new MessTrack { TrackId = "=f10", AlbumId = "+a1", Title = "=HYPERLINK(\"http://x\")", Composer = "=Chopin", AudioUri = "-k.wav" },
            new MessTrack { TrackId = "@t2", AlbumId = "a2", Title = "'=already", Composer = "-Liszt", AudioUri = "=k2.wav" },
            new MessTrack { TrackId = "'=t3", AlbumId = "a3", Title = "'plain", Composer = "Bach", AudioUri = "k3.wav" },
        };
        string first = tmp["m1.csv"], second = tmp["m2.csv"];
        using (var w = new MetadataCsv.Writer(first)) { foreach (var t in tracks) w.Write(t); w.Commit(); }
        string text = File.ReadAllText(first);
        Assert.Contains("\n=f10,+a1,,\"'=HYPERLINK", text);       // the id is verbatim, the title escaped
        Assert.Contains(",=Chopin,-k.wav,", text);
        var back = MetadataCsv.Read(first).ToList();
        Assert.Equal(tracks.Select(Key), back.Select(Key));
        // Export-MessMetadata of our own file (a CSV catalogue) gives the same bytes: nothing is escaped twice.
        using (var source = CatalogSourceFactory.OpenFile(first, null, null))
        using (var w = new MetadataCsv.Writer(second))
        {
            foreach (var item in new MetadataExporter().Read(source)) w.Write(item.Track ?? throw item.Error!);
            w.Commit();
        }
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
    }

    private static (string, string, string?, string, string) Key(MessTrack t) => (t.TrackId, t.AlbumId, t.Title, t.Composer, t.AudioUri);

    [Theory]
    [InlineData("COM\u00B9", "reserved device name")]
    [InlineData("lpt\u00B3.wav", "reserved device name")]
    [InlineData("COM1 .wav", "reserved device name")]
    [InlineData("evil\u202Evaw.exe", "bidirectional")]
    [InlineData("a\u2066b", "bidirectional")]
    [InlineData("zero\u200Bwidth", "formatting character")]
    [InlineData("line\u2028sep", "line separator")]
    public void Names_windows_or_a_reader_would_misread_are_refused(string value, string reason)
    {
        Assert.Contains(reason, SafePath.Problem(value));
        Assert.Equal("UnsafeName", Assert.Throws<MessException>(() => SafePath.RequireSegment(value, "Track id")).ErrorId);
    }

    [Fact]
    public void An_unpaired_surrogate_is_refused() => Assert.Contains("surrogate", SafePath.Problem("half\uD800"));

    [Theory]
    [InlineData("COM10")]
    [InlineData("Étude \U0001D11E")]
    [InlineData("\u05E9\u05DC\u05D5\u05DD")]
    public void Ordinary_unicode_names_stay_allowed(string value) => Assert.Null(SafePath.Problem(value));

    [Fact]
    public void Ids_differing_only_by_case_and_control_characters_in_text_are_row_errors()
    {
        using var tmp = new TempDir();
        var db = CatalogTestData.CreateSqlite(tmp["c.sqlite"], new[]
        {
            CatalogTestData.Row("t1"),
            CatalogTestData.Row("T1"),
            CatalogTestData.Row("caf\u00E9"),
            CatalogTestData.Row("cafe\u0301"),
            CatalogTestData.Row("nul-title", title: "Pre\0lude"),
            CatalogTestData.Row("tab-composer", composer: "Chopin\tF"),
            CatalogTestData.Row("bidi\u202Eid"),
            CatalogTestData.Row("COM\u00B2"),
            CatalogTestData.Row("nl-album", album: "al\nbum"),
            CatalogTestData.Row("c1-title", title: "x\u0085y"),
        });
        var items = Export(CatalogSourceFactory.OpenFile(db, "tracks", null));
        Assert.Equal("t1", items[0].Track!.TrackId);
        var collision = items[1].Error!;
        Assert.Equal("TrackIdCaseCollision", collision.ErrorId);
        Assert.Contains("'T1'", collision.Message);
        Assert.Contains("'t1' of row 1", collision.Message);
        Assert.Contains("row 2", collision.Message);
        Assert.Equal("TrackIdCaseCollision", items[3].Error!.ErrorId);
        Assert.Equal("InvalidText", items[4].Error!.ErrorId);
        Assert.Contains("title", items[4].Error!.Message);
        Assert.Contains("U+0000", items[4].Error!.Message);
        Assert.Equal("InvalidText", items[5].Error!.ErrorId);
        Assert.Contains("composer", items[5].Error!.Message);
        Assert.Equal("UnsafeTrackId", items[6].Error!.ErrorId);
        Assert.Contains("\\u202E", items[6].Error!.Message);
        Assert.Equal("UnsafeTrackId", items[7].Error!.ErrorId);
        Assert.Equal("InvalidText", items[8].Error!.ErrorId);
        Assert.Equal("InvalidText", items[9].Error!.ErrorId);
        Assert.Equal(new[] { "t1", "café" }, items.Where(i => i.Track is not null).Select(i => i.Track!.TrackId));
    }

    [Fact]
    public void A_nul_in_a_title_never_reaches_the_csv()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["c.csv"], "track_id,album_id,title,composer,audio_s3_key\nt1,a,\"Pre\0lude\",Chopin,k.wav\nt2,a,ok,Chopin,k2.wav\n");
        var items = Export(CatalogSourceFactory.OpenFile(tmp["c.csv"], null, null));
        Assert.Equal("InvalidText", items[0].Error!.ErrorId);
        Assert.Equal("t2", items[1].Track!.TrackId);
    }
}
