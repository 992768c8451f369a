using System.Globalization;
using MessTools.Core.Common;

namespace MessTools.Core.Index;

/// <summary>The inputs of a neighbour request, by meaning: each front end names them its own way (-K, ?k=, "k").</summary>
public enum NeighborParameter { K, Ef, MinScore, ExcludeSameAlbum, Composer, TrackId, Vector }

/// <summary>
/// One thing wrong with a neighbour request, as fields (error id, parameter, limits, the offending item, suggestions) so
/// each front end words it its own way: the cmdlet as a pwsh error naming <c>-K</c>, the server as problem+json naming
/// <c>k</c> with <c>min</c>/<c>max</c> extensions. <see cref="Describe"/> gives the sentence with the front end's name in it.
/// </summary>
public sealed class NeighborRequestFailure
{
    private readonly Func<string, string> _text;

    private NeighborRequestFailure(string errorId, MessErrorKind kind, NeighborParameter parameter, Func<string, string> text)
    {
        ErrorId = errorId;
        Kind = kind;
        Parameter = parameter;
        _text = text;
    }

    public string ErrorId { get; }
    public MessErrorKind Kind { get; }
    public NeighborParameter Parameter { get; }
    /// <summary>The allowed range, when the failure is a value out of it.</summary>
    public double? Min { get; private init; }
    public double? Max { get; private init; }
    /// <summary>Which track id or vector of a batch (0-based), when the failure is about one item.</summary>
    public int? Item { get; private init; }
    /// <summary>The track id or pattern the failure is about (for an error record's target).</summary>
    public string? Value { get; private init; }
    /// <summary>Close track ids, for an unknown id.</summary>
    public IReadOnlyList<string> Suggestions { get; private init; } = Array.Empty<string>();

    /// <summary>The message, with the parameter called <paramref name="parameterName"/> (e.g. "-K", "k", "vectors[2]").</summary>
    public string Describe(string parameterName) => _text(parameterName);

    /// <summary>As an engine error (what the cmdlet and the backends throw), worded with <paramref name="parameterName"/>.</summary>
    public NeighborRequestException ToException(string parameterName) => new(this, Describe(parameterName));

    internal static NeighborRequestFailure Range(NeighborParameter p, string errorId, string what, double min, double max, string given, string? note = null) =>
        new(errorId, MessErrorKind.InvalidArgument, p, name => $"{name} must be {what} from {Num(min)} to {Num(max)}{note}; got {Shown(given)}.")
        { Min = min, Max = max, Value = given };

    internal static NeighborRequestFailure Of(string errorId, MessErrorKind kind, NeighborParameter p, Func<string, string> text, int? item = null, string? value = null) =>
        new(errorId, kind, p, text) { Item = item, Value = value };

    /// <summary>A track id the backend does not hold, with close ids (<see cref="IdSuggester"/>); <paramref name="note"/> says more when known.</summary>
    public static NeighborRequestFailure UnknownTrack(string trackId, string where, int count, IReadOnlyList<string> suggestions, string? note = null)
    {
        string hint = suggestions.Count > 0 ? " Did you mean " + string.Join(", ", suggestions.Select(x => $"'{x}'")) + "?" : "";
        return new NeighborRequestFailure(MessErrorIds.UnknownTrackId, MessErrorKind.ObjectNotFound, NeighborParameter.TrackId,
            _ => $"Track '{Shown(trackId)}' is not in {where} ({count.ToString("N0", CultureInfo.InvariantCulture)} tracks).{note}{hint}")
        { Value = trackId, Suggestions = suggestions };
    }

