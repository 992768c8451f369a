using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using MessTools.Core.Analysis;
using MessTools.Core.Embedding;
using MessTools.Core.Common;
using MessTools.Core.Index;
using MessTools.Server.Artifacts;
using Microsoft.Extensions.Primitives;

namespace MessTools.Server.Api;

/// <summary>The HTTP routes: thin over <see cref="INeighborCatalog"/> (the same Core query the cmdlets use) and the evaluation files.</summary>
public static class Routes
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/livez", () => Results.Ok(new { status = "alive" })).WithName("Livez").WithSummary("Liveness: the process answers.");
        app.MapGet("/readyz", (ArtifactCatalog c) => c.Ready
                ? Results.Ok(new ReadyResponse("ready", c.ModelNames.Count, c.Models.Count, c.TimeToReady?.TotalMilliseconds))
                : Results.Json(new ReadyResponse("loading", c.ModelNames.Count, c.Models.Count, null), statusCode: 503))
            .WithName("Readyz").WithSummary("Ready only when every model folder is loaded and verified (SHA-256 of the embeddings, the index checksum).");
        app.MapGet("/health", (ArtifactCatalog c) => Results.Ok(new HealthResponse(c.Ready ? "ok" : "loading", c.ModelNames, c.Ready)))
            .WithName("Health").WithSummary("The seed's health route.");
        app.MapGet("/models", (ArtifactCatalog c) => Results.Ok(c.ModelNames.Where(n => c.TryGet(n, out _)).Select(n => c.TryGet(n, out var m) ? ModelInfo(m) : null).ToList()))
            .WithName("Models").WithSummary("Every loaded model folder with its dimension, count, index parameters and creation time.");

        app.MapGet("/tracks", (ArtifactCatalog c, string? model, string? composer, string? album, string? offset, string? limit) =>
        {
            if (!RequestValues.TryModel(c, model, out var m, out var error)) return error!;
            if (!RequestValues.TryInt(offset, "offset", 0, 0, int.MaxValue, out int off, out error)) return error!;
            if (!RequestValues.TryInt(limit, "limit", 50, 1, 1000, out int lim, out error)) return error!;
            var tracks = m.Search.Tracks();
            if (!string.IsNullOrWhiteSpace(composer))
            {
                HashSet<string> names;
                try { names = m.Search.ExpandComposers(composer.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)); }
                catch (MessException ex) { return Problems.From(ex); }
                tracks = tracks.Where(t => t.Composer is not null && names.Contains(t.Composer.Trim()));
            }
            if (!string.IsNullOrWhiteSpace(album)) tracks = tracks.Where(t => string.Equals(t.AlbumId, album.Trim(), StringComparison.Ordinal));
            var all = tracks.ToList();
            return Results.Ok(new TrackPage(m.Name, all.Count, off, lim, all.Skip(off).Take(lim).ToList()));
        }).WithName("Tracks").WithSummary("Indexed tracks, filtered by composer (wildcards, comma-separated) and album, paged.");

        app.MapGet("/tracks/{trackId}", (ArtifactCatalog c, string trackId, string? model) =>
        {
            if (RequestValues.CheckTrackId(trackId) is { } bad) return bad;
            if (!RequestValues.TryModel(c, model, out var m, out var error)) return error!;
            return m.Search.Track(trackId) is { } t ? Results.Ok(t) : UnknownTrack(m, trackId);
        }).WithName("Track").WithSummary("One track: composer, title, album.");

        app.MapGet("/tracks/{trackId}/nearest", (ArtifactCatalog c, HttpRequest request, string trackId, string? model) =>
        {
            if (RequestValues.CheckTrackId(trackId) is { } bad) return bad;
            if (!RequestValues.TryModel(c, model, out var m, out var error)) return error!;
            if (!TryQuery(request.Query, m, out var query, out error)) return error!;
            if (!m.Search.Contains(trackId)) return UnknownTrack(m, trackId);
            try { return Results.Ok(new NearestResponse(m.Name, trackId, query.K, m.Search.ByTrackId(trackId, query))); }
            catch (MessException ex) { return Problems.From(ex); }
        }).WithName("Nearest").WithSummary("The K most similar tracks (cosine), the track itself excluded; filters excludeSameAlbum, composer (wildcards), minScore, exact.");

        app.MapGet("/tracks/{trackId}/composer-eval", (ArtifactCatalog c, HttpRequest request, string trackId, string? model) =>
        {
            if (RequestValues.CheckTrackId(trackId) is { } bad) return bad;
            if (!RequestValues.TryModel(c, model, out var m, out var error)) return error!;
            if (!RequestValues.TryInt(request.Query["k"], "k", 5, 1, Math.Max(1, m.Search.Count - 1), out int k, out error)) return error!;
            if (!RequestValues.TryBool(request.Query["excludeSameAlbum"], "excludeSameAlbum", out bool excl, out error)) return error!;
            if (!RequestValues.TryBool(request.Query["exact"], "exact", out bool exact, out error)) return error!;
            if (!m.Search.Contains(trackId)) return UnknownTrack(m, trackId);
            try { return Results.Ok(ComposerEval(m.Name, m.Search.EvaluateTrack(trackId, k, excl, exact))); }
            catch (MessException ex) { return Problems.From(ex); }
        }).WithName("ComposerEval").WithSummary("This track's top K, which share its composer, and its P@K, HitRate@K and NDCG@K under the evaluation's definitions.");

        app.MapGet("/eval/summary", (ArtifactCatalog c, string? model) =>
        {
            if (!RequestValues.TryModel(c, model, out var m, out var error)) return error!;
            if (m.Evaluation is not { } e) return Problems.NotFound("EvaluationMissing", $"The model '{m.Name}' has no eval/eval_results.json. Run Invoke-MessEvaluation first.");
            return Results.Ok(new EvalSummary(m.Name, e.Model, e.CreatedUtc ?? default, e.Search, e.Tracks, e.Composers, e.Albums, e.Ks,
                e.Results.Select(r => new EvalFigures(r.K, r.ExcludeSameAlbum, r.Queries, r.PrecisionAtK, r.HitRateAtK, r.NdcgAtK,
                    r.ChancePrecisionAtK, r.ChanceHitRateAtK, r.ChanceNdcgAtK, r.QueriesWithoutRelevant, r.IndexRecallAtK)).ToList(),
                e.Definitions));
        }).WithName("EvalSummary").WithSummary("The eval_results.json figures of the model.");

        app.MapGet("/eval/report.html", (ArtifactCatalog c, HttpContext http, string? model) =>
        {
            if (!RequestValues.TryModel(c, model, out var m, out var error)) return error!;
            if (m.ReportHtml is not { } html) return Problems.NotFound("EvaluationMissing", $"The model '{m.Name}' has no eval/report.html. Run Invoke-MessEvaluation first.");
            http.Response.Headers.XContentTypeOptions = "nosniff";
            return Results.Bytes(html, "text/html; charset=utf-8");
        }).WithName("EvalReport").WithSummary("eval/report.html, served as Invoke-MessEvaluation wrote it.");

        app.MapGet("/map", (ArtifactCatalog c, string? model, string? points) =>
        {
            if (!RequestValues.TryModel(c, model, out var m, out var error)) return error!;
            if (!RequestValues.TryInt(points, "points", DefaultMapPoints, 1, MaxMapPoints, out int max, out error)) return error!;
            try { return Results.Ok(Maps.GetValue(m, s => new ConcurrentDictionary<int, Lazy<MapResponse>>()).GetOrAdd(max, n => new Lazy<MapResponse>(() => BuildMap(s: m, n))).Value); }
            catch (MessException ex) { return Problems.From(ex); }
        }).WithName("Map").WithSummary("A 2-D map of the whole space (the first two principal components of the embeddings; a seeded sample beyond `points`, default 3000), each point with its track, composer and title.");

        app.MapPost("/search", (ArtifactCatalog c, ServerSettings settings, SearchRequest body) => Search(c, settings, body))
            .WithName("Search").WithSummary("A batch of track ids or raw vectors (dimension and finiteness checked).");
    }

    private const int DefaultMapPoints = 3000, MaxMapPoints = 20000;

    /// <summary>Maps are computed on first request and kept with the snapshot they were made from (a reload makes new ones).</summary>
    private static readonly ConditionalWeakTable<ModelSnapshot, ConcurrentDictionary<int, Lazy<MapResponse>>> Maps = new();

    private static MapResponse BuildMap(ModelSnapshot s, int maxPoints)
    {
        var matrix = EmbeddingsFolder.Open(s.Store).Matrix; // the one reader of an embedding set: checksum, rows, .previous/
        var (rows, xy) = EmbeddingAnalyzer.Map(matrix.Data, matrix.Count, matrix.Dimension, maxPoints);
        var info = s.Search.Tracks().ToDictionary(t => t.TrackId, StringComparer.Ordinal);
        var points = new List<MapPoint>(rows.Length);
        for (int i = 0; i < rows.Length; i++)
        {
            string id = matrix.TrackIds[rows[i]];
            info.TryGetValue(id, out var t);
            points.Add(new MapPoint(id, t?.Composer, t?.Title, t?.AlbumId, Math.Round(xy[2 * i], 5), Math.Round(xy[2 * i + 1], 5)));
        }
        return new MapResponse(s.Name, matrix.Count, "pca", points);
    }

    private static IResult UnknownTrack(ModelSnapshot m, string trackId)
    {
        var close = m.Search.Suggest(trackId);
        string hint = close.Count > 0 ? " Did you mean " + string.Join(", ", close.Select(x => $"'{x}'")) + "?" : "";
        return Problems.NotFound("UnknownTrackId", $"Track '{RequestValues.Printable(trackId)}' is not in the index of model '{m.Name}' ({m.Search.Count:N0} tracks).{hint}",
            new Dictionary<string, object?> { ["suggestions"] = close });
    }

    /// <summary>k, excludeSameAlbum, composer (repeated or comma-separated, wildcards), minScore, exact, ef.</summary>
    private static bool TryQuery(IQueryCollection q, ModelSnapshot m, out NeighborQuery query, out IResult? error)
    {
        query = null!;
        if (!RequestValues.TryInt(q["k"], "k", 5, 1, Math.Max(1, m.Search.Count - 1), out int k, out error)) return false;
        if (!RequestValues.TryBool(q["excludeSameAlbum"], "excludeSameAlbum", out bool excl, out error)) return false;
        if (!RequestValues.TryBool(q["exact"], "exact", out bool exact, out error)) return false;
        if (!RequestValues.TryScore(q["minScore"], out double? min, out error)) return false;
        if (!RequestValues.TryInt(q["ef"], "ef", 0, 0, HnswParameters.MaxEf, out int ef, out error)) return false;
        return TryBuild(m, k, excl, exact, min, ef, Composers(q["composer"]), out query, out error);
    }

    private static string[]? Composers(StringValues values)
    {
        var list = values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
        return list.Length == 0 ? null : list;
    }

    private static bool TryBuild(ModelSnapshot m, int k, bool excludeSameAlbum, bool exact, double? minScore, int ef, IReadOnlyList<string>? composers,
        out NeighborQuery query, out IResult? error)
    {
        query = null!;
        error = null;
        if ((excludeSameAlbum || composers is not null) && !m.Search.HasMetadata)
        {
            error = Problems.BadRequest("MetadataMissing", $"excludeSameAlbum and composer need the catalogue metadata, and the model '{m.Name}' has none.");
            return false;
        }
        try
        {
            query = new NeighborQuery
            {
                K = k, Exact = exact, ExcludeSameAlbum = excludeSameAlbum, EfSearch = ef, MinSimilarity = minScore,
                Composers = composers is null ? null : m.Search.ExpandComposers(composers),
            };
        }
        catch (MessException ex)
        {
            error = Problems.From(ex);
            return false;
        }
        return true;
    }

    private static IResult Search(ArtifactCatalog c, ServerSettings settings, SearchRequest? body)
    {
        if (body is null) return Problems.BadRequest("MalformedRequest", "The request body must be a JSON object with track_ids or vectors.");
        if (!RequestValues.TryModel(c, body.Model, out var m, out var error)) return error!;
        int ids = body.TrackIds?.Length ?? 0, vectors = body.Vectors?.Length ?? 0;
        if (ids + vectors == 0) return Problems.BadRequest("MalformedRequest", "Give track_ids or vectors (or both): nothing to search.");
        if (ids + vectors > settings.MaxBatch) return Problems.BadRequest("BatchTooLarge", $"At most {settings.MaxBatch} queries per request; got {ids + vectors}.");
        int k = body.K ?? 5;
        if (k < 1 || k > m.Search.Count - 1) return Problems.BadRequest("KOutOfRange", $"k must be a whole number from 1 to {m.Search.Count - 1}; got {k}.");
        if (body.MinScore is { } ms && !(double.IsFinite(ms) && ms >= -1 && ms <= 1)) return Problems.BadRequest("InvalidParameter", $"min_score must be from -1 to 1; got {ms}.");
        if (body.Ef is { } efv && (efv < 0 || efv > HnswParameters.MaxEf)) return Problems.BadRequest("InvalidParameter", $"ef must be from 0 to {HnswParameters.MaxEf}.");
        if (!TryBuild(m, k, body.ExcludeSameAlbum, body.Exact, body.MinScore, body.Ef ?? 0, body.Composer, out var query, out error)) return error!;
        for (int i = 0; i < ids; i++)
        {
            string id = body.TrackIds![i];
            if (RequestValues.CheckTrackId(id) is { } bad) return bad;
            if (!m.Search.Contains(id)) return UnknownTrack(m, id);
        }
        for (int i = 0; i < vectors; i++)
        {
            var v = body.Vectors![i];
            if (v is null || v.Length != m.Search.Dimension)
                return Problems.BadRequest("QueryDimensionMismatch", $"vectors[{i}] has {v?.Length ?? 0} values; the model '{m.Name}' has {m.Search.Dimension} dimensions.");
            for (int j = 0; j < v.Length; j++)
                if (!float.IsFinite(v[j])) return Problems.BadRequest("QueryEmbeddingInvalid", $"vectors[{i}][{j}] is not a finite number.");
        }
        var results = new List<NearestResponse>(ids + vectors);
        try
        {
            for (int i = 0; i < ids; i++) results.Add(new NearestResponse(m.Name, body.TrackIds![i], k, m.Search.ByTrackId(body.TrackIds[i], query)));
            for (int i = 0; i < vectors; i++) results.Add(new NearestResponse(m.Name, $"vectors[{i}]", k, m.Search.ByVector(body.Vectors![i], $"vectors[{i}]", null, query)));
        }
        catch (MessException ex) { return Problems.From(ex); }
        return Results.Ok(new SearchResponse(m.Name, results));
    }

    internal static ModelResponse ModelInfo(ModelSnapshot m)
    {
        var i = m.IndexInfo;
        return new ModelResponse(m.Name, m.Search.Dimension, m.Search.Count, i?.IndexType, i?.Metric ?? "cosine", i?.M, i?.EfConstruction, i?.EfSearch,
            i?.RecallAt10, i?.CreatedUtc, m.EmbeddingsSha256, m.Search.HasMetadata, m.Evaluation is not null, m.Version, m.LoadedUtc,
            m.Search is MessTools.Core.VectorStore.VectorStoreFinder ? "pgvector" : "index");
    }

    private static ComposerEvalResponse ComposerEval(string model, TrackComposerEvaluation e) => new(
        model, e.TrackId, e.Composer, e.K, e.ExcludeSameAlbum,
        e.Neighbors.Select((n, i) => new ComposerEvalNeighbor(n, e.SameComposer[i])).ToList(),
        e.RelevantAvailable, e.PrecisionAtK, e.HitRateAtK, e.NdcgAtK);
}

