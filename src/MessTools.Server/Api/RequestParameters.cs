using Microsoft.AspNetCore.Http.HttpResults;
using MessTools.Core.Index;
using MessTools.Server.Artifacts;
using Microsoft.AspNetCore.Mvc;

namespace MessTools.Server.Api;

/// <summary>A request that names a model (<c>?model=</c>, or the only one loaded).</summary>
public interface IModelParameters
{
    string? Model { get; }
}

/// <summary>A request that carries a neighbour request (<see cref="NeighborRequest"/>), validated by <see cref="NeighborRequestFilter"/>.</summary>
public interface INeighborParameters : IModelParameters
{
    NeighborRequest ToRequest();
    /// <summary>How this route names a parameter of the request in its errors (the query string's or the body's spelling).</summary>
    string NameOf(NeighborParameter parameter, int? item);
}

/// <summary>?model= alone.</summary>
public sealed record ModelParameters([FromQuery(Name = "model")] string? Model) : IModelParameters;

/// <summary>GET /tracks: ?model, composer (wildcards, comma-separated), album, offset, limit.</summary>
public sealed record TrackListParameters(
    [FromQuery(Name = "model")] string? Model,
    [FromQuery(Name = "composer")] string? Composer,
    [FromQuery(Name = "album")] string? Album,
    [FromQuery(Name = "offset")] int? Offset,
    [FromQuery(Name = "limit")] int? Limit) : IModelParameters;

/// <summary>GET /tracks/{trackId}.</summary>
public sealed record TrackParameters([FromRoute(Name = "trackId")] string TrackId, [FromQuery(Name = "model")] string? Model) : IModelParameters;

/// <summary>GET /map: ?model, points.</summary>
public sealed record MapParameters([FromQuery(Name = "model")] string? Model, [FromQuery(Name = "points")] int? Points) : IModelParameters;

/// <summary>
/// GET /tracks/{trackId}/nearest and /composer-eval: k, excludeSameAlbum, composer (repeated or comma-separated,
/// wildcards), minScore, exact, ef.
/// </summary>
public sealed record NearestParameters(
    [FromRoute(Name = "trackId")] string TrackId,
    [FromQuery(Name = "model")] string? Model,
    [FromQuery(Name = "k")] int? K,
    [FromQuery(Name = "excludeSameAlbum")] bool? ExcludeSameAlbum,
    [FromQuery(Name = "composer")] string[]? Composer,
    [FromQuery(Name = "minScore")] double? MinScore,
    [FromQuery(Name = "exact")] bool? Exact,
    [FromQuery(Name = "ef")] int? Ef) : INeighborParameters
{
    public NeighborRequest ToRequest() => new()
    {
        K = K ?? NeighborRequest.DefaultK, ExcludeSameAlbum = ExcludeSameAlbum ?? false, Exact = Exact ?? false, MinScore = MinScore, Ef = Ef ?? 0,
        Composers = SplitList(Composer), TrackIds = new[] { TrackId },
    };

    public string NameOf(NeighborParameter parameter, int? item) => QueryName(parameter);

    /// <summary>A request parameter by its query-string name (the GET routes).</summary>
    public static string QueryName(NeighborParameter parameter) => parameter switch
    {
        NeighborParameter.K => "k",
        NeighborParameter.Ef => "ef",
        NeighborParameter.MinScore => "minScore",
        NeighborParameter.ExcludeSameAlbum => "excludeSameAlbum",
        NeighborParameter.Composer => "composer",
        NeighborParameter.TrackId => "The track id",
        _ => parameter.ToString(),
    };

    /// <summary>Repeated and comma-separated values as one list (null when none).</summary>
    public static string[]? SplitList(IEnumerable<string?>? values)
    {
        var list = (values ?? Array.Empty<string?>()).SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
        return list.Length == 0 ? null : list;
    }
}

/// <summary>POST /search: track ids and/or raw vectors, with the nearest route's filters (snake_case JSON).</summary>
public sealed class SearchRequest : INeighborParameters
{
    public string? Model { get; set; }
    public string[]? TrackIds { get; set; }
    public float[]?[]? Vectors { get; set; }
    public int? K { get; set; }
    public bool ExcludeSameAlbum { get; set; }
    public string[]? Composer { get; set; }
    public double? MinScore { get; set; }
    public bool Exact { get; set; }
    public int? Ef { get; set; }

    public NeighborRequest ToRequest() => new()
    {
        K = K ?? NeighborRequest.DefaultK, ExcludeSameAlbum = ExcludeSameAlbum, Exact = Exact, MinScore = MinScore, Ef = Ef ?? 0,
        Composers = Composer is { Length: > 0 } ? Composer : null,
        TrackIds = TrackIds ?? Array.Empty<string>(), Vectors = Vectors ?? Array.Empty<float[]?>(),
    };

