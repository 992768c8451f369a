using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using MessTools.Core.Analysis;
using MessTools.Core.Embedding;
using MessTools.Core.Evaluation;
using MessTools.Core.Common;
using MessTools.Core.Index;
using MessTools.Server.Artifacts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MessTools.Server.Api;

/// <summary>The HTTP routes: thin over <see cref="INeighborCatalog"/> (the same Core query the cmdlets use) and the evaluation files.</summary>
public static class Routes
{
    public static void Map(WebApplication app)
    {
        // The probes: open (no key), no data.
        var probes = app.MapGroup("").WithTags("Probes");
        probes.MapGet("/livez", () => TypedResults.Ok(new LiveResponse("alive"))).WithName("Livez").WithSummary("Liveness: the process answers.");
        probes.MapGet("/readyz", Results<Ok<ReadyResponse>, JsonHttpResult<ReadyResponse>> (ArtifactCatalog c) => c.Ready
                ? TypedResults.Ok(new ReadyResponse("ready", c.ModelNames.Count, c.Models.Count, c.TimeToReady?.TotalMilliseconds))
                : TypedResults.Json(new ReadyResponse(c.StartFailure is null ? "loading" : "failed", c.ModelNames.Count, c.Models.Count, null), statusCode: 503))
            .Produces<ReadyResponse>(503)
            .WithName("Readyz").WithSummary("Ready only when the start-up import is done and every model folder is loaded and verified (SHA-256 of the embeddings, the index checksum); 503 \"loading\" until then.");

        // Everything else needs the key (when one is configured) and is rate limited: 401 and 429 on every route.
        var api = app.MapGroup("").WithTags("Catalogue")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/health", (ArtifactCatalog c) => TypedResults.Ok(new HealthResponse(c.Ready ? "ok" : "loading", c.ModelNames, c.Ready)))
            .WithName("Health").WithSummary("The seed's health route.");
        api.MapGet("/models", (ArtifactCatalog c) => TypedResults.Ok(c.ModelNames.Select(n => c.TryGet(n, out var m) ? ModelInfo(m) : null).OfType<ModelResponse>().ToList()))
            .WithName("Models").WithSummary("Every loaded model folder with its dimension, count, index parameters and creation time; max_k is the largest k a neighbour query takes (count - 1).");

        api.MapGet("/tracks", Results<Ok<TrackPage>, ProblemHttpResult> (ArtifactCatalog c, [AsParameters] TrackListParameters p) =>
        {
            if (Models.Resolve(c, p.Model, out var m) is { } missing) return missing;
            int off = p.Offset ?? 0, lim = p.Limit ?? 50;
            if (off < 0) return Problems.BadRequest(ProblemIds.InvalidParameter, $"offset must be a whole number from 0; got {off}.", Range("offset", 0, int.MaxValue));
            if (lim < 1 || lim > 1000) return Problems.BadRequest(ProblemIds.InvalidParameter, $"limit must be a whole number from 1 to 1000; got {lim}.", Range("limit", 1, 1000));
            var tracks = m.Search.Tracks();
            if (NearestParameters.SplitList(new[] { p.Composer }) is { } patterns)
            {
                HashSet<string> names;
                try { names = m.Search.ExpandComposers(patterns); }
                catch (MessException ex) { return Problems.From(ex); }
                tracks = tracks.Where(t => t.Composer is not null && names.Contains(t.Composer.Trim()));
            }
            if (!string.IsNullOrWhiteSpace(p.Album)) tracks = tracks.Where(t => string.Equals(t.AlbumId, p.Album.Trim(), StringComparison.Ordinal));
            var all = tracks.ToList();
            return TypedResults.Ok(new TrackPage(m.Name, all.Count, off, lim, all.Skip(off).Take(lim).ToList()));
        }).ProducesProblem(StatusCodes.Status400BadRequest)
          .WithName("Tracks").WithSummary("Indexed tracks, filtered by composer (wildcards, comma-separated) and album, paged.");

        api.MapGet("/tracks/{trackId}", Results<Ok<TrackEntry>, ProblemHttpResult> (ArtifactCatalog c, [AsParameters] TrackParameters p) =>
        {
            if (NeighborRequest.CheckTrackId(p.TrackId) is { } bad) return Problems.From(bad, NearestParameters.QueryName(bad.Parameter));
            if (Models.Resolve(c, p.Model, out var m) is { } missing) return missing;
            return m.Search.Track(p.TrackId) is { } t ? TypedResults.Ok(t) : UnknownTrack(m, p.TrackId);
        }).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
          .WithName("Track").WithSummary("One track: composer, title, album.");

        // The neighbour routes: the request is validated by Core's NeighborRequest in the endpoint filter, once.
        var neighbors = api.MapGroup("").AddEndpointFilter<NeighborRequestFilter>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        neighbors.MapGet("/tracks/{trackId}/nearest", Results<Ok<NearestResponse>, ProblemHttpResult> (HttpContext http, [AsParameters] NearestParameters p) =>
        {
            var (m, query) = ValidatedNeighbors.Of(http);
            // One call: the backend answers an unknown id (with close ids) and the neighbours together (pgvector: one round trip).
            try { return TypedResults.Ok(new NearestResponse(m.Name, p.TrackId, query.K, m.Search.ByTrackId(p.TrackId, query))); }
            catch (MessException ex) { return Problems.From(ex); }
        }).WithName("Nearest").WithSummary("The K most similar tracks (cosine), the track itself excluded (k from 1 to the model's count - 1); filters excludeSameAlbum, composer (wildcards), minScore, exact.");

        neighbors.MapGet("/tracks/{trackId}/composer-eval", Results<Ok<ComposerEvalResponse>, ProblemHttpResult> (HttpContext http, [AsParameters] ComposerEvalParameters p) =>
        {
            var (m, query) = ValidatedNeighbors.Of(http);
            try { return TypedResults.Ok(ComposerEval(m.Name, m.Search.EvaluateTrack(p.TrackId, query.K, query.ExcludeSameAlbum, query.Exact))); }
            catch (MessException ex) { return Problems.From(ex); }
        }).WithName("ComposerEval").WithSummary("This track's top K, which share its composer, and its P@K, HitRate@K and NDCG@K under the evaluation's definitions.");

        neighbors.MapPost("/search", Results<Ok<SearchResponse>, ProblemHttpResult> (HttpContext http, ServerSettings settings, SearchRequest body) =>
        {
            int ids = body.TrackIds?.Length ?? 0, vectors = body.Vectors?.Length ?? 0;
            if (ids + vectors == 0) return Problems.BadRequest(ProblemIds.MalformedRequest, "Give track_ids or vectors (or both): nothing to search.");
            if (ids + vectors > settings.MaxBatch)
                return Problems.BadRequest(ProblemIds.BatchTooLarge, $"At most {settings.MaxBatch} queries per request; got {ids + vectors}.", Range("track_ids", 1, settings.MaxBatch));
            var (m, query) = ValidatedNeighbors.Of(http);
            var results = new List<NearestResponse>(ids + vectors);
            try
            {
                for (int i = 0; i < ids; i++) results.Add(new NearestResponse(m.Name, body.TrackIds![i], query.K, m.Search.ByTrackId(body.TrackIds[i], query)));
                for (int i = 0; i < vectors; i++) results.Add(new NearestResponse(m.Name, $"vectors[{i}]", query.K, m.Search.ByVector(body.Vectors![i], $"vectors[{i}]", null, query)));
            }
            catch (MessException ex) { return Problems.From(ex); }
            return TypedResults.Ok(new SearchResponse(m.Name, results));
        }).ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
          .WithName("Search").WithSummary("A batch of track ids or raw vectors (dimension, finiteness and norm checked), with the nearest route's filters.");

        var eval = app.MapGroup("/eval").WithTags("Evaluation")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status429TooManyRequests).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        eval.MapGet("/summary", Results<Ok<EvalSummary>, ProblemHttpResult> (ArtifactCatalog c, [AsParameters] ModelParameters p) =>
        {
            if (Models.Resolve(c, p.Model, out var m) is { } missing) return missing;
            if (m.Evaluation is not { } e) return Problems.NotFound(ProblemIds.EvaluationMissing, $"The model '{m.Name}' has no eval/eval_results.json. Run Invoke-MessEvaluation first.");
            return TypedResults.Ok(new EvalSummary(m.Name, e.Model, e.CreatedUtc ?? default, e.Search, e.Tracks, e.Composers, e.Albums, e.Ks,
                e.Results.Select(r => new EvalFigures(r.K, r.ExcludeSameAlbum, r.Queries, r.PrecisionAtK, r.HitRateAtK, r.NdcgAtK,
                    r.ChancePrecisionAtK, r.ChanceHitRateAtK, r.ChanceNdcgAtK, r.QueriesWithoutRelevant, r.IndexRecallAtK,
                    EvalInterval.Of(r.PrecisionAtKInterval), EvalInterval.Of(r.HitRateAtKInterval), EvalInterval.Of(r.NdcgAtKInterval))).ToList(),
                e.Definitions, e.Bootstrap is { } b ? new EvalBootstrap(b.Method, b.Resamples, b.Level, b.Seed) : null));
        }).WithName("EvalSummary").WithSummary("The eval_results.json figures of the model.");

