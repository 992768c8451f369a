using MessTools.Core.Catalog;
using MessTools.Core.Common;

namespace MessTools.Core.Index;

/// <summary>
/// The columns of metadata/tracks_metadata.csv that neighbour queries show and filter on (track_id, album_id, title,
/// composer), keyed by track id. Read through <see cref="MetadataCsv.Read"/>, the one reader of that file, so values
/// come back exactly as every other stage sees them.
/// </summary>
public sealed class TrackInfoTable
{
    private readonly string[] _albums, _titles, _composers;
    private readonly Dictionary<string, int> _rowById;

    public int Count => _rowById.Count;

    private TrackInfoTable(string[] albums, string[] titles, string[] composers, Dictionary<string, int> rowById)
    {
        _albums = albums;
        _titles = titles;
        _composers = composers;
        _rowById = rowById;
    }

    public bool TryGetRow(string trackId, out int row) => _rowById.TryGetValue(trackId, out row);
    public bool Contains(string trackId) => _rowById.ContainsKey(trackId);
    public string AlbumId(int row) => _albums[row];
    public string Title(int row) => _titles[row];
    public string Composer(int row) => _composers[row];

    public static TrackInfoTable Read(string path)
    {
        var rowById = new Dictionary<string, int>(StringComparer.Ordinal);
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
                albums.Add(Shared(t.AlbumId));
                titles.Add(t.Title ?? "");
                composers.Add(Shared(t.Composer));
            }
        }
        catch (MessException ex) when (ex.ErrorId is not ("MetadataMissing" or "MetadataMalformed"))
        {
            throw new MessException("MetadataMalformed", MessErrorKind.InvalidData, $"'{path}': {ex.Message}", path, ex);
        }
        return new TrackInfoTable(albums.ToArray(), titles.ToArray(), composers.ToArray(), rowById);
    }
}
