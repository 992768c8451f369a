using System.Net.Http.Json;
using System.Text.Json;
using MessTools.Tests.Server.Infrastructure;

namespace MessTools.Tests.Server;

/// <summary>
/// The server answers what the module answers, in real pwsh with the staged module: a demo-like set (62 tracks,
/// 10 composers, 620 dimensions like the built-in embedder; embeddings and metadata written through Core) indexed by
/// New-MessIndex and evaluated by Invoke-MessEvaluation; then every track's nearest list equals Find-MessNeighbor's
/// and /eval/summary equals Invoke-MessEvaluation's objects.
/// </summary>
public sealed class ModuleParityTests : IAsyncLifetime
{
    private readonly TempDir _tmp = new();
    private string _art = "";
    private JsonElement _find, _eval, _findFiltered;
    private string[] _kLimit = Array.Empty<string>();

    public Task InitializeAsync()
    {
        var store = ServerArtifacts.Write(_tmp.Path, "demo", n: 62, dim: 620, seed: 11, evaluate: false, index: false);
        _art = store.Root;
        string q = Pwsh.Quote(_art);
        string outDir = _tmp.Path;
        Pwsh.Run($$"""
            New-MessIndex -ArtifactPath {{q}} | Out-Null
            $eval = Invoke-MessEvaluation -ArtifactPath {{q}} -K 1,5,10 | Select-Object K, ExcludeSameAlbum, Queries, PrecisionAtK, HitRateAtK, NdcgAtK, ChancePrecisionAtK
            $eval | ConvertTo-Json -Depth 4 | Set-Content -Path {{Pwsh.Quote(Path.Combine(outDir, "eval.json"))}}
            $ids = Get-Content -Raw {{Pwsh.Quote(store.TrackIdsFile)}} | ConvertFrom-Json
            Find-MessNeighbor -ArtifactPath {{q}} -TrackId $ids -K 5 -AsJson | Set-Content -Path {{Pwsh.Quote(Path.Combine(outDir, "find.json"))}}
            Find-MessNeighbor -ArtifactPath {{q}} -TrackId $ids -K 4 -ExcludeSameAlbum -Composer 'B*','chopin' -AsJson | Set-Content -Path {{Pwsh.Quote(Path.Combine(outDir, "find2.json"))}}
            $limits = foreach ($k in 61, 62) {
                try { 'rows:' + @(Find-MessNeighbor -ArtifactPath {{q}} -TrackId $ids[0] -K $k -ErrorAction Stop).Count }
                catch { $_.FullyQualifiedErrorId.Split(',')[0] + ':' + $_.Exception.Message }
            }
            ConvertTo-Json @($limits) | Set-Content -Path {{Pwsh.Quote(Path.Combine(outDir, "klimit.json"))}}
            """);
        _find = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "find.json"))).RootElement.Clone();
        _findFiltered = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "find2.json"))).RootElement.Clone();
        _eval = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "eval.json"))).RootElement.Clone();
        _kLimit = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "klimit.json"))).RootElement.EnumerateArray().Select(e => e.GetString()!).ToArray();
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _tmp.Dispose();
        return Task.CompletedTask;
    }

    private static List<string> Rows(JsonElement results, string query) =>
        results.EnumerateArray().Where(r => r.GetProperty("query_track_id").GetString() == query)
            .Select(r => $"{r.GetProperty("rank").GetInt32()}|{r.GetProperty("track_id").GetString()}|{r.GetProperty("similarity").GetDouble():R}|{r.GetProperty("composer").GetString()}|{r.GetProperty("album_id").GetString()}")
            .ToList();

    [Fact]
    public async Task Nearest_lists_equal_Find_MessNeighbor_for_every_track_with_and_without_filters()
    {
        await using var f = ServerFactory.For(_art);
        var c = await f.ReadyClientAsync();
        var ids = ServerArtifacts.TrackIds(62);
        Assert.Equal(62 * 5, _find.GetArrayLength());
        foreach (string id in ids)
        {
            var body = await c.GetFromJsonAsync<JsonElement>($"/tracks/{id}/nearest?k=5");
            Assert.Equal(Rows(_find, id), Rows(body.GetProperty("neighbors"), id));
            var filtered = await c.GetFromJsonAsync<JsonElement>($"/tracks/{id}/nearest?k=4&excludeSameAlbum=true&composer=B*,chopin");
            Assert.Equal(Rows(_findFiltered, id), Rows(filtered.GetProperty("neighbors"), id));
        }
    }

    [Fact]
    public async Task Eval_summary_equals_Invoke_MessEvaluation()
    {
        await using var f = ServerFactory.For(_art);
        var c = await f.ReadyClientAsync();
        var s = await c.GetFromJsonAsync<JsonElement>("/eval/summary");
        var expected = _eval.EnumerateArray().Select(e => $"{e.GetProperty("K").GetInt32()}|{e.GetProperty("ExcludeSameAlbum").GetBoolean()}|{e.GetProperty("Queries").GetInt32()}|{e.GetProperty("PrecisionAtK").GetDouble():R}|{e.GetProperty("HitRateAtK").GetDouble():R}|{e.GetProperty("NdcgAtK").GetDouble():R}|{e.GetProperty("ChancePrecisionAtK").GetDouble():R}").Order().ToList();
        var got = s.GetProperty("results").EnumerateArray().Select(e => $"{e.GetProperty("k").GetInt32()}|{e.GetProperty("exclude_same_album").GetBoolean()}|{e.GetProperty("queries").GetInt32()}|{e.GetProperty("precision_at_k").GetDouble():R}|{e.GetProperty("hit_rate_at_k").GetDouble():R}|{e.GetProperty("ndcg_at_k").GetDouble():R}|{e.GetProperty("chance_precision_at_k").GetDouble():R}").Order().ToList();
        Assert.Equal(6, expected.Count);
        Assert.Equal(expected, got);
    }

    [Fact]
    public async Task K_has_one_limit_in_the_cmdlet_the_server_and_the_page()
    {
        // Find-MessNeighbor: 61 of 62 tracks answers 61 rows; 62 is KOutOfRange naming 1 to 61 (it used to pass and return 61 rows).
        Assert.Equal("rows:61", _kLimit[0]);
        Assert.StartsWith("KOutOfRange:-K must be a whole number from 1 to 61", _kLimit[1]);
        await using var f = ServerFactory.For(_art);
        var c = await f.ReadyClientAsync();
        string id = ServerArtifacts.TrackIds(62)[0];
        Assert.Equal(61, (await c.GetFromJsonAsync<JsonElement>($"/tracks/{id}/nearest?k=61")).GetProperty("neighbors").GetArrayLength());
        foreach (var r in new[] { await c.GetAsync($"/tracks/{id}/nearest?k=62"), await c.PostAsJsonAsync("/search", new { track_ids = new[] { id }, k = 62 }) })
        {
            var p = await Json.ProblemAsync(r, System.Net.HttpStatusCode.BadRequest, "KOutOfRange");
            Assert.Equal(("k", 1, 61), (p.GetProperty("field").GetString(), p.GetProperty("min").GetInt32(), p.GetProperty("max").GetInt32()));
            Assert.StartsWith("k must be a whole number from 1 to 61", p.GetProperty("detail").GetString());
        }
        // The page reads its limit from /models (max_k), not a constant.
        Assert.Equal(61, (await c.GetFromJsonAsync<JsonElement>("/models"))[0].GetProperty("max_k").GetInt32());
    }
}
