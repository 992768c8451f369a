using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Embedding;

/// <summary>embeddings/rows.json: per row, what it was computed from, so unchanged tracks are not recomputed.</summary>
public sealed class EmbeddingRowsFile
{
    public string Model { get; set; } = "";
    /// <summary>SHA-256 over the model file's SHA-256 and the profile: what must match for a row to be reused.</summary>
    public string ModelKey { get; set; } = "";
    public int Dim { get; set; }
    public double? SegmentSeconds { get; set; }
    public List<EmbeddingRowInfo> Rows { get; set; } = new();
}

public sealed class EmbeddingRowInfo
{
    public string TrackId { get; set; } = "";
    /// <summary>SHA-256 of the audio file's bytes.</summary>
    public string AudioSha256 { get; set; } = "";
    public long AudioBytes { get; set; }
    public double DurationSec { get; set; }
    /// <summary>Rows of segments.f32 this track owns (0: none).</summary>
    public int Segments { get; set; }
}

/// <summary>embeddings/segments.json rows: row i of segments.f32.</summary>
public sealed class SegmentRow
{
    public string TrackId { get; set; } = "";
    public double Start { get; set; }
    public double End { get; set; }
}

/// <summary>One track's result: its L2-normalised vector, where it came from, and its segment vectors.</summary>
public sealed class EmbeddedTrack
{
    public required EmbeddingRowInfo Info { get; init; }
    public required float[] Vector { get; init; }
    public List<(SegmentRow Row, float[] Vector)> Segments { get; init; } = new();
}

/// <summary>
/// The embedding artifacts of one folder as a working set: loaded (and checked) at the start of a run, updated
/// track by track, saved atomically. Save order: the complete previous set is copied to embeddings/.previous/
/// first, then rows.json, embeddings.f32, track_ids.json, segments, embeddings.npy, and embeddings_meta.json
/// last (with the SHA-256 of every file). A run killed at any moment leaves either the new set complete or the
/// previous one complete in .previous/, which <see cref="EmbeddingMatrix.Load(ArtifactStore)"/> falls back to.
/// </summary>
public sealed class EmbeddingSet
{
    public const string RowsFileName = "rows.json";
    public const string SegmentsFileName = "segments.f32";
    public const string SegmentsJsonName = "segments.json";
    public const string NpyFileName = "embeddings.npy";
    public const string PreviousFolderName = ".previous";

    private readonly List<EmbeddedTrack> _rows = new();
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

    public string Model { get; private set; } = "";
    public string ModelKey { get; private set; } = "";
    public int Dimension { get; private set; }
    public double? SegmentSeconds { get; private set; }
    public int Count => _rows.Count;
    /// <summary>True when the set was loaded from a folder holding complete artifacts.</summary>
    public bool Loaded { get; private set; }
    public IReadOnlyList<EmbeddedTrack> Rows => _rows;

