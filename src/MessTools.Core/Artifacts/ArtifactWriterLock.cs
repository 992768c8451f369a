using System.Diagnostics;
using MessTools.Core.Common;

namespace MessTools.Core.Artifacts;

/// <summary>Who holds an artifact folder's writer lock: &lt;folder&gt;/.lock.holder.json, written beside the lock.</summary>
public sealed class WriterLockHolder
{
    public string Host { get; set; } = "";
    public int ProcessId { get; set; }
    /// <summary>When the holding process started (UTC).</summary>
    public DateTime ProcessStartUtc { get; set; }
    /// <summary>When the holder took the lock (UTC).</summary>
    public DateTime AcquiredUtc { get; set; }
    /// <summary>The cmdlet (or other caller) that took it.</summary>
    public string Command { get; set; } = "";

    public override string ToString() =>
        $"{(Command.Length > 0 ? Command : "a writer")} (process {ProcessId} on host '{Host}', started {ProcessStartUtc:yyyy-MM-dd HH:mm:ss} UTC, holding the lock since {AcquiredUtc:yyyy-MM-dd HH:mm:ss} UTC)";
}

/// <summary>
/// The one writer lock of an artifact folder: an OS lock on &lt;folder&gt;/.lock (opened with FileShare.None and
/// kept open while the run writes; the OS releases it when the process dies, however it dies). Every stage that
/// writes takes it before it reads the state it will replace, so two writers never interleave and nothing is
/// silently overwritten; readers never take it (they see complete files thanks to <see cref="AtomicFile"/>).
/// <para>Within one process the lock is shared by one owner (the cmdlets use their runspace): the stages of one
/// pipeline (Export-MessMetadata | Get-MessAudio | ConvertTo-MessEmbedding) write the same folder together, while
/// another runspace or process waits or fails. The first acquisition by an owner removes the temporaries that
/// killed writers left in the folder: while the lock is held, no other writer can be writing them.</para>
/// </summary>
public sealed class ArtifactWriterLock : IDisposable
{
    public const string LockFileName = ".lock";
    public const string HolderFileName = ".lock.holder.json";
    public const string ErrorId = MessErrorIds.ArtifactFolderLocked;

