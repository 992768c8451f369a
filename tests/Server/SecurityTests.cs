using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MessTools.Tests.Server.Infrastructure;

namespace MessTools.Tests.Server;

/// <summary>API key, CORS and rate limiting.</summary>
[Collection("artifacts")]
public sealed class SecurityTests(ArtifactsFixture art)
{
    private const string Key = "s3cr3t-key-for-tests";

    [Fact]
    public async Task With_an_API_key_every_route_but_liveness_needs_it()
    {
        await using var f = ServerFactory.For(art.Builtin.Root, ("api-key", Key));
        var anonymous = f.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/livez")).StatusCode);
        foreach (string url in new[] { "/health", "/models", "/tracks", "/tracks/trk-001", "/tracks/trk-001/nearest", "/tracks/trk-001/composer-eval",
                     "/eval/summary", "/eval/report.html", "/metrics", "/openapi/v1.json", "/no/such/route" })
        {
            var p = await Json.ProblemAsync(await anonymous.GetAsync(url), HttpStatusCode.Unauthorized, "ApiKeyRequired");
            Assert.DoesNotContain(Key, p.ToString());
        }
        await Json.ProblemAsync(await anonymous.PostAsJsonAsync("/search", new { track_ids = new[] { "trk-001" } }), HttpStatusCode.Unauthorized, "ApiKeyRequired");

        var wrong = f.CreateClient();
        wrong.DefaultRequestHeaders.Add("X-Api-Key", Key + "x");
        await Json.ProblemAsync(await wrong.GetAsync("/models"), HttpStatusCode.Unauthorized, "ApiKeyRequired");
        var prefix = f.CreateClient();
        prefix.DefaultRequestHeaders.Add("X-Api-Key", Key[..^1]);
        await Json.ProblemAsync(await prefix.GetAsync("/models"), HttpStatusCode.Unauthorized, "ApiKeyRequired");

        var client = await f.ReadyClientAsync(Key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/tracks/trk-001/nearest")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/metrics")).StatusCode);
        // The page shell holds no data and asks for the key itself.
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task Without_a_key_configured_no_header_is_needed()
    {
        await using var f = ServerFactory.For(art.Builtin.Root);
        var c = await f.ReadyClientAsync();
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/models")).StatusCode);
    }

    [Fact]
    public async Task CORS_allows_only_the_configured_origins()
    {
        await using var f = ServerFactory.For(art.Builtin.Root, ("cors-origins", "https://app.example.org, https://other.example.org"), ("api-key", Key));
        var c = await f.ReadyClientAsync(Key);
        var allowed = new HttpRequestMessage(HttpMethod.Get, "/models");
        allowed.Headers.Add("Origin", "https://app.example.org");
        var r = await c.SendAsync(allowed);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("https://app.example.org", r.Headers.GetValues("Access-Control-Allow-Origin").Single());

        var other = new HttpRequestMessage(HttpMethod.Get, "/models");
        other.Headers.Add("Origin", "https://evil.example.com");
        var r2 = await c.SendAsync(other);
        Assert.False(r2.Headers.Contains("Access-Control-Allow-Origin"));

        // A preflight carries no key; it is answered by CORS, for allowed origins only.
        var anonymous = f.CreateClient();
        var pre = new HttpRequestMessage(HttpMethod.Options, "/tracks/trk-001/nearest");
        pre.Headers.Add("Origin", "https://other.example.org");
        pre.Headers.Add("Access-Control-Request-Method", "GET");
        pre.Headers.Add("Access-Control-Request-Headers", "x-api-key");
        var pr = await anonymous.SendAsync(pre);
        Assert.True(pr.IsSuccessStatusCode, ((int)pr.StatusCode).ToString());
        Assert.Equal("https://other.example.org", pr.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("x-api-key", string.Join(",", pr.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.OrdinalIgnoreCase);
        var badPre = new HttpRequestMessage(HttpMethod.Options, "/tracks/trk-001/nearest");
        badPre.Headers.Add("Origin", "https://evil.example.com");
        badPre.Headers.Add("Access-Control-Request-Method", "GET");
        var bpr = await anonymous.SendAsync(badPre);
        Assert.False(bpr.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task No_CORS_headers_without_configured_origins()
    {
        await using var f = ServerFactory.For(art.Builtin.Root);
        var c = await f.ReadyClientAsync();
        var req = new HttpRequestMessage(HttpMethod.Get, "/models");
        req.Headers.Add("Origin", "https://app.example.org");
        var r = await c.SendAsync(req);
        Assert.False(r.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Rate_limiting_answers_429_with_retry_after_and_spares_liveness()
    {
        await using var f = ServerFactory.For(art.Builtin.Root, ("rate-limit", "5"));
        var c = f.CreateClient();
        var codes = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (int i = 0; i < 12; i++)
        {
            var r = await c.GetAsync("/health");
            codes.Add(r.StatusCode);
            if (r.StatusCode == HttpStatusCode.TooManyRequests) limited ??= r;
        }
        Assert.Contains(HttpStatusCode.OK, codes);
        Assert.NotNull(limited);
        await Json.ProblemAsync(limited!, HttpStatusCode.TooManyRequests, "RateLimited");
        Assert.Equal("1", limited!.Headers.GetValues("Retry-After").Single());
        for (int i = 0; i < 10; i++) Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/livez")).StatusCode);
    }
}
