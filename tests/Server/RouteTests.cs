using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MessTools.Core.Index;
using MessTools.Tests.Server.Infrastructure;

namespace MessTools.Tests.Server;

/// <summary>Every route and every error, in-process, against answers computed with the Core entry points directly.</summary>
[Collection("artifacts")]
public sealed class RouteTests(ArtifactsFixture art) : IAsyncLifetime
{
    private ServerFactory _single = null!, _multi = null!;
    private HttpClient _c = null!, _m = null!;
    private NeighborFinder _finder = null!;

    public async Task InitializeAsync()
    {
        _single = ServerFactory.For(art.Builtin.Root);
        _multi = ServerFactory.For(art.Root);
        _c = await _single.ReadyClientAsync();
        _m = await _multi.ReadyClientAsync();
        _finder = NeighborFinder.Open(art.Builtin);
    }

    public async Task DisposeAsync()
    {
        await _single.DisposeAsync();
        await _multi.DisposeAsync();
    }

    [Fact]
    public async Task Livez_readyz_and_health_answer()
    {
        Assert.Equal("alive", (await _c.GetFromJsonAsync<JsonElement>("/livez")).GetProperty("status").GetString());
        var ready = await _c.GetFromJsonAsync<JsonElement>("/readyz");
        Assert.Equal("ready", ready.GetProperty("status").GetString());
        Assert.Equal(1, ready.GetProperty("models_loaded").GetInt32());
        var health = await _m.GetFromJsonAsync<JsonElement>("/health");
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(new[] { "builtin", "other" }, health.GetProperty("models").EnumerateArray().Select(e => e.GetString()).ToArray());
    }

    [Fact]
    public async Task Models_lists_every_folder_with_dim_count_index_parameters_and_created_time()
    {
        var models = (await _m.GetFromJsonAsync<JsonElement>("/models")).EnumerateArray().ToList();
        Assert.Equal(2, models.Count);
        var b = models.Single(m => m.GetProperty("name").GetString() == "builtin");
        Assert.Equal(24, b.GetProperty("dim").GetInt32());
        Assert.Equal(62, b.GetProperty("count").GetInt32());
        Assert.Equal("hnsw", b.GetProperty("index_type").GetString());
        Assert.Equal(8, b.GetProperty("m").GetInt32());
        Assert.Equal(64, b.GetProperty("ef_search").GetInt32());
        Assert.True(b.GetProperty("recall_at_10").GetDouble() > 0.9); // the name docs/server.md and index_meta.json use
        Assert.False(b.TryGetProperty("recall_at10", out _));
        Assert.True(b.GetProperty("created_utc").GetDateTime() > DateTime.UtcNow.AddHours(-1));
        Assert.True(b.GetProperty("has_evaluation").GetBoolean());
        var o = models.Single(m => m.GetProperty("name").GetString() == "other");
        Assert.Equal(8, o.GetProperty("dim").GetInt32());
        Assert.False(o.GetProperty("has_evaluation").GetBoolean());
    }

    [Fact]
    public async Task Nearest_equals_the_Core_neighbour_query_for_every_track_and_excludes_the_track_itself()
    {
        foreach (string id in ServerArtifacts.TrackIds(62))
        {
            var body = await _c.GetFromJsonAsync<JsonElement>($"/tracks/{id}/nearest?k=5");
            var got = body.GetProperty("neighbors").EnumerateArray().Select(n => (n.GetProperty("track_id").GetString()!, n.GetProperty("similarity").GetDouble(), n.GetProperty("rank").GetInt32())).ToList();
            var expected = _finder.ByTrackId(id, new NeighborQuery { K = 5 }).Select(r => (r.TrackId, r.Similarity, r.NeighborRank)).ToList();
            Assert.Equal(expected, got);
            Assert.DoesNotContain(got, g => g.Item1 == id);
        }
    }

