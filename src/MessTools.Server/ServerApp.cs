using System.Text.Json;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.RateLimiting;
using MessTools.Server.Api;
using MessTools.Server.Artifacts;
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
        // Settings: bound from the configuration by property name (ArtifactPath, ApiKey ...), then the command-line and
        // environment spellings (--artifact-path, MESS_API_KEY ...), validated at start: a bad setting stops it in one line.
        builder.Services.AddOptions<ServerSettings>()
            .BindConfiguration("", o => o.ErrorOnUnknownConfiguration = false)
            .Configure<IConfiguration>((s, config) => s.ApplyAliases(config))
            .ValidateOnStart();
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<ServerSettings>, ServerSettingsValidator>();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<ServerSettings>>().Value);
        builder.Services.AddSingleton(sp =>
        {
            var settings = sp.GetRequiredService<ServerSettings>();
            var log = sp.GetRequiredService<ILogger<ArtifactCatalog>>();
            // A local folder is discovered now (a wrong path, or several models for --vector-store, stops the start).
            // The network I/O is the ArtifactReloader hosted service's, off the start path: the --vector-store table is
            // opened (extension, table, model checked) and an s3:// set imported there, /readyz "loading" meanwhile.
            var catalog = new ArtifactCatalog(log, usesVectorStore: settings.VectorStore is not null);
            if (!ArtifactSource.IsRemote(settings))
            {
                catalog.Open(settings.ArtifactPath.Trim());
                log.LogInformation("Serving the artifacts in {Path}", catalog.Root);
            }
            return catalog;
        });
        builder.Services.AddHostedService<ArtifactReloader>();
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.DictionaryKeyPolicy = null;
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, ServerJsonContext.Default);
        });
        // Every error is problem+json with an error_id, including the ones ASP.NET Core writes itself (a body that is not
        // JSON of the request's shape, a missing Content-Type, an unknown route or method).
        // A value ASP.NET Core cannot bind (k=five, a body that is not JSON) is thrown, so that the handler below can name
        // the parameter: 400 KOutOfRange / InvalidParameter / MalformedRequest, never a bare 400.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddExceptionHandler<BadRequestHandler>();
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
        {
            int status = ctx.ProblemDetails.Status ?? ctx.HttpContext.Response.StatusCode;
            ctx.ProblemDetails.Extensions.TryAdd("error_id", Problems.DefaultErrorId(status));
            ctx.ProblemDetails.Detail ??= Problems.DefaultDetail(status, ctx.HttpContext.Request);
        });
        // One line a request at Information (6 lines from ASP.NET Core) is noise in a container log: its request logs
        // go to Debug unless the configuration asks for them (Logging:LogLevel:Microsoft.AspNetCore).
        if (builder.Configuration["Logging:LogLevel:Microsoft.AspNetCore"] is null)
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // A start that fails (port in use, bad settings) is reported once, in one line, by Program; not also as a logged stack trace.
        if (builder.Configuration["Logging:LogLevel:Microsoft.Extensions.Hosting"] is null)
            builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        builder.Services.AddOptions<ForwardedHeadersOptions>().Configure<ServerSettings>((o, settings) =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            foreach (string p in settings.KnownProxies) o.KnownProxies.Add(System.Net.IPAddress.Parse(p));
            foreach (string n in settings.KnownNetworks) o.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(n));
        });
        builder.Services.AddOpenApi(OpenApiContract.Configure);
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
                await Problems.WriteAsync(ctx.HttpContext, 429, ProblemIds.RateLimited, $"More than {settings.RateLimit} requests per second from this client; retry after a second.");
            };
            // After the key check and the forwarded headers: requests with the key draw from the key's bucket (whatever
            // address they come from), anonymous ones from their client address's, so unauthenticated traffic cannot starve
            // a keyed client.
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(ctx =>
                settings.RateLimit <= 0 || ctx.Request.Path.Equals("/livez", StringComparison.Ordinal)
                    ? RateLimitPartition.GetNoLimiter("unlimited")
                    : RateLimitPartition.GetTokenBucketLimiter(ApiKeyMiddleware.RateLimitPartition(ctx), _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = settings.RateLimit, TokensPerPeriod = settings.RateLimit, ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0, AutoReplenishment = true,
                    }));
        });

        var app = builder.Build();
        app.UseForwardedHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRouting();
        app.UseHttpMetrics();
        app.UseCors();
        app.UseMiddleware<ApiKeyMiddleware>();
        app.UseRateLimiter();
        app.MapOpenApi();
        app.MapMetrics().WithMetadata(new HttpMethodMetadata(new[] { "GET" }));
        Routes.Map(app);
        MapPage(app);
        if (app.Services.GetRequiredService<ServerSettings>().BenchConstantRoute) MapBenchConstant(app);
        // Resolve the catalog now: a bad --artifact-path fails the start, with its message.
        app.Services.GetRequiredService<ArtifactCatalog>();
        return app;
    }

    /// <summary>
    /// The one-line message of an error that stops the start (null for a defect, whose stack trace is worth printing):
    /// an address in use, a bad setting, an engine error (artifacts missing or failing their checks, S3, pgvector).
    /// </summary>
    public static string? StartError(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case MessTools.Core.Common.MessException me: return $"{me.Message} ({me.ErrorId})";
                case IOException io: return io.Message;
                case System.Net.Sockets.SocketException se: return se.Message;
                case Microsoft.Extensions.Options.OptionsValidationException ov: return string.Join(" ", ov.Failures);
                case InvalidOperationException io when io.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal): return io.Message;
            }
        }
        return null;
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
                if (c.ModelNames.Count == 0) return Results.StatusCode(503);
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
