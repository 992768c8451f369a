using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace MessTools.Server.Api;

/// <summary>
/// What /openapi/v1.json says beyond the routes' own metadata: the X-Api-Key header as a security scheme, required by
/// every operation except the probes (/livez, /readyz); problem responses as application/problem+json; the info block;
/// servers without a trailing slash. Checked by redocly lint with its recommended rules (tests/Server/OpenApiLintTests).
/// </summary>
public static class OpenApiContract
{
    public const string SchemeName = "ApiKey";
    private static readonly HashSet<string> OpenOperations = new(StringComparer.Ordinal) { "Livez", "Readyz" };

    public static void Configure(OpenApiOptions o)
    {
        o.AddDocumentTransformer((document, context, ct) =>
        {
            document.Info.Title = "MessTools.Server";
            document.Info.Description = "Neighbour search over MessTools artifact folders (docs/server.md). Every error is application/problem+json with a stable error_id.";
            document.Info.License = new OpenApiLicense { Name = "MIT", Url = new Uri("https://opensource.org/licenses/MIT") };
            document.Tags = new HashSet<OpenApiTag>
            {
                new() { Name = "Probes", Description = "Liveness and readiness, open without the key (a load balancer's health check sends no custom header)." },
                new() { Name = "Catalogue", Description = "Models, tracks, neighbour queries and the map of the space." },
                new() { Name = "Evaluation", Description = "The Composer Retrieval figures Invoke-MessEvaluation wrote." },
            };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[SchemeName] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = ApiKeyMiddleware.Header,
                Description = "The server's API key (--api-key / MESS_API_KEY), when one is configured.",
            };
            if (document.Servers is { } servers)
                foreach (var s in servers)
                    if (s.Url is { Length: > 1 } url && url.EndsWith('/')) s.Url = url.TrimEnd('/');
            if (document.Paths is not null)
                foreach (var (_, path) in document.Paths)
                    foreach (var (_, op) in path.Operations ?? new Dictionary<HttpMethod, OpenApiOperation>())
                    {
                        if (op.OperationId is { } id && !OpenOperations.Contains(id))
                        {
                            op.Security ??= new List<OpenApiSecurityRequirement>();
                            op.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeName, document)] = new List<string>() });
                        }
                        else op.Security = new List<OpenApiSecurityRequirement>();
                    }
            return Task.CompletedTask;
        });
    }
}
