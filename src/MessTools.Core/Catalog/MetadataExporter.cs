using System.Globalization;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Catalog;

/// <summary>One outcome of reading a catalogue row: a valid track, or an error that names the row.</summary>
public readonly record struct ExportItem(long RowNumber, MessTrack? Track, MessException? Error);

/// <summary>
/// Turns raw catalogue rows into validated, normalised tracks (seed step 1). Streams: a row is read,
/// checked and handed on before the next is read; only the set of seen track ids is kept.
/// </summary>
public sealed class MetadataExporter
{
    private readonly ComposerNormalizer _composers;
    private readonly ColumnMap _columns;

    public MetadataExporter(ColumnMap? columns = null, ComposerNormalizer? composers = null)
    {
        _columns = columns ?? new ColumnMap();
        _composers = composers ?? new ComposerNormalizer();
    }

    public IEnumerable<ExportItem> Read(ICatalogSource source, CancellationToken cancellationToken = default)
    {
        var ordinals = _columns.Resolve(source.Columns, source.Description);
        // Keyed by the id's case-folded NFC form: ids that differ only by case (t1, T1) or by Unicode composition would
        // name the same file on Windows and macOS, so the second is a row error naming both.
        var seen = new Dictionary<string, (long Row, string Id)>(StringComparer.Ordinal);
        foreach (var raw in source.ReadRows(cancellationToken))
        {
            MessTrack? track = null;
            MessException? error = null;
            try
            {
                track = ToTrack(raw, ordinals, source.Description, source.TitlesMayBeFormulaEscaped);
                string key = FileNameKey(track.TrackId);
                if (seen.TryGetValue(key, out var first))
                {
                    if (first.Id == track.TrackId)
                        throw RowError(raw.RowNumber, MessErrorIds.DuplicateTrackId, track.TrackId,
                            $"track_id '{track.TrackId}' already appeared in row {first.Row}; track ids must be unique. Row {raw.RowNumber} was not exported.");
                    throw RowError(raw.RowNumber, "TrackIdCaseCollision", track.TrackId,
                        $"row {raw.RowNumber}: track_id '{SafePath.Printable(track.TrackId)}' differs from '{SafePath.Printable(first.Id)}' of row {first.Row} only by letter case " +
                        $"(or Unicode composition), so both would name the same file on Windows and macOS. Row {raw.RowNumber} was not exported; give one of them another id.");
                }
                seen.Add(key, (raw.RowNumber, track.TrackId));
            }
            catch (MessException ex)
            {
                track = null;
                error = ex;
            }
            yield return new ExportItem(raw.RowNumber, track, error);
        }
    }

    /// <summary>What a case-insensitive file system compares: the NFC form, upper-cased (ASCII is its own NFC form, and a
    /// string already in NFC is not rebuilt: the common id costs one scan and the upper-casing).</summary>
    internal static string FileNameKey(string id) =>
        (System.Text.Ascii.IsValid(id) || id.IsNormalized(System.Text.NormalizationForm.FormC) ? id : id.Normalize(System.Text.NormalizationForm.FormC)).ToUpperInvariant();

    /// <summary>What a text field may not hold: U+FFFD (bytes that were not UTF-8) and the C0 and C1 control characters.
    /// One vectorised scan per value finds a row that breaks a rule; only then are the rules told apart for the message.</summary>
    private static readonly System.Buffers.SearchValues<char> NotText = System.Buffers.SearchValues.Create(
        "\uFFFD" + string.Concat(Enumerable.Range(0, 0x20).Select(i => (char)i)) + string.Concat(Enumerable.Range(0x7F, 0x21).Select(i => (char)i)));

