using System.Diagnostics;

namespace MessTools.Tests.Server.Infrastructure;

/// <summary>Runs a script in real pwsh 7.6.9 (the repository's dotnet tool) with the staged module; returns stdout.</summary>
public static class Pwsh
{
    public static string Run(string script, TimeSpan? timeout = null)
    {
        using var tmp = new TempDir();
        string file = tmp["script.ps1"];
        File.WriteAllText(file, "$ErrorActionPreference = 'Stop'\nImport-Module '" + RepoPaths.ModuleManifest.Replace("'", "''") + "'\n" + script);
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = RepoPaths.Root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "pwsh", "-NoProfile", "-NonInteractive", "-File", file }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("dotnet pwsh did not start (run 'dotnet tool restore').");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("pwsh did not finish: " + script);
        }
        if (p.ExitCode != 0) throw new InvalidOperationException($"pwsh exited with {p.ExitCode}: {stderr.Result}\n{stdout.Result}");
        return stdout.Result;
    }

    public static string Quote(string s) => "'" + s.Replace("'", "''") + "'";
}
