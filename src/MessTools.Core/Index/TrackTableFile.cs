using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using MessTools.Core.Artifacts;

namespace MessTools.Core.Index;

/// <summary>
/// index/track_table.bin: the served columns of metadata/tracks_metadata.csv (track_id, album_id, title, composer) as a
/// binary table, written by New-MessIndex so that a server start or a cold Find-MessNeighbor reads them without parsing
/// and checking the CSV again (for 100,000 tracks: about 20 ms instead of 0.3–0.8 s). It is derived data, never a
/// source: it names the CSV it was made from by length and XXH3 of its bytes, and <see cref="TryRead"/> gives it only
/// while the CSV still has exactly those bytes; a changed, damaged or foreign table is ignored and the CSV is read.
/// <code>
///   header (40 bytes, little-endian): "MESSTRK\0", format version (int32), rows (int32), CSV length (int64),
///       CSV XXH3 (uint64, System.IO.Hashing.XxHash3, seed 0), albums (int32), composers (int32)
///   albums, then composers: each a UTF-8 string (int32 byte length, bytes)
///   rows, in CSV order: track id (string), title (string), album (int32, into albums), composer (int32, into composers)
///   trailer (8 bytes): XXH64 (seed 0) of every byte before it
/// </code>
/// The same CSV always gives the same bytes.
/// </summary>
public static class TrackTableFile
{
    public const int FormatVersion = 1;
    private const int HeaderSize = 40;
    private static ReadOnlySpan<byte> Magic => "MESSTRK\0"u8;

