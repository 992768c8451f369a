using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Server;
using MessTools.Core.VectorStore;
using MessTools.Tests.Server.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MessTools.Tests.Server;

/// <summary>
/// The server's generated artifact set published into a real pgvector table (PGlite on loopback, one server for the
/// class: it starts in 15-40 s), and two servers over the same folder: one with --vector-store, one on the index file.
/// Every log line of the vector-store server is kept, to prove the connection string's password never shows.
/// </summary>
public sealed class VectorStoreServerFixture : IAsyncLifetime
{
    /// <summary>PGlite accepts any password: this one is only here to be looked for in responses and logs.</summary>
    public const string Password = "pw-Vq7Zr2xK9sLm";

    private readonly TempDir _tmp = new();
    public PgliteServer Pg { get; private set; } = null!;
    public ArtifactStore Store { get; private set; } = null!;
    public string VectorConnection { get; private set; } = "";
    public WebApplicationFactory<Program> Vector { get; private set; } = null!;
    public ServerFactory File { get; private set; } = null!;
    public HttpClient V { get; private set; } = null!;
    public HttpClient F { get; private set; } = null!;
    public ConcurrentQueue<string> Log { get; } = new();

    public async Task InitializeAsync()
    {
        Store = ServerArtifacts.Write(_tmp.Path, "builtin");
        Pg = new PgliteServer();
        VectorConnection = Pg.ConnectionString.Replace("Password=pglite", "Password=" + Password) + ";Maximum Pool Size=2";
        using (var table = VectorTable.Create(VectorConnection, VectorTable.DefaultTable))
            VectorPublisher.Publish(Store, table, new VectorPublishOptions());
        Vector = ServerFactory.For(Store.Root, ("vector-store", VectorConnection))
            .WithWebHostBuilder(b => b.ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Trace).AddProvider(new CapturingLoggerProvider(Log))));
        File = ServerFactory.For(Store.Root);
        V = await ReadyAsync(Vector.CreateClient());
        F = await File.ReadyClientAsync();
    }

    private static async Task<HttpClient> ReadyAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using var r = await client.GetAsync("/readyz");
            if (r.IsSuccessStatusCode) return client;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The vector-store server did not become ready: " + await r.Content.ReadAsStringAsync());
            await Task.Delay(50);
        }
    }

    public async Task DisposeAsync()
    {
        V?.Dispose();
        F?.Dispose();
        if (Vector is not null) await Vector.DisposeAsync();
        if (File is not null) await File.DisposeAsync();
        Pg?.Dispose();
        _tmp.Dispose();
    }

    private sealed class CapturingLoggerProvider(ConcurrentQueue<string> sink) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, sink);
        public void Dispose() { }

        private sealed class Logger(string category, ConcurrentQueue<string> sink) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                sink.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
        }
    }
}

/// <summary>
/// --vector-store: /tracks/{id}/nearest from the pgvector table equals the index file's answer for every track (exact
/// search: identical; HNSW: at least 98% of positions, as the pgvector test allows), the query track is never
/// returned, a composer filter holds, and the password is in no response and no log line.
/// </summary>
public sealed class VectorStoreTests(VectorStoreServerFixture fx) : IClassFixture<VectorStoreServerFixture>
{
    private readonly List<string> _bodies = new();

