using System.Diagnostics;

namespace MessTools.Core.Common;

/// <summary>
/// Scripted kills for the fault-injection tests: when the environment variable <see cref="Variable"/> names a point
/// (<c>MESS_FAULT_INJECT=before-rename:embeddings_meta.json</c>, optionally <c>#N</c> for its N-th hit), the process
/// kills itself (SIGKILL on Unix, TerminateProcess on Windows: no finally block, no flush) when it reaches that point.
/// Unset (always, outside tests) it costs one null check. The points are listed in docs/reliability.md.
/// </summary>
public static class FaultInjection
{
    public const string Variable = "MESS_FAULT_INJECT";

    private static readonly string? Point;
    private static readonly int Nth = 1;
    private static int _hits;

    static FaultInjection()
    {
        string? v = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(v)) return;
        v = v.Trim();
        int hash = v.LastIndexOf('#');
        if (hash > 0 && int.TryParse(v[(hash + 1)..], out int n) && n > 0) { Nth = n; v = v[..hash]; }
        Point = v;
    }

    /// <summary>True when a kill point is configured in this process.</summary>
    public static bool Enabled => Point is not null;

    /// <summary>Kills the process here if <paramref name="point"/> is the configured one (and this is its N-th hit).</summary>
    public static void Hit(string point)
    {
        if (Point is null || !string.Equals(point, Point, StringComparison.Ordinal)) return;
        if (Interlocked.Increment(ref _hits) != Nth) return;
        try { Console.Error.WriteLine($"{Variable}: killing process {Environment.ProcessId} at '{point}'"); } catch (IOException) { }
        using var self = Process.GetCurrentProcess();
        self.Kill();
        Thread.Sleep(Timeout.Infinite);
    }
}
