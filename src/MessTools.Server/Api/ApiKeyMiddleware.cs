using System.Security.Cryptography;
using System.Text;

namespace MessTools.Server.Api;

/// <summary>
/// With an API key configured, every request except liveness (/livez), CORS preflights and the page's own static
/// files must carry it in X-Api-Key; otherwise 401. The comparison is in constant time (SHA-256 of both, then
/// <see cref="CryptographicOperations.FixedTimeEquals"/>), so neither the key's content nor its length leaks.
/// </summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, ServerSettings settings)
{
    public const string Header = "X-Api-Key";
    private readonly byte[]? _keyHash = string.IsNullOrEmpty(settings.ApiKey) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(settings.ApiKey));

    /// <summary>Routes open without the key: liveness, and the page's static shell (it holds no data; it asks for the key).</summary>
    public static bool IsOpen(PathString path) =>
        path.Equals("/livez", StringComparison.Ordinal) || path.Equals("/", StringComparison.Ordinal) ||
        path.Equals("/app.js", StringComparison.Ordinal) || path.Equals("/app.css", StringComparison.Ordinal);

    public Task InvokeAsync(HttpContext context)
    {
        if (_keyHash is null || IsOpen(context.Request.Path) || HttpMethods.IsOptions(context.Request.Method)) return next(context);
        if (context.Request.Headers.TryGetValue(Header, out var given) && given.Count == 1 && given[0] is { Length: > 0 } value &&
            CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(value)), _keyHash))
            return next(context);
        context.Response.Headers.WWWAuthenticate = "ApiKey header=\"X-Api-Key\"";
        return Problems.WriteAsync(context, 401, "ApiKeyRequired", $"This server needs its API key in the {Header} request header.");
    }
}
