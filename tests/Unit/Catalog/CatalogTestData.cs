using Microsoft.Data.Sqlite;

namespace MessTools.Tests.Unit.Catalog;

/// <summary>Builds small SQLite catalogues for the tests.</summary>
internal static class CatalogTestData
{
    public static readonly string[] Columns = { "track_id", "album_id", "track_no", "title", "composer", "audio_s3_key", "duration_sec" };

    public static string CreateSqlite(string path, IEnumerable<object?[]> rows, string table = "tracks", string[]? columns = null)
    {
        columns ??= Columns;
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path }.ToString());
        c.Open();
        using var tx = c.BeginTransaction();
        using (var create = c.CreateCommand())
        {
            create.CommandText = $"CREATE TABLE {table} ({string.Join(", ", columns.Select(x => x + " TEXT"))})";
            create.ExecuteNonQuery();
        }
        using var insert = c.CreateCommand();
        insert.CommandText = $"INSERT INTO {table} VALUES ({string.Join(", ", columns.Select((_, i) => "$p" + i))})";
        var ps = columns.Select((_, i) => insert.Parameters.Add("$p" + i, SqliteType.Text)).ToArray();
        foreach (var row in rows)
        {
            for (int i = 0; i < ps.Length; i++) ps[i].Value = row[i] ?? DBNull.Value;
            insert.ExecuteNonQuery();
        }
        tx.Commit();
        SqliteConnection.ClearAllPools();
        return path;
    }

    public static object?[] Row(string id, string composer = "Chopin", string album = "op28", string? title = null, string? key = null) =>
        new object?[] { id, album, "1", title ?? "Prelude " + id, composer, key ?? $"s3://bucket/{album}/{id}.wav", "61.5" };
}
