using MessTools.Core.Catalog;
using MessTools.Core.Common;

namespace MessTools.Core.Index;

/// <summary>
/// The columns of metadata/tracks_metadata.csv that neighbour queries show and filter on (track_id, album_id, title,
/// composer), read for speed at query time: one pass over the text records where each field is (RFC 4180 quoting,
/// doubled quotes, line breaks inside quotes) and only the track ids become strings up front; the other values are
/// made when a result or a filter asks for them. The file was validated when Export-MessMetadata wrote it, so this
/// reader only checks its shape; values come back exactly as <see cref="MetadataCsv.Read"/> returns them.
/// </summary>
public sealed class TrackInfoTable
{
    private readonly string _text;
    private readonly int[] _extents; // per row, per column (album, title, composer): start, length (negative: quoted)
    private readonly Dictionary<string, int> _rowById;

    public int Count => _rowById.Count;

    private TrackInfoTable(string text, int[] extents, Dictionary<string, int> rowById)
    {
        _text = text;
        _extents = extents;
        _rowById = rowById;
    }

    public bool TryGetRow(string trackId, out int row) => _rowById.TryGetValue(trackId, out row);
    public bool Contains(string trackId) => _rowById.ContainsKey(trackId);
    public string AlbumId(int row) => Value(row, 0);
    public string Title(int row) => Value(row, 1);
    public string Composer(int row) => Value(row, 2);

    private string Value(int row, int column)
    {
        int start = _extents[row * 6 + column * 2];
        int length = _extents[row * 6 + column * 2 + 1];
        if (start < 0) return "";
        string value = length >= 0
            ? _text.Substring(start, length)
            : _text.Substring(start + 1, -length - 2).Replace("\"\"", "\"");
        return MetadataCsv.UnescapeFormula(value);
    }

    public static TrackInfoTable Read(string path)
    {
        if (!File.Exists(path))
            throw new MessException("MetadataMissing", MessErrorKind.ObjectNotFound, $"The metadata file '{path}' does not exist. Run Export-MessMetadata first.", path);
        string text = File.ReadAllText(path);
        int pos = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0;
        var header = new List<(int Start, int Length)>();
        int line = 1;
        pos = ReadRecord(text, pos, header, path, ref line);
        int idCol = -1, albumCol = -1, titleCol = -1, composerCol = -1;
        for (int c = 0; c < header.Count; c++)
        {
            string name = Field(text, header[c]).Trim();
            if (name.Equals(CatalogColumns.TrackId, StringComparison.OrdinalIgnoreCase)) idCol = c;
            else if (name.Equals(CatalogColumns.AlbumId, StringComparison.OrdinalIgnoreCase)) albumCol = c;
            else if (name.Equals(CatalogColumns.Title, StringComparison.OrdinalIgnoreCase)) titleCol = c;
            else if (name.Equals(CatalogColumns.Composer, StringComparison.OrdinalIgnoreCase)) composerCol = c;
        }
        if (idCol < 0)
            throw new MessException("MetadataMalformed", MessErrorKind.InvalidData, $"'{path}' has no {CatalogColumns.TrackId} column in its header.", path);
        var rowById = new Dictionary<string, int>(StringComparer.Ordinal);
        var extents = new List<int>(1 << 16);
        var fields = new List<(int Start, int Length)>(header.Count);
        while (pos < text.Length)
        {
            int recordLine = line;
            pos = ReadRecord(text, pos, fields, path, ref line);
            if (fields.Count == 1 && fields[0].Length == 0) continue; // blank line
            if (idCol >= fields.Count)
                throw new MessException("MetadataMalformed", MessErrorKind.InvalidData, $"'{path}' line {recordLine} has {fields.Count} fields, the header {header.Count}.", path);
            string id = MetadataCsv.UnescapeFormula(Field(text, fields[idCol]));
            if (!rowById.TryAdd(id, rowById.Count))
                throw new MessException("MetadataMalformed", MessErrorKind.InvalidData, $"'{path}' lists track '{id}' twice (line {recordLine}).", path);
            foreach (int col in new[] { albumCol, titleCol, composerCol })
            {
                if (col < 0 || col >= fields.Count) { extents.Add(-1); extents.Add(0); continue; }
                var (start, length) = fields[col];
                bool quoted = length >= 2 && text[start] == '"';
                extents.Add(start);
                extents.Add(quoted ? -length : length);
            }
        }
        return new TrackInfoTable(text, extents.ToArray(), rowById);
    }

    private static string Field(string text, (int Start, int Length) f)
    {
        if (f.Length >= 2 && text[f.Start] == '"') return text.Substring(f.Start + 1, f.Length - 2).Replace("\"\"", "\"");
        return text.Substring(f.Start, f.Length);
    }

    /// <summary>Splits one record starting at <paramref name="pos"/>; returns where the next one starts.</summary>
    private static int ReadRecord(string text, int pos, List<(int Start, int Length)> fields, string path, ref int line)
    {
        fields.Clear();
        int n = text.Length;
        while (true)
        {
            int start = pos;
            if (pos < n && text[pos] == '"')
            {
                int startLine = line;
                pos++;
                while (true)
                {
                    int q = text.IndexOf('"', pos);
                    if (q < 0)
                        throw new MessException("MetadataMalformed", MessErrorKind.InvalidData, $"'{path}' line {startLine}: a quoted field is never closed.", path);
                    for (int i = pos; i < q; i++) if (text[i] == '\n') line++;
                    if (q + 1 < n && text[q + 1] == '"') { pos = q + 2; continue; }
                    pos = q + 1;
                    break;
                }
                if (pos < n && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r')
                    throw new MessException("MetadataMalformed", MessErrorKind.InvalidData, $"'{path}' line {line}: text after a closing quote.", path);
            }
            else
            {
                int stop = text.AsSpan(pos).IndexOfAny(',', '\n', '\r');
                pos = stop < 0 ? n : pos + stop;
            }
            fields.Add((start, pos - start));
            if (pos >= n) return n;
            char c = text[pos];
            if (c == ',') { pos++; continue; }
            if (c == '\r' && pos + 1 < n && text[pos + 1] == '\n') pos++;
            line++;
            return pos + 1;
        }
    }
}