    private async Task<JsonElement> GetAsync(HttpClient c, string url, HttpStatusCode status = HttpStatusCode.OK)
    {
        using var r = await c.GetAsync(url);
        string text = await r.Content.ReadAsStringAsync();
        if (c == fx.V) _bodies.Add(text);
        Assert.True(r.StatusCode == status, $"{url}: expected {(int)status}, got {(int)r.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static List<(string Id, double Similarity)> Neighbors(JsonElement nearest) =>
        nearest.GetProperty("neighbors").EnumerateArray()
            .Select(n => (n.GetProperty("track_id").GetString()!, n.GetProperty("similarity").GetDouble())).ToList();

    private string[] Ids() => ServerArtifacts.TrackIds(62);

    [Fact]
    public async Task Nearest_from_the_table_equals_the_index_file_for_every_track_and_never_returns_the_query()
    {
        int positions = 0, differing = 0;
        foreach (string id in Ids())
        {
            var exactDb = Neighbors(await GetAsync(fx.V, $"/tracks/{id}/nearest?k=5&exact=true"));
            var exactFile = Neighbors(await GetAsync(fx.F, $"/tracks/{id}/nearest?k=5&exact=true"));
            Assert.Equal(exactFile.Select(n => n.Id), exactDb.Select(n => n.Id));
            for (int i = 0; i < 5; i++) Assert.Equal(exactFile[i].Similarity, exactDb[i].Similarity, 4);

            var hnsw = Neighbors(await GetAsync(fx.V, $"/tracks/{id}/nearest?k=5"));
            Assert.Equal(5, hnsw.Count);
            Assert.DoesNotContain(hnsw, n => n.Id == id);
            Assert.DoesNotContain(exactDb, n => n.Id == id);
            positions += 5;
            differing += hnsw.Select(n => n.Id).Where((x, i) => x != exactFile[i].Id).Count();
        }
        Assert.Equal(62 * 5, positions);
        Assert.True(differing <= positions * 0.02, $"{differing} of {positions} HNSW positions differ from the exact answer");
        AssertNoPassword();
    }

    [Fact]
    public async Task A_composer_filter_and_excluding_the_album_give_the_index_files_answer()
    {
        foreach (string id in Ids().Where((_, i) => i % 7 == 0))
        {
            const string filter = "composer=B*&excludeSameAlbum=true&k=5";
            var db = await GetAsync(fx.V, $"/tracks/{id}/nearest?{filter}");
            var file = await GetAsync(fx.F, $"/tracks/{id}/nearest?{filter}&exact=true");
            Assert.Equal(Neighbors(file).Select(n => n.Id), Neighbors(db).Select(n => n.Id));
            Assert.Equal(5, Neighbors(db).Count);
            Assert.All(db.GetProperty("neighbors").EnumerateArray(), n => Assert.StartsWith("B", n.GetProperty("composer").GetString()));
            Assert.DoesNotContain(Neighbors(db), n => n.Id == id);
        }
        AssertNoPassword();
    }

    [Fact]
    public async Task Track_browsing_suggestions_models_and_composer_eval_come_from_the_table()
    {
        var models = await GetAsync(fx.V, "/models");
        Assert.Equal("pgvector", models[0].GetProperty("backend").GetString());
        Assert.Equal(62, models[0].GetProperty("count").GetInt32());
        Assert.Equal(24, models[0].GetProperty("dim").GetInt32());
        Assert.Equal("index", (await GetAsync(fx.F, "/models"))[0].GetProperty("backend").GetString());

        Assert.Equal((await GetAsync(fx.F, "/tracks/trk-007")).ToString(), (await GetAsync(fx.V, "/tracks/trk-007")).ToString());
        var page = await GetAsync(fx.V, "/tracks?composer=Chopin&limit=100");
        var filePage = await GetAsync(fx.F, "/tracks?composer=Chopin&limit=100");
        Assert.Equal(filePage.GetProperty("total").GetInt32(), page.GetProperty("total").GetInt32());
        Assert.Equal(filePage.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("track_id").GetString()).Order(),
            page.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("track_id").GetString()).Order());

        var missing = await GetAsync(fx.V, "/tracks/trk-0071/nearest", HttpStatusCode.NotFound);
        Assert.Equal("UnknownTrackId", missing.GetProperty("error_id").GetString());
        Assert.Contains("trk-007", missing.GetProperty("suggestions").EnumerateArray().Select(s => s.GetString()));

        foreach (string q in new[] { "k=5&exact=true", "k=10&excludeSameAlbum=true&exact=true" })
        {
            var db = await GetAsync(fx.V, $"/tracks/trk-012/composer-eval?{q}");
            var file = await GetAsync(fx.F, $"/tracks/trk-012/composer-eval?{q}");
            foreach (string p in new[] { "relevant_available", "precision_at_k", "hit_rate_at_k", "ndcg_at_k" })
                Assert.Equal(file.GetProperty(p).ToString(), db.GetProperty(p).ToString());
        }
        // The folder still gives the evaluation summary.
        Assert.True((await GetAsync(fx.V, "/eval/summary")).GetProperty("results").GetArrayLength() > 0);

        using var post = await fx.V.PostAsJsonAsync("/search", new { track_ids = new[] { "trk-001" }, vectors = new[] { Enumerable.Repeat(0.2f, 24).ToArray() }, k = 3 });
        string text = await post.Content.ReadAsStringAsync();
        _bodies.Add(text);
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        AssertNoPassword();
    }

