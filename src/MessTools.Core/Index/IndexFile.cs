using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Index;

/// <summary>
/// index/hnsw.index (and index/flat.index): a versioned, self-contained binary file, little-endian.
/// <code>
///   header (256 bytes): magic "MESSIDX\0", format version, header size, kind (1 HNSW, 2 flat), metric (1 inner
///     product on L2-normalised rows = cosine), dim, node count, tombstone count, M, efConstruction, efSearch,
///     seed, entry point, top level, upper-link count, size and SHA-256 of the embeddings.f32 it was built
///     from, total file length, then (offset, length) of each section
///   sections, each 64-byte aligned: track-id offsets (int32, count+1), track ids (UTF-8), vectors (float32,
///     count x dim, row-major), tombstones (1 byte per node), levels (1 byte per node), layer-0 links
///     (int32, count x (2M+1): count, ids), upper-link offsets (int32 per node, -1 on layer 0 only), upper links,
///     and (format 2, HNSW of at least QuantisedRows.MinRows nodes, else empty) the walk's int8 rows: a float32
///     scale per node, zeros to the next 64 bytes, then count x pad bytes x̃ + 128 (pad = dim rounded up to 32;
///     see <see cref="QuantisedRows"/>)
///   trailer (format 2, 32 bytes): XXH64 (seed 0, System.IO.Hashing.XxHash64) of the vector section's bytes, XXH64
///     of the int8 rows' bytes (of no bytes when there are none), XXH64 of every other byte before it (the header,
///     the other sections, the padding, the scales and those two checksums), then "MESSEND\0". Format 1's trailer was
///     16 bytes: one XXH64 of every byte before it, then "MESSEND\0". Either way the last 16 bytes are the file's
///     checksum and the end marker, and the checksum covers every byte, the two large ranges through theirs; a load
///     checksums those two ranges on another core while it reads the rest.
/// </code>
/// <see cref="Load(string)"/> reads the file once, sequentially, straight into the index's arrays (a handful of large
/// allocations, none per node; on Linux and macOS the vector section and the int8 rows are memory-mapped instead of
/// copied, see <see cref="MappedVectors{T}"/>, and in format 2 those two ranges are checksummed on another core while
/// this one reads the rest) and refuses anything that does not check out: another file type, another format version, a
/// truncated or extended file, a checksum mismatch, or a graph that points outside itself.
/// <see cref="Save"/> writes through <see cref="AtomicFile"/>, so a reader always sees a complete old or new file.
/// </summary>
public static class IndexFile
{
    /// <summary>The format written: 2 added the int8 rows. Format 1 files still load (their int8 rows are made on
    /// the first search that needs them).</summary>
    public const int FormatVersion = 2;
    public const int HeaderSize = 256;
    /// <summary>Format 2's trailer: the two range checksums, the file's checksum and the end marker.</summary>
    public const int TrailerSize = 32;
    private const int TrailerSizeV1 = 16;
    public const int MetricInnerProduct = 1;
    private const int Align = 64;
    private const int SectionCount = 9;
    private const int SectionCountV1 = 8;
    private static ReadOnlySpan<byte> Magic => "MESSIDX\0"u8;
    private static ReadOnlySpan<byte> EndMagic => "MESSEND\0"u8;

    private enum Section { IdOffsets, IdBytes, Vectors, Deleted, Levels, Links0, UpperOffsets, UpperLinks, Quantised }

    /// <summary>The int8 section's length for <paramref name="n"/> rows of <paramref name="dim"/>: the scales, padded,
    /// then the rows.</summary>
    private static long QuantisedLength(int n, int dim) => AlignUp(4L * n) + (long)n * QuantisedRows.PaddedDim(dim);

