using System.Collections;
using System.Diagnostics;
using System.Management.Automation;
using System.Security;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Cmdlets.Common;

/// <summary>
/// What every MessTools cmdlet shares: -ArtifactPath (default $env:MESS_ARTIFACT_PATH, else
/// ./artifacts/v1_model_&lt;model&gt;), the run record in runs/, errors mapped from the engine, cancellation on
/// Ctrl+C and throttled progress. Subclasses keep to binding, streams, ShouldProcess and errors.
/// </summary>
public abstract class MessCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private bool _recordSaved;
    private bool _failed;
    private readonly Stopwatch _progressClock = Stopwatch.StartNew();
    private long _lastProgressMs = -1000;

    /// <summary>The versioned artifact folder, e.g. ./artifacts/v1_model_builtin.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ArtifactPath { get; set; }

    protected ArtifactStore Store { get; private set; } = null!;
    protected RunRecord Run { get; } = new();
    protected CancellationToken Cancellation => _stop.Token;

    /// <summary>The model whose folder is the default artifact path (null: the built-in model).</summary>
    protected virtual string? DefaultPathModel => null;

    /// <summary>False for cmdlets that must not write anything when they are only reading.</summary>
    protected virtual bool WritesRunRecord => true;

    protected bool IsWhatIf =>
        (MyInvocation.BoundParameters.TryGetValue("WhatIf", out var w) && w is SwitchParameter s && s.IsPresent) ||
        (GetVariableValue("WhatIfPreference") is { } pref && LanguagePrimitives.IsTrue(pref));

    protected override void BeginProcessing()
    {
        Run.Command = MyInvocation.MyCommand.Name;
        Run.CommandLine = SecretRedactor.Redact(MyInvocation.Line ?? "");
        foreach (var (key, value) in MyInvocation.BoundParameters)
            Run.Parameters[key] = RecordValue(key, value);
        try
        {
            Store = ArtifactStore.Resolve(ArtifactPath, SessionState.Path.CurrentFileSystemLocation.ProviderPath, DefaultPathModel);
        }
        catch (MessException ex) { ThrowTerminating(ex); }
    }

    protected override void EndProcessing() => SaveRunRecord(_failed ? "completed_with_errors" : "completed");

    /// <summary>True when the user named the artifact folder (so tracks from the pipeline must not change it).</summary>
    protected bool ArtifactPathBound => MyInvocation.BoundParameters.ContainsKey(nameof(ArtifactPath));

    /// <summary>Works on another artifact folder: the one the tracks from the pipeline were written to.</summary>
    protected void RetargetArtifactPath(string path)
    {
        try { Store = new ArtifactStore(ResolveUserPath(path)); }
        catch (MessException ex) { ThrowTerminating(ex); }
    }

    protected override void StopProcessing() => _stop.Cancel();

    /// <summary>Writes the run record once; later calls do nothing.</summary>
    protected void SaveRunRecord(string status)
    {
        if (_recordSaved || !WritesRunRecord || IsWhatIf || Store is null) return;
        _recordSaved = true;
        try
        {
            string path = Run.Save(Store, status);
            WriteVerbose($"Run record: {path}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or MessException)
        {
            WriteWarning($"The run record could not be written: {ex.Message}");
        }
    }

    /// <summary>Releases what a subclass holds (connections, models); called once from Dispose, also after errors and Ctrl+C.</summary>
    protected virtual void ReleaseResources() { }

    public void Dispose()
    {
        try { ReleaseResources(); } catch (Exception) { /* never let cleanup hide the real error */ }
        // Reached also when the pipeline stopped or a terminating error ended the run.
        if (!_recordSaved && Store is not null)
        {
            try { SaveRunRecord(_stop.IsCancellationRequested ? "stopped" : "failed"); }
            catch (Exception) { /* never let the record hide the real error */ }
        }
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>A non-terminating error for one bad item; the run goes on.</summary>
    protected void WriteItemError(MessException ex, object? target = null)
    {
        _failed = true;
        Run.AddError(ex.ErrorId, ex.Message, (target ?? ex.Target)?.ToString());
        WriteError(ToErrorRecord(ex, target));
    }

    /// <summary>A terminating error: the run as a whole cannot go on.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    protected void ThrowTerminating(MessException ex, object? target = null)
    {
        _failed = true;
        Run.AddError(ex.ErrorId, ex.Message, (target ?? ex.Target)?.ToString());
        ThrowTerminatingError(ToErrorRecord(ex, target));
        throw new InvalidOperationException("unreachable");
    }

    protected void Warn(string message)
    {
        Run.AddWarning(message);
        WriteWarning(message);
    }

    internal static ErrorRecord ToErrorRecord(MessException ex, object? target = null) =>
        new(ex, ex.ErrorId, Category(ex.Kind), target ?? ex.Target);

    internal static ErrorCategory Category(MessErrorKind kind) => kind switch
    {
        MessErrorKind.InvalidData => ErrorCategory.InvalidData,
        MessErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        MessErrorKind.ObjectNotFound => ErrorCategory.ObjectNotFound,
        MessErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
        MessErrorKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        MessErrorKind.NotInstalled => ErrorCategory.NotInstalled,
        MessErrorKind.InvalidOperation => ErrorCategory.InvalidOperation,
        MessErrorKind.WriteError => ErrorCategory.WriteError,
        MessErrorKind.ReadError => ErrorCategory.ReadError,
        MessErrorKind.ConnectionError => ErrorCategory.ConnectionError,
        MessErrorKind.OperationStopped => ErrorCategory.OperationStopped,
        _ => ErrorCategory.NotSpecified,
    };

    /// <summary>Progress at most four times a second, so a million-row run does not drown the host.</summary>
    protected void ReportProgress(int activityId, string activity, string status, int percent = -1, bool force = false)
    {
        long now = _progressClock.ElapsedMilliseconds;
        if (!force && now - _lastProgressMs < 250) return;
        _lastProgressMs = now;
        WriteProgress(new ProgressRecord(activityId, activity, status) { PercentComplete = Math.Clamp(percent, -1, 100) });
    }

    protected void CompleteProgress(int activityId, string activity) =>
        WriteProgress(new ProgressRecord(activityId, activity, "Done") { RecordType = ProgressRecordType.Completed });

    /// <summary>A path the user typed, resolved against the current PowerShell location (not the process directory).</summary>
    protected string ResolveUserPath(string path) =>
        SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);

    private static object? RecordValue(string name, object? value)
    {
        if (value is null) return null;
        if (SecretRedactor.IsSecretName(name) || value is SecureString || value is PSCredential) return SecretRedactor.Mask;
        value = value is PSObject pso ? pso.BaseObject : value;
        return value switch
        {
            SwitchParameter sw => sw.IsPresent,
            string s => SecretRedactor.Redact(s),
            bool or int or long or double or float or decimal => value,
            Enum e => e.ToString(),
            IDictionary d => d.Keys.Cast<object>().ToDictionary(k => k.ToString()!, k => RecordValue(k.ToString()!, d[k])),
            IEnumerable e => e.Cast<object?>().Take(100).Select(v => RecordValue(name, v)).ToList(),
            _ => SecretRedactor.Redact(value.ToString() ?? ""),
        };
    }
}
