using Microsoft.AspNetCore.Http.HttpResults;
using MessTools.Core.Common;
using MessTools.Core.Index;

namespace MessTools.Server.Api;

/// <summary>
/// Every error the API returns, as application/problem+json (RFC 9457): a stable <c>error_id</c> (the engine's error
/// ids where the engine raised it), the HTTP status, and a message that names what was wrong. Never a file path.
/// </summary>
public static class Problems
{
    public static ProblemHttpResult Of(int status, string errorId, string detail, IDictionary<string, object?>? extra = null)
    {
        var ext = new Dictionary<string, object?> { ["error_id"] = errorId };
        if (extra is not null) foreach (var (k, v) in extra) ext[k] = v;
        return TypedResults.Problem(detail: detail, statusCode: status, title: Title(status), type: $"https://messtools.dev/problems/{errorId}", extensions: ext);
    }

    public static ProblemHttpResult BadRequest(string errorId, string detail, IDictionary<string, object?>? extra = null) => Of(400, errorId, detail, extra);
    public static ProblemHttpResult NotFound(string errorId, string detail, IDictionary<string, object?>? extra = null) => Of(404, errorId, detail, extra);

    /// <summary>An engine error: not found 404, bad input 400, anything else 500 (without the engine's message, which may name files).</summary>
    public static ProblemHttpResult From(MessException ex) => ex switch
    {
        NeighborRequestException nre => From(nre.Failure, nre.Message, null),
        { Kind: MessErrorKind.ObjectNotFound } => Of(404, ex.ErrorId, ex.Message),
        { Kind: MessErrorKind.InvalidArgument or MessErrorKind.InvalidData } => Of(400, ex.ErrorId, ex.Message),
        _ => Of(500, ex.ErrorId, "The server could not answer this request; see its log."),
    };

    /// <summary>A failed neighbour request (Core's <see cref="NeighborRequest.Validate"/>), worded with the route's parameter names.</summary>
    public static ProblemHttpResult From(NeighborRequestFailure failure, INeighborParameters route) => From(failure, route.NameOf(failure.Parameter, failure.Item));

    /// <summary>A failed neighbour request rule, its parameter called <paramref name="name"/>.</summary>
    public static ProblemHttpResult From(NeighborRequestFailure failure, string name) => From(failure, failure.Describe(name), name);

    private static ProblemHttpResult From(NeighborRequestFailure failure, string detail, string? field)
    {
        var extra = new Dictionary<string, object?>();
        if (field is not null) extra["field"] = field;
        if (failure.Min is { } min) extra["min"] = min;
        if (failure.Max is { } max) extra["max"] = max;
        if (failure.ErrorId == MessErrorIds.UnknownTrackId) extra["suggestions"] = failure.Suggestions;
        return Of(failure.Kind == MessErrorKind.ObjectNotFound && failure.Parameter == NeighborParameter.TrackId ? 404 : 400, failure.ErrorId, detail, extra);
    }

    /// <summary>The error id of a problem ASP.NET Core writes itself (binding, routing, content negotiation).</summary>
    public static string DefaultErrorId(int status) => status switch
    {
        400 => ProblemIds.MalformedRequest,
        401 => ProblemIds.ApiKeyRequired,
        404 => ProblemIds.RouteNotFound,
        405 => ProblemIds.MethodNotAllowed,
        413 => "RequestTooLarge",
        415 => ProblemIds.UnsupportedMediaType,
        429 => ProblemIds.RateLimited,
        503 => ProblemIds.NotReady,
        >= 500 => ProblemIds.InternalError,
        _ => "RequestFailed",
    };

    /// <summary>What a problem ASP.NET Core writes itself means, in words (never echoing the request beyond its method and route).</summary>
    public static string DefaultDetail(int status, HttpRequest request) => status switch
    {
        400 => DefaultDetailFor400,
        404 => $"There is no route {request.Method} {NeighborRequestFailure.Shown(request.Path.Value ?? "")}; /openapi/v1.json lists the routes.",
        405 => $"The route {NeighborRequestFailure.Shown(request.Path.Value ?? "")} does not answer {request.Method}; /openapi/v1.json lists its methods.",
        413 => "The request body is too large.",
        415 => "The request body must be JSON, sent with Content-Type: application/json.",
        _ => "The server could not answer this request; see its log.",
    };

    public static string Title(int status) => status switch
    {
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Error",
    };

    /// <summary>Writes a problem directly (middleware that runs before the endpoints).</summary>
    public static Task WriteAsync(HttpContext context, int status, string errorId, string detail)
    {
        context.Response.StatusCode = status;
        return Of(status, errorId, detail).ExecuteAsync(context);
    }

    /// <summary>
    /// A request ASP.NET Core could not bind (a query value not of its type, a body that is not JSON of the request's
    /// shape): 400 with the parameter named. k gets KOutOfRange, as every other K failure; any other value InvalidParameter.
    /// </summary>
    public static ProblemHttpResult FromBindingFailure(BadHttpRequestException ex)
    {
        if (ex.InnerException is System.Text.Json.JsonException || ex.Message.Contains("JSON", StringComparison.OrdinalIgnoreCase))
            return BadRequest(ProblemIds.MalformedRequest, DefaultDetailFor400);
        var m = System.Text.RegularExpressions.Regex.Match(ex.Message, "^Failed to bind parameter \"(?<type>[^\"]*) (?<name>[^\" ]+)\" from \"(?<value>.*)\"\\.?$");
        if (!m.Success) return BadRequest(ProblemIds.MalformedRequest, DefaultDetailFor400);
        // The [AsParameters] property (K, MinScore) by its query-string name (k, minScore); Nullable<int> as int.
        string property = m.Groups["name"].Value, value = NeighborRequestFailure.Shown(m.Groups["value"].Value);
        string name = property.Length > 0 ? char.ToLowerInvariant(property[0]) + property[1..] : property;
        string type = System.Text.RegularExpressions.Regex.Replace(m.Groups["type"].Value, "^Nullable<(.*)>$|^(.*)\\?$", "$1$2");
        string what = type switch
        {
            "int" or "Int32" => "a whole number",
            "bool" or "Boolean" => "true or false",
            "double" or "Double" => "a number",
            _ => "a value of type " + type,
        };
        return BadRequest(string.Equals(name, "k", StringComparison.OrdinalIgnoreCase) ? ProblemIds.KOutOfRange : ProblemIds.InvalidParameter,
            $"{name} must be {what}; got '{value}'.", new Dictionary<string, object?> { ["field"] = name });
    }

    private const string DefaultDetailFor400 = "The request could not be read: the body must be one JSON object of the documented shape (whole numbers where a count is asked for, no NaN) and the query values of their documented types (docs/server.md).";
}

/// <summary>The one place a bad request ASP.NET Core raises itself becomes our problem+json (see <see cref="Problems.FromBindingFailure"/>).</summary>
public sealed class BadRequestHandler : Microsoft.AspNetCore.Diagnostics.IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad) return false;
        var problem = bad.StatusCode == StatusCodes.Status400BadRequest
            ? Problems.FromBindingFailure(bad)
            : Problems.Of(bad.StatusCode, Problems.DefaultErrorId(bad.StatusCode), Problems.DefaultDetail(bad.StatusCode, context.Request));
        context.Response.StatusCode = problem.StatusCode;
        await problem.ExecuteAsync(context);
        return true;
    }
}