    private MessTrack ToTrack(RawCatalogRow raw, Dictionary<string, int> ordinals, string source, bool unescapeTitle)
    {
        if (raw.Problem is not null)
            throw RowError(raw.RowNumber, "MalformedRow", null, $"row {raw.RowNumber} of {source}: {raw.Problem}.");

        string? Get(string column)
        {
            int i = ordinals[column];
            if (i >= 0 && raw.ColumnProblems is { } problems && i < problems.Length && problems[i] is { } problem)
                throw RowError(raw.RowNumber, "InvalidText", null,
                    $"row {raw.RowNumber}: column '{column}' cannot be read as text: {problem}.");
            string? v = i < 0 || i >= raw.Values.Length ? null : raw.Values[i];
            if (v is null || v.AsSpan().IndexOfAny(NotText) < 0) return v;
            if (v.Contains('\uFFFD'))
                throw RowError(raw.RowNumber, "InvalidText", null,
                    $"row {raw.RowNumber}: column '{column}' is not valid UTF-8 text (it decodes to the replacement character U+FFFD).");
            int bad = v.AsSpan().IndexOfAnyInRange('\u0000', '\u001F');
            if (bad < 0) bad = v.AsSpan().IndexOfAnyInRange('\u007F', '\u009F');
            if (bad >= 0)
                throw RowError(raw.RowNumber, "InvalidText", null,
                    $"row {raw.RowNumber}: column '{column}' contains the control character U+{(int)v[bad]:X4} at position {bad + 1} " +
                    $"('{SafePath.Printable(v)}'); text fields may not hold control characters (NUL, tab, line breaks).");
            return v;
        }

        string trackId = (Get(CatalogColumns.TrackId) ?? "").Trim();
        if (trackId.Length == 0)
            throw RowError(raw.RowNumber, "MissingTrackId", null, $"row {raw.RowNumber}: track_id is empty.");
        string? unsafeId = SafePath.Problem(trackId);
        if (unsafeId is not null)
            throw RowError(raw.RowNumber, "UnsafeTrackId", trackId,
                $"row {raw.RowNumber}: track_id '{SafePath.Printable(trackId)}' cannot name a file: {unsafeId}.");

        string albumId = (Get(CatalogColumns.AlbumId) ?? "").Trim();
        if (albumId.Length == 0)
            throw RowError(raw.RowNumber, "MissingAlbumId", trackId, $"row {raw.RowNumber} (track '{trackId}'): album_id is empty.");
        string? unsafeAlbum = SafePath.Problem(albumId);
        if (unsafeAlbum is not null)
            throw RowError(raw.RowNumber, "UnsafeAlbumId", trackId,
                $"row {raw.RowNumber} (track '{trackId}'): album_id '{SafePath.Printable(albumId)}' cannot name a folder: {unsafeAlbum}.");

        string composer = _composers.Normalize(Get(CatalogColumns.Composer));
        if (composer.Length == 0)
            throw RowError(raw.RowNumber, "MissingComposer", trackId,
                $"row {raw.RowNumber} (track '{trackId}'): composer is empty or NULL; the evaluation needs a composer for every track.");

        string audio = (Get(CatalogColumns.AudioKey) ?? "").Trim();
        if (audio.Length == 0)
            throw RowError(raw.RowNumber, "MissingAudioKey", trackId, $"row {raw.RowNumber} (track '{trackId}'): audio_s3_key is empty.");
        if (audio.Any(char.IsControl))
            throw RowError(raw.RowNumber, "InvalidAudioKey", trackId, $"row {raw.RowNumber} (track '{trackId}'): audio_s3_key contains control characters.");

        int? trackNo = null;
        string? trackNoText = Get(CatalogColumns.TrackNo)?.Trim();
        if (!string.IsNullOrEmpty(trackNoText))
        {
            if (!double.TryParse(trackNoText, NumberStyles.Float, CultureInfo.InvariantCulture, out double tn) || tn != Math.Floor(tn) || tn < 0 || tn > int.MaxValue)
                throw RowError(raw.RowNumber, "InvalidTrackNo", trackId, $"row {raw.RowNumber} (track '{trackId}'): track_no '{trackNoText}' is not a whole number.");
            trackNo = (int)tn;
        }

        double? duration = null;
        string? durationText = Get(CatalogColumns.DurationSec)?.Trim();
        if (!string.IsNullOrEmpty(durationText))
        {
            if (!double.TryParse(durationText, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || !double.IsFinite(d) || d < 0)
                throw RowError(raw.RowNumber, "InvalidDuration", trackId, $"row {raw.RowNumber} (track '{trackId}'): duration_sec '{durationText}' is not a non-negative number.");
            duration = d;
        }

        string? title = Get(CatalogColumns.Title);
        if (title is not null && unescapeTitle) title = MetadataCsv.UnescapeFormula(title);
        return new MessTrack
        {
            TrackId = trackId,
            AlbumId = albumId,
            TrackNo = trackNo,
            Title = title is null ? null : title.Trim(),
            Composer = composer,
            AudioUri = audio,
            DurationSec = duration,
            Status = MessTrackStatus.Exported,
        };
    }

    private static MessException RowError(long row, string id, string? trackId, string message) =>
        new(id, MessErrorKind.InvalidData, message, trackId ?? $"row {row}");
}
