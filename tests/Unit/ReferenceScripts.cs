using System.Diagnostics;

namespace MessTools.Tests.Unit;

/// <summary>Runs a reference script of tests/Reference with /usr/bin/python3 (Debian's numpy, scikit-learn, mir_eval).</summary>
internal static class ReferenceScripts
{
    /// <summary>The script's stdout for one spec file argument; its stderr in the failure message.</summary>
    public static string Run(string script, string spec, string missingHint)
    {
        const string python = "/usr/bin/python3";
        Assert.True(File.Exists(python), $"/usr/bin/python3 is missing: {missingHint}");
        string path = Path.Combine(RepoPaths.Root, "tests", "Reference", script);
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(path);
        psi.ArgumentList.Add(spec);
        using var proc = Process.Start(psi)!;
        var stderr = proc.StandardError.ReadToEndAsync();
        string stdout = proc.StandardOutput.ReadToEnd();
        Assert.True(proc.WaitForExit(120_000), "the reference script did not finish in 2 minutes");
        Assert.True(proc.ExitCode == 0, $"{path} failed ({proc.ExitCode}): {stderr.Result}");
        return stdout;
    }
}
