using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Jobs;

/// <summary>
/// A job's hold on the artifact folder it writes: the folder decided once, its writer lock
/// (<see cref="ArtifactWriterLock"/>, taken at once or within the timeout, else ArtifactFolderLocked naming the holder),
/// and the run record written into it before the lock goes. Every job that writes a folder (and Publish, which needs it
/// to hold still) opens one; the cmdlet base opens one for the stages that still bind their folder themselves.
/// </summary>
public sealed class JobFolder : IDisposable
{
    private readonly IMessJobHost _host;
    private ArtifactWriterLock? _lock;
    private readonly bool _created;
    /// <summary>How a failed job in a folder this hold created ended, written at release if the folder stays.</summary>
    private string? _pendingStatus;

    private JobFolder(ArtifactStore store, IMessJobHost host, ArtifactWriterLock? writerLock, bool created)
    {
        Store = store;
        _host = host;
        _lock = writerLock;
        _created = created;
    }

    public ArtifactStore Store { get; }

    /// <summary>The temporaries killed writers left that taking the lock removed.</summary>
    public IReadOnlyList<string> RemovedTemporaries => _lock?.RemovedTemporaries ?? Array.Empty<string>();

    /// <summary>
    /// Takes <paramref name="store"/>'s writer lock for <paramref name="host"/>'s owner. <paramref name="mustExist"/>: a
    /// folder that does not exist is ArtifactsNotFound and is not created (not even for the lock file).
    /// </summary>
    public static JobFolder Lock(ArtifactStore store, IMessJobHost host, TimeSpan timeout, bool mustExist = false)
    {
        if (mustExist) RequireExisting(store);
        if (host.WhatIf) return new JobFolder(store, host, null, created: false);
        bool created = !Directory.Exists(store.Root);
        var writerLock = ArtifactWriterLock.Acquire(store, host.LockOwner, host.Command, timeout, host.Cancellation,
            holder => host.Verbose($"Waiting up to {timeout.TotalSeconds:0.#} s for the writer lock of {store.Root}, held by {holder?.ToString() ?? "another writer"}."));
        if (writerLock.RemovedTemporaries.Count > 0)
        {
            host.Run?.Count("stale_temporaries_removed", writerLock.RemovedTemporaries.Count);
            host.Verbose($"Removed {writerLock.RemovedTemporaries.Count} temporary file(s) that killed writers left in {store.Root}.");
        }
        return new JobFolder(store, host, writerLock, created && writerLock.Fresh);
    }

    /// <summary>
    /// Stops with ArtifactsNotFound when the folder does not exist (a mistyped -ArtifactPath), and with
    /// ArtifactRootGiven when it is a root holding v1_model_&lt;MODEL&gt; folders rather than one model's artifacts (naming
    /// the models and how to pick one); creates nothing.
    /// </summary>
    public static void RequireExisting(ArtifactStore store)
    {
        if (!Directory.Exists(store.Root))
            throw new MessException(JobErrors.ArtifactsNotFound, MessErrorKind.ObjectNotFound,
                $"No artifacts at '{store.Root}': the folder does not exist. Check -ArtifactPath (or $env:{ArtifactStore.EnvironmentVariable}), " +
                "or run the stages that write it first (Export-MessMetadata ... | Get-MessAudio | ConvertTo-MessEmbedding).", store.Root);
        if (ArtifactLayout.HoldsArtifacts(store.Root)) return;
        var models = ArtifactLayout.ModelsUnder(store.Root);
        if (models.Count > 0)
            throw new MessException(JobErrors.ArtifactRootGiven, MessErrorKind.InvalidArgument,
                $"'{store.Root}' is not one model's artifact folder: it holds the folders of {models.Count} model(s), {string.Join(", ", models)}. " +
                $"Pick one, e.g. -ArtifactPath '{Path.Combine(store.Root, ArtifactLayout.ModelFolder(models[0]))}'.", store.Root);
    }

    /// <summary>
    /// Writes the host's run record into the folder (once; a failure to write it is a warning, never the job's error).
    /// A job that failed in a folder this hold created decides at <see cref="Dispose"/>: a folder left with nothing but
    /// the lock goes, and its record with it; one that holds work (a stopped download's cache) keeps the record.
    /// </summary>
    public void SaveRun(string status)
    {
        var run = _host.Run;
        if (run is null || run.Saved || !Directory.Exists(Store.Root)) return;
        if (_created && status != "completed")
        {
            _pendingStatus = status;
            return;
        }
        Write(run, status);
    }

    private void Write(RunRecord run, string status)
    {
        if (status == "completed" && run.Errors.Count > 0) status = "completed_with_errors";
        try { _host.Verbose($"Run record: {run.Save(Store, status)}"); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or MessException)
        {
            _host.Warning($"The run record could not be written: {ex.Message}");
        }
    }

    /// <summary>
    /// Releases the lock. A folder this hold created that the job left empty (a failed import into a new folder) goes
    /// with it, and the run record is withheld so no front end makes the folder again to hold it: a failure leaves no
    /// folder behind.
    /// </summary>
    public void Dispose()
    {
        if (_lock is null) return;
        if (_created && Directory.Exists(Store.Root) && Directory.EnumerateFileSystemEntries(Store.Root)
                .All(e => Path.GetFileName(e) is ArtifactWriterLock.LockFileName or ArtifactWriterLock.HolderFileName))
        {
            // Removed while the lock is still held, so no other writer can be inside it.
            try
            {
                File.Delete(Path.Combine(Store.Root, ArtifactWriterLock.HolderFileName));
                File.Delete(Path.Combine(Store.Root, ArtifactWriterLock.LockFileName));
                Directory.Delete(Store.Root);
                _host.Run?.Withhold();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        }
        else if (_pendingStatus is not null && _host.Run is { Saved: false } run && Directory.Exists(Store.Root))
            Write(run, _pendingStatus); // the folder stays, holding the failed job's work: its record says how the run ended
        _lock.Dispose();
        _lock = null;
    }
}

/// <summary>Error ids the jobs share (one spelling each).</summary>
public static class JobErrors
{
    public const string ArtifactsNotFound = "ArtifactsNotFound";
    public const string ArtifactRootGiven = "ArtifactRootGiven";
    public const string ArtifactFolderLocked = ArtifactWriterLock.ErrorId;
}
