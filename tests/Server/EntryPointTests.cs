using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using MessTools.Tests.Server.Infrastructure;

namespace MessTools.Tests.Server;

/// <summary>
/// The container's entry point outside a container (Docker cannot run on this project's machines): the built server
/// (dotnet MessTools.Server.dll, as the Dockerfile starts it) in its own process, configured from the environment
/// (MESS_ARTIFACT_PATH, MESS_API_KEY), answering /livez at once and /readyz when loaded; a bad path fails the start.
/// </summary>
[Collection("artifacts")]
public sealed class EntryPointTests(ArtifactsFixture art)
{
    private static Process Start(IDictionary<string, string> env, params string[] args) => ServerProcess.Start(env, args);

    private static Task<(int Code, string[] Lines)> RunUntilExitAsync(params string[] args) => ServerProcess.RunUntilExitAsync(args);

    [Fact]
    public async Task The_server_process_reads_its_settings_from_the_environment_and_becomes_ready()
    {
        int port = LoopbackPort.Free();
        using var p = Start(new Dictionary<string, string> { ["MESS_ARTIFACT_PATH"] = art.Root, ["MESS_API_KEY"] = "env-key" }, "--urls", $"http://127.0.0.1:{port}");
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var clock = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    using var r = await http.GetAsync("/livez");
                    if (r.IsSuccessStatusCode) break;
                }
                catch (HttpRequestException) { }
                if (clock.Elapsed > TimeSpan.FromSeconds(60) || p.HasExited) throw new Xunit.Sdk.XunitException("no /livez: " + (p.HasExited ? await stderr : ""));
                await Task.Delay(100);
            }
            Assert.Equal(401, (int)(await http.GetAsync("/models")).StatusCode);
            http.DefaultRequestHeaders.Add("X-Api-Key", "env-key");
            while ((int)(await http.GetAsync("/readyz")).StatusCode != 200)
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("not ready");
                await Task.Delay(50);
            }
            var models = await http.GetFromJsonAsync<JsonElement>("/models");
            Assert.Equal(2, models.GetArrayLength());
        }
        finally
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task A_missing_artifact_folder_fails_the_start_with_a_message()
    {
        var (code, lines) = await RunUntilExitAsync("--artifact-path", "/nonexistent/artifacts", "--urls", $"http://127.0.0.1:{LoopbackPort.Free()}");
        Assert.Equal(1, code);
        Assert.Contains("/nonexistent/artifacts", Assert.Single(lines, l => l.StartsWith("MessTools.Server could not start", StringComparison.Ordinal)));
        Assert.DoesNotContain(lines, l => l.StartsWith("at ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bad_settings_stop_the_start_in_one_line_naming_every_problem()
    {
        // Validated at start (AddOptions().BindConfiguration().ValidateOnStart()): every problem, one line, exit code 1.
        // It used to be an unhandled InvalidOperationException with its stack trace, naming only the first.
        var (code, lines) = await RunUntilExitAsync("--artifact-path", art.Root, "--urls", $"http://127.0.0.1:{LoopbackPort.Free()}",
            "--rate-limit", "lots", "--known-networks", "10.0.0.0/99");
        Assert.Equal(1, code);
        var start = Assert.Single(lines);
        Assert.StartsWith("MessTools.Server could not start: ", start);
        Assert.Contains("--rate-limit must be a whole number of at least 0; got 'lots'.", start);
        Assert.Contains("--known-networks: '10.0.0.0/99' is not a network", start);
    }

    [Fact]
    public async Task A_port_in_use_is_one_line_without_a_stack_trace_and_requests_are_not_logged_at_information()
    {
        var busy = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        busy.Start();
        int port = ((System.Net.IPEndPoint)busy.LocalEndpoint).Port;
        try
        {
            var (code, lines) = await RunUntilExitAsync("--artifact-path", art.Root, "--urls", $"http://127.0.0.1:{port}");
            Assert.Equal(1, code);
            string all = string.Join('\n', lines);
            Assert.DoesNotContain(lines, l => l.StartsWith("at ", StringComparison.Ordinal));
            var start = Assert.Single(lines, l => l.StartsWith("MessTools.Server could not start", StringComparison.Ordinal));
            Assert.Contains(port.ToString(), start);
            Assert.True(lines.Count(l => l.Contains("already in use", StringComparison.OrdinalIgnoreCase)) == 1, all); // said once, not twice
        }
        finally { busy.Stop(); }

        int free = LoopbackPort.Free();
        using var server = Start(new Dictionary<string, string>(), "--artifact-path", art.Root, "--urls", $"http://127.0.0.1:{free}");
        var output = server.StandardOutput.ReadToEndAsync();
        var errors = server.StandardError.ReadToEndAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{free}") };
            var clock = Stopwatch.StartNew();
            while (true)
            {
                try { if ((await http.GetAsync("/readyz")).IsSuccessStatusCode) break; } catch (HttpRequestException) { }
                if (clock.Elapsed > TimeSpan.FromSeconds(60) || server.HasExited) throw new Xunit.Sdk.XunitException("not ready: " + (server.HasExited ? await errors : ""));
                await Task.Delay(100);
            }
            for (int i = 0; i < 5; i++) await http.GetAsync("/models");
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
        string log = await output + await errors;
        Assert.DoesNotContain("Request starting", log);
        Assert.DoesNotContain("Executing endpoint", log);
    }
}
