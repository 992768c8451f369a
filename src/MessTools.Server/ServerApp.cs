using System.Text.Json;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.RateLimiting;
using MessTools.Server.Api;
using MessTools.Server.Artifacts;
using MessTools.Core.VectorStore;
using Prometheus;

namespace MessTools.Server;

/// <summary>Builds the web application: settings, the artifact catalog and its reloader, security, the routes.</summary>
public static class ServerApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        // Settings are read from the final configuration (after a test host's additions), so everything that
        // depends on them is configured through options, resolved when the app starts.
        builder.Services.AddSingleton(sp => ServerSettings.From(sp.GetRequiredService<IConfiguration>()));
        builder.Services.AddSingleton(sp =>
        {
            var settings = sp.GetRequiredService<ServerSettings>();
            var log = sp.GetRequiredService<ILogger<ArtifactCatalog>>();
            string root = ArtifactSource.Resolve(settings, sp.GetRequiredService<ILoggerFactory>().CreateLogger("MessTools.Server.ArtifactSource"));
            // --vector-store: the table is opened (extension, table, model checked) before anything serves; a server
            // without pgvector stops the start with one error saying so. Messages name host, port and database only.
            var table = settings.VectorStore is { } cs ? VectorStoreFinder.Open(cs, settings.VectorTable) : null;
            try
            {
                var catalog = new ArtifactCatalog(root, log, table);
                if (table is not null)
                    log.LogInformation("Serving the neighbour routes from {Table} ({Count} tracks, {Dim} dims)", table.Description, table.Count, table.Dimension);
                return catalog;
            }
            catch
            {
                table?.Dispose();
                throw;
            }
        });
        builder.Services.AddHostedService<ArtifactReloader>();
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.DictionaryKeyPolicy = null;
        });
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        builder.Services.AddCors();
        builder.Services.AddOptions<CorsOptions>().Configure<ServerSettings>((o, settings) => o.AddDefaultPolicy(p =>
        {
            if (settings.CorsOrigins.Length > 0)
                p.WithOrigins(settings.CorsOrigins).WithMethods("GET", "POST").WithHeaders(ApiKeyMiddleware.Header, "Content-Type");
        }));
        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<ServerSettings>((o, settings) =>
        {
            o.RejectionStatusCode = 429;
            o.OnRejected = async (ctx, token) =>
            {
                ctx.HttpContext.Response.Headers.RetryAfter = "1";
                await Problems.WriteAsync(ctx.HttpContext, 429, "RateLimited", $"More than {settings.RateLimit} requests per second from this client; retry after a second.");
            };
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(ctx =>
                settings.RateLimit <= 0 || ctx.Request.Path.Equals("/livez", StringComparison.Ordinal)
                    ? RateLimitPartition.GetNoLimiter("unlimited")
                    : RateLimitPartition.GetTokenBucketLimiter("client:" + ctx.Connection.RemoteIpAddress, _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = settings.RateLimit, TokensPerPeriod = settings.RateLimit, ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0, AutoReplenishment = true,
                    }));
        });

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRouting();
        app.UseHttpMetrics();
        app.UseCors();
        app.UseRateLimiter();
        app.UseMiddleware<ApiKeyMiddleware>();
        app.MapOpenApi();
        app.MapMetrics();
        Routes.Map(app);
        MapPage(app);
        if (app.Services.GetRequiredService<ServerSettings>().BenchConstantRoute) MapBenchConstant(app);
        // Resolve the catalog now: a bad --artifact-path fails the start, with its message.
        app.Services.GetRequiredService<ArtifactCatalog>();
        return app;
    }

    /// <summary>
    /// <c>--probe URL</c>: exit 0 when the URL answers 2xx within 3 s, else 1. The container's HEALTHCHECK (the
    /// runtime image has no curl): <c>dotnet MessTools.Server.dll --probe http://127.0.0.1:8080/livez</c>.
    /// </summary>
    public static async Task<int> ProbeAsync(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var r = await http.GetAsync(url);
            return r.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or UriFormatException or InvalidOperationException)
        {
            Console.Error.WriteLine($"{url}: {ex.Message}");
            return 1;
        }
    }

    /// <summary>The page at / and its script and style, embedded in the assembly (no CDN, works offline).</summary>
    private static void MapPage(WebApplication app)
    {
        var asm = typeof(ServerApp).Assembly;
        foreach (var (route, resource, type) in new[]
        {
            ("/", "web/index.html", "text/html; charset=utf-8"),
            ("/app.js", "web/app.js", "text/javascript; charset=utf-8"),
            ("/app.css", "web/app.css", "text/css; charset=utf-8"),
        })
        {
            using var s = asm.GetManifestResourceStream(resource) ?? throw new InvalidOperationException($"The page resource {resource} is missing from the build.");
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            byte[] bytes = ms.ToArray();
            app.MapGet(route, (HttpContext http) =>
            {
                http.Response.Headers.XContentTypeOptions = "nosniff";
                http.Response.Headers.ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'";
                return Results.Bytes(bytes, type);
            }).ExcludeFromDescription();
        }
    }

    /// <summary>
    /// /_bench/constant: the nearest-list response of the first track (k=10), computed once and served from memory:
    /// the benchmark's peer (what the HTTP stack allows, with the same response size and the same middleware).
    /// </summary>
    private static void MapBenchConstant(WebApplication app)
    {
        byte[]? body = null;
        app.MapGet("/_bench/constant", (ArtifactCatalog c, HttpContext http) =>
        {
            if (body is null)
            {
                var name = c.ModelNames[0];
                if (!c.TryGet(name, out var m)) return Results.StatusCode(503);
                var first = m.Search.Tracks().First().TrackId;
                var opts = http.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
                body = JsonSerializer.SerializeToUtf8Bytes(new NearestResponse(name, first, 10, m.Search.ByTrackId(first, new() { K = 10 })), opts);
            }
            return Results.Bytes(body, "application/json; charset=utf-8");
        }).ExcludeFromDescription();
    }
}
