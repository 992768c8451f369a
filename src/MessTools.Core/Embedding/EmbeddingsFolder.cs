using System.Runtime.InteropServices;
using System.Security.Cryptography;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Embedding;

/// <summary>
/// One embedding set as every reader opens it (evaluation, analysis, index build, vector publish, merge, publish's model,
/// the server): embeddings.f32 with its meta, its SHA-256 and its track table, every file checked against the sums in the
/// meta, every row checked (finite; non-zero and of unit length when the meta says l2), and the complete previous set in
/// embeddings/.previous/ read instead when a killed run left the set out of step.
/// </summary>
public sealed class EmbeddingsFolder
{
    private EmbeddingsFolder(string folder, EmbeddingMatrix matrix, EmbeddingsMeta? meta, string? sha256)
    {
        Folder = folder;
        Matrix = matrix;
        Meta = meta;
        _sha256 = sha256;
    }

    private string? _sha256;

    /// <summary>The folder read: embeddings/, or embeddings/.previous/ after a fallback.</summary>
    public string Folder { get; }
    public EmbeddingMatrix Matrix { get; }
    /// <summary>embeddings_meta.json (null for a set written without one).</summary>
    public EmbeddingsMeta? Meta { get; }
    public string MetaFile => Path.Combine(Folder, ArtifactLayout.EmbeddingsMetaFileName);
    /// <summary>SHA-256 of the matrix's bytes as read (computed once, when first asked for unless the check already did).</summary>
    public string Sha256 => _sha256 ??= EmbeddingSet.Sha(MemoryMarshal.AsBytes(Matrix.Data.AsSpan()));

    /// <summary>Opens embeddings/ of <paramref name="store"/> (with the .previous/ fallback, which <paramref name="warn"/> reports).</summary>
    public static EmbeddingsFolder Open(ArtifactStore store, Action<string>? warn = null) => Open(store.EmbeddingsDir, warn);

    /// <summary>Opens an embeddings folder (with the .previous/ fallback, which <paramref name="warn"/> reports).</summary>
    public static EmbeddingsFolder Open(string embeddingsDir, Action<string>? warn = null)
    {
        try { return Read(embeddingsDir, verify: true); }
        catch (MessException ex) when (ex.ErrorId is MessErrorIds.EmbeddingsOutOfStep)
        {
            string prev = Path.Combine(embeddingsDir, EmbeddingSet.PreviousFolderName);
            if (!File.Exists(Path.Combine(prev, ArtifactLayout.EmbeddingsMetaFileName))) throw;
            EmbeddingsFolder set;
            try { set = Read(prev, verify: true); }
            catch (MessException) { throw ex; }
            warn?.Invoke($"{ex.Message} Using the previous complete set in '{prev}'.");
            return set;
        }
    }

    /// <summary>
    /// The server's check of a set it serves from its index: streams <paramref name="embeddingsFile"/> once (never loaded
    /// whole), hashing it and checking each row of <paramref name="dim"/> values as <see cref="Open(ArtifactStore, Action{string}?)"/> does.
    /// Returns the SHA-256 and the first bad row's error (thrown by the caller after it has compared the hash), if any.
    /// </summary>
    public static (string Sha256, MessException? BadRow) HashAndCheckRows(string embeddingsFile, string trackIdsFile, int dim, bool unit)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var fs = new FileStream(embeddingsFile, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 20);
        MessException? bad = null;
        int rowBytes = dim > 0 ? 4 * dim : 0;
        int rowsPerChunk = rowBytes > 0 ? Math.Max(1, (1 << 20) / rowBytes) : 0;
        var buffer = new byte[rowBytes > 0 ? rowsPerChunk * rowBytes : 1 << 20];
        long row = 0;
        int n;
        while ((n = fs.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            if (bad is null && rowBytes > 0 && BitConverter.IsLittleEndian)
            {
                var floats = MemoryMarshal.Cast<byte, float>(buffer.AsSpan(0, n - n % rowBytes));
                for (int i = 0; i + dim <= floats.Length && bad is null; i += dim, row++)
                {
                    try { EmbeddingMatrix.CheckRow(floats.Slice(i, dim), unit, (int)row, $"row {row}", embeddingsFile); }
                    catch (MessException ex) { bad = Named(ex, (int)row, trackIdsFile); }
                }
            }
        }
        return (Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant(), bad);
    }

    // The row's error again, naming its track (track_ids.json is read only when a row is bad).
    private static MessException Named(MessException ex, int row, string trackIdsFile)
    {
        string id;
        try { var ids = EmbeddingMatrix.ReadTrackIds(trackIdsFile); id = row < ids.Length ? ids[row] : $"row {row}"; }
        catch (MessException) { return ex; }
        return new MessException(ex.ErrorId, ex.Kind, ex.Message.Replace($"(track 'row {row}')", $"(track '{id}')"), id);
    }

    /// <summary>Reads one folder; with <paramref name="verify"/> the SHA-256 sums in the meta are checked.</summary>
    internal static EmbeddingsFolder Read(string folder, bool verify)
    {
        string metaFile = Path.Combine(folder, ArtifactLayout.EmbeddingsMetaFileName);
        string emb = Path.Combine(folder, ArtifactLayout.EmbeddingsFileName), ids = Path.Combine(folder, ArtifactLayout.TrackIdsFileName);
        if (!File.Exists(metaFile) && File.Exists(Path.Combine(folder, EmbeddingSet.RowsFileName)))
            throw EmbeddingMatrix.Mismatch(metaFile, "it is missing while rows.json exists, so a run stopped before it finished writing");
        var meta = File.Exists(metaFile) ? ArtifactJson.Read<EmbeddingsMeta>(metaFile) : null;
        var m = EmbeddingMatrix.Load(emb, ids, meta, metaFile);
        string? sha = null;
        if (verify && meta is not null)
        {
            if (!string.IsNullOrEmpty(meta.EmbeddingsSha256))
            {
                sha = EmbeddingSet.Sha(MemoryMarshal.AsBytes(m.Data.AsSpan()));
                if (!string.Equals(sha, meta.EmbeddingsSha256, StringComparison.OrdinalIgnoreCase))
                    throw EmbeddingMatrix.Mismatch(emb, $"its SHA-256 is {sha[..12]}..., the meta says {meta.EmbeddingsSha256[..Math.Min(12, meta.EmbeddingsSha256.Length)]}...");
            }
            foreach (var (name, expected) in meta.Files ?? new())
            {
                string f = Path.Combine(folder, name);
                if (!File.Exists(f)) throw EmbeddingMatrix.Mismatch(f, "the meta lists it but it is missing");
                using var fs = File.OpenRead(f);
                string actual = Convert.ToHexString(SHA256.HashData(fs)).ToLowerInvariant();
                if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
                    throw EmbeddingMatrix.Mismatch(f, $"its SHA-256 is {actual[..12]}..., the meta says {expected[..Math.Min(12, expected.Length)]}...");
            }
        }
        return new EmbeddingsFolder(folder, m, meta, sha);
    }
}