    public static string ComputeModelKey(string modelSha256, string profileCanonical) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(modelSha256 + "\n" + profileCanonical))).ToLowerInvariant();

    /// <summary>An empty set for <paramref name="model"/>.</summary>
    public static EmbeddingSet Empty(string model, string modelKey, double? segmentSeconds) =>
        new() { Model = model, ModelKey = modelKey, SegmentSeconds = segmentSeconds };

    /// <summary>
    /// Loads the folder's artifacts if there are any. Throws EmbeddingsModelMismatch when they belong to another
    /// model (or profile), EmbeddingsOutOfStep when neither the set nor .previous/ is complete.
    /// </summary>
    public static EmbeddingSet Open(ArtifactStore store, string model, string modelKey, double? segmentSeconds, Action<string>? warn = null)
    {
        var set = Empty(model, modelKey, segmentSeconds);
        string dir = store.EmbeddingsDir;
        if (!File.Exists(store.EmbeddingsMetaFile) && !File.Exists(Path.Combine(dir, RowsFileName)) && !File.Exists(store.EmbeddingsFile)
            && !File.Exists(Path.Combine(dir, PreviousFolderName, ArtifactLayout.EmbeddingsMetaFileName)))
            return set;
        string folder; EmbeddingMatrix matrix;
        try { (folder, matrix) = EmbeddingMatrix.LoadWithFallback(dir, warn); }
        catch (MessException ex) when (ex.ErrorId == MessErrorIds.EmbeddingsOutOfStep && !File.Exists(store.EmbeddingsMetaFile)
                                       && !File.Exists(Path.Combine(dir, PreviousFolderName, ArtifactLayout.EmbeddingsMetaFileName)))
        {
            // The first save of this folder was interrupted (its meta, written last, is missing and there is no earlier
            // complete set): nothing in it was ever complete, so it is discarded; the journal still holds its tracks.
            warn?.Invoke($"'{dir}' holds a first set of embeddings whose save was interrupted (embeddings_meta.json, written last, is missing): it is discarded and rebuilt; the tracks that run finished are recovered from its journal.");
            return set;
        }
        string rowsPath = Path.Combine(folder, RowsFileName);
        if (!File.Exists(rowsPath))
            throw new MessException(MessErrorIds.EmbeddingsNotIncremental, MessErrorKind.InvalidData,
                $"'{dir}' holds embeddings without {RowsFileName} (made by another tool or an older version), so this run cannot tell which rows are current. Use -Force to rebuild them, or another -ArtifactPath.", dir);
        var rows = ArtifactJson.Read<EmbeddingRowsFile>(rowsPath);
        if (rows.ModelKey != modelKey)
            throw new MessException(MessErrorIds.EmbeddingsModelMismatch, MessErrorKind.InvalidOperation,
                $"'{dir}' holds embeddings of model '{rows.Model}' (key {Short(rows.ModelKey)}), not of '{model}' with this profile (key {Short(modelKey)}). Another model or profile belongs in another artifact folder (-ArtifactPath, default artifacts/v1_model_<MODEL>); use -Force to replace these embeddings.", dir);
        if (rows.Rows.Count != matrix.Count || !rows.Rows.Select(r => r.TrackId).SequenceEqual(matrix.TrackIds))
            throw new MessException(MessErrorIds.EmbeddingsOutOfStep, MessErrorKind.InvalidData,
                $"'{rowsPath}' does not list the same tracks in the same order as track_ids.json. Use -Force to rebuild the embeddings.", rowsPath);
        set.Dimension = matrix.Dimension;
        set.SegmentSeconds = rows.SegmentSeconds;
        // segments
        List<SegmentRow>? segRows = null; float[]? segData = null;
        int segTotal = rows.Rows.Sum(r => r.Segments);
        if (segTotal > 0)
        {
            string sj = Path.Combine(folder, SegmentsJsonName), sf = Path.Combine(folder, SegmentsFileName);
            segRows = ArtifactJson.Read<List<SegmentRow>>(sj);
            long bytes = File.Exists(sf) ? new FileInfo(sf).Length : -1;
            if (segRows.Count != segTotal || bytes != 4L * segTotal * matrix.Dimension)
                throw new MessException(MessErrorIds.EmbeddingsOutOfStep, MessErrorKind.InvalidData,
                    $"'{sf}' and '{sj}' do not hold the {segTotal} segment rows {RowsFileName} lists. Use -Force to rebuild the embeddings.", sf);
            segData = new float[segTotal * matrix.Dimension];
            using var fs = File.OpenRead(sf);
            fs.ReadExactly(MemoryMarshal.AsBytes(segData.AsSpan()));
        }
        int s = 0;
        for (int i = 0; i < matrix.Count; i++)
        {
            var info = rows.Rows[i];
            var t = new EmbeddedTrack { Info = info, Vector = matrix.Row(i).ToArray() };
            for (int k = 0; k < info.Segments; k++, s++)
            {
                if (segRows![s].TrackId != info.TrackId)
                    throw new MessException(MessErrorIds.EmbeddingsOutOfStep, MessErrorKind.InvalidData,
                        $"Segment row {s} belongs to '{segRows[s].TrackId}' but {RowsFileName} gives it to '{info.TrackId}'.", info.TrackId);
                t.Segments.Add((segRows[s], segData.AsSpan(s * matrix.Dimension, matrix.Dimension).ToArray()));
            }
            set._index[info.TrackId] = set._rows.Count;
            set._rows.Add(t);
        }
        set.Loaded = true;
        if (segmentSeconds is not null && set.SegmentSeconds is not null && Math.Abs(segmentSeconds.Value - set.SegmentSeconds.Value) > 1e-9)
        {
            // another segment length: every track's segments are recomputed when it is embedded again; drop the old ones
            foreach (var r in set._rows) { r.Segments.Clear(); r.Info.Segments = 0; }
            set.SegmentSeconds = segmentSeconds;
        }
        else if (segmentSeconds is not null) set.SegmentSeconds = segmentSeconds;
        return set;
    }

    private static string Short(string key) => key.Length > 12 ? key[..12] : key;

    /// <summary>True when <paramref name="trackId"/> is embedded from exactly these audio bytes (and has segments if they are wanted).</summary>
    public bool IsCurrent(string trackId, string audioSha256, long audioBytes, bool needSegments)
    {
        if (!_index.TryGetValue(trackId, out int i)) return false;
        var info = _rows[i].Info;
        return info.AudioSha256 == audioSha256 && info.AudioBytes == audioBytes && (!needSegments || info.Segments > 0);
    }

    public bool Contains(string trackId) => _index.ContainsKey(trackId);

    /// <summary>Checks a new result against the set (dimension); throws EmbeddingDimensionMismatch without changing anything.</summary>
    public void Validate(string trackId, int dimension)
    {
        if (Dimension > 0 && dimension != Dimension)
            throw new MessException(MessErrorIds.EmbeddingDimensionMismatch, MessErrorKind.InvalidData,
                $"Track '{trackId}' got a {dimension}-dimensional embedding but the matrix in this folder is {Dimension}-dimensional; nothing was written for it. Use -Force to rebuild the matrix, or another -ArtifactPath.", trackId);
    }

    /// <summary>Replaces the track's row (same position) or appends it.</summary>
    public void Put(EmbeddedTrack track)
    {
        Validate(track.Info.TrackId, track.Vector.Length);
        foreach (var s in track.Segments) Validate(track.Info.TrackId, s.Vector.Length);
        if (Dimension == 0) Dimension = track.Vector.Length;
        track.Info.Segments = track.Segments.Count;
        if (_index.TryGetValue(track.Info.TrackId, out int i)) _rows[i] = track;
        else { _index[track.Info.TrackId] = _rows.Count; _rows.Add(track); }
    }

    /// <summary>Writes the artifacts (see the class summary for the order); <paramref name="meta"/> gets count, dim and file hashes.</summary>
    public void Save(ArtifactStore store, EmbeddingsMeta meta, bool writeNpy, Action<string>? beforeWrite = null)
    {
        void Before(string name) => beforeWrite?.Invoke(name);
        if (_rows.Count == 0) throw new InvalidOperationException("There are no rows to save.");
        string dir = store.EmbeddingsDir;
        Directory.CreateDirectory(dir);
        PreservePrevious(store);
        int dim = Dimension;
        // Rows in ordinal track-id order, not the order results arrived in: the same tracks give the same bytes
        // whatever the thread timing, and shards merge into exactly what one process writes.
        var rows = SortedRows();
        var data = new float[(long)rows.Count * dim];
        for (int i = 0; i < rows.Count; i++) rows[i].Vector.CopyTo(data.AsSpan(i * dim, dim));
        var rowsFile = new EmbeddingRowsFile { Model = Model, ModelKey = ModelKey, Dim = dim, SegmentSeconds = SegmentSeconds, Rows = rows.Select(r => r.Info).ToList() };
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        byte[] rowsBytes = JsonSerializer.SerializeToUtf8Bytes(rowsFile, ArtifactJson.Options);
        Before(RowsFileName);
        AtomicFile.WriteAllBytes(Path.Combine(dir, RowsFileName), rowsBytes);
        files[RowsFileName] = Sha(rowsBytes);
        var bytes = MemoryMarshal.AsBytes(data.AsSpan());
        Before(ArtifactLayout.EmbeddingsFileName);
        AtomicFile.WriteAllBytes(store.EmbeddingsFile, bytes);
        byte[] ids = JsonSerializer.SerializeToUtf8Bytes(rows.Select(r => r.Info.TrackId).ToArray());
        Before(ArtifactLayout.TrackIdsFileName);
        AtomicFile.WriteAllBytes(store.TrackIdsFile, ids);
        files[ArtifactLayout.TrackIdsFileName] = Sha(ids);
        int segCount = rows.Sum(r => r.Segments.Count);
        string segF = Path.Combine(dir, SegmentsFileName), segJ = Path.Combine(dir, SegmentsJsonName);
        if (segCount > 0)
        {
            var seg = new float[(long)segCount * dim];
            var segRows = new List<SegmentRow>(segCount);
            int s = 0;
            foreach (var r in rows)
                foreach (var (row, v) in r.Segments) { v.CopyTo(seg.AsSpan(s++ * dim, dim)); segRows.Add(row); }
            var sb = MemoryMarshal.AsBytes(seg.AsSpan());
            Before(SegmentsFileName);
            AtomicFile.WriteAllBytes(segF, sb);
            files[SegmentsFileName] = Sha(sb);
            byte[] sj = JsonSerializer.SerializeToUtf8Bytes(segRows, ArtifactJson.Options);
            AtomicFile.WriteAllBytes(segJ, sj);
            files[SegmentsJsonName] = Sha(sj);
        }
        else { TryDelete(segF); TryDelete(segJ); }
        string npy = Path.Combine(dir, NpyFileName);
        if (writeNpy || File.Exists(npy))
        {
            byte[] n = Npy.Encode(data, rows.Count, dim);
            Before(NpyFileName);
            AtomicFile.WriteAllBytes(npy, n);
            files[NpyFileName] = Sha(n);
        }
        meta.Model = Model;
        meta.Count = rows.Count;
        meta.Dim = dim;
        meta.EmbeddingsSha256 = Sha(bytes);
        meta.Files = new Dictionary<string, string>(files);
        meta.SegmentSeconds = segCount > 0 ? SegmentSeconds : null;
        meta.SegmentCount = segCount > 0 ? segCount : null;
        Before(ArtifactLayout.EmbeddingsMetaFileName);
        ArtifactJson.Write(store.EmbeddingsMetaFile, meta);
    }

    /// <summary>The rows in the order they are written: ordinal order of track id (culture-independent).</summary>
    public List<EmbeddedTrack> SortedRows() => _rows.OrderBy(r => r.Info.TrackId, StringComparer.Ordinal).ToList();

    /// <summary>Copies the current complete set (if it checks out) to .previous/, its meta last.</summary>
    private static void PreservePrevious(ArtifactStore store)
    {
        string dir = store.EmbeddingsDir, prev = Path.Combine(dir, PreviousFolderName);
        if (!File.Exists(store.EmbeddingsMetaFile)) return;
        try { EmbeddingMatrix.LoadFolder(dir, verify: true); }
        catch (MessException) { return; } // the main set is not complete: .previous/ (if any) is the last good one
        Directory.CreateDirectory(prev);
        TryDelete(Path.Combine(prev, ArtifactLayout.EmbeddingsMetaFileName)); // .previous/ is incomplete until its meta is back
        foreach (var f in Directory.EnumerateFiles(dir))
        {
            string name = Path.GetFileName(f);
            if (name is ArtifactLayout.EmbeddingsMetaFileName or EmbeddingJournal.FileName || name.EndsWith(AtomicFileWriter.TempSuffix, StringComparison.Ordinal)) continue;
            AtomicFile.Write(Path.Combine(prev, name), s => { using var src = File.OpenRead(f); src.CopyTo(s); });
        }
        AtomicFile.Write(Path.Combine(prev, ArtifactLayout.EmbeddingsMetaFileName), s => { using var src = File.OpenRead(store.EmbeddingsMetaFile); src.CopyTo(s); });
    }

    internal static string Sha(ReadOnlySpan<byte> bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();

    private static void TryDelete(string path)
    {
        try { if (File.Exists(path)) File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>NumPy .npy (format 1.0) for float32 matrices.</summary>
public static class Npy
{
    public static byte[] Encode(ReadOnlySpan<float> data, int rows, int cols)
    {
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}";
        int headerLen = 10 + dict.Length + 1;
        int pad = (64 - headerLen % 64) % 64;
        string header = dict + new string(' ', pad) + "\n";
        var result = new byte[10 + header.Length + data.Length * 4L];
        result[0] = 0x93; "NUMPY"u8.CopyTo(result.AsSpan(1));
        result[6] = 1; result[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header).CopyTo(result.AsSpan(10));
        MemoryMarshal.AsBytes(data).CopyTo(result.AsSpan(10 + header.Length));
        return result;
    }
}