    [Fact]
    public async Task Nearest_filters_exclude_same_album_composer_wildcards_min_score_and_exact()
    {
        var excl = await _c.GetFromJsonAsync<JsonElement>("/tracks/trk-003/nearest?k=10&excludeSameAlbum=true");
        var albums = excl.GetProperty("neighbors").EnumerateArray().Select(n => n.GetProperty("album_id").GetString()).ToList();
        Assert.Equal(10, albums.Count);
        Assert.DoesNotContain(ServerArtifacts.Album(3), albums);

        var comp = await _c.GetFromJsonAsync<JsonElement>("/tracks/trk-003/nearest?k=8&composer=Ra*&composer=liszt");
        var composers = comp.GetProperty("neighbors").EnumerateArray().Select(n => n.GetProperty("composer").GetString()).Distinct().Order().ToList();
        Assert.All(composers, c => Assert.Contains(c, new[] { "Liszt", "Rachmaninoff", "Ravel" }));
        Assert.Equal(8, comp.GetProperty("neighbors").GetArrayLength());

        var all = (await _c.GetFromJsonAsync<JsonElement>("/tracks/trk-003/nearest?k=20")).GetProperty("neighbors").EnumerateArray().Select(n => n.GetProperty("similarity").GetDouble()).ToList();
        double cut = all[6];
        var min = (await _c.GetFromJsonAsync<JsonElement>($"/tracks/trk-003/nearest?k=20&minScore={cut.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}")).GetProperty("neighbors").EnumerateArray().Select(n => n.GetProperty("similarity").GetDouble()).ToList();
        Assert.Equal(all.Where(s => s >= cut).ToList(), min);
        Assert.True(min.Count < 20);

        var exact = (await _c.GetFromJsonAsync<JsonElement>("/tracks/trk-003/nearest?k=7&exact=true")).GetProperty("neighbors").EnumerateArray().Select(n => n.GetProperty("track_id").GetString()!).ToList();
        Assert.Equal(_finder.ByTrackId("trk-003", new NeighborQuery { K = 7, Exact = true }).Select(r => r.TrackId).ToList(), exact);
    }

    [Theory]
    [InlineData("k=0", "KOutOfRange")]
    [InlineData("k=62", "KOutOfRange")]
    [InlineData("k=five", "KOutOfRange")]
    [InlineData("k=-3", "KOutOfRange")]
    [InlineData("excludeSameAlbum=maybe", "InvalidParameter")]
    [InlineData("exact=2", "InvalidParameter")]
    [InlineData("minScore=1.5", "InvalidParameter")]
    [InlineData("minScore=NaN", "InvalidParameter")]
    [InlineData("ef=-1", "InvalidParameter")]
    public async Task Nearest_rejects_bad_parameters_with_400_problem(string query, string errorId)
    {
        await Json.ProblemAsync(await _c.GetAsync("/tracks/trk-001/nearest?" + query), HttpStatusCode.BadRequest, errorId);
    }

