using MessTools.Core.Common;

namespace MessTools.Core.Catalog;

/// <summary>The seed's metadata columns, in file order, and which of them a catalogue must have.</summary>
public static class CatalogColumns
{
    public const string TrackId = "track_id";
    public const string AlbumId = "album_id";
    public const string TrackNo = "track_no";
    public const string Title = "title";
    public const string Composer = "composer";
    public const string AudioKey = "audio_s3_key";
    public const string DurationSec = "duration_sec";

    public static readonly string[] All = { TrackId, AlbumId, TrackNo, Title, Composer, AudioKey, DurationSec };
    public static readonly string[] Required = { TrackId, AlbumId, Composer, AudioKey };

    /// <summary>Other names catalogues commonly use for a column; a user's -ColumnMap comes first.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> CommonAliases = new Dictionary<string, string[]>
    {
        [TrackId] = new[] { "trackid", "id" },
        [AlbumId] = new[] { "albumid", "album" },
        [TrackNo] = new[] { "trackno", "track_number", "tracknumber" },
        [Title] = new[] { "name", "track_title" },
        [Composer] = new[] { "composer_name", "artist" },
        [AudioKey] = new[] { "audios3key", "audio_uri", "audiouri", "audio_path", "audio_key", "s3_key", "path" },
        [DurationSec] = new[] { "durationsec", "duration", "duration_s", "length_sec" },
    };
}

/// <summary>
/// Which source column feeds each of the seed's columns: the user's map first, then the column's own name,
/// then common aliases (case-insensitive). A missing required column is a terminating error that names it.
/// </summary>
public sealed class ColumnMap
{
    private readonly Dictionary<string, string> _userMap;

    public ColumnMap(IReadOnlyDictionary<string, string>? userMap = null)
    {
        _userMap = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (userMap is null) return;
        foreach (var (target, source) in userMap)
        {
            string canonical = CatalogColumns.All.FirstOrDefault(c => string.Equals(c, target, StringComparison.OrdinalIgnoreCase))
                ?? throw new MessException(MessErrorIds.UnknownMappedColumn, MessErrorKind.InvalidArgument,
                    $"The column map names '{target}', which is not one of the metadata columns ({string.Join(", ", CatalogColumns.All)}).", target);
            if (string.IsNullOrWhiteSpace(source))
                throw new MessException(MessErrorIds.EmptyMappedColumn, MessErrorKind.InvalidArgument,
                    $"The column map gives no source column for '{canonical}'.", target);
            _userMap[canonical] = source;
        }
    }

    /// <summary>For each metadata column, the ordinal of its source column, or -1 when an optional one is absent.</summary>
    public Dictionary<string, int> Resolve(IReadOnlyList<string> sourceColumns, string sourceDescription)
    {
        int Find(string name)
        {
            for (int i = 0; i < sourceColumns.Count; i++)
                if (string.Equals(sourceColumns[i]?.Trim(), name, StringComparison.OrdinalIgnoreCase)) return i;
            return -1;
        }

        var result = new Dictionary<string, int>();
        foreach (string column in CatalogColumns.All)
        {
            int ordinal;
            if (_userMap.TryGetValue(column, out var mapped))
            {
                ordinal = Find(mapped);
                if (ordinal < 0)
                    throw new MessException(MessErrorIds.MappedColumnMissing, MessErrorKind.InvalidData,
                        $"The column map sends '{mapped}' to '{column}', but {sourceDescription} has no column '{mapped}'. Its columns: {string.Join(", ", sourceColumns)}.", mapped);
            }
            else
            {
                ordinal = Find(column);
                if (ordinal < 0)
                    foreach (var alias in CatalogColumns.CommonAliases[column])
                        if ((ordinal = Find(alias)) >= 0) break;
            }
            if (ordinal < 0 && CatalogColumns.Required.Contains(column))
                throw new MessException(MessErrorIds.RequiredColumnMissing, MessErrorKind.InvalidData,
                    $"{sourceDescription} has no '{column}' column, which is required. Its columns: {string.Join(", ", sourceColumns)}. " +
                    $"Map a column of another name with -ColumnMap @{{ {column} = '<source column>' }}.", column);
            result[column] = ordinal;
        }
        return result;
    }
}
