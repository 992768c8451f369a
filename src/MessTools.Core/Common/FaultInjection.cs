using System.Diagnostics;

namespace MessTools.Core.Common;

/// <summary>
/// Scripted kills for the fault-injection tests: when the environment variable <see cref="Variable"/> names a point
/// (<c>MESS_FAULT_INJECT=before-rename:embeddings_meta.json</c>, optionally <c>#N</c> for its N-th hit), the process
/// kills itself (SIGKILL on Unix, TerminateProcess on Windows: no finally block, no flush) when it reaches that point.
/// Unset (always, outside tests) it costs one null check. The points are listed in docs/reliability.md.
/// <para><c>hold:</c> before the point (<c>MESS_FAULT_INJECT=hold:before-rename:hnsw.index</c>) pauses instead of killing:
/// the process creates the file named by <see cref="HoldFileVariable"/> and waits there until that file is deleted, so
/// a test can run another writer at exactly that moment of this one and then let it go on.</para>
/// </summary>
public static class FaultInjection
{
    public const string Variable = "MESS_FAULT_INJECT";
    /// <summary>With a <c>hold:</c> point: the file created when the point is reached; deleting it lets the process go on.</summary>
    public const string HoldFileVariable = "MESS_FAULT_HOLD_FILE";
    private const string HoldPrefix = "hold:";

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
        if (v.StartsWith(HoldPrefix, StringComparison.Ordinal)) { Hold = true; v = v[HoldPrefix.Length..]; }
        Point = v;
    }

    private static readonly bool Hold;

    private static void HoldHere(string point)
    {
        string file = Environment.GetEnvironmentVariable(HoldFileVariable) is { Length: > 0 } f
            ? f : throw new InvalidOperationException($"{Variable}=hold:{point} needs {HoldFileVariable}.");
        File.WriteAllText(file, $"{Environment.ProcessId} {point}");
        try { Console.Error.WriteLine($"{Variable}: process {Environment.ProcessId} holds at '{point}' until {file} is deleted"); } catch (IOException) { }
        while (File.Exists(file)) Thread.Sleep(20);
    }

    /// <summary>True when a kill point is configured in this process.</summary>
    public static bool Enabled => Point is not null;

    /// <summary>Kills the process here if <paramref name="point"/> is the configured one (and this is its N-th hit).</summary>
    public static void Hit(string point)
    {
        if (Point is null || !string.Equals(point, Point, StringComparison.Ordinal)) return;
        if (Interlocked.Increment(ref _hits) != Nth) return;
        if (Hold) { HoldHere(point); return; }
        try { Console.Error.WriteLine($"{Variable}: killing process {Environment.ProcessId} at '{point}'"); } catch (IOException) { }
        using var self = Process.GetCurrentProcess();
        self.Kill();
        Thread.Sleep(Timeout.Infinite);
    }
}
