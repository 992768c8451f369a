using System.Globalization;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Common;

namespace MessTools.Core.Splitting;

/// <summary>One row of metadata/segments.csv: a movement of a source track (a track with one movement has one row, itself).</summary>
public sealed record SegmentRow(string SourceTrackId, string TrackId, int Movement, double StartSec, double EndSec);

/// <summary>What splitting one track gave: the tracks to pass on (the movements, or the track itself), or the error.</summary>
public sealed record SplitTrackResult(MessTrack Source, IReadOnlyList<MessTrack> Tracks, MovementSplit? Split, MessException? Error)
{
    /// <summary>Why the track stayed whole (silence only, too short, one texture ...), for a verbose note.</summary>
    public string? Note => Split?.Note;
    /// <summary>Movement WAVs written (not those already there with the same bytes).</summary>
    public int WavsWritten { get; init; }
}

/// <summary>
/// The work of Split-MessAudio on one folder (<see cref="Jobs.SplitJob"/> runs it as a stage): for each standardised track, reads its WAV, finds the
/// movements (<see cref="MovementSplitter"/>), writes each movement as audio_wav/&lt;track_id&gt;-m&lt;n&gt;.wav (atomically,
/// the source's samples copied unchanged, so a rerun writes the same bytes and ConvertTo-MessEmbedding reuses the
/// embeddings of movements whose audio did not change), and gives one track per movement. <see cref="Save"/> writes
/// metadata/segments.csv (rows of tracks not in this run are kept; rows in source id, movement order).
/// </summary>
public sealed class MovementWriter
{
    public const string SegmentsFileName = "segments.csv";
    public static readonly string[] Columns = { "source_track_id", "track_id", "movement", "start_sec", "end_sec" };

    private readonly ArtifactStore _store;
    private readonly MovementSplitter _splitter;
    private readonly SortedDictionary<string, List<SegmentRow>> _rows = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, List<MovementBoundary>> _boundaries = new(StringComparer.Ordinal);

    public MovementWriter(ArtifactStore store, SplitRequest options)
    {
        _store = store;
        _splitter = new MovementSplitter(options);
    }

    public SplitRequest Options => _splitter.Options;
    public string SegmentsFile => Path.Combine(_store.MetadataDir, SegmentsFileName);
    public long Tracks { get; private set; }
    public long SplitTracks { get; private set; }
    public long Movements { get; private set; }
    public long Failed { get; private set; }
    public double AudioSeconds { get; private set; }
    /// <summary>Each split track's boundaries (source id order), for the run record.</summary>
    public IReadOnlyDictionary<string, List<MovementBoundary>> Boundaries => _boundaries;

    /// <summary>Splits one track. A bad track (no WAV, a corrupt one, an unsafe id) gives a result with its error; the run goes on.</summary>
    public SplitTrackResult Split(MessTrack track, CancellationToken cancellationToken = default)
    {
        Tracks++;
        try { return SplitCore(track, cancellationToken); }
        catch (MessException ex)
        {
            Failed++;
            var failed = track.Clone();
            failed.Status = MessTrackStatus.Failed;
            failed.StatusMessage = ex.Message;
            return new SplitTrackResult(failed, Array.Empty<MessTrack>(), null,
                new MessException(ex.ErrorId, ex.Kind, ex.Message.StartsWith($"Track '{track.TrackId}'", StringComparison.Ordinal) ? ex.Message : $"Track '{track.TrackId}': {ex.Message}", track.TrackId, ex));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Failed++;
            return new SplitTrackResult(track, Array.Empty<MessTrack>(), null,
                new MessException(MessErrorIds.SplitWriteFailed, MessErrorKind.WriteError, $"Track '{track.TrackId}': writing its movements failed: {ex.Message}", track.TrackId, ex));
        }
    }

