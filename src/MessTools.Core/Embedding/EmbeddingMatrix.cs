using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Embedding;

/// <summary>
/// embeddings/embeddings_meta.json: how the matrix was made. Field names are the seed's (snake_case on disk).
/// </summary>
public sealed class EmbeddingsMeta
{
    public string Model { get; set; } = "";
    public string? ModelSha256 { get; set; }
    /// <summary>The model file's name (ONNX models).</summary>
    public string? ModelFile { get; set; }
    public JsonElement? Profile { get; set; }
    public int Dim { get; set; }
    public string Dtype { get; set; } = "float32";
    public string ByteOrder { get; set; } = "little";
    public string Layout { get; set; } = "row_major";
    public string Normalization { get; set; } = "l2";
    public string? Pooling { get; set; }
    public JsonElement? Layers { get; set; }
    public int? SampleRate { get; set; }
    public JsonElement? Chunking { get; set; }
    public string ModuleVersion { get; set; } = ModuleInfo.Version;
    public string? OnnxRuntimeVersion { get; set; }
    public int Count { get; set; }
    public string EmbeddingsSha256 { get; set; } = "";
    /// <summary>SHA-256 of every other file of the set (track_ids.json, rows.json, segments, embeddings.npy): readers detect files out of step.</summary>
    public Dictionary<string, string>? Files { get; set; }
    /// <summary>-SegmentSeconds of the segment rows (segments.f32, segments.json), if any.</summary>
    public double? SegmentSeconds { get; set; }
    public int? SegmentCount { get; set; }
    // No timestamps or run counts here: the same catalogue and model give the same bytes (what a run did and when
    // is in its run record under runs/), so sharded runs merge into exactly what one process writes.
}

/// <summary>
/// The embedding artifacts in memory: N x D float32 rows (row i belongs to TrackIds[i]), each L2-normalised.
/// <see cref="Load(ArtifactStore)"/> checks every file against the others and says what does not match; <see cref="Save"/>
/// writes embeddings.f32 and track_ids.json first and embeddings_meta.json (with the matrix's SHA-256) last.
/// </summary>
public sealed class EmbeddingMatrix
{
    public EmbeddingMatrix(string[] trackIds, float[] data, int dimension)
    {
        if (dimension <= 0) throw new ArgumentOutOfRangeException(nameof(dimension));
        if ((long)trackIds.Length * dimension != data.Length)
            throw new ArgumentException($"{trackIds.Length} ids x {dimension} dims != {data.Length} values.");
        TrackIds = trackIds;
        Data = data;
        Dimension = dimension;
    }

    public string[] TrackIds { get; }
    public float[] Data { get; }
    public int Dimension { get; }
    public int Count => TrackIds.Length;

    public ReadOnlySpan<float> Row(int i) => Data.AsSpan(i * Dimension, Dimension);

    /// <summary>The row index of each track id.</summary>
    public Dictionary<string, int> IndexById()
    {
        var map = new Dictionary<string, int>(Count, StringComparer.Ordinal);
        for (int i = 0; i < Count; i++) map[TrackIds[i]] = i;
        return map;
    }

    /// <summary>
    /// Loads embeddings/ of <paramref name="store"/>, checking every file against the SHA-256 sums in the meta.
    /// When the set is out of step (a run was killed while writing it), the complete previous set kept in
    /// embeddings/.previous/ is loaded instead. Same as <see cref="EmbeddingsFolder.Open(ArtifactStore, Action{string})"/>'s matrix.
    /// </summary>
    public static EmbeddingMatrix Load(ArtifactStore store) => EmbeddingsFolder.Open(store).Matrix;

    /// <summary>As <see cref="Load(ArtifactStore)"/>, saying which folder was read.</summary>
    public static (string Folder, EmbeddingMatrix Matrix) LoadWithFallback(string embeddingsDir, Action<string>? warn)
    {
        var set = EmbeddingsFolder.Open(embeddingsDir, warn);
        return (set.Folder, set.Matrix);
    }

    /// <summary>Loads embeddings.f32, track_ids.json and embeddings_meta.json of one folder; with <paramref name="verify"/> the SHA-256 sums in the meta are checked.</summary>
    public static EmbeddingMatrix LoadFolder(string folder, bool verify) => EmbeddingsFolder.Read(folder, verify).Matrix;

    public static EmbeddingMatrix Load(string embeddingsFile, string trackIdsFile, string metaFile) =>
        Load(embeddingsFile, trackIdsFile, File.Exists(metaFile) ? ArtifactJson.Read<EmbeddingsMeta>(metaFile) : null, metaFile);

