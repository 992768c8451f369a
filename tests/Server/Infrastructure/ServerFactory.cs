using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace MessTools.Tests.Server.Infrastructure;

/// <summary>The server in-process (TestServer) with the given settings, as command-line keys (artifact-path, api-key ...).</summary>
public sealed class ServerFactory(IReadOnlyDictionary<string, string?> settings) : WebApplicationFactory<Program>
{
    public static ServerFactory For(string artifactPath, params (string Key, string? Value)[] more)
    {
        var s = new Dictionary<string, string?> { ["artifact-path"] = artifactPath, ["reload-interval"] = "100" };
        foreach (var (k, v) in more) s[k] = v;
        return new ServerFactory(s);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (k, v) in settings) builder.UseSetting(k, v);
        builder.UseEnvironment("Production");
    }

    /// <summary>A client once every model is loaded (waits for /readyz).</summary>
    public async Task<HttpClient> ReadyClientAsync(string? apiKey = null)
    {
        var client = CreateClient();
        if (apiKey is not null) client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var r = await client.GetAsync("/readyz");
            if (r.IsSuccessStatusCode) return client;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The server did not become ready within 30 s: " + await r.Content.ReadAsStringAsync());
            await Task.Delay(50);
        }
    }
}

/// <summary>The server's real entry point (ServerApp.Build, Kestrel) on a free loopback port, stopped on dispose.</summary>
public sealed class RunningServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    public string BaseUrl { get; }

    private RunningServer(WebApplication app, string url) { _app = app; BaseUrl = url; }

    public static async Task<RunningServer> StartAsync(string artifactPath, params string[] more)
    {
        int port = LoopbackPort.Free();
        string url = $"http://127.0.0.1:{port}";
        var app = MessTools.Server.ServerApp.Build(new[] { "--artifact-path", artifactPath, "--urls", url, "--reload-interval", "100" }.Concat(more).ToArray());
        await app.StartAsync();
        var server = new RunningServer(app, url);
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var r = await http.GetAsync(url + "/readyz");
            if (r.IsSuccessStatusCode) return server;
            if (DateTime.UtcNow > deadline) { await server.DisposeAsync(); throw new TimeoutException("not ready"); }
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