    [Theory]
    [InlineData("k=five", "KOutOfRange", "k", "k must be a whole number; got 'five'.")]
    [InlineData("exact=2", "InvalidParameter", "exact", "exact must be true or false; got '2'.")]
    [InlineData("minScore=high", "InvalidParameter", "minScore", "minScore must be a number; got 'high'.")]
    public async Task A_value_that_does_not_bind_is_named_by_its_query_name(string query, string errorId, string field, string detail)
    {
        var p = await Json.ProblemAsync(await _c.GetAsync("/tracks/trk-001/nearest?" + query), HttpStatusCode.BadRequest, errorId);
        Assert.Equal(field, p.GetProperty("field").GetString());
        Assert.Equal(detail, p.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task K_may_be_every_other_track()
    {
        var body = await _c.GetFromJsonAsync<JsonElement>("/tracks/trk-001/nearest?k=61&exact=true");
        Assert.Equal(61, body.GetProperty("neighbors").GetArrayLength());
    }

    [Fact]
    public async Task Unknown_track_is_404_with_close_ids()
    {
        var p = await Json.ProblemAsync(await _c.GetAsync("/tracks/trk-0011/nearest"), HttpStatusCode.NotFound, "UnknownTrackId");
        var suggestions = p.GetProperty("suggestions").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("trk-001", suggestions);
        Assert.Contains("trk-001", p.GetProperty("detail").GetString());
        await Json.ProblemAsync(await _c.GetAsync("/tracks/nothing-like-it"), HttpStatusCode.NotFound, "UnknownTrackId");
        await Json.ProblemAsync(await _c.GetAsync("/tracks/TRK-001/composer-eval"), HttpStatusCode.NotFound, "UnknownTrackId");
    }

    [Theory]
    [InlineData("/tracks/..%2F..%2Fmetadata%2Ftracks_metadata.csv/nearest")]
    [InlineData("/tracks/..%5Cindex%5Chnsw.index")]
    [InlineData("/tracks/%2E%2E/nearest")]
    [InlineData("/tracks/a%01b")]
    public async Task Path_like_track_ids_are_400_and_read_no_file(string url)
    {
        var r = await _c.GetAsync(url);
        Assert.True(r.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{url}: {(int)r.StatusCode}");
        string text = await r.Content.ReadAsStringAsync();
        Assert.DoesNotContain("track_id,album_id", text);
        Assert.DoesNotContain(art.Root, text);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task File_names_as_track_ids_are_unknown_tracks()
    {
        foreach (string name in new[] { "tracks_metadata.csv", "hnsw.index", "embeddings_meta.json", "eval_results.json" })
        {
            var p = await Json.ProblemAsync(await _c.GetAsync($"/tracks/{name}/nearest"), HttpStatusCode.NotFound, "UnknownTrackId");
            Assert.DoesNotContain(art.Root, p.ToString());
        }
    }

    [Fact]
    public async Task Model_must_be_named_when_several_are_loaded_and_must_exist()
    {
        await Json.ProblemAsync(await _m.GetAsync("/tracks/trk-001/nearest"), HttpStatusCode.BadRequest, "ModelRequired");
        await Json.ProblemAsync(await _m.GetAsync("/tracks/trk-001/nearest?model=nope"), HttpStatusCode.BadRequest, "UnknownModel");
        await Json.ProblemAsync(await _m.GetAsync("/tracks/trk-001/nearest?model=..%2Fv1_model_other"), HttpStatusCode.BadRequest, "UnknownModel");
        await Json.ProblemAsync(await _m.GetAsync("/eval/summary?model=%2Fetc%2Fpasswd"), HttpStatusCode.BadRequest, "UnknownModel");
        await Json.ProblemAsync(await _c.GetAsync("/tracks?model=other"), HttpStatusCode.BadRequest, "UnknownModel");
        var other = await _m.GetFromJsonAsync<JsonElement>("/tracks/trk-001/nearest?model=other&k=3");
        Assert.Equal("other", other.GetProperty("model").GetString());
        Assert.Equal(3, other.GetProperty("neighbors").GetArrayLength());
        var builtin = await _m.GetFromJsonAsync<JsonElement>("/tracks/trk-001/nearest?model=builtin&k=3");
        Assert.NotEqual(other.GetProperty("neighbors").ToString(), builtin.GetProperty("neighbors").ToString());
    }

    [Fact]
    public async Task Track_and_track_list_with_filters_and_paging()
    {
        var t = await _c.GetFromJsonAsync<JsonElement>("/tracks/trk-013");
        Assert.Equal("Chopin", t.GetProperty("composer").GetString());
        Assert.Equal(ServerArtifacts.Album(13), t.GetProperty("album_id").GetString());
        Assert.Equal("Piece 13", t.GetProperty("title").GetString());

        var page = await _c.GetFromJsonAsync<JsonElement>("/tracks?offset=10&limit=20");
        Assert.Equal(62, page.GetProperty("total").GetInt32());
        Assert.Equal(ServerArtifacts.TrackIds(62).Skip(10).Take(20), page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("track_id").GetString()));

        var chopin = await _c.GetFromJsonAsync<JsonElement>("/tracks?composer=cho*&limit=100");
        Assert.Equal(6, chopin.GetProperty("total").GetInt32()); // tracks 3, 13, 23, 33, 43, 53
        Assert.All(chopin.GetProperty("items").EnumerateArray(), i => Assert.Equal("Chopin", i.GetProperty("composer").GetString()));

        var album = await _c.GetFromJsonAsync<JsonElement>($"/tracks?album={ServerArtifacts.Album(3)}");
        Assert.Equal(new[] { "trk-003", "trk-013", "trk-023", "trk-033" }, album.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("track_id").GetString()));

        await Json.ProblemAsync(await _c.GetAsync("/tracks?limit=0"), HttpStatusCode.BadRequest, "InvalidParameter");
        await Json.ProblemAsync(await _c.GetAsync("/tracks?offset=-1"), HttpStatusCode.BadRequest, "InvalidParameter");
        await Json.ProblemAsync(await _c.GetAsync("/tracks?limit=100000"), HttpStatusCode.BadRequest, "InvalidParameter");
    }

    [Fact]
    public async Task Composer_eval_scores_the_top_K_under_the_evaluation_definitions()
    {
        foreach (bool excl in new[] { false, true })
        foreach (string id in new[] { "trk-000", "trk-013", "trk-047" })
        {
            var e = await _c.GetFromJsonAsync<JsonElement>($"/tracks/{id}/composer-eval?k=5&excludeSameAlbum={excl}&exact=true");
            var neighbors = e.GetProperty("neighbors").EnumerateArray().ToList();
            Assert.Equal(5, neighbors.Count);
            string composer = e.GetProperty("composer").GetString()!;
            var same = neighbors.Select(n => n.GetProperty("same_composer").GetBoolean()).ToList();
            Assert.Equal(neighbors.Select(n => n.GetProperty("neighbor").GetProperty("composer").GetString() == composer), same);
            // R: the other tracks of the composer the search may return.
            int index = int.Parse(id[4..]);
            int relevant = Enumerable.Range(0, 62).Count(i => i != index && i % 10 == index % 10 && !(excl && ServerArtifacts.Album(i) == ServerArtifacts.Album(index)));
            Assert.Equal(relevant, e.GetProperty("relevant_available").GetInt32());
            double dcg = same.Select((s, r) => s ? 1 / Math.Log2(r + 2) : 0).Sum();
            double idcg = Enumerable.Range(0, Math.Min(5, relevant)).Sum(r => 1 / Math.Log2(r + 2));
            Assert.Equal(Math.Round(same.Count(s => s) / 5.0, 6), e.GetProperty("precision_at_k").GetDouble(), 6);
            Assert.Equal(same.Any(s => s) && relevant > 0 ? 1.0 : 0.0, e.GetProperty("hit_rate_at_k").GetDouble());
            Assert.Equal(relevant == 0 ? 0 : Math.Round(dcg / idcg, 6), e.GetProperty("ndcg_at_k").GetDouble(), 6);
            if (excl) Assert.All(neighbors, n => Assert.NotEqual(ServerArtifacts.Album(index), n.GetProperty("neighbor").GetProperty("album_id").GetString()));
        }
        await Json.ProblemAsync(await _c.GetAsync("/tracks/trk-000/composer-eval?k=100"), HttpStatusCode.BadRequest, "KOutOfRange");
    }

    [Fact]
    public async Task Eval_summary_is_the_eval_results_figures_and_the_report_is_served_as_written()
    {
        var s = await _c.GetFromJsonAsync<JsonElement>("/eval/summary");
        var doc = JsonDocument.Parse(File.ReadAllText(art.Builtin.EvalResultsFile)).RootElement;
        var expected = doc.GetProperty("results").EnumerateArray().Select(r => (r.GetProperty("k").GetInt32(), r.GetProperty("exclude_same_album").GetBoolean(),
            r.GetProperty("precision_at_k").GetDouble(), r.GetProperty("hit_rate_at_k").GetDouble(), r.GetProperty("ndcg_at_k").GetDouble())).ToList();
        var got = s.GetProperty("results").EnumerateArray().Select(r => (r.GetProperty("k").GetInt32(), r.GetProperty("exclude_same_album").GetBoolean(),
            r.GetProperty("precision_at_k").GetDouble(), r.GetProperty("hit_rate_at_k").GetDouble(), r.GetProperty("ndcg_at_k").GetDouble())).ToList();
        Assert.Equal(4, got.Count);
        Assert.Equal(expected, got);
        Assert.Equal(62, s.GetProperty("tracks").GetInt32());
        // The bootstrap intervals of eval_results.json travel with the figures (issue 21), and say how they were made.
        static (double, double) Interval(JsonElement r, string name) => (r.GetProperty(name).GetProperty("low").GetDouble(), r.GetProperty(name).GetProperty("high").GetDouble());
        foreach (var (fileResult, served) in doc.GetProperty("results").EnumerateArray().Zip(s.GetProperty("results").EnumerateArray()))
            foreach (string name in new[] { "precision_at_k_interval", "hit_rate_at_k_interval", "ndcg_at_k_interval" })
            {
                var (low, high) = Interval(served, name);
                Assert.Equal(Interval(fileResult, name), (low, high));
                Assert.True(low <= high && low >= 0 && high <= 1, $"{name} [{low}, {high}]");
            }
        var (pLow, pHigh) = Interval(s.GetProperty("results")[0], "precision_at_k_interval");
        Assert.InRange(s.GetProperty("results")[0].GetProperty("precision_at_k").GetDouble(), pLow, pHigh);
        Assert.Equal(doc.GetProperty("bootstrap").GetProperty("resamples").GetInt32(), s.GetProperty("bootstrap").GetProperty("resamples").GetInt32());
        Assert.Equal(doc.GetProperty("bootstrap").GetProperty("seed").GetInt32(), s.GetProperty("bootstrap").GetProperty("seed").GetInt32());

        var html = await _c.GetAsync("/eval/report.html");
        Assert.Equal(HttpStatusCode.OK, html.StatusCode);
        Assert.Equal("text/html", html.Content.Headers.ContentType?.MediaType);
        Assert.Equal(File.ReadAllBytes(Path.Combine(art.Builtin.EvalDir, "report.html")), await html.Content.ReadAsByteArrayAsync());

        await Json.ProblemAsync(await _m.GetAsync("/eval/summary?model=other"), HttpStatusCode.NotFound, "EvaluationMissing");
        await Json.ProblemAsync(await _m.GetAsync("/eval/report.html?model=other"), HttpStatusCode.NotFound, "EvaluationMissing");
    }

    [Fact]
    public async Task Search_takes_a_batch_of_ids_and_vectors_and_checks_them()
    {
        var v = _finder.Index.Vector(_finder.Index.TryGetNode("trk-004", out int node) ? node : -1).ToArray();
        var r = await _c.PostAsJsonAsync("/search", new { track_ids = new[] { "trk-001", "trk-002" }, vectors = new[] { v }, k = 4 });
        var body = await Json.ReadAsync(r);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var results = body.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(3, results.Count);
        Assert.Equal(_finder.ByTrackId("trk-002", new NeighborQuery { K = 4 }).Select(x => x.TrackId), results[1].GetProperty("neighbors").EnumerateArray().Select(n => n.GetProperty("track_id").GetString()));
        // A raw vector equal to a track's finds that track first (it is not in the catalogue as a query).
        Assert.Equal("trk-004", results[2].GetProperty("neighbors")[0].GetProperty("track_id").GetString());

        await Json.ProblemAsync(await _c.PostAsJsonAsync("/search", new { vectors = new[] { new float[5] } }), HttpStatusCode.BadRequest, "QueryDimensionMismatch");
        await Json.ProblemAsync(await _c.PostAsJsonAsync("/search", new { vectors = new[] { new float[24] } }), HttpStatusCode.BadRequest, "QueryEmbeddingInvalid");
        await Json.ProblemAsync(await _c.PostAsJsonAsync("/search", new { track_ids = new[] { "nope" } }), HttpStatusCode.NotFound, "UnknownTrackId");
        await Json.ProblemAsync(await _c.PostAsJsonAsync("/search", new { track_ids = new[] { "../x" } }), HttpStatusCode.BadRequest, "InvalidTrackId");
        await Json.ProblemAsync(await _c.PostAsJsonAsync("/search", new { }), HttpStatusCode.BadRequest, "MalformedRequest");
        await Json.ProblemAsync(await _c.PostAsJsonAsync("/search", new { track_ids = new[] { "trk-001" }, k = 62 }), HttpStatusCode.BadRequest, "KOutOfRange");
        await Json.ProblemAsync(await _c.PostAsJsonAsync("/search", new { track_ids = Enumerable.Repeat("trk-001", 101).ToArray() }), HttpStatusCode.BadRequest, "BatchTooLarge");
        var inf = new StringContent("{\"vectors\":[[" + string.Join(",", Enumerable.Repeat("1e39", 24)) + "]]}", Encoding.UTF8, "application/json");
        var infR = await _c.PostAsync("/search", inf);
        Assert.Equal(HttpStatusCode.BadRequest, infR.StatusCode);
        Assert.Equal("application/problem+json", infR.Content.Headers.ContentType?.MediaType);
        var bad = await _c.PostAsync("/search", new StringContent("{\"vectors\": [[1, 2,", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Unknown_routes_are_404_problems_and_OpenAPI_and_metrics_are_served()
    {
        var r = await _c.GetAsync("/no/such/route");
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);

        var openapi = await _c.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = openapi.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        foreach (string p in new[] { "/health", "/models", "/tracks", "/tracks/{trackId}", "/tracks/{trackId}/nearest", "/tracks/{trackId}/composer-eval", "/eval/summary", "/search", "/map", "/livez", "/readyz" })
            Assert.Contains(p, paths);

        await _c.GetAsync("/tracks/trk-001/nearest");
        string metrics = await _c.GetStringAsync("/metrics");
        Assert.Contains("http_request_duration_seconds_bucket{", metrics);
        Assert.Contains("endpoint=\"/tracks/{trackId}/nearest\"", metrics);
        Assert.Contains("http_requests_received_total{", metrics);
    }

    [Fact]
    public async Task The_page_and_its_assets_are_served_without_external_resources()
    {
        string html = await _c.GetStringAsync("/");
        Assert.Contains("<script src=\"/app.js\">", html);
        string js = await _c.GetStringAsync("/app.js");
        string css = await _c.GetStringAsync("/app.css");
        foreach (string text in new[] { html, js, css })
        {
            Assert.DoesNotContain("http://", text);
            Assert.DoesNotContain("https://", text);
            Assert.DoesNotContain("//cdn", text);
        }
    }

    [Fact]
    public async Task Map_places_every_track_on_the_first_two_principal_components_with_its_composer_and_title()
    {
        var map = await _c.GetFromJsonAsync<JsonElement>("/map?model=builtin");
        Assert.Equal("pca", map.GetProperty("projection").GetString());
        Assert.Equal(62, map.GetProperty("total").GetInt32());
        var points = map.GetProperty("points").EnumerateArray().ToList();
        Assert.Equal(62, points.Count);
        Assert.Equal(62, points.Select(p => p.GetProperty("track_id").GetString()).Distinct().Count());
        var p0 = points.Single(p => p.GetProperty("track_id").GetString() == "trk-003");
        Assert.Equal("Chopin", p0.GetProperty("composer").GetString());
        Assert.Equal("Piece 3", p0.GetProperty("title").GetString());
        // Centred projections: the coordinates average to zero, and the first component spreads more than the second.
        double mx = points.Average(p => p.GetProperty("x").GetDouble()), my = points.Average(p => p.GetProperty("y").GetDouble());
        Assert.InRange(mx, -1e-3, 1e-3);
        Assert.InRange(my, -1e-3, 1e-3);
        double vx = points.Average(p => Math.Pow(p.GetProperty("x").GetDouble(), 2)), vy = points.Average(p => Math.Pow(p.GetProperty("y").GetDouble(), 2));
        Assert.True(vx >= vy && vy > 0, $"{vx} {vy}");
        // The same request, the same bytes; a sample when asked for fewer points.
        Assert.Equal(await _c.GetStringAsync("/map?model=builtin"), await _c.GetStringAsync("/map?model=builtin"));
        var few = await _c.GetFromJsonAsync<JsonElement>("/map?model=builtin&points=10");
        Assert.Equal(10, few.GetProperty("points").GetArrayLength());
        await Json.ProblemAsync(await _c.GetAsync("/map?model=builtin&points=0"), HttpStatusCode.BadRequest, "InvalidParameter");
    }
}
