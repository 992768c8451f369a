using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using MessTools.Core.Index;
using MessTools.Tests.Server.Infrastructure;

namespace MessTools.Tests.Server;

/// <summary>A new artifact version is picked up without a restart, under load, and no answer mixes versions.</summary>
public sealed class ReloadTests
{
    [Fact]
    public async Task A_swapped_artifact_folder_is_served_without_failed_requests_or_mixed_answers()
    {
        using var tmp = new TempDir();
        var v1 = ServerArtifacts.Write(tmp["a"], seed: 7, titlePrefix: "v1 ", evaluate: false);
        var v2 = ServerArtifacts.Write(tmp["b"], seed: 8, titlePrefix: "v2 ", evaluate: false);
        var ids = ServerArtifacts.TrackIds(62);
        var expected = new[] { v1, v2 }.Select(s =>
        {
            var f = NeighborFinder.Open(s);
            return ids.ToDictionary(id => id, id => string.Join(",", f.ByTrackId(id, new NeighborQuery { K = 5 }).Select(r => r.TrackId)));
        }).ToArray();
        Assert.Contains(ids, id => expected[0][id] != expected[1][id]);

        await using var server = await RunningServer.StartAsync(v1.Root, "--rate-limit", "0");
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        int version1 = (await http.GetFromJsonAsync<JsonElement>("/models"))[0].GetProperty("version").GetInt32();

        var failures = new ConcurrentQueue<string>();
        var seen = new int[2];
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var rng = new Random(w);
            while (!stop.IsCancellationRequested)
            {
                string id = ids[rng.Next(ids.Length)];
                try
                {
                    using var r = await http.GetAsync($"/tracks/{id}/nearest?k=5");
                    var body = await r.Content.ReadAsStringAsync();
                    if (!r.IsSuccessStatusCode) { failures.Enqueue($"{(int)r.StatusCode} {body}"); continue; }
                    var neighbors = JsonDocument.Parse(body).RootElement.GetProperty("neighbors").EnumerateArray().ToList();
                    string list = string.Join(",", neighbors.Select(n => n.GetProperty("track_id").GetString()));
                    var prefixes = neighbors.Select(n => n.GetProperty("title").GetString()![..3]).Distinct().ToList();
                    int v = list == expected[0][id] && prefixes.SequenceEqual(new[] { "v1 " }) ? 0
                        : list == expected[1][id] && prefixes.SequenceEqual(new[] { "v2 " }) ? 1 : -1;
                    if (v < 0) failures.Enqueue($"mixed answer for {id}: {list} titles {string.Join("|", prefixes)}");
                    else Interlocked.Increment(ref seen[v]);
                }
                catch (HttpRequestException ex) { failures.Enqueue(ex.Message); }
            }
        })).ToList();

        await Task.Delay(700);
        // The import's way: the whole new folder takes the old one's place (two renames here; Linux imports exchange them in one).
        Directory.Move(v1.Root, tmp["old"]);
        Directory.Move(v2.Root, v1.Root);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        int version2 = version1;
        while (DateTime.UtcNow < deadline && version2 == version1)
        {
            await Task.Delay(50);
            version2 = (await http.GetFromJsonAsync<JsonElement>("/models"))[0].GetProperty("version").GetInt32();
        }
        await Task.Delay(700);
        stop.Cancel();
        await Task.WhenAll(workers);

        Assert.True(failures.IsEmpty, string.Join("\n", failures.Take(10)));
        Assert.NotEqual(version1, version2);
        Assert.True(seen[0] > 0 && seen[1] > 0, $"answers from v1 {seen[0]}, from v2 {seen[1]}");
        Assert.Equal("v2 Piece 1", (await http.GetFromJsonAsync<JsonElement>("/tracks/trk-001")).GetProperty("title").GetString());
    }

    [Fact]
    public async Task A_rebuilt_index_is_picked_up_and_a_half_replaced_set_keeps_the_old_one_serving()
    {
        using var tmp = new TempDir();
        var store = ServerArtifacts.Write(tmp.Path, evaluate: false);
        await using var f = ServerFactory.For(store.Root);
        var c = await f.ReadyClientAsync();
        var before = (await c.GetFromJsonAsync<JsonElement>("/models"))[0];

        // New embeddings without a new index: the index no longer matches them, so the old snapshot keeps serving.
        var other = ServerArtifacts.Write(tmp["other"], seed: 9, evaluate: false, index: false);
        foreach (string file in new[] { "embeddings.f32", "track_ids.json", "embeddings_meta.json" })
            File.Copy(Path.Combine(other.EmbeddingsDir, file), Path.Combine(store.EmbeddingsDir, file), overwrite: true);
        await Task.Delay(600);
        var during = (await c.GetFromJsonAsync<JsonElement>("/models"))[0];
        Assert.Equal(before.GetProperty("version").GetInt32(), during.GetProperty("version").GetInt32());
        Assert.Equal(System.Net.HttpStatusCode.OK, (await c.GetAsync("/tracks/trk-001/nearest")).StatusCode);
        Assert.Equal("ready", (await c.GetFromJsonAsync<JsonElement>("/readyz")).GetProperty("status").GetString());

        // New-MessIndex completes the version: it is served.
        ServerArtifacts.BuildIndex(store, seed: 5);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        JsonElement after;
        do
        {
            await Task.Delay(50);
            after = (await c.GetFromJsonAsync<JsonElement>("/models"))[0];
        } while (after.GetProperty("version").GetInt32() == before.GetProperty("version").GetInt32() && DateTime.UtcNow < deadline);
        Assert.NotEqual(before.GetProperty("version").GetInt32(), after.GetProperty("version").GetInt32());
        Assert.NotEqual(before.GetProperty("embeddings_sha256").GetString(), after.GetProperty("embeddings_sha256").GetString());
        var expected = NeighborFinder.Open(store).ByTrackId("trk-001", new NeighborQuery { K = 5 }).Select(r => r.TrackId);
        var got = (await c.GetFromJsonAsync<JsonElement>("/tracks/trk-001/nearest")).GetProperty("neighbors").EnumerateArray().Select(n => n.GetProperty("track_id").GetString());
        Assert.Equal(expected, got);
    }
}