    /// <summary>
    /// Writes the table of <paramref name="info"/> (read from a CSV whose <see cref="FingerprintFile"/> was
    /// <paramref name="csv"/>) atomically to <paramref name="path"/>.
    /// </summary>
    public static void Write(string path, TrackInfoTable info, (long Length, ulong Hash) csv)
    {
        var (albums, albumOf) = Pool(info, info.AlbumId);
        var (composers, composerOf) = Pool(info, info.Composer);
        using var body = new MemoryStream();
        using var w = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true); // little-endian
        void Str(string s)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(s);
            w.Write(bytes.Length);
            w.Write(bytes);
        }
        var (length, hash) = csv;
        w.Write(Magic);
        w.Write(FormatVersion);
        w.Write(info.Count);
        w.Write(length);
        w.Write(hash);
        w.Write(albums.Count);
        w.Write(composers.Count);
        foreach (string a in albums) Str(a);
        foreach (string c in composers) Str(c);
        for (int row = 0; row < info.Count; row++)
        {
            Str(info.TrackId(row));
            Str(info.Title(row));
            w.Write(albumOf[row]);
            w.Write(composerOf[row]);
        }
        w.Flush();
        w.Write(XxHash64.HashToUInt64(body.GetBuffer().AsSpan(0, (int)body.Length)));
        w.Flush();
        AtomicFile.WriteAllBytes(path, body.GetBuffer().AsSpan(0, (int)body.Length));
    }

    /// <summary>Distinct values of one column in order of first appearance, and each row's place among them.</summary>
    private static (List<string> Values, int[] Of) Pool(TrackInfoTable info, Func<int, string> column)
    {
        var values = new List<string>();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var of = new int[info.Count];
        for (int row = 0; row < info.Count; row++)
        {
            string v = column(row);
            if (!ids.TryGetValue(v, out int id)) { id = values.Count; ids[v] = id; values.Add(v); }
            of[row] = id;
        }
        return (values, of);
    }

    /// <summary>
    /// The table at <paramref name="path"/> when it exists, is whole (its trailer checksum holds) and was made from a
    /// CSV with the <see cref="FingerprintFile"/> <paramref name="csv"/>; otherwise null, with why in <paramref name="reason"/>.
    /// </summary>
    public static TrackInfoTable? TryRead(string path, (long Length, ulong Hash) csv, out string reason)
    {
        byte[] bytes;
        try
        {
            if (!File.Exists(path)) { reason = "it does not exist"; return null; }
            bytes = File.ReadAllBytes(path); // kept: the titles are decoded from it on demand
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            reason = "it cannot be read: " + ex.Message;
            return null;
        }
        var all = bytes.AsSpan();
        if (all.Length < HeaderSize + 8 || !all[..8].SequenceEqual(Magic)) { reason = "it is not a MessTools track table"; return null; }
        if (BinaryPrimitives.ReadInt32LittleEndian(all[8..]) != FormatVersion) { reason = "its format version is not " + FormatVersion; return null; }
        if (XxHash64.HashToUInt64(all[..^8]) != BinaryPrimitives.ReadUInt64LittleEndian(all[^8..])) { reason = "its checksum does not match its contents"; return null; }
        if (BinaryPrimitives.ReadInt64LittleEndian(all[16..]) != csv.Length || BinaryPrimitives.ReadUInt64LittleEndian(all[24..]) != csv.Hash)
        {
            reason = "the metadata CSV changed after it was written";
            return null;
        }
        int rows = BinaryPrimitives.ReadInt32LittleEndian(all[12..]);
        int albumCount = BinaryPrimitives.ReadInt32LittleEndian(all[32..]);
        int composerCount = BinaryPrimitives.ReadInt32LittleEndian(all[36..]);
        var body = all[..^8];
        int at = HeaderSize;
        try
        {
            int Int(ReadOnlySpan<byte> b)
            {
                int v = BinaryPrimitives.ReadInt32LittleEndian(b[at..]);
                at += 4;
                return v;
            }
            int Skip(ReadOnlySpan<byte> b)
            {
                int start = at, n = Int(b);
                if ((uint)n > (uint)(b.Length - at)) throw new ArgumentOutOfRangeException(nameof(path));
                at += n;
                return start;
            }
            string Str(ReadOnlySpan<byte> b) => StringAt(b, Skip(b));
            if (rows < 0 || albumCount < 0 || composerCount < 0) throw new ArgumentOutOfRangeException(nameof(path));
            var albums = new string[albumCount];
            for (int i = 0; i < albumCount; i++) albums[i] = Str(body);
            var composers = new string[composerCount];
            for (int i = 0; i < composerCount; i++) composers[i] = Str(body);
            var ids = new string[rows];
            var titleAt = new int[rows];
            var albumOf = new string[rows];
            var composerOf = new string[rows];
            for (int row = 0; row < rows; row++)
            {
                ids[row] = Str(body);
                titleAt[row] = Skip(body);
                albumOf[row] = albums[Int(body)];
                composerOf[row] = composers[Int(body)];
            }
            if (at != body.Length) { reason = "its rows do not fill it"; return null; }
            var table = TrackInfoTable.FromColumns(ids, albumOf, bytes, titleAt, composerOf);
            if (table is null) { reason = "it holds a track id twice"; return null; }
            reason = "";
            return table;
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            // An extent or reference outside the file: only a table written by something else gets here (the checksum held).
            reason = "its rows are inconsistent";
            return null;
        }
    }

    /// <summary>The string whose int32 length prefix is at <paramref name="offset"/>.</summary>
    internal static string StringAt(ReadOnlySpan<byte> bytes, int offset)
    {
        int n = BinaryPrimitives.ReadInt32LittleEndian(bytes[offset..]);
        return n == 0 ? "" : Encoding.UTF8.GetString(bytes.Slice(offset + 4, n));
    }

    /// <summary>Length and XXH3 (seed 0) of the bytes of the file at <paramref name="path"/>, read through a small buffer:
    /// what a table records of the CSV it stands for.</summary>
    public static (long Length, ulong Hash) FingerprintFile(string path)
    {
        var hash = new XxHash3();
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.SequentialScan);
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            long length = 0;
            int got;
            while ((got = fs.Read(buffer, 0, buffer.Length)) > 0)
            {
                hash.Append(buffer.AsSpan(0, got));
                length += got;
            }
            return (length, hash.GetCurrentHashAsUInt64());
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer); }
    }
}