public sealed record ReadyResponse(string Status, int ModelsExpected, int ModelsLoaded, double? TimeToReadyMs);
public sealed record HealthResponse(string Status, IReadOnlyList<string> Models, bool Ready);
public sealed record ModelResponse(string Name, int Dim, int Count, string? IndexType, string Metric, int? M, int? EfConstruction, int? EfSearch,
    [property: JsonPropertyName("recall_at_10")] double? RecallAt10, DateTime? CreatedUtc, string? EmbeddingsSha256, bool HasMetadata, bool HasEvaluation, int Version, DateTime LoadedUtc,
    string Backend);
public sealed record TrackPage(string Model, int Total, int Offset, int Limit, IReadOnlyList<TrackEntry> Items);
public sealed record NearestResponse(string Model, string TrackId, int K, IReadOnlyList<NeighborResult> Neighbors);
public sealed record SearchResponse(string Model, IReadOnlyList<NearestResponse> Results);
public sealed record MapPoint(string TrackId, string? Composer, string? Title, string? AlbumId, double X, double Y);
public sealed record MapResponse(string Model, int Total, string Projection, IReadOnlyList<MapPoint> Points);
public sealed record ComposerEvalNeighbor(NeighborResult Neighbor, bool SameComposer);
public sealed record ComposerEvalResponse(string Model, string TrackId, string? Composer, int K, bool ExcludeSameAlbum,
    IReadOnlyList<ComposerEvalNeighbor> Neighbors, int RelevantAvailable, double PrecisionAtK, double HitRateAtK, double NdcgAtK);
public sealed record EvalFigures(int K, bool ExcludeSameAlbum, int Queries, double PrecisionAtK, double HitRateAtK, double NdcgAtK,
    double ChancePrecisionAtK, double ChanceHitRateAtK, double ChanceNdcgAtK, int QueriesWithoutRelevant, double? IndexRecallAtK);
public sealed record EvalSummary(string Model, string? EmbeddingModel, DateTime CreatedUtc, string Search, int Tracks, int Composers, int Albums,
    int[] Ks, IReadOnlyList<EvalFigures> Results, IReadOnlyDictionary<string, string> Definitions);

/// <summary>POST /search: track ids and/or raw vectors, with the nearest route's filters.</summary>
public sealed class SearchRequest
{
    public string? Model { get; set; }
    public string[]? TrackIds { get; set; }
    public float[][]? Vectors { get; set; }
    public int? K { get; set; }
    public bool ExcludeSameAlbum { get; set; }
    public string[]? Composer { get; set; }
    public double? MinScore { get; set; }
    public bool Exact { get; set; }
    public int? Ef { get; set; }
}