    private SplitTrackResult SplitCore(MessTrack track, CancellationToken ct)
    {
        SafePath.RequireSegment(track.TrackId, "Track id");
        if (string.IsNullOrEmpty(track.WavPath))
            throw new MessException(MessErrorIds.NoStandardizedAudio, MessErrorKind.InvalidArgument,
                $"Track '{track.TrackId}' has no standardised audio (WavPath). Pipe it through Get-MessAudio first.", track.TrackId);
        string path = track.WavPath;
        if (!File.Exists(path))
            throw new MessException(MessErrorIds.AudioFileNotFound, MessErrorKind.ObjectNotFound, $"Track '{track.TrackId}': its WAV file '{path}' does not exist.", track.TrackId);
        var info = WavFile.TryReadInfo(path);
        using var reader = WavChunkReader.TryOpen(path)
            ?? throw new MessException(MessErrorIds.InvalidWav, MessErrorKind.InvalidData, $"Track '{track.TrackId}': '{path}' is not a readable WAV file (PCM 8/16/24/32-bit or float 32/64-bit).", track.TrackId);
        if (info!.Truncated)
            throw new MessException(MessErrorIds.InvalidWav, MessErrorKind.InvalidData, $"Track '{track.TrackId}': '{path}' is truncated (its data chunk declares {info.DeclaredDataBytes} bytes, the file holds {info.DataBytes}).", track.TrackId);
        var mono = new float[reader.Frames];
        for (int done = 0, n; done < mono.Length && (n = reader.Read(mono.AsSpan(done))) > 0;) done += n;
        AudioSeconds += (double)mono.Length / reader.SampleRate;

        var split = _splitter.Split(mono, reader.SampleRate, ct);
        if (split.Movements.Count == 1)
        {
            Movements++;
            _rows[track.TrackId] = new List<SegmentRow> { new(track.TrackId, track.TrackId, 1, 0, Round(split.DurationSeconds)) };
            _boundaries.Remove(track.TrackId);
            return new SplitTrackResult(track, new[] { track }, split, null);
        }

        // the movements' samples, copied as they are when the source is already mono float32 or 16-bit PCM
        bool raw = info.Channels == 1 && ((info.Format == "float" && info.BitsPerSample == 32) || (info.Format == "pcm" && info.BitsPerSample == 16));
        var format = raw && info.Format == "pcm" ? WavSampleFormat.Pcm16 : WavSampleFormat.Float32;
        int bytesPerSample = format == WavSampleFormat.Float32 ? 4 : 2;
        var rows = new List<SegmentRow>();
        var tracks = new List<MessTrack>();
        int written = 0;
        using (var source = raw ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read) : null)
        {
            foreach (var m in split.Movements)
            {
                ct.ThrowIfCancellationRequested();
                string id = $"{track.TrackId}-m{m.Number}";
                string wav = _store.WavPath(id);
                long from = Math.Clamp((long)Math.Round(m.StartSeconds * reader.SampleRate), 0, mono.Length);
                long to = Math.Clamp((long)Math.Round(m.EndSeconds * reader.SampleRate), from, mono.Length);
                var bytes = new byte[WavFile.HeaderBytes + (to - from) * bytesPerSample];
                WavFile.WriteHeader(bytes, format, 1, reader.SampleRate, (to - from) * bytesPerSample);
                if (source is not null)
                {
                    source.Position = info.DataOffset + from * bytesPerSample;
                    source.ReadExactly(bytes.AsSpan(WavFile.HeaderBytes));
                }
                else
                    for (long i = from; i < to; i++)
                        System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan((int)(WavFile.HeaderBytes + (i - from) * 4)), mono[i]);
                if (!SameBytes(wav, bytes)) { AtomicFile.WriteAllBytes(wav, bytes); written++; }

                var row = new SegmentRow(track.TrackId, id, m.Number, Round((double)from / reader.SampleRate), Round((double)to / reader.SampleRate));
                var t = MovementTrack(track, row);
                t.WavPath = wav;
                t.SampleRate = reader.SampleRate;
                t.Status = MessTrackStatus.Standardized;
                t.StatusMessage = null;
                t.ArtifactPath = _store.Root;
                tracks.Add(t);
                rows.Add(row);
            }
        }
        SplitTracks++;
        Movements += tracks.Count;
        _rows[track.TrackId] = rows;
        _boundaries[track.TrackId] = split.Boundaries.ToList();
        return new SplitTrackResult(track, tracks, split, null) { WavsWritten = written };
    }

    /// <summary>
    /// A movement's track from its source track and its segments.csv row: id &lt;track_id&gt;-m&lt;n&gt;, album = the work (the
    /// source id), title "&lt;title&gt; (&lt;n&gt;)", track number n, the span in the source. The one place movement tracks are
    /// made, for the split itself and for readers of an artifact folder's metadata (<see cref="Catalog.MetadataCsv.Read"/>).
    /// </summary>
    public static MessTrack MovementTrack(MessTrack source, SegmentRow row)
    {
        var t = source.Clone();
        t.TrackId = row.TrackId;
        t.AlbumId = source.TrackId;
        t.TrackNo = row.Movement;
        t.Title = $"{source.Title ?? source.TrackId} ({row.Movement})";
        t.SourceTrackId = source.TrackId;
        t.StartSeconds = row.StartSec;
        t.EndSeconds = row.EndSec;
        t.DurationSec = Round(row.EndSec - row.StartSec);
        return t;
    }

    /// <summary>
    /// The movement tracks that metadata/segments.csv beside <paramref name="metadataCsv"/> adds to its tracks (rows of
    /// split tracks whose source is in <paramref name="tracks"/> and whose id is not already a track), in file order.
    /// Nothing when there is no segments file.
    /// </summary>
    public static IEnumerable<MessTrack> MovementsOf(string metadataCsv, IReadOnlyDictionary<string, MessTrack> tracks)
    {
        string file = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(metadataCsv))!, SegmentsFileName);
        if (!File.Exists(file)) yield break;
        foreach (var row in ReadSegments(file))
            if (row.TrackId != row.SourceTrackId && !tracks.ContainsKey(row.TrackId) && tracks.TryGetValue(row.SourceTrackId, out var source))
                yield return MovementTrack(source, row);
    }

    private static double Round(double seconds) => Math.Round(seconds, 3, MidpointRounding.AwayFromZero);

    private static bool SameBytes(string path, byte[] bytes)
    {
        try
        {
            var fi = new FileInfo(path);
            if (!fi.Exists || fi.Length != bytes.Length) return false;
            return File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes);
        }
        catch (IOException) { return false; }
    }

    /// <summary>
    /// Writes metadata/segments.csv atomically: this run's rows replace those of the same source tracks, the others are
    /// kept, all in ordinal source id then movement order (so a rerun writes the same bytes). A movement an earlier run
    /// found and this one did not (other options, changed audio) loses its WAV once the file no longer lists it, so no
    /// stale movement is left to be embedded. Returns the rows written.
    /// </summary>
    public int Save()
    {
        var all = new SortedDictionary<string, List<SegmentRow>>(StringComparer.Ordinal);
        var gone = new List<string>();
        if (File.Exists(SegmentsFile))
            foreach (var r in ReadSegments(SegmentsFile))
            {
                if (_rows.TryGetValue(r.SourceTrackId, out var now))
                {
                    if (r.TrackId != r.SourceTrackId && !now.Any(x => x.TrackId == r.TrackId)) gone.Add(r.TrackId);
                    continue;
                }
                if (!all.TryGetValue(r.SourceTrackId, out var list)) all[r.SourceTrackId] = list = new();
                list.Add(r);
            }
        foreach (var (k, v) in _rows) all[k] = v;
        int count = 0;
        AtomicFile.Write(SegmentsFile, stream =>
        {
            using var text = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
            using var csv = new CsvWriter(text, new CsvConfiguration(CultureInfo.InvariantCulture) { NewLine = "\n", InjectionOptions = InjectionOptions.None });
            foreach (var c in Columns) csv.WriteField(c);
            csv.NextRecord();
            foreach (var r in all.Values.SelectMany(l => l.OrderBy(r => r.Movement)))
            {
                csv.WriteField(r.SourceTrackId);
                csv.WriteField(r.TrackId);
                csv.WriteField(r.Movement.ToString(CultureInfo.InvariantCulture));
                csv.WriteField(r.StartSec.ToString("0.0##", CultureInfo.InvariantCulture));
                csv.WriteField(r.EndSec.ToString("0.0##", CultureInfo.InvariantCulture));
                csv.NextRecord();
                count++;
            }
        });
        foreach (string id in gone)
            if (SafePath.IsSafeSegment(id)) File.Delete(_store.WavPath(id));
        return count;
    }

    /// <summary>Reads metadata/segments.csv; a malformed file is an error naming the line.</summary>
    public static List<SegmentRow> ReadSegments(string path)
    {
        MessException Bad(string why) => new(MessErrorIds.SegmentsMalformed, MessErrorKind.InvalidData, $"'{path}' is not a segments file: {why}. Delete it to start afresh.", path);
        var rows = new List<SegmentRow>();
        using var reader = new StreamReader(path, Encoding.UTF8);
        using var csv = new CsvReader(reader, new CsvConfiguration(CultureInfo.InvariantCulture) { DetectDelimiter = false });
        if (!csv.Read() || !csv.ReadHeader() || csv.HeaderRecord is null || !csv.HeaderRecord.SequenceEqual(Columns))
            throw Bad($"its header is not {string.Join(",", Columns)}");
        while (csv.Read())
        {
            int line = csv.Parser.Row;
            string? F(int i) => csv.TryGetField(i, out string? v) ? v : null;
            string? src = F(0), id = F(1);
            if (string.IsNullOrEmpty(src) || string.IsNullOrEmpty(id)) throw Bad($"line {line} has an empty track id");
            if (!int.TryParse(F(2), NumberStyles.Integer, CultureInfo.InvariantCulture, out int movement) || movement < 1) throw Bad($"line {line}: movement '{F(2)}' is not a positive integer");
            if (!double.TryParse(F(3), NumberStyles.Float, CultureInfo.InvariantCulture, out double start) ||
                !double.TryParse(F(4), NumberStyles.Float, CultureInfo.InvariantCulture, out double end) || !(start >= 0) || !(end >= start))
                throw Bad($"line {line}: start_sec '{F(3)}' and end_sec '{F(4)}' are not seconds with start <= end");
            rows.Add(new SegmentRow(src, id, movement, start, end));
        }
        return rows;
    }
}