    [Fact]
    public async Task The_server_stops_at_start_with_one_clear_error_when_the_database_has_no_table_and_never_shows_the_password()
    {
        // The table is opened by the start-up service (the server answers /livez meanwhile); its failure stops the
        // process with one line and exit code 1.
        var (code, lines) = await ServerProcess.RunUntilExitAsync("--artifact-path", fx.Store.Root, "--vector-store", fx.VectorConnection,
            "--vector-table", "no_such_table", "--urls", $"http://127.0.0.1:{LoopbackPort.Free()}");
        Assert.Equal(1, code);
        string start = Assert.Single(lines, l => l.StartsWith("MessTools.Server could not start: ", StringComparison.Ordinal));
        Assert.Contains("no_such_table", start);
        Assert.Contains("does not exist", start);
        Assert.EndsWith("(VectorTableMissing)", start);
        Assert.DoesNotContain(lines, l => l.StartsWith("at ", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.DoesNotContain(VectorStoreServerFixture.Password, l));
    }

    [Fact]
    public async Task A_root_of_several_models_and_a_folder_of_another_dimension_are_refused_naming_both()
    {
        using var tmp = new TempDir();
        ServerArtifacts.Write(tmp.Path, "builtin", evaluate: false);
        var other = ServerArtifacts.Write(tmp.Path, "other", n: 30, dim: 8, seed: 3, evaluate: false);
        var several = Assert.Throws<MessException>(() => ServerApp.Build(new[] { "--artifact-path", tmp.Path, "--vector-store", fx.VectorConnection }));
        Assert.Equal("VectorStoreNeedsOneModel", several.ErrorId);
        Assert.DoesNotContain(VectorStoreServerFixture.Password, several.ToString());

        await using var app = ServerApp.Build(new[] { "--artifact-path", other.Root, "--vector-store", fx.VectorConnection, "--urls", $"http://127.0.0.1:{LoopbackPort.Free()}" });
        var catalog = app.Services.GetRequiredService<MessTools.Server.Artifacts.ArtifactCatalog>();
        await app.StartAsync();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!catalog.Failures.ContainsKey("other") && DateTime.UtcNow < deadline) await Task.Delay(50);
        await app.StopAsync();
        Assert.False(catalog.Ready);
        string why = catalog.Failures["other"];
        Assert.Contains("at 24 dimensions", why);
        Assert.Contains("model 'other' at 8", why);
        Assert.DoesNotContain(VectorStoreServerFixture.Password, why);
    }

    private void AssertNoPassword()
    {
        Assert.NotEmpty(_bodies);
        Assert.All(_bodies, b => Assert.DoesNotContain(VectorStoreServerFixture.Password, b));
        Assert.NotEmpty(fx.Log);
        Assert.Contains(fx.Log, l => l.Contains("Serving the neighbour routes from"));
        Assert.All(fx.Log, l => Assert.DoesNotContain(VectorStoreServerFixture.Password, l));
    }
}

/// <summary>
/// --vector-store against the PostgreSQL 15 the catalogue tests start (it has no pgvector): the start stops with one
/// error saying the extension is missing; a wrong password stops it too, and neither error shows the password.
/// </summary>
public sealed class VectorStoreStartErrorTests : IDisposable
{
    private readonly PostgresServer _pg = new();
    private readonly TempDir _tmp = new();

    public void Dispose()
    {
        _pg.Dispose();
        _tmp.Dispose();
    }

