using MessTools.Core.Artifacts;

namespace MessTools.Core.Jobs;

/// <summary>What a streaming track stage (<see cref="AudioJob"/>, <see cref="EmbedJob"/>) is asked, whatever its work.</summary>
public abstract record TrackStageRequest
{
    /// <summary>The folder the front end resolved (explicit path, environment or default); the tracks' own may replace it.</summary>
    public required ArtifactStore Store { get; init; }
    /// <summary>True when the user named the folder, so the tracks' own folders are ignored.</summary>
    public bool PathNamed { get; init; }
    /// <summary>-ShardIndex/-ShardCount (null: from the environment, see <see cref="Sharding.ShardSpec.Resolve(int?, int?)"/>).</summary>
    public int? ShardIndex { get; init; }
    public int? ShardCount { get; init; }
    /// <summary>False for a stage whose tracks are not the ones the shard plan hashed (Split's movements): every track is taken.</summary>
    public bool Sharded { get; init; } = true;
    public TimeSpan LockTimeout { get; init; }
}

/// <summary>
/// The sequence every streaming track stage shares: tracks come one by one (<see cref="Post"/>); another shard's track
/// is dropped before any work; the first track fixes the folder (<see cref="TrackFolders"/>), whose writer lock is then
/// taken and the stage's work opened; <see cref="Complete"/> finishes the work and writes the run record under the lock;
/// a job disposed before it completed writes its record as stopped or failed before the lock goes. Finished tracks are
/// handed on through <c>emit</c>, always on the caller's thread.
/// </summary>
public abstract class TrackStageJob : IDisposable
{
    private readonly TimeSpan _lockTimeout;
    private JobFolder? _folder;
    private bool _opened, _completed, _disposed;

    protected TrackStageJob(TrackStageRequest request, IMessJobHost host, Action<MessTrack> emit, string? model)
    {
        Host = host;
        HandOn = emit;
        Record = host.Run ?? new RunRecord();
        _lockTimeout = request.LockTimeout;
        Folders = request.Sharded
            ? new TrackFolders(request.Store, request.PathNamed, request.ShardIndex, request.ShardCount, model)
            : TrackFolders.Unsharded(request.Store, request.PathNamed);
        Folders.Record(host, end: false);
    }

    protected IMessJobHost Host { get; }
    protected Action<MessTrack> HandOn { get; }
    protected TrackFolders Folders { get; }
    /// <summary>The host's run record, or one that is never saved (-WhatIf).</summary>
    protected RunRecord Record { get; }

    /// <summary>The folder the job writes (final once the first track came).</summary>
    public ArtifactStore Store => Folders.Store;

    /// <summary>True once Ctrl+C (or the host's cancellation) stopped the job: nothing more is handed on, no record says completed.</summary>
    public bool Stopped { get; protected set; }

    /// <summary>Takes one track (<paramref name="trackFolder"/>: the folder it came from, or null).</summary>
    public void Post(MessTrack track, string? trackFolder)
    {
        if (Folders.InOtherShard(track.TrackId)) return; // another shard's track: no work at all
        Folders.Follow(trackFolder);
        EnsureOpen();
        Accept(track);
    }

    /// <summary>Finishes the work (opened even when no track came, so a broken setup is still reported) and writes the run record.</summary>
    public void Complete()
    {
        EnsureOpen();
        if (!Finish()) return;
        Folders.Record(Host, end: true);
        _completed = true;
        _folder?.SaveRun("completed");
    }

    private void EnsureOpen()
    {
        if (_opened) return;
        _opened = true;
        _folder = JobFolder.Lock(Store, Host, _lockTimeout);
        Open();
    }

    /// <summary>Opens the stage's work in <see cref="Store"/>, under its lock.</summary>
    protected abstract void Open();

    /// <summary>Takes one track of this shard.</summary>
    protected abstract void Accept(MessTrack track);

    /// <summary>Finishes the work and fills the record; false when the job stopped.</summary>
    protected abstract bool Finish();

    /// <summary>Releases what the stage holds (transfers, models), keeping what was finished.</summary>
    protected abstract void Release();

    /// <summary>Releases the work and the lock (once; the front end may call it at the end and again when it is disposed).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Release();
        if (_folder is not null && !_completed) _folder.SaveRun(Host.Cancellation.IsCancellationRequested || Stopped ? "stopped" : "failed");
        _folder?.Dispose();
        _folder = null;
        GC.SuppressFinalize(this);
    }
}
