using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MessTools.Tests.Server.Infrastructure;

namespace MessTools.Tests.Server;

/// <summary>
/// The serving edges a fault tester probed (issue 19, items 1-7): probes open to a load balancer, no route or method
/// open by accident, bad wildcards and bad bodies answered as problem+json with an error id, the limiter after the key,
/// norms computed without float overflow.
/// </summary>
[Collection("artifacts")]
public sealed class EdgeTests(ArtifactsFixture art)
{
    private const string Key = "edge-key-for-tests";

    [Fact]
    public async Task The_probes_are_open_for_a_load_balancer_health_check_and_say_nothing_about_the_data()
    {
        await using var f = ServerFactory.For(art.Builtin.Root, ("api-key", Key));
        await f.ReadyClientAsync(Key);
        var anonymous = f.CreateClient();
        var ready = await anonymous.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        string body = await ready.Content.ReadAsStringAsync();
        Assert.DoesNotContain("trk-", body);
        Assert.DoesNotContain("builtin", body);
        // Only GET: another method on a probe needs the key like any route.
        await Json.ProblemAsync(await anonymous.PostAsync("/readyz", null), HttpStatusCode.Unauthorized, "ApiKeyRequired");
    }

    [Fact]
    public async Task An_OPTIONS_request_that_is_not_a_preflight_needs_the_key_and_metrics_answer_GET_only()
    {
        await using var f = ServerFactory.For(art.Builtin.Root, ("api-key", Key));
        var anonymous = f.CreateClient();
        var options = await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Options, "/metrics"));
        await Json.ProblemAsync(options, HttpStatusCode.Unauthorized, "ApiKeyRequired");
        var keyed = await f.ReadyClientAsync(Key);
        Assert.Equal(HttpStatusCode.OK, (await keyed.GetAsync("/metrics")).StatusCode);
        await Json.ProblemAsync(await keyed.PostAsync("/metrics", null), HttpStatusCode.MethodNotAllowed, "MethodNotAllowed");
        await Json.ProblemAsync(await keyed.SendAsync(new HttpRequestMessage(HttpMethod.Options, "/metrics")), HttpStatusCode.MethodNotAllowed, "MethodNotAllowed");
    }

    [Fact]
    public async Task A_wildcard_that_is_not_valid_is_a_400_naming_the_pattern_on_every_route()
    {
        await using var f = ServerFactory.For(art.Builtin.Root);
        var c = await f.ReadyClientAsync();
        foreach (var r in new[]
                 {
                     await c.GetAsync("/tracks?composer=%5Bz-a%5D"),
                     await c.GetAsync("/tracks/trk-001/nearest?composer=%5Bz-a%5D"),
                     await c.PostAsJsonAsync("/search", new { track_ids = new[] { "trk-001" }, composer = new[] { "[z-a]" } }),
                 })
        {
            var p = await Json.ProblemAsync(r, HttpStatusCode.BadRequest, "InvalidWildcardPattern");
            Assert.Contains("[z-a]", p.GetProperty("detail").GetString());
        }
    }

    [Theory]
    [InlineData("{\"track_ids\": [\"trk-001\"", "MalformedRequest")]
    [InlineData("{\"track_ids\": [\"trk-001\"], \"k\": 1e12}", "MalformedRequest")]
    [InlineData("{\"track_ids\": [\"trk-001\"], \"k\": 2.5}", "MalformedRequest")]
    [InlineData("{\"vectors\": [[NaN]]}", "MalformedRequest")]
    [InlineData("NaN", "MalformedRequest")]
    public async Task A_body_that_is_not_the_documented_JSON_is_a_400_problem_with_an_error_id(string json, string errorId)
    {
        await using var f = ServerFactory.For(art.Builtin.Root);
        var c = await f.ReadyClientAsync();
        await Json.ProblemAsync(await c.PostAsync("/search", new StringContent(json, Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest, errorId);
    }

    [Fact]
    public async Task No_content_type_and_an_unknown_route_are_problems_too()
    {
        await using var f = ServerFactory.For(art.Builtin.Root);
        var c = await f.ReadyClientAsync();
        var bare = new ByteArrayContent(Encoding.UTF8.GetBytes("{\"track_ids\": [\"trk-001\"]}"));
        await Json.ProblemAsync(await c.PostAsync("/search", bare), HttpStatusCode.UnsupportedMediaType, "UnsupportedMediaType");
        var nope = await Json.ProblemAsync(await c.GetAsync("/nope"), HttpStatusCode.NotFound, "RouteNotFound");
        Assert.Contains("/nope", nope.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData(3e38f)]
    [InlineData(1e-45f)]
    public async Task A_finite_vector_of_huge_or_tiny_values_is_searched_not_refused(float value)
    {
        await using var f = ServerFactory.For(art.Builtin.Root);
        var c = await f.ReadyClientAsync();
        var models = await c.GetFromJsonAsync<JsonElement>("/models");
        int dim = models[0].GetProperty("dim").GetInt32();
        var r = await c.PostAsJsonAsync("/search", new { vectors = new[] { Enumerable.Repeat(value, dim).ToArray() }, k = 3 });
        var body = await Json.ReadAsync(r);
        Assert.True(r.IsSuccessStatusCode, body.ToString());
        Assert.Equal(3, body.GetProperty("results")[0].GetProperty("neighbors").GetArrayLength());
    }

    [Fact]
    public async Task Anonymous_traffic_cannot_starve_a_client_with_the_key_and_forwarded_clients_have_buckets_of_their_own()
    {
        // The real entry point on loopback (a trusted proxy by default), so X-Forwarded-For is believed.
        await using var server = await RunningServer.StartAsync(art.Builtin.Root, "--rate-limit", "5", "--api-key", Key);
        using var anonymous = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        var codes = new List<HttpStatusCode>();
        for (int i = 0; i < 15; i++) codes.Add((await anonymous.GetAsync("/readyz")).StatusCode);
        Assert.Contains(HttpStatusCode.TooManyRequests, codes);
        using var keyed = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        keyed.DefaultRequestHeaders.Add("X-Api-Key", Key);
        Assert.Equal(HttpStatusCode.OK, (await keyed.GetAsync("/models")).StatusCode);

        async Task<List<HttpStatusCode>> From(string client, int n)
        {
            var list = new List<HttpStatusCode>();
            for (int i = 0; i < n; i++)
            {
                var req = new HttpRequestMessage(HttpMethod.Get, "/readyz");
                req.Headers.Add("X-Forwarded-For", client);
                list.Add((await anonymous.SendAsync(req)).StatusCode);
            }
            return list;
        }
        Assert.Contains(HttpStatusCode.TooManyRequests, await From("203.0.113.7", 15));
        Assert.Equal(HttpStatusCode.OK, (await From("203.0.113.8", 1)).Single());
    }
    [Fact]
    public async Task Requests_with_the_key_share_one_bucket_whatever_address_they_come_from()
    {
        // The limiter partitions an authenticated request by its API key, not by key and address: two clients (two
        // forwarded addresses) with one key draw from one bucket. Interleaved, 2 x 5 requests against a limit of 5 a
        // second: one bucket refuses about half of them; a bucket per address would refuse none.
        await using var server = await RunningServer.StartAsync(art.Builtin.Root, "--rate-limit", "5", "--api-key", Key);
        using var keyed = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        keyed.DefaultRequestHeaders.Add("X-Api-Key", Key);
        var codes = new Dictionary<string, List<HttpStatusCode>> { ["198.51.100.1"] = new(), ["198.51.100.2"] = new() };
        for (int i = 0; i < 10; i++)
        {
            string client = i % 2 == 0 ? "198.51.100.1" : "198.51.100.2";
            var req = new HttpRequestMessage(HttpMethod.Get, "/models");
            req.Headers.Add("X-Forwarded-For", client);
            codes[client].Add((await keyed.SendAsync(req)).StatusCode);
        }
        Assert.Contains(HttpStatusCode.TooManyRequests, codes.Values.SelectMany(c => c));
        Assert.Contains(HttpStatusCode.OK, codes["198.51.100.1"]);
        Assert.Contains(HttpStatusCode.OK, codes["198.51.100.2"]);
    }
}
