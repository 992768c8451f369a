using System.Diagnostics;

namespace MessTools.Tests.Server.Infrastructure;

/// <summary>
/// The built server in its own process (dotnet MessTools.Server.dll, as the Dockerfile starts it), with the given
/// environment (MESS_ARTIFACT_PATH and MESS_API_KEY from the test run's own environment removed).
/// </summary>
public static class ServerProcess
{
    public static string ServerDll => Path.Combine(AppContext.BaseDirectory, "MessTools.Server.dll");

    public static Process Start(IDictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(ServerDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("MESS_ARTIFACT_PATH");
        psi.Environment.Remove("MESS_API_KEY");
        foreach (var (k, v) in env) psi.Environment[k] = v;
        return Process.Start(psi)!;
    }

    /// <summary>Runs the server process until it exits (a start that fails): its exit code and its output lines.</summary>
    public static async Task<(int Code, string[] Lines)> RunUntilExitAsync(params string[] args)
    {
        using var p = Start(new Dictionary<string, string>(), args);
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("The server process did not exit within 60 s.");
        }
        string all = await stderr + await stdout;
        return (p.ExitCode, all.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}
