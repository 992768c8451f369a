using MessTools.Core.Artifacts;

namespace MessTools.Core.Jobs;

/// <summary>
/// What a job needs from the front end that runs it (a cmdlet, the server): where its progress, warnings and verbose
/// text go, when to stop, who it holds locks for, and the run record it fills. The cmdlet base implements it over the
/// PowerShell streams; <see cref="NullJobHost"/> serves callers without a host (the server logs what it needs itself).
/// </summary>
public interface IMessJobHost
{
    /// <summary>Stops the job (Ctrl+C, server shutdown).</summary>
    CancellationToken Cancellation { get; }

    /// <summary>
    /// Who the job holds writer locks for: the stages of one pipeline share one owner (the cmdlets use their runspace), so
    /// they write one folder together while another owner waits or refuses.
    /// </summary>
    object LockOwner { get; }

    /// <summary>-WhatIf: the job only says what it would change; it writes nothing, not even a lock file.</summary>
    bool WhatIf { get; }

    /// <summary>The command named in the lock's holder file and in the run record.</summary>
    string Command { get; }

    /// <summary>The run record the job fills and writes into its folder before it releases the lock; null: none.</summary>
    RunRecord? Run { get; }

    /// <summary>Progress of one activity (the host throttles it); <paramref name="percent"/> -1: unknown.</summary>
    void Progress(string activity, string status, int percent = -1);

    void Warning(string message);

    void Verbose(string message);

    /// <summary>
    /// Waits for long work running on another thread, showing <paramref name="status"/> (text, fraction done or -1) as
    /// progress of <paramref name="activity"/> meanwhile; rethrows its exception as is.
    /// </summary>
    T Wait<T>(Task<T> work, string activity, Func<(string Status, double Fraction)> status);

    /// <summary>Asks before a change (-WhatIf, -Confirm): false means skip it.</summary>
    bool ShouldProcess(string target, string action);

    /// <summary>An error of one item (<paramref name="target"/>: the item, else the error's own target); the job goes on.</summary>
    void ItemError(MessTools.Core.Common.MessException error, object? target = null);
}

/// <summary>A host that shows nothing and never stops: each instance is its own lock owner.</summary>
public sealed class NullJobHost : IMessJobHost
{
    public NullJobHost(string command = "MessTools", CancellationToken cancellation = default)
    {
        Command = command;
        Cancellation = cancellation;
    }

    public CancellationToken Cancellation { get; }
    public object LockOwner => this;
    public bool WhatIf => false;
    public string Command { get; }
    public RunRecord? Run => null;
    public void Progress(string activity, string status, int percent = -1) { }
    public void Warning(string message) { }
    public void Verbose(string message) { }
    public bool ShouldProcess(string target, string action) => true;
    public T Wait<T>(Task<T> work, string activity, Func<(string Status, double Fraction)> status) => work.GetAwaiter().GetResult();
    public void ItemError(MessTools.Core.Common.MessException error, object? target = null) { }
}
