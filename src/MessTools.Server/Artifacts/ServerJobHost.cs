using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Jobs;

namespace MessTools.Server.Artifacts;

/// <summary>
/// The server as the host of an engine job (its s3:// import): what the job says goes to the server's log (so waiting
/// for another writer's lock is visible), it is its own lock owner, and it writes no run record.
/// </summary>
public sealed class ServerJobHost(ILogger log, CancellationToken cancellation) : IMessJobHost
{
    public CancellationToken Cancellation => cancellation;
    public object LockOwner => this;
    public bool WhatIf => false;
    public string Command => "MessTools.Server";
    public RunRecord? Run => null;
    public void Progress(string activity, string status, int percent = -1) { }
    public void Warning(string message) => log.LogWarning("{Message}", message);
    public void Verbose(string message) => log.LogInformation("{Message}", message);
    public T Wait<T>(Task<T> work, string activity, Func<(string Status, double Fraction)> status) => work.GetAwaiter().GetResult();
    public bool ShouldProcess(string target, string action) => true;
    public void ItemError(MessException error, object? target = null) => log.LogWarning("{Message}", error.Message);
}
