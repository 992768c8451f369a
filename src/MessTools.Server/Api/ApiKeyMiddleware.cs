using System.Security.Cryptography;
using System.Text;

namespace MessTools.Server.Api;

/// <summary>
/// With an API key configured, every request except the probes (/livez, /readyz: they say nothing about the data, and a
/// load balancer's health check sends no custom header), CORS preflights and the page's own static files must carry it
/// in X-Api-Key; otherwise 401. Any other method on any route needs it too (an OPTIONS that is not a preflight is no
/// exception). The comparison is in constant time (SHA-256 of both, then
/// <see cref="CryptographicOperations.FixedTimeEquals"/>), so neither the key's content nor its length leaks. A request
/// that carried the right key is marked with the key's id (<see cref="RateLimitPartition"/>) for the rate limiter, which runs
/// after this and the forwarded-headers middleware.
/// </summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, ServerSettings settings)
{
    public const string Header = "X-Api-Key";
    private readonly byte[]? _keyHash = string.IsNullOrEmpty(settings.ApiKey) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(settings.ApiKey));

    private readonly string? _keyId = string.IsNullOrEmpty(settings.ApiKey) ? null : "key:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes("MessTools rate-limit partition\n" + settings.ApiKey)), 0, 8);

    private static readonly object AuthenticatedKey = new();

    /// <summary>Routes open without the key (GET only): the probes, and the page's static shell (it holds no data; it asks for the key).</summary>
    public static bool IsOpen(HttpRequest request) =>
        (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) && request.Path.Value is "/livez" or "/readyz" or "/" or "/app.js" or "/app.css";

    /// <summary>
    /// The rate limiter's bucket: the API key for a request that carried it (every client with the key shares one bucket,
    /// wherever it comes from), else the client address (after ForwardedHeaders, so behind a configured proxy the real
    /// client's). The key is named by a salted hash prefix, never by itself.
    /// </summary>
    public static string RateLimitPartition(HttpContext context) =>
        context.Items.TryGetValue(AuthenticatedKey, out var id) && id is string key ? key : "address:" + context.Connection.RemoteIpAddress;

    /// <summary>A CORS preflight (the CORS middleware before this one answers those for the configured origins).</summary>
    private static bool IsPreflight(HttpRequest request) =>
        HttpMethods.IsOptions(request.Method) && request.Headers.Origin.Count > 0 && request.Headers.AccessControlRequestMethod.Count > 0;

    public Task InvokeAsync(HttpContext context)
    {
        if (_keyHash is null) return next(context);
        if (context.Request.Headers.TryGetValue(Header, out var given) && given.Count == 1 && given[0] is { Length: > 0 } value &&
            CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(value)), _keyHash))
        {
            context.Items[AuthenticatedKey] = _keyId;
            return next(context);
        }
        if (IsOpen(context.Request) || IsPreflight(context.Request)) return next(context);
        context.Response.Headers.WWWAuthenticate = "ApiKey header=\"X-Api-Key\"";
        return Problems.WriteAsync(context, 401, ProblemIds.ApiKeyRequired, $"This server needs its API key in the {Header} request header.");
    }
}
