using System.Globalization;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Catalog;

/// <summary>
/// metadata/tracks_metadata.csv: the seed's seven columns, UTF-8, comma separated. Text that a spreadsheet
/// would run as a formula (starting with = + - @ tab or CR) is written with a leading apostrophe, and one
/// apostrophe is taken off again on reading, so values round-trip exactly.
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
            _csv.WriteField(EscapeFormula(t.TrackId));
            _csv.WriteField(EscapeFormula(t.AlbumId));
            _csv.WriteField(t.TrackNo?.ToString(CultureInfo.InvariantCulture) ?? "");
            _csv.WriteField(EscapeFormula(t.Title));
            _csv.WriteField(EscapeFormula(t.Composer));
            _csv.WriteField(EscapeFormula(t.AudioUri));
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

    /// <summary>Reads tracks_metadata.csv back, streaming; a malformed file is an error naming the line.</summary>
    public static IEnumerable<MessTrack> Read(string path)
    {
        if (!File.Exists(path))
            throw new MessException("MetadataMissing", MessErrorKind.ObjectNotFound,
                $"The metadata file '{path}' does not exist. Run Export-MessMetadata first.", path);
        using var source = new CsvCatalogSource(path);
        var exporter = new MetadataExporter();
        foreach (var item in exporter.Read(source))
        {
            if (item.Error is not null)
                throw new MessException("MetadataMalformed", MessErrorKind.InvalidData, $"'{path}': {item.Error.Message}", path, item.Error);
            var t = item.Track!;
            t.TrackId = UnescapeFormula(t.TrackId);
            t.AlbumId = UnescapeFormula(t.AlbumId);
            t.Title = t.Title is null ? null : UnescapeFormula(t.Title);
            t.Composer = UnescapeFormula(t.Composer);
            t.AudioUri = UnescapeFormula(t.AudioUri);
            yield return t;
        }
    }

    /// <summary>All tracks of a metadata file keyed by track id.</summary>
    public static Dictionary<string, MessTrack> ReadById(string path) =>
        Read(path).ToDictionary(t => t.TrackId, StringComparer.Ordinal);
}