        eval.MapGet("/report.html", Results<FileContentHttpResult, ProblemHttpResult> (ArtifactCatalog c, HttpContext http, [AsParameters] ModelParameters p) =>
        {
            if (Models.Resolve(c, p.Model, out var m) is { } missing) return missing;
            if (m.ReportHtml is not { } html) return Problems.NotFound(ProblemIds.EvaluationMissing, $"The model '{m.Name}' has no eval/report.html. Run Invoke-MessEvaluation first.");
            http.Response.Headers.XContentTypeOptions = "nosniff";
            return TypedResults.Bytes(html, "text/html; charset=utf-8");
        }).Produces<string>(StatusCodes.Status200OK, "text/html")
          .WithName("EvalReport").WithSummary("eval/report.html, served as Invoke-MessEvaluation wrote it.");

        api.MapGet("/map", Results<Ok<MapResponse>, ProblemHttpResult> (ArtifactCatalog c, [AsParameters] MapParameters p) =>
        {
            if (Models.Resolve(c, p.Model, out var m) is { } missing) return missing;
            int max = p.Points ?? DefaultMapPoints;
            if (max < 1 || max > MaxMapPoints)
                return Problems.BadRequest(ProblemIds.InvalidParameter, $"points must be a whole number from 1 to {MaxMapPoints}; got {max}.", Range("points", 1, MaxMapPoints));
            try { return TypedResults.Ok(Maps.GetValue(m, s => new ConcurrentDictionary<int, Lazy<MapResponse>>()).GetOrAdd(max, n => new Lazy<MapResponse>(() => BuildMap(s: m, n))).Value); }
            catch (MessException ex) { return Problems.From(ex); }
        }).ProducesProblem(StatusCodes.Status400BadRequest)
          .WithName("Map").WithSummary("A 2-D map of the whole space (the first two principal components of the embeddings; a seeded sample beyond `points`, default 3000), each point with its track, composer and title.");
    }

    private static Dictionary<string, object?> Range(string field, int min, int max) => new() { ["field"] = field, ["min"] = min, ["max"] = max };

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

    private static ProblemHttpResult UnknownTrack(ModelSnapshot m, string trackId) =>
        Problems.From(NeighborRequestFailure.UnknownTrack(trackId, $"the index of model '{m.Name}'", m.Search.Count, m.Search.Suggest(trackId)).ToException("track id"));

    internal static ModelResponse ModelInfo(ModelSnapshot m)
    {
        var i = m.IndexInfo;
        return new ModelResponse(m.Name, m.Search.Dimension, m.Search.Count, i?.IndexType, i?.Metric ?? "cosine", i?.M, i?.EfConstruction, i?.EfSearch,
            i?.RecallAt10, i?.CreatedUtc, m.EmbeddingsSha256, m.Search.HasMetadata, m.Evaluation is not null, m.Version, m.LoadedUtc,
            m.Search is MessTools.Core.VectorStore.VectorStoreFinder ? "pgvector" : "index", NeighborRequest.KLimits(m.Search.Count).Max);
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
    string Backend, int MaxK);