    public string NameOf(NeighborParameter parameter, int? item) => parameter switch
    {
        NeighborParameter.K => "k",
        NeighborParameter.Ef => "ef",
        NeighborParameter.MinScore => "min_score",
        NeighborParameter.ExcludeSameAlbum => "exclude_same_album",
        NeighborParameter.Composer => "composer",
        NeighborParameter.TrackId => item is { } i ? $"track_ids[{i}]" : "track_ids[0]",
        NeighborParameter.Vector => item is { } i ? $"vectors[{i}]" : "vectors",
        _ => parameter.ToString(),
    };
}

/// <summary>What <see cref="NeighborRequestFilter"/> found: the model snapshot and the validated query.</summary>
public sealed record ValidatedNeighbors(ModelSnapshot Model, NeighborQuery Query)
{
    public static ValidatedNeighbors Of(HttpContext http) =>
        http.Features.Get<ValidatedNeighbors>() ?? throw new InvalidOperationException("The route has no NeighborRequestFilter.");
}

/// <summary>
/// The endpoint filter of the neighbour routes: resolves the model and validates the request through Core's
/// <see cref="NeighborRequest.Validate"/> (the rules Find-MessNeighbor applies too), answering the first failure as
/// problem+json in the route's own parameter names; the handler then runs the validated query.
/// </summary>
public sealed class NeighborRequestFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var p = context.Arguments.OfType<INeighborParameters>().FirstOrDefault();
        if (p is null) return Problems.BadRequest(ProblemIds.MalformedRequest, "The request body must be a JSON object with track_ids or vectors.");
        var catalog = context.HttpContext.RequestServices.GetRequiredService<ArtifactCatalog>();
        if (Models.Resolve(catalog, p.Model, out var m) is { } missing) return missing;
        var request = p.ToRequest();
        var checkedRequest = request.Validate(m.Search, m.Search is Core.VectorStore.VectorStoreFinder ? Core.VectorStore.VectorStoreFinder.MaxEfSearch : HnswParameters.MaxEf);
        if (checkedRequest.Failures.Count > 0) return Problems.From(checkedRequest.Failures[0], p);
        context.HttpContext.Features.Set(new ValidatedNeighbors(m, checkedRequest.Query!));
        return await next(context);
    }
}

/// <summary>The model a request names (?model=), or the only one loaded.</summary>
public static class Models
{
    public static ProblemHttpResult? Resolve(ArtifactCatalog catalog, string? model, out ModelSnapshot snapshot)
    {
        snapshot = null!;
        if (catalog.ModelNames.Count == 0)
            return Problems.Of(503, ProblemIds.NotReady, "The artifacts are still being imported; see /readyz.");
        string? name = string.IsNullOrWhiteSpace(model) ? null : model.Trim();
        if (name is null)
        {
            if (catalog.ModelNames.Count > 1)
                return Problems.BadRequest(ProblemIds.ModelRequired, $"Several models are loaded; name one with ?model= ({string.Join(", ", catalog.ModelNames)}).",
                    new Dictionary<string, object?> { ["models"] = catalog.ModelNames });
            name = catalog.ModelNames[0];
        }
        else if (!catalog.ModelNames.Contains(name, StringComparer.Ordinal))
        {
            return Problems.BadRequest(ProblemIds.UnknownModel, $"No model '{NeighborRequestFailure.Shown(name)}' is loaded; the models are {string.Join(", ", catalog.ModelNames)}.",
                new Dictionary<string, object?> { ["models"] = catalog.ModelNames });
        }
        if (!catalog.TryGet(name, out snapshot))
            return Problems.Of(503, ProblemIds.NotReady, $"The model '{name}' is still loading or failed its checks; see /readyz.");
        return null;
    }
}

/// <summary>GET /tracks/{trackId}/composer-eval: k, excludeSameAlbum, exact.</summary>
public sealed record ComposerEvalParameters(
    [FromRoute(Name = "trackId")] string TrackId,
    [FromQuery(Name = "model")] string? Model,
    [FromQuery(Name = "k")] int? K,
    [FromQuery(Name = "excludeSameAlbum")] bool? ExcludeSameAlbum,
    [FromQuery(Name = "exact")] bool? Exact) : INeighborParameters
{
    public NeighborRequest ToRequest() => new()
    {
        K = K ?? NeighborRequest.DefaultK, ExcludeSameAlbum = ExcludeSameAlbum ?? false, Exact = Exact ?? false, TrackIds = new[] { TrackId },
    };

    public string NameOf(NeighborParameter parameter, int? item) => NearestParameters.QueryName(parameter);
}