    private static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A value shown back in a message: control characters replaced, cut at 100 characters.</summary>
    public static string Shown(string value)
    {
        var s = new string(value.Take(100).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return value.Length > 100 ? s + "…" : s;
    }
}

/// <summary>An engine error that carries its <see cref="NeighborRequestFailure"/>, so a front end can render it again its own way.</summary>
public sealed class NeighborRequestException(NeighborRequestFailure failure, string message)
    : MessException(failure.ErrorId, failure.Kind, message, failure.Value)
{
    public NeighborRequestFailure Failure { get; } = failure;
}

/// <summary>A validated request: the <see cref="NeighborQuery"/> to run (null when anything failed), and the composer patterns that matched nothing.</summary>
public sealed class NeighborValidation
{
    public required IReadOnlyList<NeighborRequestFailure> Failures { get; init; }
    public NeighborQuery? Query { get; init; }
    public IReadOnlyList<string> UnmatchedComposers { get; init; } = Array.Empty<string>();
    public bool IsValid => Failures.Count == 0;
}

/// <summary>
/// One neighbour request as every front end receives it (Find-MessNeighbor, GET /tracks/{id}/nearest, POST /search, the
/// pgvector backend): K, the filters, the HNSW candidate list size, and the track ids and raw vectors to query.
/// <see cref="Validate"/> holds every rule once: K from 1 to N-1 (the query track itself never counts), the metadata
/// rule (album and composer filters need the catalogue metadata), the composer patterns (valid wildcards, expanded over
/// the backend's composers), track id syntax, and vectors (dimension, finite values, a norm computed in double that is
/// neither zero nor infinite). Unknown track ids are answered by the backend in the query itself
/// (<see cref="NeighborRequestFailure.UnknownTrack"/>), so the pgvector table needs one round trip.
/// </summary>
public sealed class NeighborRequest
{
    public const int DefaultK = 5;
    public const int MaxTrackIdLength = 512;

    public int K { get; init; } = DefaultK;
    public bool ExcludeSameAlbum { get; init; }
    public bool Exact { get; init; }
    /// <summary>Composer wildcard patterns; null: any composer.</summary>
    public IReadOnlyList<string>? Composers { get; init; }
    /// <summary>Lowest cosine similarity kept, from -1 to 1; null: keep all.</summary>
    public double? MinScore { get; init; }
    /// <summary>HNSW candidate list size; 0: the backend's default.</summary>
    public int Ef { get; init; }
    public IReadOnlyList<string> TrackIds { get; init; } = Array.Empty<string>();
    public IReadOnlyList<float[]?> Vectors { get; init; } = Array.Empty<float[]?>();

    /// <summary>The K rule: 1 to N-1 of a backend of N tracks (the query itself never counts; at least 1).</summary>
    public static (int Min, int Max) KLimits(int count) => (1, Math.Max(1, count - 1));

    /// <summary>The K failure for <paramref name="k"/> against a backend of <paramref name="count"/> tracks, or null.</summary>
    public static NeighborRequestFailure? CheckK(int k, int count, string? given = null)
    {
        var (min, max) = KLimits(count);
        return k >= min && k <= max ? null
            : NeighborRequestFailure.Range(NeighborParameter.K, "KOutOfRange", "a whole number", min, max, given ?? k.ToString(CultureInfo.InvariantCulture),
                $" ({count.ToString("N0", CultureInfo.InvariantCulture)} tracks, less the query itself)");
    }

    /// <summary>A track id as the catalogue may hold it: not empty, not too long, no path separators or control characters, not . or ..</summary>
    public static NeighborRequestFailure? CheckTrackId(string? id, int? item = null)
    {
        string? problem = string.IsNullOrWhiteSpace(id) ? "is empty"
            : id.Length > MaxTrackIdLength ? $"is longer than {MaxTrackIdLength} characters"
            : id is "." or ".." || id.IndexOfAny(['/', '\\']) >= 0 || id.Any(char.IsControl)
                ? $"'{NeighborRequestFailure.Shown(id)}' is not a track id: track ids hold no path separators, control characters or relative folder names"
                : null;
        return problem is null ? null
            : NeighborRequestFailure.Of(MessErrorIds.InvalidTrackId, MessErrorKind.InvalidArgument, NeighborParameter.TrackId, name => $"{name} {problem}.", item, id);
    }