    /// <summary>Writes the index atomically and returns its checksum (the XXH64 in its trailer, see <see cref="ReadChecksum"/>).</summary>
    public static ulong Save(VectorIndex index, string path)
    {
        ulong checksum = 0;
        ArgumentNullException.ThrowIfNull(index);
        int n = index.Count, dim = index.Dimension;
        // Track ids as one UTF-8 blob with offsets.
        var idOffsets = new int[n + 1];
        long blobLength = 0;
        for (int i = 0; i < n; i++)
        {
            idOffsets[i] = checked((int)blobLength);
            blobLength += Encoding.UTF8.GetByteCount(index.TrackId(i));
        }
        idOffsets[n] = checked((int)blobLength);
        var blob = new byte[blobLength];
        for (int i = 0; i < n; i++) Encoding.UTF8.GetBytes(index.TrackId(i), blob.AsSpan(idOffsets[i]));

        var hnsw = index as HnswIndex;
        var p = hnsw?.Parameters;
        var quantised = hnsw?.Quantised();
        var sections = new (long Offset, long Length)[SectionCount];
        long[] lengths =
        {
            4L * (n + 1), blobLength, 4L * n * dim, n, hnsw is null ? 0 : n,
            hnsw is null ? 0 : 4L * n * (p!.M0 + 1), hnsw is null ? 0 : 4L * n, hnsw is null ? 0 : 4L * hnsw.UpperUsed,
            quantised is null ? 0 : QuantisedLength(n, dim),
        };
        long pos = HeaderSize;
        for (int s = 0; s < SectionCount; s++)
        {
            pos = AlignUp(pos);
            sections[s] = (pos, lengths[s]);
            pos += lengths[s];
        }
        long fileLength = AlignUp(pos) + TrailerSize;

        var header = new byte[HeaderSize];
        Magic.CopyTo(header);
        var h = header.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(h[8..], FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(h[12..], HeaderSize);
        BinaryPrimitives.WriteInt32LittleEndian(h[16..], (int)index.Kind);
        BinaryPrimitives.WriteInt32LittleEndian(h[20..], MetricInnerProduct);
        BinaryPrimitives.WriteInt32LittleEndian(h[24..], dim);
        BinaryPrimitives.WriteInt32LittleEndian(h[28..], n);
        BinaryPrimitives.WriteInt32LittleEndian(h[32..], index.DeletedCount);
        BinaryPrimitives.WriteInt32LittleEndian(h[36..], p?.M ?? 0);
        BinaryPrimitives.WriteInt32LittleEndian(h[40..], p?.EfConstruction ?? 0);
        BinaryPrimitives.WriteInt32LittleEndian(h[44..], p?.EfSearch ?? 0);
        BinaryPrimitives.WriteInt32LittleEndian(h[48..], p?.Seed ?? 0);
        BinaryPrimitives.WriteInt32LittleEndian(h[52..], hnsw?.EntryPoint ?? -1);
        BinaryPrimitives.WriteInt32LittleEndian(h[56..], hnsw?.MaxLevel ?? 0);
        BinaryPrimitives.WriteInt32LittleEndian(h[60..], hnsw?.UpperUsed ?? 0);
        BinaryPrimitives.WriteInt64LittleEndian(h[64..], index.EmbeddingsBytes);
        WriteSha(h.Slice(72, 32), index.EmbeddingsSha256);
        BinaryPrimitives.WriteInt64LittleEndian(h[104..], fileLength);
        for (int s = 0; s < SectionCount; s++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(h[(112 + 16 * s)..], sections[s].Offset);
            BinaryPrimitives.WriteInt64LittleEndian(h[(120 + 16 * s)..], sections[s].Length);
        }

        AtomicFile.Write(path, stream =>
        {
            var sum = new System.IO.Hashing.XxHash64();
            var vectorSum = new System.IO.Hashing.XxHash64();
            var rowSum = new System.IO.Hashing.XxHash64();
            long written = 0;
            void Put(ReadOnlySpan<byte> bytes, System.IO.Hashing.XxHash64? apart = null)
            {
                const int chunk = 1 << 22;
                for (int o = 0; o < bytes.Length; o += chunk)
                {
                    var part = bytes.Slice(o, Math.Min(chunk, bytes.Length - o));
                    stream.Write(part);
                    (apart ?? sum).Append(part);
                }
                written += bytes.Length;
            }
            void PadTo(long offset)
            {
                Span<byte> zeros = stackalloc byte[Align];
                zeros.Clear();
                while (written < offset) Put(zeros[..(int)Math.Min(Align, offset - written)]);
            }
            Put(header);
            ReadOnlySpan<byte> Bytes<T>(T[] array, long byteLength) where T : struct =>
                MemoryMarshal.AsBytes(array.AsSpan())[..checked((int)byteLength)];
            for (int s = 0; s < SectionCount; s++)
            {
                PadTo(sections[s].Offset);
                if (sections[s].Length == 0) continue;
                switch ((Section)s)
                {
                    case Section.IdOffsets: Put(Bytes(idOffsets, sections[s].Length)); break;
                    case Section.IdBytes: Put(blob); break;
                    case Section.Vectors: Put(MemoryMarshal.AsBytes(index.VectorStorage.Span)[..checked((int)sections[s].Length)], vectorSum); break;
                    case Section.Deleted: Put(index.DeletedStorage.AsSpan(0, n)); break;
                    case Section.Levels: Put(hnsw!.LevelStorage.AsSpan(0, n)); break;
                    case Section.Links0: Put(Bytes(hnsw!.Links0Storage, sections[s].Length)); break;
                    case Section.UpperOffsets: Put(Bytes(hnsw!.UpperOffsetStorage, sections[s].Length)); break;
                    case Section.UpperLinks: Put(Bytes(hnsw!.UpperLinkStorage, sections[s].Length)); break;
                    case Section.Quantised:
                        Put(MemoryMarshal.AsBytes(quantised!.Scale.AsSpan(0, n)));
                        PadTo(sections[s].Offset + AlignUp(4L * n));
                        Put(quantised.Bytes.Span[..checked((int)((long)n * quantised.DimPad))], rowSum);
                        break;
                }
            }
            PadTo(fileLength - TrailerSize);
            Span<byte> trailer = stackalloc byte[TrailerSize];
            BinaryPrimitives.WriteUInt64LittleEndian(trailer, vectorSum.GetCurrentHashAsUInt64());
            BinaryPrimitives.WriteUInt64LittleEndian(trailer[8..], rowSum.GetCurrentHashAsUInt64());
            sum.Append(trailer[..16]);
            checksum = sum.GetCurrentHashAsUInt64();
            BinaryPrimitives.WriteUInt64LittleEndian(trailer[16..], checksum);
            EndMagic.CopyTo(trailer[24..]);
            stream.Write(trailer);
        });
        return checksum;
    }

    /// <summary>
    /// The checksum an index file's trailer records (not re-computed: <see cref="Load(string)"/> checks it against the
    /// contents); null when the file is missing or has no valid trailer. index_meta.json names its index by it.
    /// </summary>
    public static ulong? ReadChecksum(string path)
    {
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1);
            if (fs.Length < HeaderSize + TrailerSizeV1) return null;
            Span<byte> trailer = stackalloc byte[TrailerSizeV1]; // the last 16 bytes in either format
            fs.Seek(-TrailerSizeV1, SeekOrigin.End);
            fs.ReadExactly(trailer);
            return trailer[8..].SequenceEqual(EndMagic) ? BinaryPrimitives.ReadUInt64LittleEndian(trailer) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>
    /// Whether <see cref="Load(string)"/> maps the vector section instead of copying it: where a mapped file can still be
    /// replaced by a rename (Linux, macOS; not Windows, where it would block New-MessIndex and imports from replacing it).
    /// </summary>
    public static bool MapsVectors => !OperatingSystem.IsWindows();

    /// <summary>Reads and checks an index file; any mismatch is a <see cref="MessException"/> with ErrorId IndexCorrupt (or IndexMissing).</summary>
    public static VectorIndex Load(string path) => Load(path, MapsVectors);

    /// <summary>
    /// <see cref="Load(string)"/>, with the vector section memory-mapped (<paramref name="mapVectors"/>: searched in place
    /// through <see cref="MappedVectors{T}"/>, held once by the page cache; the whole file is still read once and its
    /// checksum checked before the index is returned) or copied into an array.
    /// </summary>
    public static VectorIndex Load(string path, bool mapVectors)
    {
        if (!File.Exists(path))
            throw new MessException(MessErrorIds.IndexMissing, MessErrorKind.ObjectNotFound, $"The index '{path}' does not exist. Run New-MessIndex first.", path);
        FileStream fs;
        try
        {
            fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.SequentialScan);
        }
        catch (IOException ex)
        {
            throw new MessException(MessErrorIds.IndexUnreadable, MessErrorKind.ReadError, $"The index '{path}' cannot be opened: {ex.Message}", path, ex);
        }
        using (fs)
        {
            try { return Read(fs, path, mapVectors); }
            catch (IOException ex) when (ex is not EndOfStreamException)
            {
                throw new MessException(MessErrorIds.IndexUnreadable, MessErrorKind.ReadError, $"Reading the index '{path}' failed: {ex.Message}", path, ex);
            }
            catch (EndOfStreamException ex)
            {
                throw Corrupt(path, "it ended early (truncated while being copied?)", ex);
            }
        }
    }

