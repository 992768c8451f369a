using MessTools.Core.Artifacts;
using MessTools.Core.Catalog;
using MessTools.Core.Common;

namespace MessTools.Core.Index;

/// <summary>
/// The columns of metadata/tracks_metadata.csv that neighbour queries show and filter on (track_id, album_id, title,
/// composer), keyed by track id. Read through <see cref="MetadataCsv.Read"/>, the one reader of that file, so values
/// come back exactly as every other stage sees them; or, by <see cref="Load"/>, from the binary copy New-MessIndex
/// keeps of them (<see cref="TrackTableFile"/>) while the CSV has not changed since.
/// </summary>
public sealed class TrackInfoTable
{
    private readonly string[] _ids, _albums, _composers;
    private readonly Dictionary<string, int> _rowById;
    // Titles: strings (read from the CSV), or decoded on demand from the binary table's bytes (only the rows a query
    // shows need them, and 100,000 titles made up front are most of a load's garbage).
    private readonly string[]? _titles;
    private readonly byte[]? _titleBytes;
    private readonly int[]? _titleAt;

    public int Count => _ids.Length;

    /// <summary>Where the rows came from: "csv", or "table" (index/track_table.bin, the CSV unchanged).</summary>
    public string Source { get; private init; } = "csv";

    private TrackInfoTable(string[] ids, string[] albums, string[]? titles, string[] composers, Dictionary<string, int> rowById,
        byte[]? titleBytes = null, int[]? titleAt = null)
    {
        _ids = ids;
        _albums = albums;
        _titles = titles;
        _composers = composers;
        _rowById = rowById;
        _titleBytes = titleBytes;
        _titleAt = titleAt;
    }

    public bool TryGetRow(string trackId, out int row) => _rowById.TryGetValue(trackId, out row);
    public bool Contains(string trackId) => _rowById.ContainsKey(trackId);
    public string TrackId(int row) => _ids[row];
    public string AlbumId(int row) => _albums[row];
    public string Title(int row) => _titles?[row] ?? TrackTableFile.StringAt(_titleBytes!, _titleAt![row]);
    public string Composer(int row) => _composers[row];

    /// <summary>
    /// A table over the binary table's columns (checked by its checksum), each title the string at its offset in
    /// <paramref name="titleBytes"/>; null when a track id repeats.
    /// </summary>
    internal static TrackInfoTable? FromColumns(string[] ids, string[] albums, byte[] titleBytes, int[] titleAt, string[] composers)
    {
        var rowById = new Dictionary<string, int>(ids.Length, StringComparer.Ordinal);
        for (int row = 0; row < ids.Length; row++)
            if (!rowById.TryAdd(ids[row], row)) return null;
        return new TrackInfoTable(ids, albums, null, composers, rowById, titleBytes, titleAt) { Source = "table" };
    }

    /// <summary>
    /// The metadata of <paramref name="store"/>: from index/track_table.bin when it was made from the CSV as it is now
    /// (its bytes hashed, a few milliseconds), else from the CSV itself. Null when the folder has no metadata CSV.
    /// </summary>
    public static TrackInfoTable? Load(ArtifactStore store)
    {
        if (!File.Exists(store.MetadataCsv)) return null;
        if (File.Exists(store.TrackTableFile))
        {
            (long, ulong) csv;
            try { csv = TrackTableFile.FingerprintFile(store.MetadataCsv); }
            catch (FileNotFoundException) { return null; }
            if (TrackTableFile.TryRead(store.TrackTableFile, csv, out _) is { } table) return table;
        }
        return Read(store.MetadataCsv);
    }

    /// <summary>
    /// Writes index/track_table.bin from the metadata CSV as it is now (New-MessIndex, under the writer lock), or removes
    /// a table left from an earlier CSV when there is no CSV. Returns why no table was written, or null when one was.
    /// </summary>
    public static string? WriteTable(ArtifactStore store)
    {
        if (!File.Exists(store.MetadataCsv))
        {
            DeleteTable(store);
            return $"{store.MetadataCsv} does not exist";
        }
        var csv = TrackTableFile.FingerprintFile(store.MetadataCsv);
        if (TrackTableFile.TryRead(store.TrackTableFile, csv, out _) is not null) return null; // already current
        TrackInfoTable info;
        try { info = Read(store.MetadataCsv); }
        catch (MessException ex)
        {
            DeleteTable(store);
            return ex.Message;
        }
        // The CSV may have been replaced while it was parsed: the table must name the bytes it was made from.
        if (TrackTableFile.FingerprintFile(store.MetadataCsv) != csv)
            return $"{store.MetadataCsv} changed while it was read";
        Directory.CreateDirectory(store.IndexDir);
        TrackTableFile.Write(store.TrackTableFile, info, csv);
        return null;
    }

    private static void DeleteTable(ArtifactStore store)
    {
        if (File.Exists(store.TrackTableFile)) File.Delete(store.TrackTableFile);
    }

    public static TrackInfoTable Read(string path)
    {
        var rowById = new Dictionary<string, int>(StringComparer.Ordinal);
        var ids = new List<string>();
        var albums = new List<string>();
        var titles = new List<string>();
        var composers = new List<string>();
        // Albums and composers repeat from row to row: one string each, not one per row (a served catalogue of 100,000
        // tracks holds about 8 MB less, and the collector has that much less to move while it loads).
        var pool = new Dictionary<string, string>(StringComparer.Ordinal);
        string Shared(string value)
        {
            if (pool.TryGetValue(value, out var one)) return one;
            pool[value] = value;
            return value;
        }
        try
        {
            foreach (var t in MetadataCsv.Read(path))
            {
                rowById.Add(t.TrackId, rowById.Count);
                ids.Add(t.TrackId);
                albums.Add(Shared(t.AlbumId));
                titles.Add(t.Title ?? "");
                composers.Add(Shared(t.Composer));
            }
        }
        catch (MessException ex) when (ex.ErrorId is not (MessErrorIds.MetadataMissing or MessErrorIds.MetadataMalformed))
        {
            throw new MessException(MessErrorIds.MetadataMalformed, MessErrorKind.InvalidData, $"'{path}': {ex.Message}", path, ex);
        }
        return new TrackInfoTable(ids.ToArray(), albums.ToArray(), titles.ToArray(), composers.ToArray(), rowById);
    }
}