    /// <summary>
    /// A raw query vector: the backend's dimension, finite values, and a norm (in double: 3e38 values overflow a float
    /// sum of squares, 1e-45 values underflow it) that is neither zero nor infinite. Returns the unit vector, or a failure.
    /// </summary>
    public static float[]? NormalizeVector(ReadOnlySpan<float> vector, int dimension, int? item, out NeighborRequestFailure? failure)
    {
        failure = null;
        if (vector.Length != dimension)
        {
            int length = vector.Length;
            failure = NeighborRequestFailure.Of(MessErrorIds.QueryDimensionMismatch, MessErrorKind.InvalidArgument, NeighborParameter.Vector,
                name => $"{name} has {length} values but the index has {dimension} dimensions: they come from different models.", item);
            return null;
        }
        double sum = 0;
        for (int i = 0; i < vector.Length; i++)
        {
            if (!float.IsFinite(vector[i]))
            {
                int at = i;
                failure = NeighborRequestFailure.Of(MessErrorIds.QueryEmbeddingInvalid, MessErrorKind.InvalidData, NeighborParameter.Vector,
                    name => $"{name}[{at}] is not a finite number.", item);
                return null;
            }
            sum += (double)vector[i] * vector[i];
        }
        double norm = Math.Sqrt(sum);
        if (!(norm > 0) || !double.IsFinite(norm))
        {
            failure = NeighborRequestFailure.Of(MessErrorIds.QueryEmbeddingInvalid, MessErrorKind.InvalidData, NeighborParameter.Vector,
                name => $"{name} is zero: a query vector needs a direction.", item);
            return null;
        }
        var unit = new float[vector.Length];
        for (int i = 0; i < unit.Length; i++) unit[i] = (float)(vector[i] / norm);
        return unit;
    }

    /// <summary>
    /// Every rule of a neighbour request against <paramref name="catalog"/> (its size, dimension, metadata and composers).
    /// The failures come in a stable order (K, ef, minScore, the metadata rule, composers, track ids, vectors).
    /// </summary>
    public NeighborValidation Validate(INeighborSearch catalog, int maxEf = HnswParameters.MaxEf)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var failures = new List<NeighborRequestFailure>();
        if (CheckK(K, catalog.Count) is { } k) failures.Add(k);
        if (Ef < 0 || Ef > maxEf)
            failures.Add(NeighborRequestFailure.Range(NeighborParameter.Ef, "InvalidParameter", "a whole number", 0, maxEf, Ef.ToString(CultureInfo.InvariantCulture)));
        if (MinScore is { } ms && !(double.IsFinite(ms) && ms >= -1 && ms <= 1))
            failures.Add(NeighborRequestFailure.Range(NeighborParameter.MinScore, "InvalidParameter", "a number (cosine similarity)", -1, 1, ms.ToString(CultureInfo.InvariantCulture)));
        HashSet<string>? composers = null;
        var unmatched = new List<string>();
        if ((ExcludeSameAlbum || Composers is not null) && !catalog.HasMetadata)
        {
            var p = ExcludeSameAlbum ? NeighborParameter.ExcludeSameAlbum : NeighborParameter.Composer;
            failures.Add(NeighborRequestFailure.Of(MessErrorIds.MetadataMissing, MessErrorKind.ObjectNotFound, p,
                name => $"{name} needs the catalogue metadata (metadata/tracks_metadata.csv), and this index has none. Run Export-MessMetadata, then New-MessIndex."));
        }
        else if (Composers is not null)
        {
            composers = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (string pattern in Composers)
            {
                try { composers.UnionWith(Wildcard.Expand(catalog.Composers, new[] { pattern }, unmatched)); }
                catch (MessException ex)
                {
                    string message = ex.Message;
                    failures.Add(NeighborRequestFailure.Of(ex.ErrorId, ex.Kind, NeighborParameter.Composer, name => $"{name}: {message}", value: pattern));
                }
            }
        }
        for (int i = 0; i < TrackIds.Count; i++)
            if (CheckTrackId(TrackIds[i], TrackIds.Count > 1 || Vectors.Count > 0 ? i : null) is { } bad) failures.Add(bad);
        for (int i = 0; i < Vectors.Count; i++)
        {
            NormalizeVector(Vectors[i] ?? Array.Empty<float>(), catalog.Dimension, i, out var bad);
            if (bad is not null) failures.Add(bad);
        }
        if (failures.Count > 0) return new NeighborValidation { Failures = failures, UnmatchedComposers = unmatched };
        return new NeighborValidation
        {
            Failures = failures,
            UnmatchedComposers = unmatched,
            Query = new NeighborQuery
            {
                K = K, Exact = Exact, ExcludeSameAlbum = ExcludeSameAlbum, EfSearch = Ef, MinSimilarity = MinScore,
                Composers = composers,
            },
        };
    }
}