    private static VectorIndex Read(FileStream fs, string path, bool mapVectors)
    {
        long actualLength = fs.Length;
        var header = new byte[HeaderSize];
        int got = fs.ReadAtLeast(header, Math.Min(HeaderSize, (int)Math.Min(actualLength, HeaderSize)), throwOnEndOfStream: false);
        if (got < 8 || !header.AsSpan(0, 8).SequenceEqual(Magic))
            throw new MessException(MessErrorIds.IndexForeign, MessErrorKind.InvalidData,
                $"'{path}' is not a MessTools index (it does not start with the MESSIDX signature). Run New-MessIndex to rebuild it.", path);
        if (got < HeaderSize) throw Corrupt(path, $"it is {actualLength} bytes, shorter than the {HeaderSize}-byte header");
        var h = header.AsSpan();
        int version = BinaryPrimitives.ReadInt32LittleEndian(h[8..]);
        if (version is < 1 or > FormatVersion)
            throw new MessException(MessErrorIds.IndexVersionUnsupported, MessErrorKind.InvalidData,
                $"'{path}' has index format version {version}; this module reads versions 1 to {FormatVersion}. Run New-MessIndex to rebuild it.", path);
        int sectionCount = version == 1 ? SectionCountV1 : SectionCount;
        int trailerSize = version == 1 ? TrailerSizeV1 : TrailerSize;
        int headerSize = BinaryPrimitives.ReadInt32LittleEndian(h[12..]);
        long fileLength = BinaryPrimitives.ReadInt64LittleEndian(h[104..]);
        if (headerSize != HeaderSize) throw Corrupt(path, $"its header size is {headerSize}, expected {HeaderSize}");
        if (fileLength != actualLength)
            throw Corrupt(path, fileLength > actualLength
                ? $"it is {actualLength} bytes but its header says {fileLength}: the file is truncated"
                : $"it is {actualLength} bytes but its header says {fileLength}: something was appended to it");
        var kind = (IndexKind)BinaryPrimitives.ReadInt32LittleEndian(h[16..]);
        int metric = BinaryPrimitives.ReadInt32LittleEndian(h[20..]);
        int dim = BinaryPrimitives.ReadInt32LittleEndian(h[24..]);
        int n = BinaryPrimitives.ReadInt32LittleEndian(h[28..]);
        int deletedCount = BinaryPrimitives.ReadInt32LittleEndian(h[32..]);
        int m = BinaryPrimitives.ReadInt32LittleEndian(h[36..]);
        int efc = BinaryPrimitives.ReadInt32LittleEndian(h[40..]);
        int efs = BinaryPrimitives.ReadInt32LittleEndian(h[44..]);
        int seed = BinaryPrimitives.ReadInt32LittleEndian(h[48..]);
        int entryPoint = BinaryPrimitives.ReadInt32LittleEndian(h[52..]);
        int maxLevel = BinaryPrimitives.ReadInt32LittleEndian(h[56..]);
        int upperUsed = BinaryPrimitives.ReadInt32LittleEndian(h[60..]);
        long embeddingsBytes = BinaryPrimitives.ReadInt64LittleEndian(h[64..]);
        string embeddingsSha = h.Slice(72, 32).IndexOfAnyExcept((byte)0) < 0 ? "" : Convert.ToHexString(h.Slice(72, 32)).ToLowerInvariant();
        if (kind is not (IndexKind.Hnsw or IndexKind.Flat)) throw Corrupt(path, $"its index kind {(int)kind} is unknown");
        if (metric != MetricInnerProduct) throw Corrupt(path, $"its metric {metric} is unknown");
        if (dim is < 1 or > 1 << 16) throw Corrupt(path, $"its dimension {dim} is out of range");
        if (n < 0 || deletedCount < 0 || deletedCount > n) throw Corrupt(path, $"its counts ({n} nodes, {deletedCount} removed) are impossible");
        HnswParameters? p = null;
        if (kind == IndexKind.Hnsw)
        {
            p = new HnswParameters { M = m, EfConstruction = efc, EfSearch = efs, Seed = seed };
            try { p.Validate(); }
            catch (MessException ex) { throw Corrupt(path, "its parameters are invalid: " + ex.Message); }
            if (upperUsed < 0) throw Corrupt(path, "its upper-link count is negative");
            if (n > 0 && ((uint)entryPoint >= (uint)n || maxLevel is < 0 or > HnswIndex.MaxLevelCap))
                throw Corrupt(path, $"its entry point {entryPoint} / top level {maxLevel} is out of range");
        }
        bool isHnsw = kind == IndexKind.Hnsw;
        long[] expected =
        {
            4L * (n + 1), -1, 4L * n * dim, n, isHnsw ? n : 0,
            isHnsw ? 4L * n * (2 * m + 1) : 0, isHnsw ? 4L * n : 0, isHnsw ? 4L * upperUsed : 0,
            -1,
        };
        var sections = new (long Offset, long Length)[SectionCount];
        long cursor = HeaderSize;
        for (int s = 0; s < sectionCount; s++)
        {
            long off = BinaryPrimitives.ReadInt64LittleEndian(h[(112 + 16 * s)..]);
            long len = BinaryPrimitives.ReadInt64LittleEndian(h[(120 + 16 * s)..]);
            if (off < cursor || off % Align != 0 || len < 0 || off + len > fileLength - trailerSize || len > int.MaxValue)
                throw Corrupt(path, $"its section table is inconsistent (section {(Section)s})");
            if (expected[s] >= 0 && len != expected[s])
                throw Corrupt(path, $"section {(Section)s} is {len} bytes, expected {expected[s]} for {n} nodes of {dim} dims");
            if ((Section)s == Section.Quantised && len != 0 && (!isHnsw || len != QuantisedLength(n, dim)))
                throw Corrupt(path, $"section {(Section)s} is {len} bytes, expected 0{(isHnsw ? $" or {QuantisedLength(n, dim)}" : "")} for {n} nodes of {dim} dims");
            sections[s] = (off, len);
            cursor = off + len;
        }
        if (AlignUp(cursor) + trailerSize != fileLength) throw Corrupt(path, "its sections do not fill the file");

        // Format 2: the vector section and the int8 rows have checksums of their own, computed here on another core
        // from positional reads while this thread reads the rest (a cold load's largest single cost).
        var vectorRange = sections[(int)Section.Vectors];
        long quantisedRowsOffset = sections[(int)Section.Quantised].Offset + AlignUp(4L * n);
        long quantisedRowLength = sections[(int)Section.Quantised].Length == 0 ? 0 : sections[(int)Section.Quantised].Length - AlignUp(4L * n);
        bool apart = version >= 2;
        var rangeSums = apart
            ? Task.Run(() => (Vectors: RangeChecksum(fs, vectorRange.Offset, vectorRange.Length), Rows: RangeChecksum(fs, quantisedRowsOffset, quantisedRowLength)))
            : null;
        // Observed even when the read below fails first and the file closes under it.
        rangeSums?.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

        var sum = new System.IO.Hashing.XxHash64();
        sum.Append(header);
        long position = HeaderSize;
        var pad = new byte[Align];
        void Fill(Span<byte> target)
        {
            // Read and checksum in chunks, so the checksum reads memory that is still in cache.
            const int chunk = 1 << 20;
            for (int o = 0; o < target.Length; o += chunk)
            {
                var part = target.Slice(o, Math.Min(chunk, target.Length - o));
                fs.ReadExactly(part);
                sum.Append(part);
            }
            position += target.Length;
        }
        void SkipTo(long offset)
        {
            while (position < offset) Fill(pad.AsSpan(0, (int)Math.Min(Align, offset - position)));
        }
        // A range with a checksum of its own (format 2): read into the target, or passed over, outside this one.
        void Apart(Span<byte> target, long length)
        {
            if (target.Length > 0) fs.ReadExactly(target);
            else fs.Seek(length, SeekOrigin.Current);
            position += length;
        }
        T[] ReadArray<T>(int s, long elements) where T : unmanaged
        {
            SkipTo(sections[s].Offset);
            var array = LargeArray.Uninitialized<T>(elements);
            Fill(MemoryMarshal.AsBytes(array.AsSpan()));
            return array;
        }

        var idOffsets = ReadArray<int>((int)Section.IdOffsets, n + 1);
        var idBytes = ReadArray<byte>((int)Section.IdBytes, sections[(int)Section.IdBytes].Length);
        // Mapped: the section is mapped below, after every check has passed; its bytes are read once for the checksum,
        // through a small buffer (format 1, here) or by the range checksum on another core (format 2), and no copy is
        // kept. Otherwise: read into an array.
        bool map = mapVectors && (long)n * dim > 0;
        float[]? vectorArray = null;
        byte[]? through = null;
        void Checksum(long length)
        {
            through ??= new byte[1 << 20];
            for (long left = length; left > 0; left -= through.Length)
                Fill(through.AsSpan(0, (int)Math.Min(through.Length, left)));
        }
        SkipTo(vectorRange.Offset);
        if (!map) vectorArray = LargeArray.Uninitialized<float>((long)n * dim);
        if (apart) Apart(vectorArray is null ? default : MemoryMarshal.AsBytes(vectorArray.AsSpan()), vectorRange.Length);
        else if (map) Checksum(vectorRange.Length);
        else Fill(MemoryMarshal.AsBytes(vectorArray!.AsSpan()));
        var deleted = ReadArray<byte>((int)Section.Deleted, n);
        byte[]? levels = null;
        int[]? links0 = null, upperOffsets = null, upperLinks = null;
        if (isHnsw)
        {
            levels = ReadArray<byte>((int)Section.Levels, n);
            links0 = ReadArray<int>((int)Section.Links0, (long)n * (2 * m + 1));
            upperOffsets = ReadArray<int>((int)Section.UpperOffsets, n);
            upperLinks = ReadArray<int>((int)Section.UpperLinks, upperUsed);
        }
        // The int8 rows (format 2 only): the scales into an array, the rows mapped like the vectors (or read into an array).
        float[]? scales = null;
        byte[]? quantisedArray = null;
        int quantisedRowBytes = (int)quantisedRowLength;
        if (quantisedRowBytes > 0)
        {
            scales = ReadArray<float>((int)Section.Quantised, n);
            SkipTo(quantisedRowsOffset);
            if (!map) quantisedArray = LargeArray.Uninitialized<byte>(quantisedRowBytes);
            Apart(quantisedArray, quantisedRowBytes);
        }
        SkipTo(fileLength - trailerSize);
        Span<byte> trailer = stackalloc byte[trailerSize];
        fs.ReadExactly(trailer);
        if (apart) sum.Append(trailer[..16]); // the range checksums are part of what the file's checksum covers
        var tail = trailer[^16..];
        if (!tail[8..].SequenceEqual(EndMagic)) throw Corrupt(path, "its end marker is missing (the file is truncated or damaged)");
        if (BinaryPrimitives.ReadUInt64LittleEndian(tail) != sum.GetCurrentHashAsUInt64())
            throw Corrupt(path, "its checksum does not match its contents (the file is damaged)");
        if (rangeSums is not null)
        {
            var (vectorSum, rowSum) = rangeSums.GetAwaiter().GetResult();
            if (vectorSum != BinaryPrimitives.ReadUInt64LittleEndian(trailer) || rowSum != BinaryPrimitives.ReadUInt64LittleEndian(trailer[8..]))
                throw Corrupt(path, "its checksum does not match its contents (the file is damaged)");
        }

        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Index files are little-endian; this machine is not.");
        var ids = DecodeIds(path, idOffsets, idBytes, n);
        int tombstones = 0;
        for (int i = 0; i < n; i++)
        {
            if (deleted[i] > 1) throw Corrupt(path, $"tombstone flag of node {i} is {deleted[i]}");
            tombstones += deleted[i];
        }
        if (tombstones != deletedCount) throw Corrupt(path, $"it has {tombstones} tombstones, its header says {deletedCount}");
        var byId = LiveIdMap(path, ids, deleted, n, n - tombstones);
        if (isHnsw) ValidateGraph(path, n, m, levels!, links0!, upperOffsets!, upperLinks!, upperUsed, entryPoint, maxLevel);
        if (scales is not null)
            for (int i = 0; i < n; i++)
                if (!(scales[i] >= 0 && float.IsFinite(scales[i]))) throw Corrupt(path, $"the int8 scale of node {i} is {scales[i]}");
        Memory<float> vectors = map ? MappedVectors<float>.Open(fs, sections[(int)Section.Vectors].Offset, checked(n * dim)).Memory : vectorArray!;
        QuantisedRows? quantised = scales is null ? null : new QuantisedRows(
            map ? MappedVectors<byte>.Open(fs, quantisedRowsOffset, quantisedRowBytes).Memory : quantisedArray!, scales, n, dim);

        VectorIndex index;
        if (isHnsw)
        {
            index = new HnswIndex(p!, dim, n, ids, vectors, deleted, levels!, links0!, upperOffsets!, upperLinks!, upperUsed, entryPoint, maxLevel, quantised);
        }
        else index = new FlatIndex(ids, vectors, deleted, n, dim);
        index.UseIdMap(byId);
        index.EmbeddingsSha256 = embeddingsSha;
        index.EmbeddingsBytes = embeddingsBytes;
        return index;
    }

