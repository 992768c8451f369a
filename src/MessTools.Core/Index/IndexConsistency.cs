using System.Security.Cryptography;
using System.Text.Json;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Index;

/// <summary>
/// The one check that an index matches the embeddings it serves (New-MessIndex, Find-MessNeighbor,
/// Invoke-MessEvaluation -Search Index and the HTTP server all call it): the embeddings' SHA-256 recorded in the
/// index against embeddings_meta.json (or embeddings.f32 itself), and the dimension when the caller knows it.
/// A mismatch is the error id IndexOutOfStep; embeddings that disagree with their own meta are EmbeddingsOutOfStep.
/// </summary>
public static class IndexConsistency
{
    /// <summary>
    /// Checks <paramref name="index"/> against the embeddings on disk in <paramref name="store"/>. No embeddings at all:
    /// the index stands alone and is used as is.
    /// </summary>
    public static void Require(ArtifactStore store, VectorIndex index, string indexPath)
    {
        var (current, source) = CurrentEmbeddingsSha(store, index.EmbeddingsBytes);
        Require(index, current, null, indexPath, source);
    }

    /// <summary>Checks the index against a known embeddings checksum and dimension (either may be null: not checked).</summary>
    public static void Require(VectorIndex index, string? embeddingsSha256, int? dimension, string indexPath, string source)
    {
        ArgumentNullException.ThrowIfNull(index);
        if (dimension is { } d && index.Dimension != d)
            throw new MessException(MessErrorIds.IndexOutOfStep, MessErrorKind.InvalidData,
                $"The index '{indexPath}' holds {index.Dimension}-dimensional vectors, {source} {d}. Rebuild it with New-MessIndex.", indexPath);
        // Nothing known about the embeddings: nothing to compare. An index without a recorded checksum passes a check
        // against in-memory data (its dimension was checked), but not one against the files on disk.
        if (string.IsNullOrEmpty(embeddingsSha256) || string.IsNullOrEmpty(index.EmbeddingsSha256) && dimension is not null) return;
        if (!string.Equals(embeddingsSha256, index.EmbeddingsSha256, StringComparison.OrdinalIgnoreCase))
            throw new MessException(MessErrorIds.IndexOutOfStep, MessErrorKind.InvalidData,
                $"The index '{indexPath}' was built from other embeddings than the current ones ('{source}': SHA-256 {Short(embeddingsSha256)}, index: {Short(index.EmbeddingsSha256)}). " +
                "Rebuild the index: New-MessIndex (or New-MessIndex -Append to add only what changed).", indexPath);
    }

    /// <summary>Checks that embeddings.f32 (its SHA-256 <paramref name="actualSha256"/>) is the file embeddings_meta.json describes.</summary>
    public static void RequireEmbeddingsMatchMeta(ArtifactStore store, string? recordedSha256, string actualSha256)
    {
        if (string.IsNullOrEmpty(recordedSha256) || string.Equals(recordedSha256, actualSha256, StringComparison.OrdinalIgnoreCase)) return;
        throw new MessException(MessErrorIds.EmbeddingsOutOfStep, MessErrorKind.InvalidData,
            $"'{store.EmbeddingsFile}' does not match the SHA-256 recorded in '{store.EmbeddingsMetaFile}' ({Short(recordedSha256)} recorded, {Short(actualSha256)} found). Run ConvertTo-MessEmbedding again to rebuild the embeddings.",
            store.EmbeddingsFile);
    }

    /// <summary>
    /// The SHA-256 of the current embeddings and where it came from: embeddings_sha256 of embeddings_meta.json, else
    /// embeddings.f32 hashed (or its size, when that already differs from <paramref name="expectedBytes"/>); null without either.
    /// </summary>
    public static (string? Sha256, string Source) CurrentEmbeddingsSha(ArtifactStore store, long expectedBytes = 0)
    {
        if (File.Exists(store.EmbeddingsMetaFile))
        {
            string? recorded = ReadEmbeddingsSha(store.EmbeddingsMetaFile);
            if (!string.IsNullOrEmpty(recorded)) return (recorded, store.EmbeddingsMetaFile);
        }
        if (!File.Exists(store.EmbeddingsFile)) return (null, store.EmbeddingsFile);
        long len = new FileInfo(store.EmbeddingsFile).Length;
        if (expectedBytes > 0 && len != expectedBytes) return ($"(a file of {len} bytes)", store.EmbeddingsFile);
        return (HashFile(store.EmbeddingsFile), store.EmbeddingsFile);
    }

    /// <summary>
    /// Hashes embeddings.f32 (streamed, never loaded whole) and checks it against the SHA-256 embeddings_meta.json
    /// records; returns the hash, or null when either file is absent (nothing to verify).
    /// </summary>
    public static string? VerifyEmbeddingsFile(ArtifactStore store)
    {
        if (!File.Exists(store.EmbeddingsFile) || !File.Exists(store.EmbeddingsMetaFile)) return null;
        var (recorded, dim, unit) = ReadMetaFacts(store.EmbeddingsMetaFile);
        // One pass: the hash, and every row checked as every reader checks it (finite; unit length when the meta says l2).
        var (actual, badRow) = Embedding.EmbeddingsFolder.HashAndCheckRows(store.EmbeddingsFile, store.TrackIdsFile, dim, unit);
        RequireEmbeddingsMatchMeta(store, recorded, actual);
        if (badRow is not null) throw badRow;
        return actual;
    }

    private static string HashFile(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 20);
        return Convert.ToHexString(SHA256.HashData(fs)).ToLowerInvariant();
    }

    /// <summary>embeddings_sha256 of embeddings_meta.json, read without binding the whole document.</summary>
    private static string? ReadEmbeddingsSha(string metaFile) => ReadMetaFacts(metaFile).Sha256;

    /// <summary>embeddings_sha256, dim and whether normalization is l2, read without binding the whole document.</summary>
    private static (string? Sha256, int Dim, bool Unit) ReadMetaFacts(string metaFile)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(metaFile));
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, 0, false);
            string? sha = root.TryGetProperty("embeddings_sha256", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            int dim = root.TryGetProperty("dim", out var d) && d.ValueKind == JsonValueKind.Number && d.TryGetInt32(out int di) && di > 0 ? di : 0;
            bool unit = root.TryGetProperty("normalization", out var nz) && nz.ValueKind == JsonValueKind.String
                        && string.Equals(nz.GetString(), "l2", StringComparison.OrdinalIgnoreCase);
            return (sha, dim, unit);
        }
        catch (JsonException ex)
        {
            throw new MessException(MessErrorIds.ArtifactMalformed, MessErrorKind.InvalidData, $"The artifact '{metaFile}' is not valid JSON: {ex.Message}", metaFile, ex);
        }
    }

    private static string Short(string s) => string.IsNullOrEmpty(s) ? "(none)" : s.Length > 12 ? s[..12] + "…" : s;
}
