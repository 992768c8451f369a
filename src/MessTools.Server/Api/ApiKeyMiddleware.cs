using System.Security.Cryptography;
using System.Text;

namespace MessTools.Server.Api;

/// <summary>
/// With an API key configured, every request except the probes (/livez, /readyz: they say nothing about the data, and a
/// load balancer's health check sends no custom header), CORS preflights and the page's own static files must carry it
/// in X-Api-Key; otherwise 401. Any other method on any route needs it too (an OPTIONS that is not a preflight is no
/// exception). The comparison is in constant time (SHA-256 of both, then
/// <see cref="CryptographicOperations.FixedTimeEquals"/>), so neither the key's content nor its length leaks. A request
/// that carried the right key is marked (<see cref="IsAuthenticated"/>) for the rate limiter, which runs after this.
/// </summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, ServerSettings settings)
{
    public const string Header = "X-Api-Key";
    private readonly byte[]? _keyHash = string.IsNullOrEmpty(settings.ApiKey) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(settings.ApiKey));

    private static readonly object AuthenticatedKey = new();

    /// <summary>Routes open without the key (GET only): the probes, and the page's static shell (it holds no data; it asks for the key).</summary>
    public static bool IsOpen(HttpRequest request) =>
        (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) && request.Path.Value is "/livez" or "/readyz" or "/" or "/app.js" or "/app.css";

    /// <summary>True when the request carried the configured API key.</summary>
    public static bool IsAuthenticated(HttpContext context) => context.Items.ContainsKey(AuthenticatedKey);

    /// <summary>A CORS preflight (the CORS middleware before this one answers those for the configured origins).</summary>
    private static bool IsPreflight(HttpRequest request) =>
        HttpMethods.IsOptions(request.Method) && request.Headers.Origin.Count > 0 && request.Headers.AccessControlRequestMethod.Count > 0;

    public Task InvokeAsync(HttpContext context)
    {
        if (_keyHash is null) return next(context);
        if (context.Request.Headers.TryGetValue(Header, out var given) && given.Count == 1 && given[0] is { Length: > 0 } value &&
            CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(value)), _keyHash))
        {
            context.Items[AuthenticatedKey] = true;
            return next(context);
        }
        if (IsOpen(context.Request) || IsPreflight(context.Request)) return next(context);
        context.Response.Headers.WWWAuthenticate = "ApiKey header=\"X-Api-Key\"";
        return Problems.WriteAsync(context, 401, "ApiKeyRequired", $"This server needs its API key in the {Header} request header.");
    }
}
