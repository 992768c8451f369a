using MessTools.Core.Catalog;
using MessTools.Core.Common;

namespace MessTools.Tests.Unit.Catalog;

/// <summary>Export from a real PostgreSQL 15 server on loopback (what an RDS catalogue is).</summary>
public class PostgresCatalogTests : IClassFixture<PostgresCatalogTests.Server>
{
    public sealed class Server : IDisposable
    {
        public PostgresServer Pg { get; } = new();
        public Server()
        {
            Pg.Execute("""
                CREATE SCHEMA music;
                CREATE TABLE music.tracks (id text, album_id text, track_no int, title text, composer text, s3_path text, duration_sec double precision);
                INSERT INTO music.tracks VALUES
                  ('chopin-op28-4', 'op28', 4, 'Prelude in E minor', 'Chopin, Frédéric', 's3://cat/op28/4.m4a', 125.5),
                  ('chopin-op28-7', 'op28', 7, '=HYPERLINK("x")', '  Frédéric  Chopin', 's3://cat/op28/7.m4a', 48),
                  ('rach-op3-2', 'op3', 2, 'Prelude in C# minor', 'Rachmaninov', 's3://cat/op3/2.mp3', NULL),
                  ('rach-op3-2', 'op3', 2, 'dup', 'Rachmaninoff', 's3://cat/op3/2b.mp3', NULL),
                  ('null-composer', 'op3', 9, 'x', NULL, 's3://cat/op3/9.mp3', 1);
                CREATE TABLE public.empty_tracks (track_id text, album_id text, composer text, audio_s3_key text);
                CREATE TABLE music.binary_tracks (track_id bytea, album_id text, composer bytea, audio_s3_key text, tags text[], cover bytea, added date, score numeric);
                INSERT INTO music.binary_tracks VALUES
                  (convert_to('bytea-utf8', 'UTF8'), 'a', convert_to('Frédéric Chopin', 'UTF8'), 'k1.wav', '{x,y}', '\x00ff', '2026-11-25', 1.50),
                  (convert_to('bytea-bad', 'UTF8'), 'a', '\xc328ff', 'k2.wav', NULL, NULL, NULL, NULL),
                  ('\xfffe01', 'a', convert_to('Liszt', 'UTF8'), 'k3.wav', NULL, NULL, NULL, NULL);
                """);
        }
        public void Dispose() => Pg.Dispose();
    }

    private readonly PostgresServer _pg;
    public PostgresCatalogTests(Server s) => _pg = s.Pg;

    [Fact]
    public void Exports_a_server_table_with_map_and_aliases()
    {
        var map = new ColumnMap(new Dictionary<string, string> { ["audio_s3_key"] = "s3_path" });
        var aliases = new ComposerNormalizer(new Dictionary<string, string> { ["Rachmaninov"] = "Rachmaninoff" });
        List<ExportItem> items;
        using (var source = CatalogSourceFactory.OpenConnection(_pg.ConnectionString, "music.tracks", null))
            items = new MetadataExporter(map, aliases).Read(source).ToList();
        Assert.Equal(5, items.Count);
        var good = items.Where(i => i.Track is not null).Select(i => i.Track!).ToList();
        Assert.Equal(new[] { "chopin-op28-4", "chopin-op28-7", "rach-op3-2" }, good.Select(t => t.TrackId));
        Assert.All(good.Take(2), t => Assert.Equal("Frédéric Chopin", t.Composer));
        Assert.Equal("Rachmaninoff", good[2].Composer);
        Assert.Equal(4, good[0].TrackNo);
        Assert.Equal(125.5, good[0].DurationSec);
        Assert.Null(good[2].DurationSec);
        Assert.Equal("DuplicateTrackId", items[3].Error!.ErrorId);
        Assert.Equal("MissingComposer", items[4].Error!.ErrorId);
    }

    [Fact]
    public void Credentials_can_come_separately_and_a_uri_works()
    {
        using (var s = CatalogSourceFactory.OpenConnection(_pg.ConnectionStringWithoutPassword, null, "SELECT id AS track_id, album_id, composer, s3_path AS audio_s3_key FROM music.tracks WHERE id LIKE 'chopin%'",
                   userName: PostgresServer.User, password: PostgresServer.Password))
            Assert.Equal(2, new MetadataExporter().Read(s).Count(i => i.Track is not null));
        string uri = $"postgres://{PostgresServer.User}:{Uri.EscapeDataString(PostgresServer.Password)}@127.0.0.1:{_pg.Port}/postgres";
        using (var s = CatalogSourceFactory.OpenConnection(uri, "public.empty_tracks", null))
            Assert.Empty(new MetadataExporter().Read(s));
    }

    [Fact]
    public void A_wrong_password_fails_without_printing_it()
    {
        string cs = _pg.ConnectionString.Replace(PostgresServer.Password, "wrong-Pass-123");
        var ex = Assert.Throws<MessException>(() => CatalogSourceFactory.OpenConnection(cs, "music.tracks", null));
        Assert.Equal("CatalogConnectFailed", ex.ErrorId);
        Assert.DoesNotContain("wrong-Pass-123", ex.Message);
        Assert.DoesNotContain(PostgresServer.Password, ex.Message);
        Assert.Contains("127.0.0.1", ex.Message);
    }

    [Fact]
    public void A_missing_table_is_a_clear_error()
    {
        var ex = Assert.Throws<MessException>(() => CatalogSourceFactory.OpenConnection(_pg.ConnectionString, "music.nope", null));
        Assert.Equal("CatalogQueryFailed", ex.ErrorId);
        Assert.Contains("nope", ex.Message);
        Assert.DoesNotContain(PostgresServer.Password, ex.Message);
    }

    [Fact]
    public void Bytea_is_utf8_text_or_a_row_error_never_a_type_name()
    {
        var map = new ColumnMap(new Dictionary<string, string> { ["title"] = "added", ["duration_sec"] = "score" });
        List<ExportItem> items;
        using (var source = CatalogSourceFactory.OpenConnection(_pg.ConnectionString, "music.binary_tracks", null))
            items = new MetadataExporter(map).Read(source).ToList();
        Assert.Equal(3, items.Count);
        var t = items[0].Track!;
        Assert.Equal("bytea-utf8", t.TrackId);
        Assert.Equal("Frédéric Chopin", t.Composer);
        Assert.Equal("2026-11-25T00:00:00.0000000", t.Title); // a date comes back as a DateTime: ISO 8601, never culture-dependent
        Assert.Equal(1.5, t.DurationSec);
        Assert.Equal("InvalidText", items[1].Error!.ErrorId);
        Assert.Contains("composer", items[1].Error!.Message);
        Assert.Equal("InvalidText", items[2].Error!.ErrorId);
        Assert.Contains("track_id", items[2].Error!.Message);
        Assert.All(items, i => Assert.DoesNotContain("System.", (i.Track?.TrackId ?? "") + i.Track?.Composer + i.Error?.Message));
    }

    [Fact]
    public void An_array_in_a_used_column_is_a_row_error()
    {
        var map = new ColumnMap(new Dictionary<string, string> { ["title"] = "tags" });
        using var source = CatalogSourceFactory.OpenConnection(_pg.ConnectionString, null,
            "SELECT track_id, album_id, composer, audio_s3_key, tags FROM music.binary_tracks WHERE tags IS NOT NULL");
        var item = Assert.Single(new MetadataExporter(map).Read(source));
        Assert.Equal("InvalidText", item.Error!.ErrorId);
        Assert.Contains("array", item.Error!.Message);
    }
}
