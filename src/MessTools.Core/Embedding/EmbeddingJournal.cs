using System.Buffers.Binary;
using System.Text.Json;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Index;

namespace MessTools.Core.Embedding;

/// <summary>
/// embeddings/journal.bin: the durable progress of a ConvertTo-MessEmbedding run between saves. Every finished
/// track is appended as one record and flushed to disk before the run moves on, so a kill at any moment loses at
/// most the track being written. The next run folds the records into its set (they are reused, not recomputed);
/// a complete save of the set (its meta written) empties the journal.
/// <para>Record: magic "MJR1", payload length (int32 LE), payload (UTF-8 JSON of the track's row, vector and
/// segments), XXH64 of the payload (uint64 LE). A torn or damaged record ends the journal: it and what follows
/// are dropped with a warning (only the last, interrupted append can be torn). Records of another model key are
/// dropped too. Only the holder of the folder's writer lock touches it.</para>
/// </summary>
public sealed class EmbeddingJournal : IDisposable
{
    public const string FileName = ArtifactLayout.JournalFileName;
    private static ReadOnlySpan<byte> Magic => "MJR1"u8;
    private const int MaxPayload = 64 << 20;

    private readonly FileStream _stream;
    private readonly string _modelKey;

    public string Path { get; }
    /// <summary>Records appended by this run.</summary>
    public int Appended { get; private set; }

    private EmbeddingJournal(string path, FileStream stream, string modelKey)
    {
        Path = path;
        _stream = stream;
        _modelKey = modelKey;
    }

    private sealed class Record
    {
        public string ModelKey { get; set; } = "";
        public EmbeddingRowInfo Info { get; set; } = new();
        public float[] Vector { get; set; } = Array.Empty<float>();
        public List<SegmentRecord> Segments { get; set; } = new();
    }

    private sealed class SegmentRecord
    {
        public SegmentRow Row { get; set; } = new();
        public float[] Vector { get; set; } = Array.Empty<float>();
    }

    public static string PathIn(ArtifactStore store) => System.IO.Path.Combine(store.EmbeddingsDir, FileName);

    /// <summary>
    /// Reads the journal of <paramref name="store"/> (none: an empty list): the valid records of
    /// <paramref name="modelKey"/> in order, and the byte length of the valid prefix (where appending resumes).
    /// </summary>
    public static (List<EmbeddedTrack> Tracks, long ValidLength) Read(ArtifactStore store, string modelKey, Action<string>? warn)
    {
        string path = PathIn(store);
        var tracks = new List<EmbeddedTrack>();
        if (!File.Exists(path)) return (tracks, 0);
        byte[] bytes = File.ReadAllBytes(path);
        long pos = 0;
        int otherModel = 0;
        while (pos < bytes.Length)
        {
            var rest = bytes.AsSpan((int)pos);
            if (rest.Length < 16 || !rest[..4].SequenceEqual(Magic)) break;
            int len = BinaryPrimitives.ReadInt32LittleEndian(rest[4..]);
            if (len <= 0 || len > MaxPayload || rest.Length < 8 + len + 8) break;
            var payload = rest.Slice(8, len);
            if (BinaryPrimitives.ReadUInt64LittleEndian(rest[(8 + len)..]) != System.IO.Hashing.XxHash64.HashToUInt64(payload)) break;
            Record? r;
            try { r = JsonSerializer.Deserialize<Record>(payload, ArtifactJson.Options); }
            catch (JsonException) { break; }
            if (r is null || string.IsNullOrEmpty(r.Info.TrackId) || r.Vector.Length == 0) break;
            pos += 8 + len + 8;
            if (r.ModelKey != modelKey) { otherModel++; continue; }
            tracks.Add(new EmbeddedTrack
            {
                Info = r.Info,
                Vector = r.Vector,
                Segments = r.Segments.Select(s => (s.Row, s.Vector)).ToList(),
            });
        }
        if (pos < bytes.Length)
            warn?.Invoke($"The embedding journal '{path}' ends with {bytes.Length - pos:N0} byte(s) of an interrupted or damaged record after {tracks.Count + otherModel} good one(s): that part is dropped (its track is embedded again).");
        if (otherModel > 0)
            warn?.Invoke($"The embedding journal '{path}' holds {otherModel} track(s) of another model or profile: they are dropped.");
        return (tracks, pos);
    }

    /// <summary>Opens the journal for appending after its first <paramref name="validLength"/> bytes (a torn tail is cut off).</summary>
    public static EmbeddingJournal Open(ArtifactStore store, string modelKey, long validLength)
    {
        string path = PathIn(store);
        Directory.CreateDirectory(store.EmbeddingsDir);
        var fs = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, 1 << 16);
        if (fs.Length != validLength) fs.SetLength(validLength);
        fs.Seek(validLength, SeekOrigin.Begin);
        return new EmbeddingJournal(path, fs, modelKey);
    }

    /// <summary>Appends one finished track and flushes it to disk.</summary>
    public void Append(EmbeddedTrack track)
    {
        var record = new Record
        {
            ModelKey = _modelKey,
            Info = track.Info,
            Vector = track.Vector,
            Segments = track.Segments.Select(s => new SegmentRecord { Row = s.Row, Vector = s.Vector }).ToList(),
        };
        byte[] payload = JsonSerializer.SerializeToUtf8Bytes(record, ArtifactJson.Options);
        var frame = new byte[8 + payload.Length + 8];
        Magic.CopyTo(frame);
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(4), payload.Length);
        payload.CopyTo(frame, 8);
        BinaryPrimitives.WriteUInt64LittleEndian(frame.AsSpan(8 + payload.Length), System.IO.Hashing.XxHash64.HashToUInt64(payload));
        _stream.Write(frame);
        _stream.Flush(flushToDisk: true);
        Appended++;
        FaultInjection.Hit("embed.journal-appended");
    }

    /// <summary>Empties the journal: everything in it is now in a complete saved set.</summary>
    public void Clear()
    {
        _stream.SetLength(0);
        _stream.Flush(flushToDisk: true);
    }

    /// <summary>Closes the journal; an empty one is deleted.</summary>
    public void Dispose()
    {
        bool empty = _stream.Length == 0;
        _stream.Dispose();
        if (empty)
        {
            try { File.Delete(Path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
