using System.Diagnostics;
using System.Text.Json;
using MessTools.Tests.Server.Infrastructure;

namespace MessTools.Tests.Server;

/// <summary>
/// Redocly's CLI (npm @redocly/cli, the exact version the issue names), installed once into .cache/redocly/ of the
/// repository (ignored by git) as the PGlite tests install theirs. The test is skipped, with the reason shown, when npm
/// or npx is missing or the package cannot be installed (no registry).
/// </summary>
public static class Redocly
{
    public const string Package = "@redocly/cli@2.77.0";
    public static string InstallDir => Path.Combine(RepoPaths.Root, ".cache", "redocly");
    private static string Marker => Path.Combine(InstallDir, "installed-" + Package.Replace("/", "-").Replace("@", ""));

    private static readonly Lazy<string?> Reason = new(() =>
    {
        if (ExecutablePath.Find("npx") is null || ExecutablePath.Find("npm") is not { } npm)
            return "needs npm and npx (apt-get install nodejs npm; .ci/run does it) to run redocly lint";
        if (File.Exists(Marker)) return null;
        Directory.CreateDirectory(InstallDir);
        if (!File.Exists(Path.Combine(InstallDir, "package.json"))) File.WriteAllText(Path.Combine(InstallDir, "package.json"), "{ \"private\": true }\n");
        var (code, output) = Run(npm, new[] { "install", "--no-audit", "--no-fund", "--save-exact", Package }, TimeSpan.FromMinutes(5));
        if (code != 0) return $"npm install {Package} failed ({code}), so redocly lint cannot run: {output[..Math.Min(300, output.Length)]}";
        File.WriteAllText(Marker, DateTime.UtcNow.ToString("O"));
        return null;
    });

    /// <summary>Null when redocly is installed (installing it if needed), else why the lint cannot run.</summary>
    public static string? SkipReason => Reason.Value;

    public static (int Code, string Output) Run(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = InstallDir };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["REDOCLY_TELEMETRY"] = "off";
        psi.Environment["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true";
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(true); return (-1, "timed out"); }
        return (p.ExitCode, o.Result + e.Result);
    }

    /// <summary>redocly lint with the recommended rules on one file.</summary>
    public static (int Code, string Output) Lint(string file) =>
        Run(ExecutablePath.Find("npx")!, new[] { "--no-install", "redocly", "lint", file, "--extends", "recommended", "--format", "stylish" }, TimeSpan.FromMinutes(2));
}

/// <summary>A fact that runs only where redocly lint can run (see <see cref="Redocly"/>), skipped with the reason otherwise.</summary>
public sealed class RedoclyFactAttribute : FactAttribute
{
    public RedoclyFactAttribute() => Skip = Redocly.SkipReason;
}

/// <summary>/openapi/v1.json is a complete contract: response schemas, problem responses, the key scheme; redocly lint finds no error.</summary>
[Collection("artifacts")]
public sealed class OpenApiLintTests(ArtifactsFixture art)
{
    private async Task<(string Text, JsonElement Doc)> DocumentAsync()
    {
        await using var f = ServerFactory.For(art.Builtin.Root, ("api-key", "lint-key"));
        var c = await f.ReadyClientAsync("lint-key");
        string text = await c.GetStringAsync("/openapi/v1.json");
        return (text, JsonDocument.Parse(text).RootElement.Clone());
    }

    [Fact]
    public async Task Every_operation_has_typed_responses_problem_errors_and_the_key_scheme_except_the_probes()
    {
        var (_, doc) = await DocumentAsync();
        var scheme = doc.GetProperty("components").GetProperty("securitySchemes").GetProperty("ApiKey");
        Assert.Equal(("apiKey", "header", "X-Api-Key"), (scheme.GetProperty("type").GetString(), scheme.GetProperty("in").GetString(), scheme.GetProperty("name").GetString()));
        int operations = 0;
        foreach (var path in doc.GetProperty("paths").EnumerateObject())
            foreach (var op in path.Value.EnumerateObject())
            {
                operations++;
                string id = op.Value.GetProperty("operationId").GetString()!;
                bool open = id is "Livez" or "Readyz";
                bool secured = op.Value.TryGetProperty("security", out var sec) && sec.EnumerateArray().Any(r => r.TryGetProperty("ApiKey", out _));
                Assert.True(open != secured, $"{id}: security {(secured ? "applied" : "missing")}");
                var responses = op.Value.GetProperty("responses");
                var ok = responses.GetProperty("200");
                Assert.True(ok.TryGetProperty("content", out var content), $"{id}: 200 has no body schema");
                Assert.True(content.EnumerateObject().Any(), id);
                if (!open)
                    foreach (string status in new[] { "401", "429" })
                        Assert.True(responses.GetProperty(status).GetProperty("content").TryGetProperty("application/problem+json", out _), $"{id}: {status} is not problem+json");
            }
        Assert.True(operations >= 11, $"{operations} operations");
        // The nearest route names its response type and its problems.
        var nearest = doc.GetProperty("paths").GetProperty("/tracks/{trackId}/nearest").GetProperty("get").GetProperty("responses");
        Assert.Contains("NearestResponse", nearest.GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetRawText());
        foreach (string status in new[] { "400", "404", "503" }) Assert.True(nearest.TryGetProperty(status, out _), status);
        // The evaluation summary's schema carries the bootstrap intervals (issue 21).
        var figures = doc.GetProperty("components").GetProperty("schemas").GetProperty("EvalFigures").GetProperty("properties");
        foreach (string name in new[] { "precision_at_k_interval", "hit_rate_at_k_interval", "ndcg_at_k_interval" })
            Assert.Contains("EvalInterval", figures.GetProperty(name).GetRawText());
        Assert.True(doc.GetProperty("components").GetProperty("schemas").GetProperty("EvalSummary").GetProperty("properties").TryGetProperty("bootstrap", out _));
        Assert.All(doc.GetProperty("servers").EnumerateArray(), s => Assert.False(s.GetProperty("url").GetString()!.EndsWith('/')));
    }

    [RedoclyFact]
    public async Task Redocly_lint_with_the_recommended_rules_finds_no_error()
    {
        var (text, _) = await DocumentAsync();
        using var tmp = new TempDir();
        string file = Path.Combine(tmp.Path, "openapi.json");
        File.WriteAllText(file, text);
        var (code, output) = Redocly.Lint(file);
        Assert.True(code == 0, $"redocly lint exited {code}:\n{output}");
        Assert.Contains("valid", output);
        Assert.DoesNotContain("error was generated", output, StringComparison.OrdinalIgnoreCase);
    }
}