public sealed record LiveResponse(string Status);
public sealed record TrackPage(string Model, int Total, int Offset, int Limit, IReadOnlyList<TrackEntry> Items);
public sealed record NearestResponse(string Model, string TrackId, int K, IReadOnlyList<NeighborResult> Neighbors);
public sealed record SearchResponse(string Model, IReadOnlyList<NearestResponse> Results);
public sealed record MapPoint(string TrackId, string? Composer, string? Title, string? AlbumId, double X, double Y);
public sealed record MapResponse(string Model, int Total, string Projection, IReadOnlyList<MapPoint> Points);
public sealed record ComposerEvalNeighbor(NeighborResult Neighbor, bool SameComposer);
public sealed record ComposerEvalResponse(string Model, string TrackId, string? Composer, int K, bool ExcludeSameAlbum,
    IReadOnlyList<ComposerEvalNeighbor> Neighbors, int RelevantAvailable, double PrecisionAtK, double HitRateAtK, double NdcgAtK);
/// <summary>One figure's 95 % bootstrap interval over queries (null in files written without a bootstrap).</summary>
public sealed record EvalInterval(double Low, double High)
{
    public static EvalInterval? Of(ConfidenceInterval? ci) => ci is null ? null : new EvalInterval(ci.Low, ci.High);
}
/// <summary>How the intervals were computed (eval_results.json's bootstrap entry).</summary>
public sealed record EvalBootstrap(string Method, int Resamples, double Level, int Seed);
public sealed record EvalFigures(int K, bool ExcludeSameAlbum, int Queries, double PrecisionAtK, double HitRateAtK, double NdcgAtK,
    double ChancePrecisionAtK, double ChanceHitRateAtK, double ChanceNdcgAtK, int QueriesWithoutRelevant, double? IndexRecallAtK,
    EvalInterval? PrecisionAtKInterval, EvalInterval? HitRateAtKInterval, EvalInterval? NdcgAtKInterval);
public sealed record EvalSummary(string Model, string? EmbeddingModel, DateTime CreatedUtc, string Search, int Tracks, int Composers, int Albums,
    int[] Ks, IReadOnlyList<EvalFigures> Results, IReadOnlyDictionary<string, string> Definitions, EvalBootstrap? Bootstrap);
