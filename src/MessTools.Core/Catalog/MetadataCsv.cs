using System.Globalization;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Catalog;

/// <summary>
/// metadata/tracks_metadata.csv: the seed's seven columns, UTF-8, comma separated, RFC 4180 quoting.
/// The spreadsheet-formula rule (docs/catalog.md): identifiers and numbers (track_id, album_id, composer, audio_s3_key,
/// track_no, duration_sec) are written exactly as they are, so they round-trip through our reader, Import-Csv and a
/// re-export unchanged. Only the free-text title, which no tool matches on, gets a leading apostrophe when a spreadsheet
/// would run it as a formula (it starts with = + - @ tab or CR, after any apostrophes); our reader (a CSV source in
/// <see cref="MetadataExporter"/>) takes exactly one apostrophe off again, so the title too reads back unchanged.
/// This is the one reader of the file: <see cref="Read"/> goes through <see cref="CsvCatalogSource"/> and the exporter's checks.
/// </summary>
public static class MetadataCsv
{
    private static readonly char[] FormulaStarts = { '=', '+', '-', '@', '\t', '\r' };

    public static string EscapeFormula(string? value)
    {
        if (string.IsNullOrEmpty(value)) return value ?? "";
        int i = 0;
        while (i < value.Length && value[i] == '\'') i++;
        bool trigger = i < value.Length && FormulaStarts.Contains(value[i]);
        return trigger ? "'" + value : value;
    }

    public static string UnescapeFormula(string value)
    {
        if (value.Length < 2 || value[0] != '\'') return value;
        int i = 0;
        while (i < value.Length && value[i] == '\'') i++;
        return i < value.Length && FormulaStarts.Contains(value[i]) ? value[1..] : value;
    }

    /// <summary>Writes tracks as they come, into a temporary file that becomes the CSV only on <see cref="Writer.Commit"/>.</summary>
    public sealed class Writer : IDisposable
    {
        private readonly AtomicFileWriter _file;
        private readonly StreamWriter _text;
        private readonly CsvWriter _csv;

        public long Count { get; private set; }

        public Writer(string path)
        {
            _file = AtomicFileWriter.Create(path);
            _text = new StreamWriter(_file.Stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
            _csv = new CsvWriter(_text, new CsvConfiguration(CultureInfo.InvariantCulture) { NewLine = "\n", InjectionOptions = InjectionOptions.None });
            foreach (var c in CatalogColumns.All) _csv.WriteField(c);
            _csv.NextRecord();
        }

        public void Write(MessTrack t)
        {
            _csv.WriteField(t.TrackId);
            _csv.WriteField(t.AlbumId);
            _csv.WriteField(t.TrackNo?.ToString(CultureInfo.InvariantCulture) ?? "");
            _csv.WriteField(EscapeFormula(t.Title));
            _csv.WriteField(t.Composer);
            _csv.WriteField(t.AudioUri);
            _csv.WriteField(t.DurationSec?.ToString("R", CultureInfo.InvariantCulture) ?? "");
            _csv.NextRecord();
            Count++;
        }

        public void Commit()
        {
            CloseText();
            _file.Commit();
        }

        public void Dispose()
        {
            CloseText();
            _file.Dispose();
        }

        private bool _textClosed;

        private void CloseText()
        {
            if (_textClosed) return;
            _textClosed = true;
            _csv.Dispose(); // flushes into _text, which leaves the file stream open for the commit
            _text.Dispose();
        }
    }

    /// <summary>
    /// Reads tracks_metadata.csv back, streaming, with the export's checks; a malformed file is an error naming the row.
    /// When Split-MessAudio wrote metadata/segments.csv beside it, the movements of split tracks follow as tracks of their own.
    /// </summary>
    public static IEnumerable<MessTrack> Read(string path)
    {
        if (!File.Exists(path))
            throw new MessException(MessErrorIds.MetadataMissing, MessErrorKind.ObjectNotFound,
                $"The metadata file '{path}' does not exist. Run Export-MessMetadata first.", path);
        using var source = new CsvCatalogSource(path);
        var exporter = new MetadataExporter();
        // Split-MessAudio's movements (metadata/segments.csv beside the file) follow as tracks of their own
        bool segments = File.Exists(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, Splitting.MovementWriter.SegmentsFileName));
        var byId = segments ? new Dictionary<string, MessTrack>(StringComparer.Ordinal) : null;
        foreach (var item in exporter.Read(source))
        {
            if (item.Error is not null)
                throw new MessException(MessErrorIds.MetadataMalformed, MessErrorKind.InvalidData, $"'{path}': {item.Error.Message}", path, item.Error);
            byId?.TryAdd(item.Track!.TrackId, item.Track!.Clone());
            yield return item.Track!;
        }
        if (byId is not null)
            foreach (var movement in Splitting.MovementWriter.MovementsOf(path, byId))
                yield return movement;
    }

    /// <summary>All tracks of a metadata file keyed by track id.</summary>
    public static Dictionary<string, MessTrack> ReadById(string path) =>
        Read(path).ToDictionary(t => t.TrackId, StringComparer.Ordinal);
}
