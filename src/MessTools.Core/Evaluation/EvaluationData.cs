using MessTools.Core.Artifacts;
using MessTools.Core.Catalog;
using MessTools.Core.Common;
using MessTools.Core.Embedding;

namespace MessTools.Core.Evaluation;

/// <summary>
/// What the evaluation scores: one embedding row per track with its composer label and album, rows ordered by
/// ordinal track_id (so "lower row index" means "lower track_id", which is how the search breaks ties, and the
/// result does not depend on the order of the embedding file).
/// </summary>
public sealed class EvaluationData
{
    public string[] TrackIds { get; }
    public float[] Vectors { get; }
    public int Dimension { get; }
    public string[] Composers { get; }
    public string[] AlbumIds { get; }
    public int Count => TrackIds.Length;
    /// <summary>Where the data came from (a folder or a description), for messages and the results file.</summary>
    public string Source { get; init; } = "";
    public string? Model { get; init; }
    public string? EmbeddingsSha256 { get; init; }

    private EvaluationData(string[] ids, float[] vectors, int dim, string[] composers, string[] albums)
    {
        TrackIds = ids; Vectors = vectors; Dimension = dim; Composers = composers; AlbumIds = albums;
    }

    public ReadOnlySpan<float> Row(int i) => Vectors.AsSpan(i * Dimension, Dimension);

    /// <summary>
    /// Checks and joins embeddings with metadata: as many rows as ids, every value finite, every track in the
    /// metadata with a composer. Errors name the file, row or tracks at fault.
    /// </summary>
    public static EvaluationData Create(IReadOnlyList<string> trackIds, float[] vectors, int dimension,
        IReadOnlyDictionary<string, MessTrack> metadata, string source = "embeddings", string metadataSource = "metadata",
        string? model = null, string? embeddingsSha256 = null)
        => Join(trackIds, vectors, dimension, metadata, source, metadataSource, model, embeddingsSha256, adopt: false);

    /// <summary><see cref="Create"/>; <paramref name="adopt"/>: <paramref name="vectors"/> is this call's to keep (read from a file for it),
    /// so rows already in track id order are used as they are rather than copied (100 MB at 100,000 x 256).</summary>
    private static EvaluationData Join(IReadOnlyList<string> trackIds, float[] vectors, int dimension,
        IReadOnlyDictionary<string, MessTrack> metadata, string source, string metadataSource,
        string? model, string? embeddingsSha256, bool adopt)
    {
        ArgumentNullException.ThrowIfNull(trackIds);
        ArgumentNullException.ThrowIfNull(vectors);
        ArgumentNullException.ThrowIfNull(metadata);
        if (dimension <= 0)
            throw new MessException(MessErrorIds.EmbeddingsOutOfStep, MessErrorKind.InvalidData, $"{source}: the embedding dimension is {dimension}.", source);
        if (vectors.Length % dimension != 0 || vectors.Length / dimension != trackIds.Count)
            throw new MessException(MessErrorIds.EmbeddingsOutOfStep, MessErrorKind.InvalidData,
                $"{source}: {trackIds.Count} track ids but {vectors.Length} values = {vectors.Length / (double)dimension:0.##} rows of {dimension}; " +
                "embeddings and track_ids must have the same length. Run ConvertTo-MessEmbedding again.", source);
        if (trackIds.Count == 0)
            throw new MessException(MessErrorIds.EmbeddingsEmpty, MessErrorKind.InvalidData, $"{source}: there are no embeddings to evaluate.", source);
        int n = trackIds.Count;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
        {
            if (string.IsNullOrEmpty(trackIds[i]))
                throw new MessException(MessErrorIds.TrackIdsMalformed, MessErrorKind.InvalidData, $"{source}: track id {i} is empty.", source);
            if (!seen.Add(trackIds[i]))
                throw new MessException(MessErrorIds.TrackIdsDuplicate, MessErrorKind.InvalidData, $"{source}: track '{trackIds[i]}' appears twice (row {i}).", trackIds[i]);
        }
        for (int r = 0; r < n; r++)
        {
            var row = vectors.AsSpan(r * dimension, dimension);
            for (int j = 0; j < row.Length; j++)
                if (!float.IsFinite(row[j]))
                    throw new MessException(MessErrorIds.EmbeddingNotFinite, MessErrorKind.InvalidData,
                        $"{source}: row {r} (track '{trackIds[r]}') holds {(float.IsNaN(row[j]) ? "NaN" : "an infinity")} at dimension {j}.", trackIds[r]);
        }
        var missing = new List<string>();
        var noComposer = new List<string>();
        foreach (var id in trackIds)
        {
            if (!metadata.TryGetValue(id, out var t)) missing.Add(id);
            else if (string.IsNullOrWhiteSpace(t.Composer)) noComposer.Add(id);
        }
        if (missing.Count > 0)
            throw new MessException(MessErrorIds.TracksMissingFromMetadata, MessErrorKind.InvalidData,
                $"{missing.Count} of {n} embedded tracks are not in {metadataSource}: {List(missing)}. " +
                "Export the metadata and the embeddings from the same catalogue (Export-MessMetadata, then ConvertTo-MessEmbedding).",
                missing[0]);
        if (noComposer.Count > 0)
            throw new MessException(MessErrorIds.ComposerMissing, MessErrorKind.InvalidData,
                $"{noComposer.Count} tracks have no composer in {metadataSource}, so they have no label: {List(noComposer)}.", noComposer[0]);

        // Rows in ordinal track_id order.
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        var keys = trackIds.ToArray();
        Array.Sort(keys, order, StringComparer.Ordinal);
        bool inOrder = true;
        for (int i = 0; i < n && inOrder; i++) inOrder = order[i] == i;
        bool copy = !(adopt && inOrder);
        var sorted = copy ? LargeArray.Uninitialized<float>(vectors.Length) : vectors; // a copy: every row written below
        var composers = new string[n];
        var albums = new string[n];
        for (int i = 0; i < n; i++)
        {
            if (copy) Array.Copy(vectors, (long)order[i] * dimension, sorted, (long)i * dimension, dimension);
            var t = metadata[keys[i]];
            composers[i] = t.Composer;
            albums[i] = t.AlbumId ?? "";
        }
        return new EvaluationData(keys, sorted, dimension, composers, albums)
        {
            Source = source, Model = model, EmbeddingsSha256 = embeddingsSha256,
        };
    }

