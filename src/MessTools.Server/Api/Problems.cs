using MessTools.Core.Common;

namespace MessTools.Server.Api;

/// <summary>
/// Every error the API returns, as application/problem+json (RFC 9457): a stable <c>error_id</c> (the engine's error
/// ids where the engine raised it), the HTTP status, and a message that names what was wrong. Never a file path.
/// </summary>
public static class Problems
{
    public static IResult Of(int status, string errorId, string detail, IDictionary<string, object?>? extra = null)
    {
        var ext = new Dictionary<string, object?> { ["error_id"] = errorId };
        if (extra is not null) foreach (var (k, v) in extra) ext[k] = v;
        return Results.Problem(detail: detail, statusCode: status, title: Title(status), type: $"https://messtools.dev/problems/{errorId}", extensions: ext);
    }

    public static IResult BadRequest(string errorId, string detail, IDictionary<string, object?>? extra = null) => Of(400, errorId, detail, extra);
    public static IResult NotFound(string errorId, string detail, IDictionary<string, object?>? extra = null) => Of(404, errorId, detail, extra);

    /// <summary>An engine error: not found 404, bad input 400, anything else 500 (without the engine's message, which may name files).</summary>
    public static IResult From(MessException ex) => ex.Kind switch
    {
        MessErrorKind.ObjectNotFound => Of(404, ex.ErrorId, ex.Message),
        MessErrorKind.InvalidArgument or MessErrorKind.InvalidData => Of(400, ex.ErrorId, ex.Message),
        _ => Of(500, ex.ErrorId, "The server could not answer this request; see its log."),
    };

    /// <summary>The error id of a problem ASP.NET Core writes itself (binding, routing, content negotiation).</summary>
    public static string DefaultErrorId(int status) => status switch
    {
        400 => "MalformedRequest",
        401 => "ApiKeyRequired",
        404 => "RouteNotFound",
        405 => "MethodNotAllowed",
        413 => "RequestTooLarge",
        415 => "UnsupportedMediaType",
        429 => "RateLimited",
        503 => "NotReady",
        >= 500 => "InternalError",
        _ => "RequestFailed",
    };

    /// <summary>What a problem ASP.NET Core writes itself means, in words (never echoing the request beyond its method and route).</summary>
    public static string DefaultDetail(int status, HttpRequest request) => status switch
    {
        400 => "The request could not be read: the body must be one JSON object of the documented shape (whole numbers where a count is asked for, no NaN) and the query values of their documented types (docs/server.md).",
        404 => $"There is no route {request.Method} {RequestValues.Printable(request.Path.Value ?? "")}; /openapi/v1.json lists the routes.",
        405 => $"The route {RequestValues.Printable(request.Path.Value ?? "")} does not answer {request.Method}; /openapi/v1.json lists its methods.",
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
}