    private static readonly object Gate = new();
    private static readonly Dictionary<string, Entry> Held = new(OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    private sealed class Entry
    {
        public required FileStream Stream { get; init; }
        public required object Owner { get; init; }
        public required WriterLockHolder Holder { get; init; }
        public int Count;
    }

    private readonly string _root;
    private bool _released;

    /// <summary>The artifact folder this lock covers.</summary>
    public string Root => _root;
    /// <summary>True when this acquisition took the OS lock (the first of its owner) rather than joining it.</summary>
    public bool Fresh { get; }
    /// <summary>The temporaries killed writers left, removed when the lock was taken fresh.</summary>
    public IReadOnlyList<string> RemovedTemporaries { get; }

    private ArtifactWriterLock(string root, bool fresh, IReadOnlyList<string>? removed = null)
    {
        _root = root;
        Fresh = fresh;
        RemovedTemporaries = removed ?? Array.Empty<string>();
    }

    /// <summary>
    /// Takes the writer lock of <paramref name="store"/>'s folder for <paramref name="owner"/> (an object that stands
    /// for one sequential caller, such as a runspace id): at once, or waiting up to <paramref name="timeout"/>.
    /// Throws MessException <see cref="ErrorId"/> (naming the holder) when it is still held after that.
    /// </summary>
    public static ArtifactWriterLock Acquire(ArtifactStore store, object owner, string command, TimeSpan timeout,
        CancellationToken cancellationToken = default, Action<WriterLockHolder?>? waiting = null)
    {
        ArgumentNullException.ThrowIfNull(owner);
        string root = store.Root;
        var deadline = Stopwatch.StartNew();
        WriterLockHolder? lastHolder = null;
        bool announced = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            lock (Gate)
            {
                if (Held.TryGetValue(root, out var entry))
                {
                    if (Equals(entry.Owner, owner))
                    {
                        entry.Count++;
                        return new ArtifactWriterLock(root, fresh: false);
                    }
                    lastHolder = entry.Holder;
                }
                else if (TryOpen(root, out var stream))
                {
                    var holder = new WriterLockHolder
                    {
                        Host = Environment.MachineName,
                        ProcessId = Environment.ProcessId,
                        ProcessStartUtc = ProcessStartUtc(),
                        AcquiredUtc = DateTime.UtcNow,
                        Command = command,
                    };
                    try { ArtifactJson.Write(Path.Combine(root, HolderFileName), holder); }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { /* the lock holds without it */ }
                    Held[root] = new Entry { Stream = stream!, Owner = owner, Holder = holder, Count = 1 };
                    List<string> removed;
                    try { removed = ArtifactCleanup.RemoveStaleTemporaries(root, TimeSpan.Zero); }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { removed = new(); }
                    FaultInjection.Hit("lock.acquired");
                    return new ArtifactWriterLock(root, fresh: true, removed);
                }
                else lastHolder = ReadHolder(root);
            }
            if (deadline.Elapsed >= timeout)
                throw new MessException(ErrorId, MessErrorKind.ResourceUnavailable,
                    $"The artifact folder '{root}' is being written by {(lastHolder?.ToString() ?? "another writer (its holder file could not be read)")}. " +
                    (timeout > TimeSpan.Zero ? $"Waited {timeout.TotalSeconds:0.#} s. " : "") +
                    "Wait for that run to finish and run again, or pass -LockTimeout <seconds> to wait for it. A killed run releases the lock by itself; never delete the .lock file.",
                    root);
            if (!announced) { announced = true; waiting?.Invoke(lastHolder); }
            var left = timeout - deadline.Elapsed;
            if (cancellationToken.WaitHandle.WaitOne(left < Poll ? left : Poll)) cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The holder of <paramref name="store"/>'s lock if someone holds it now (read from the holder file), else null.</summary>
    public static WriterLockHolder? CurrentHolder(ArtifactStore store)
    {
        lock (Gate)
        {
            if (Held.TryGetValue(store.Root, out var e)) return e.Holder;
            if (!Directory.Exists(store.Root)) return null;
            if (TryOpen(store.Root, out var s, create: false))
            {
                s?.Dispose();
                return null;
            }
            return ReadHolder(store.Root) ?? new WriterLockHolder();
        }
    }

    private static bool TryOpen(string root, out FileStream? stream, bool create = true)
    {
        stream = null;
        string path = Path.Combine(root, LockFileName);
        try
        {
            if (create) Directory.CreateDirectory(root);
            else if (!File.Exists(path)) return true;
            // FileShare.None: on Windows a sharing lock, on Unix .NET adds flock(LOCK_EX|LOCK_NB); both end with the process.
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            return true;
        }
        catch (IOException) when (File.Exists(path)) { return false; }
        catch (UnauthorizedAccessException ex)
        {
            throw new MessException(MessErrorIds.ArtifactFolderNotWritable, MessErrorKind.PermissionDenied,
                $"The writer lock '{path}' cannot be created: {ex.Message}", path, ex);
        }
    }

    private static WriterLockHolder? ReadHolder(string root)
    {
        try { return ArtifactJson.Read<WriterLockHolder>(Path.Combine(root, HolderFileName)); }
        catch (Exception ex) when (ex is MessException or IOException or UnauthorizedAccessException) { return null; }
    }

    private static DateTime ProcessStartUtc()
    {
        try { using var p = Process.GetCurrentProcess(); return p.StartTime.ToUniversalTime(); }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException) { return DateTime.UtcNow; }
    }

    /// <summary>Releases this acquisition; the OS lock goes with the owner's last one.</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            if (_released) return;
            _released = true;
            if (!Held.TryGetValue(_root, out var e) || --e.Count > 0) return;
            Held.Remove(_root);
            try { File.Delete(Path.Combine(_root, HolderFileName)); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
            e.Stream.Dispose();
        }
    }
}