    /// <summary>Reads metadata/tracks_metadata.csv and embeddings/ of an artifact folder.</summary>
    public static EvaluationData Load(ArtifactStore store, IReadOnlySet<string>? onlyTracks = null)
    {
        Dictionary<string, MessTrack> metadata;
        try { metadata = MetadataCsv.ReadById(store.MetadataCsv); }
        catch (ArgumentException ex)
        {
            throw new MessException(MessErrorIds.MetadataMalformed, MessErrorKind.InvalidData, $"'{store.MetadataCsv}' lists a track id twice: {ex.Message}", store.MetadataCsv, ex);
        }
        var set = EmbeddingsFolder.Open(store);
        var matrix = set.Matrix;
        EmbeddingsMeta? meta = set.Meta;
        string[] ids = matrix.TrackIds;
        float[] data = matrix.Data;
        if (onlyTracks is not null)
        {
            var keep = Enumerable.Range(0, matrix.Count).Where(i => onlyTracks.Contains(ids[i])).ToArray();
            var sub = new float[(long)keep.Length * matrix.Dimension];
            for (int j = 0; j < keep.Length; j++) matrix.Row(keep[j]).CopyTo(sub.AsSpan(j * matrix.Dimension, matrix.Dimension));
            ids = keep.Select(i => matrix.TrackIds[i]).ToArray();
            data = sub;
        }
        return Join(ids, data, matrix.Dimension, metadata, store.EmbeddingsFile, store.MetadataCsv, meta?.Model, meta?.EmbeddingsSha256, adopt: true);
    }

    /// <summary>The track ids an artifact folder has embeddings for (read without loading the matrix).</summary>
    public static string[] EmbeddedTrackIds(ArtifactStore store) => EmbeddingMatrix.ReadTrackIds(store.TrackIdsFile);

    private static string List(List<string> ids, int max = 20) =>
        string.Join(", ", ids.Take(max).Select(i => "'" + i + "'")) + (ids.Count > max ? $" and {ids.Count - max} more" : "");
}