    /// <summary>XXH64 of <paramref name="length"/> bytes at <paramref name="offset"/>, by positional reads (they do not
    /// move the stream's position, so the reading thread is undisturbed).</summary>
    private static ulong RangeChecksum(FileStream fs, long offset, long length)
    {
        var sum = new System.IO.Hashing.XxHash64();
        var buffer = new byte[1 << 20];
        while (length > 0)
        {
            int got = RandomAccess.Read(fs.SafeFileHandle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, length)), offset);
            if (got <= 0) throw new EndOfStreamException();
            sum.Append(buffer.AsSpan(0, got));
            offset += got;
            length -= got;
        }
        return sum.GetCurrentHashAsUInt64();
    }

    private static string[] DecodeIds(string path, int[] offsets, byte[] blob, int n)
    {
        if (offsets[0] != 0 || offsets[n] != blob.Length) throw Corrupt(path, "its track-id table does not cover the id bytes");
        var ids = new string[n];
        var utf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);
        for (int i = 0; i < n; i++)
        {
            int a = offsets[i], b = offsets[i + 1];
            if (b <= a || b > blob.Length) throw Corrupt(path, $"track id {i} has an invalid extent");
            try { ids[i] = utf8.GetString(blob, a, b - a); }
            catch (DecoderFallbackException ex) { throw Corrupt(path, $"track id {i} is not valid UTF-8", ex); }
        }
        return ids;
    }

    private static Dictionary<string, int> LiveIdMap(string path, string[] ids, byte[] deleted, int n, int live)
    {
        var map = new Dictionary<string, int>(live, StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
            if (deleted[i] == 0 && !map.TryAdd(ids[i], i)) throw Corrupt(path, $"track '{ids[i]}' is live twice");
        return map;
    }

    private static void ValidateGraph(string path, int n, int m, byte[] levels, int[] links0, int[] upperOffsets, int[] upperLinks,
        int upperUsed, int entryPoint, int maxLevel)
    {
        int m0 = 2 * m, stride0 = m0 + 1, strideUp = m + 1;
        long expectedOffset = 0;
        int top = 0;
        for (int i = 0; i < n; i++)
        {
            int level = levels[i];
            if (level > HnswIndex.MaxLevelCap) throw Corrupt(path, $"node {i} has level {level}");
            top = Math.Max(top, level);
            if (level == 0)
            {
                if (upperOffsets[i] != -1) throw Corrupt(path, $"node {i} has upper links but level 0");
            }
            else
            {
                if (upperOffsets[i] != expectedOffset) throw Corrupt(path, $"the upper links of node {i} are misplaced");
                expectedOffset += (long)level * strideUp;
            }
            int b = i * stride0;
            int cnt = links0[b];
            if (cnt < 0 || cnt > m0) throw Corrupt(path, $"node {i} has {cnt} layer-0 links (at most {m0})");
            for (int j = 1; j <= cnt; j++)
                if ((uint)links0[b + j] >= (uint)n) throw Corrupt(path, $"node {i} links to node {links0[b + j]}, outside 0..{n - 1}");
            for (int l = 1; l <= level; l++)
            {
                int o = upperOffsets[i] + (l - 1) * strideUp;
                int c = upperLinks[o];
                if (c < 0 || c > m) throw Corrupt(path, $"node {i} has {c} links on layer {l} (at most {m})");
                for (int j = 1; j <= c; j++)
                {
                    int t = upperLinks[o + j];
                    if ((uint)t >= (uint)n || levels[t] < l) throw Corrupt(path, $"node {i} links on layer {l} to node {t}, which is not on that layer");
                }
            }
        }
        if (expectedOffset != upperUsed) throw Corrupt(path, "its upper links do not add up");
        if (n > 0 && (top != maxLevel || levels[entryPoint] != maxLevel))
            throw Corrupt(path, $"its entry point {entryPoint} is not on the top level {maxLevel}");
    }

    private static long AlignUp(long x) => (x + Align - 1) / Align * Align;

    private static void WriteSha(Span<byte> target, string hex)
    {
        target.Clear();
        if (string.IsNullOrEmpty(hex)) return;
        var bytes = Convert.FromHexString(hex);
        if (bytes.Length != 32) throw new ArgumentException("An SHA-256 is 64 hex digits.", nameof(hex));
        bytes.CopyTo(target);
    }

    private static MessException Corrupt(string path, string why, Exception? inner = null) =>
        new(MessErrorIds.IndexCorrupt, MessErrorKind.InvalidData,
            $"The index '{path}' cannot be used: {why}. Run New-MessIndex to rebuild it.", path, inner);
}