    /// <summary>
    /// Reads the matrix and checks every row: finite, and, when <paramref name="meta"/> says the rows are L2-normalised,
    /// non-zero and of unit length within <see cref="UnitLengthTolerance"/>. A row that is not is an error naming its track.
    /// </summary>
    internal static EmbeddingMatrix Load(string embeddingsFile, string trackIdsFile, EmbeddingsMeta? meta, string metaFile)
    {
        string[] ids = ReadTrackIds(trackIdsFile);
        if (!File.Exists(embeddingsFile))
            throw new MessException(MessErrorIds.EmbeddingsMissing, MessErrorKind.ObjectNotFound,
                $"'{embeddingsFile}' does not exist. Run ConvertTo-MessEmbedding first.", embeddingsFile);
        long bytes = new FileInfo(embeddingsFile).Length;
        if (ids.Length == 0)
            throw new MessException(MessErrorIds.EmbeddingsEmpty, MessErrorKind.InvalidData, $"'{trackIdsFile}' lists no tracks.", trackIdsFile);
        int dim = meta?.Dim ?? 0;
        if (dim <= 0)
        {
            if (bytes % (4L * ids.Length) != 0)
                throw Mismatch(embeddingsFile, $"its {bytes} bytes are not a whole number of float32 rows for the {ids.Length} ids in track_ids.json");
            dim = (int)(bytes / (4L * ids.Length));
        }
        if (meta is not null && meta.Dim > 0 && bytes != 4L * ids.Length * meta.Dim && bytes % (4L * meta.Dim) == 0)
            throw Mismatch(embeddingsFile, $"it holds {bytes / (4L * meta.Dim)} rows but track_ids.json lists {ids.Length}");
        if (meta is not null && meta.Count != ids.Length)
            throw Mismatch(metaFile, $"it says {meta.Count} rows but track_ids.json lists {ids.Length}");
        if (bytes != 4L * ids.Length * dim)
            throw Mismatch(embeddingsFile, $"it holds {bytes} bytes, but {ids.Length} tracks x {dim} dims x 4 bytes = {4L * ids.Length * dim}");
        var data = LargeArray.Uninitialized<float>(ids.Length * (long)dim); // every byte read below
        using (var fs = new FileStream(embeddingsFile, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
            fs.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("embeddings.f32 is little-endian; this machine is not.");
        bool unit = meta is not null && string.Equals(meta.Normalization, "l2", StringComparison.OrdinalIgnoreCase);
        for (int r = 0; r < ids.Length; r++)
            CheckRow(data.AsSpan(r * dim, dim), unit, r, ids[r], embeddingsFile);
        return new EmbeddingMatrix(ids, data, dim);
    }

    /// <summary>How far from 1 the length of a row of an L2-normalised set may be.</summary>
    public const double UnitLengthTolerance = 1e-3;

    internal static void CheckRow(ReadOnlySpan<float> row, bool unit, int r, string id, string file)
    {
        // One vectorised pass: the sum of squares is finite only if every value is (or it overflowed: not unit either).
        float squares = System.Numerics.Tensors.TensorPrimitives.SumOfSquares(row);
        if (!float.IsFinite(squares))
            foreach (float x in row)
                if (!float.IsFinite(x))
                    throw new MessException(MessErrorIds.EmbeddingNotFinite, MessErrorKind.InvalidData,
                        $"Row {r} of '{file}' (track '{id}') holds NaN or infinity.", id);
        if (!unit) return;
        if (squares == 0)
            throw new MessException(MessErrorIds.EmbeddingZero, MessErrorKind.InvalidData,
                $"Row {r} of '{file}' (track '{id}') is all zeros, but the set's meta says its rows are L2-normalised: a zero row has no direction. The set was changed after it was written: rebuild it (ConvertTo-MessEmbedding, Merge-MessEmbedding or Import-MessArtifact).", id);
        double length = Math.Sqrt(squares);
        if (!(Math.Abs(length - 1) <= UnitLengthTolerance))
            throw new MessException(MessErrorIds.EmbeddingNotUnitLength, MessErrorKind.InvalidData,
                $"Row {r} of '{file}' (track '{id}') has length {length:G6}, but the set's meta says its rows are L2-normalised (length 1 within {UnitLengthTolerance:G}): its similarities would not be cosines. The set was changed after it was written: rebuild it (ConvertTo-MessEmbedding, Merge-MessEmbedding or Import-MessArtifact).", id);
    }

    public static string[] ReadTrackIds(string trackIdsFile)
    {
        if (!File.Exists(trackIdsFile))
            throw new MessException(MessErrorIds.EmbeddingsMissing, MessErrorKind.ObjectNotFound,
                $"'{trackIdsFile}' does not exist. Run ConvertTo-MessEmbedding first.", trackIdsFile);
        string[]? ids;
        try { ids = JsonSerializer.Deserialize<string[]>(File.ReadAllBytes(trackIdsFile)); }
        catch (JsonException ex)
        {
            throw new MessException(MessErrorIds.TrackIdsMalformed, MessErrorKind.InvalidData, $"'{trackIdsFile}' is not a JSON array of strings: {ex.Message}", trackIdsFile, ex);
        }
        if (ids is null) throw new MessException(MessErrorIds.TrackIdsMalformed, MessErrorKind.InvalidData, $"'{trackIdsFile}' holds null.", trackIdsFile);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < ids.Length; i++)
        {
            if (string.IsNullOrEmpty(ids[i]))
                throw new MessException(MessErrorIds.TrackIdsMalformed, MessErrorKind.InvalidData, $"Entry {i} of '{trackIdsFile}' is empty.", trackIdsFile);
            if (!seen.Add(ids[i]))
                throw new MessException(MessErrorIds.TrackIdsDuplicate, MessErrorKind.InvalidData, $"'{trackIdsFile}' lists '{ids[i]}' twice (entry {i}).", ids[i]);
        }
        return ids;
    }

    /// <summary>Writes the three files atomically, the meta last; fills in count, dim and the SHA-256.</summary>
    public void Save(ArtifactStore store, EmbeddingsMeta meta)
    {
        var bytes = MemoryMarshal.AsBytes(Data.AsSpan());
        AtomicFile.WriteAllBytes(store.EmbeddingsFile, bytes);
        AtomicFile.WriteAllBytes(store.TrackIdsFile, JsonSerializer.SerializeToUtf8Bytes(TrackIds));
        meta.Count = Count;
        meta.Dim = Dimension;
        meta.EmbeddingsSha256 = Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
        ArtifactJson.Write(store.EmbeddingsMetaFile, meta);
    }

    internal static MessException Mismatch(string file, string why) =>
        new(MessErrorIds.EmbeddingsOutOfStep, MessErrorKind.InvalidData,
            $"The embedding artifacts do not match: '{file}': {why}. Run ConvertTo-MessEmbedding again to rebuild them.", file);
}
