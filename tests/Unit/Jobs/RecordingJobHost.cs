using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Jobs;

namespace MessTools.Tests.Unit.Jobs;

/// <summary>A job host for tests: its own lock owner, a run record, and the ids of the item errors a job reported.</summary>
internal sealed class RecordingJobHost : IMessJobHost
{
    public CancellationToken Cancellation => default;
    public object LockOwner { get; } = new();
    public bool WhatIf { get; init; }
    public string Command => "Test-Job";
    public RunRecord? Run { get; } = new() { Command = "Test-Job" };
    public List<string> Errors { get; } = new();
    public List<string> Warnings { get; } = new();
    public void Progress(string activity, string status, int percent = -1) { }
    public void Warning(string message) => Warnings.Add(message);
    public void Verbose(string message) { }
    public T Wait<T>(Task<T> work, string activity, Func<(string Status, double Fraction)> status) => work.GetAwaiter().GetResult();
    public bool ShouldProcess(string target, string action) => !WhatIf;
    public void ItemError(MessException error, object? target = null)
    {
        Errors.Add(error.ErrorId);
        Run!.AddError(error.ErrorId, error.Message, target?.ToString());
    }
}
