using System.Collections;
using System.Diagnostics;
using System.Management.Automation;
using System.Security;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Jobs;

namespace MessTools.Cmdlets.Common;

/// <summary>
/// What every MessTools cmdlet shares: -ArtifactPath (default $env:MESS_ARTIFACT_PATH, else
/// ./artifacts/v1_model_&lt;model&gt;), the run record in runs/, errors mapped from the engine, cancellation on
/// Ctrl+C and throttled progress. Subclasses keep to binding, streams, ShouldProcess and errors.
/// A cmdlet that writes the artifact folder opts in to its writer lock with one line:
/// <c>protected override bool WritesArtifacts => true;</c> (it then gets -LockTimeout; see docs/reliability.md).
/// </summary>
public abstract class MessCmdlet : PSCmdlet, IDynamicParameters, IDisposable
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

    /// <summary>
    /// True for a cmdlet that writes the artifact folder: the base takes the folder's writer lock
    /// (<see cref="ArtifactWriterLock"/>) in BeginProcessing, before the cmdlet reads what it will replace, and
    /// releases it after the run record; the cmdlet gets -LockTimeout. Readers leave it false and never lock.
    /// </summary>
    protected virtual bool WritesArtifacts => false;

    /// <summary>A writer that learns its folder only later (New-MessIndex from the pipeline) takes the lock itself with <see cref="TakeWriterLock"/>.</summary>
    protected virtual bool LockAtBegin => true;

    private readonly WriterLockParameters _lockParameters = new();
    private JobFolder? _writerLock;

    /// <summary>True for a cmdlet that reaches S3: it gets -ProfileName -Region -EndpointUrl -RetryCount (<see cref="S3Parameters"/>).</summary>
    protected virtual bool ReachesS3 => false;

    /// <summary>The S3 connection parameters of a cmdlet that <see cref="ReachesS3"/>.</summary>
    protected S3Parameters S3 { get; } = new();

    private CombinedParameters? _combined;

    /// <summary>-LockTimeout on writers, the S3 parameters on cmdlets that reach S3, both on cmdlets that do both.</summary>
    public object? GetDynamicParameters()
    {
        if (WritesArtifacts && ReachesS3) return (_combined ??= new CombinedParameters(_lockParameters, S3)).Dictionary;
        return WritesArtifacts ? _lockParameters : ReachesS3 ? S3 : null;
    }
    protected RunRecord Run { get; } = new();
    protected CancellationToken Cancellation => _stop.Token;

    /// <summary>The model whose folder is the default artifact path (null: the built-in model).</summary>
    protected virtual string? DefaultPathModel => null;

    /// <summary>False for cmdlets that must not write anything when they are only reading.</summary>
    protected virtual bool WritesRunRecord => true;

    /// <summary>
    /// True for stages that read (or clean) a folder earlier stages wrote: a folder that does not exist is an error
    /// (<see cref="RequireArtifacts"/>), and no run record creates it.
    /// </summary>
    protected virtual bool ReadsExistingArtifacts => false;

    /// <summary>Stops with ArtifactsNotFound when <paramref name="root"/> does not exist (a mistyped -ArtifactPath); creates nothing.</summary>
    protected void RequireArtifacts(string root)
    {
        try { JobFolder.RequireExisting(new ArtifactStore(root)); }
        catch (MessException ex) { ThrowTerminating(ex); }
    }

    /// <summary>-LockTimeout of a writer (zero for the others).</summary>
    protected TimeSpan LockTimeout => TimeSpan.FromSeconds(_lockParameters.LockTimeout);

    // IMessJobHost: the jobs in Core report through the cmdlet's streams. Only the pipeline thread may write them: what
    // a job reports from a worker thread waits in a queue that AwaitWithProgress empties on the pipeline thread.
    private int _pipelineThread = -1;
    private object? _lockOwner;
    private bool _isWhatIf;
    private readonly System.Collections.Concurrent.ConcurrentQueue<(bool Warning, string Text)> _fromWorkers = new();
    private JobHostAdapter? _jobHost;

    /// <summary>
    /// This cmdlet as the host of a Core job. An adapter rather than an interface of the cmdlet itself: PowerShell scans
    /// the cmdlet types before the engine's load context is installed (see MessToolsLoadContext), and a cmdlet that
    /// implemented an engine interface would load the engine too early.
    /// </summary>
    protected IMessJobHost JobHost => _jobHost ??= new JobHostAdapter(this);

    private sealed class JobHostAdapter : IMessJobHost
    {
        private readonly MessCmdlet _c;
        public JobHostAdapter(MessCmdlet c) => _c = c;
        public CancellationToken Cancellation => _c.Cancellation;
        public object LockOwner => _c._lockOwner ??= System.Management.Automation.Runspaces.Runspace.DefaultRunspace?.InstanceId ?? (object)_c;
        public string Command => _c.Run.Command;
        public bool WhatIf => _c._isWhatIf;
        public RunRecord? Run => _c.WritesRunRecord && !_c._isWhatIf ? _c.Run : null;
        public void Progress(string activity, string status, int percent)
        {
            if (_c.OnPipelineThread) _c.ReportProgress(1, activity, status, percent);
        }
        public void Warning(string message)
        {
            if (_c.OnPipelineThread) _c.Warn(message);
            else _c._fromWorkers.Enqueue((true, message));
        }
        public void Verbose(string message)
        {
            if (_c.OnPipelineThread) _c.WriteVerbose(message);
            else _c._fromWorkers.Enqueue((false, message));
        }
        public bool ShouldProcess(string target, string action) => _c.ShouldProcess(target, action);
        public T Wait<T>(Task<T> work, string activity, Func<(string Status, double Fraction)> status) => _c.AwaitWithProgress(work, 1, activity, status);
        public void ItemError(MessException error, object? target) => _c.WriteItemError(error, target);
    }
    private bool OnPipelineThread => Environment.CurrentManagedThreadId == _pipelineThread;

    /// <summary>Writes what jobs reported from worker threads (call on the pipeline thread).</summary>
    protected void FlushJobMessages()
    {
        while (_fromWorkers.TryDequeue(out var m))
            if (m.Warning) Warn(m.Text); else WriteVerbose(m.Text);
    }

    protected bool IsWhatIf =>
        (MyInvocation.BoundParameters.TryGetValue("WhatIf", out var w) && w is SwitchParameter s && s.IsPresent) ||
        (GetVariableValue("WhatIfPreference") is { } pref && LanguagePrimitives.IsTrue(pref));

    protected override void BeginProcessing()
    {
        _pipelineThread = Environment.CurrentManagedThreadId;
        _combined?.CopyBound();
        _lockOwner = System.Management.Automation.Runspaces.Runspace.DefaultRunspace?.InstanceId ?? (object)this;
        _isWhatIf = IsWhatIf;
        Run.Command = MyInvocation.MyCommand.Name;
        Run.CommandLine = SecretRedactor.Redact(MyInvocation.Line ?? "");
        foreach (var (key, value) in MyInvocation.BoundParameters)
            Run.Parameters[key] = RecordValue(key, value);
        try
        {
            Store = ArtifactStore.Resolve(ArtifactPath, SessionState.Path.CurrentFileSystemLocation.ProviderPath, DefaultPathModel);
        }
        catch (MessException ex) { ThrowTerminating(ex); }
        if (WritesArtifacts && LockAtBegin) TakeWriterLock();
    }

    protected override void EndProcessing()
    {
        SaveRunRecord(_failed ? "completed_with_errors" : "completed");
        ReleaseWriterLock();
    }

    /// <summary>
    /// Takes the writer lock of <see cref="Store"/> (nothing under -WhatIf, which writes nothing): at once or within
    /// -LockTimeout, else a terminating ArtifactFolderLocked error naming the holder. Shared with the other
    /// stages of this runspace's pipeline; a fresh lock first removes the temporaries killed writers left.
    /// </summary>
    protected void TakeWriterLock()
    {
        // A stage that reads what earlier stages wrote never creates a missing folder, not even for its lock file.
        if (ReadsExistingArtifacts) RequireArtifacts(Store.Root);
        if (IsWhatIf || _writerLock is not null && _writerLock.Store.Root == Store.Root) return;
        ReleaseWriterLock();
        try { _writerLock = JobFolder.Lock(Store, JobHost, LockTimeout); }
        catch (MessException ex) { ThrowTerminating(ex); }
        catch (OperationCanceledException) { throw new PipelineStoppedException(); }
        RemovedTemporaries.AddRange(_writerLock.RemovedTemporaries);
    }

    /// <summary>The temporaries killed writers left that taking the writer lock removed.</summary>
    protected List<string> RemovedTemporaries { get; } = new();

    private void ReleaseWriterLock()
    {
        _writerLock?.Dispose();
        _writerLock = null;
    }

    /// <summary>True when the user named the artifact folder (so tracks from the pipeline must not change it).</summary>
    protected bool ArtifactPathBound => MyInvocation.BoundParameters.ContainsKey(nameof(ArtifactPath));

    /// <summary>Works on another artifact folder: the one the tracks from the pipeline were written to.</summary>
    protected void RetargetArtifactPath(string path)
    {
        try { Store = new ArtifactStore(ResolveUserPath(path)); }
        catch (MessException ex) { ThrowTerminating(ex); }
        if (_writerLock is not null) TakeWriterLock();
    }

    protected override void StopProcessing() => _stop.Cancel();

    /// <summary>Writes the run record once; later calls do nothing.</summary>
    protected void SaveRunRecord(string status)
    {
        if (_recordSaved || Run.Saved || !WritesRunRecord || IsWhatIf || Store is null) return;
        if (ReadsExistingArtifacts && !Directory.Exists(Store.Root)) return; // a reading stage never creates the folder
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
        ReleaseWriterLock();
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
        message = SecretRedactor.Redact(message);
        Run.AddWarning(message);
        WriteWarning(message);
    }

    // The exception's message and target were redacted when it was made; a target given here is redacted the same way.
    internal static ErrorRecord ToErrorRecord(MessException ex, object? target = null) =>
        new(ex, ex.ErrorId, Category(ex.Kind), SecretRedactor.RedactObject(target) ?? ex.Target);

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

    /// <summary>
    /// Waits for engine work running on another thread, reporting its progress from the pipeline thread (the only one
    /// that may write progress) until it ends, and its last state once more when it has ended (so work shorter than the
    /// polling interval still shows where it got to); rethrows its exception as is. <paramref name="status"/> gives
    /// the text and the fraction done (negative: unknown); an empty text reports nothing.
    /// </summary>
    protected T AwaitWithProgress<T>(Task<T> work, int activityId, string activity, Func<(string Status, double Fraction)> status)
    {
        void Report(bool force)
        {
            var (text, fraction) = status();
            if (text.Length > 0) ReportProgress(activityId, activity, fraction >= 0 ? $"{text}: {fraction:P0}" : text, fraction >= 0 ? (int)(100 * fraction) : -1, force);
        }
        // WaitAny, not Wait: a faulted task must not throw here as an AggregateException.
        while (Task.WaitAny(new Task[] { work }, 250) < 0) { FlushJobMessages(); Report(force: false); }
        FlushJobMessages();
        if (work.IsCompletedSuccessfully) Report(force: true);
        return work.GetAwaiter().GetResult();
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

/// <summary>The parameters every writing cmdlet gets (see <see cref="MessCmdlet.WritesArtifacts"/>).</summary>
public sealed class WriterLockParameters
{
    /// <summary>
    /// Seconds to wait for another writer of the artifact folder to finish (0, the default: fail at once with an
    /// ArtifactFolderLocked error that names the holder's host, process id, start time and cmdlet).
    /// </summary>
    [Parameter]
    [ValidateRange(0, 604800)]
    public int LockTimeout { get; set; }
}