    /// <summary>The server process with these settings, run until it stops: the one start line (exit code 1, no stack trace).</summary>
    private static async Task<string> StartLineAsync(string secret, params string[] args)
    {
        var (code, lines) = await ServerProcess.RunUntilExitAsync(args.Concat(new[] { "--urls", $"http://127.0.0.1:{LoopbackPort.Free()}" }).ToArray());
        Assert.Equal(1, code);
        Assert.DoesNotContain(lines, l => l.StartsWith("at ", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.DoesNotContain(secret, l));
        return Assert.Single(lines, l => l.StartsWith("MessTools.Server could not start: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_server_without_the_vector_extension_and_a_wrong_password_are_one_clear_start_error_each()
    {
        var store = ServerArtifacts.Write(_tmp.Path, "builtin", evaluate: false);
        // MESS_VECTOR_CONNECTION is the environment's name for --vector-store.
        string noExtension = await StartLineAsync(PostgresServer.Password, "--artifact-path", store.Root, "--MESS_VECTOR_CONNECTION", _pg.ConnectionString);
        Assert.Contains("no 'vector' extension", noExtension);
        Assert.EndsWith("(VectorExtensionMissing)", noExtension);

        const string wrong = "Wr0ng-pass-x81Q";
        string badPassword = await StartLineAsync(wrong, "--artifact-path", store.Root, "--vector-store", _pg.ConnectionString.Replace(PostgresServer.Password, wrong));
        Assert.EndsWith("(VectorStoreConnectFailed)", badPassword);
    }

    [Fact]
    public async Task The_server_answers_livez_while_the_vector_store_connects_and_stops_in_one_line_when_it_cannot()
    {
        // A database that accepts the connection and never answers (a listening socket nobody reads): the table is opened
        // by the start-up service, so the process answers meanwhile: /livez 200, /readyz 503 "loading", data routes 503
        // NotReady. When the connection times out, the host stops with one line and exit code 1. (It used to open the
        // table before Kestrel listened: no answer at all for the whole timeout.)
        var store = ServerArtifacts.Write(_tmp.Path, "builtin", evaluate: false);
        var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        int dbPort = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        const string secret = "Silent-db-pw-4471";
        int port = LoopbackPort.Free();
        try
        {
            using var p = ServerProcess.Start(new Dictionary<string, string>(), "--artifact-path", store.Root, "--urls", $"http://127.0.0.1:{port}",
                "--vector-store", $"Host=127.0.0.1;Port={dbPort};Database=postgres;Username=postgres;Password={secret};Timeout=20");
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEndAsync();
            try
            {
                using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (true)
                {
                    try { if ((await http.GetAsync("/livez")).IsSuccessStatusCode) break; } catch (HttpRequestException) { }
                    if (p.HasExited || clock.Elapsed > TimeSpan.FromSeconds(15))
                        throw new Xunit.Sdk.XunitException($"no /livez while the vector store connects ({clock.Elapsed.TotalSeconds:F1} s): " + (p.HasExited ? await stderr : ""));
                    await Task.Delay(100);
                }
                var ready = await http.GetAsync("/readyz");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                Assert.Equal("loading", (await Json.ReadAsync(ready)).GetProperty("status").GetString());
                string id = ServerArtifacts.TrackIds(1)[0];
                await Json.ProblemAsync(await http.GetAsync($"/tracks/{id}/nearest?k=3"), HttpStatusCode.ServiceUnavailable, "NotReady");
                await Json.ProblemAsync(await http.PostAsJsonAsync("/search", new { track_ids = new[] { id } }), HttpStatusCode.ServiceUnavailable, "NotReady");
                Assert.True(p.WaitForExit(60_000), "the server did not stop after the connection timed out");
            }
            finally
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
                await p.WaitForExitAsync();
            }
            Assert.Equal(1, p.ExitCode);
            var lines = (await stderr + await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            string start = Assert.Single(lines, l => l.StartsWith("MessTools.Server could not start: ", StringComparison.Ordinal));
            Assert.EndsWith("(VectorStoreConnectFailed)", start);
            Assert.DoesNotContain(lines, l => l.StartsWith("at ", StringComparison.Ordinal));
            Assert.All(lines, l => Assert.DoesNotContain(secret, l));
        }
        finally { silent.Stop(); }
    }
}
