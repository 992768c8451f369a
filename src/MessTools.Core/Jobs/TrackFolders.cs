using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Sharding;

namespace MessTools.Core.Jobs;

/// <summary>
/// The folder decision of a streaming track stage (Get-MessAudio, ConvertTo-MessEmbedding), made once, here: the
/// folder the front end resolved (an explicit path, else the environment, else the model's default folder), unless the
/// path was not named and the first track came from a folder of its own (its ArtifactPath); that folder is mapped to
/// the model's folder (<see cref="ArtifactStore.FolderForModel"/>) and, in a sharded run, to its shards/&lt;i&gt;-of-&lt;n&gt;/.
/// A later track from another folder stops the run (MixedArtifactFolders): one run writes one folder. The shard also
/// decides which tracks this run takes at all.
/// </summary>
public sealed class TrackFolders
{
    private readonly bool _pathNamed;
    private readonly string? _model;
    private string? _first; // the first track's own folder ("" when it had none); null until a track came

    /// <param name="resolved">The folder the front end resolved (explicit path, environment or default).</param>
    /// <param name="pathNamed">True when the user named the folder: the tracks' own folders are then ignored.</param>
    /// <param name="shardIndex">-ShardIndex (null: from the environment, see <see cref="ShardSpec.Resolve(int?, int?)"/>).</param>
    /// <param name="shardCount">-ShardCount (null: from the environment).</param>
    /// <param name="model">The model whose folder the tracks' folder maps to (null: the tracks' folder itself).</param>
    public TrackFolders(ArtifactStore resolved, bool pathNamed, int? shardIndex, int? shardCount, string? model = null)
        : this(resolved, pathNamed, ShardSpec.Resolve(shardIndex, shardCount), model) { }

    private TrackFolders(ArtifactStore resolved, bool pathNamed, ShardSpec? shard, string? model)
    {
        _pathNamed = pathNamed;
        _model = model;
        Shard = shard;
        Store = Shard is { } s ? s.StoreUnder(resolved) : resolved;
    }

    /// <summary>The folder decision of a stage that is never sharded (Split-MessAudio): a named path, else the tracks' own folder.</summary>
    public static TrackFolders Unsharded(ArtifactStore resolved, bool pathNamed) => new(resolved, pathNamed, shard: null, model: null);

    /// <summary>The shard of this run, or null when it is not sharded.</summary>
    public ShardSpec? Shard { get; }

    /// <summary>The folder the run writes (final once the first track came).</summary>
    public ArtifactStore Store { get; private set; }

    /// <summary>Tracks dropped because they belong to another shard.</summary>
    public long OtherShardTracks { get; private set; }

    /// <summary>True when the track belongs to another shard (counted; the stage does no work for it).</summary>
    public bool InOtherShard(string trackId)
    {
        if (Shard is not { } s || string.IsNullOrEmpty(trackId) || s.Contains(trackId.Trim())) return false;
        OtherShardTracks++;
        return true;
    }

    /// <summary>
    /// Takes a track's own folder (full path, or null): the first track fixes the run's folder; a later one from
    /// another folder is MixedArtifactFolders.
    /// </summary>
    public void Follow(string? trackFolder)
    {
        string? piped = _pathNamed || string.IsNullOrWhiteSpace(trackFolder) ? null : Path.GetFullPath(trackFolder);
        if (_first is null)
        {
            if (piped is not null)
            {
                string target = MapFolder(piped);
                if (!SamePath(target, Store.Root)) Store = new ArtifactStore(target);
            }
            _first = piped ?? "";
            return;
        }
        if (piped is not null && _first.Length > 0 && !SamePath(piped, _first))
            throw new MessException(MessErrorIds.MixedArtifactFolders, MessErrorKind.InvalidArgument,
                $"The tracks from the pipeline come from two artifact folders ('{_first}' and '{piped}'); one run writes one folder. Name it with -ArtifactPath.", piped);
    }

    /// <summary>
    /// The folder this run writes for tracks that came from <paramref name="folder"/>: the model's folder beside it,
    /// then its shards/&lt;i&gt;-of-&lt;n&gt;/ subfolder (the folder itself when it already is this shard's, as for the
    /// tracks of a sharded Get-MessAudio).
    /// </summary>
    private string MapFolder(string folder)
    {
        if (_model is not null) folder = ArtifactStore.FolderForModel(folder, _model);
        if (Shard is not { } s) return folder;
        string full = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        if (Path.GetFileName(full) == s.FolderName && Path.GetFileName(Path.GetDirectoryName(full)) == ShardSpec.ShardsFolderName) return full;
        return s.StoreUnder(new ArtifactStore(full)).Root;
    }

    private static bool SamePath(string a, string b) => string.Equals(a.TrimEnd('/', '\\'), b.TrimEnd('/', '\\'),
        OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    /// <summary>Says in the run record which shard ran and how many tracks were left to the others.</summary>
    public void Record(IMessJobHost host, bool end)
    {
        if (Shard is not { } s) return;
        if (!end)
        {
            if (host.Run is { } run)
            {
                run.Parameters["ShardIndex"] = s.Index;
                run.Parameters["ShardCount"] = s.Count;
                run.Results["shard"] = s.FolderName;
            }
            host.Verbose($"{s}: only the tracks whose id hashes to {s.Index} (mod {s.Count}); artifacts in {Store.Root}");
            return;
        }
        host.Run?.Count("other_shards", OtherShardTracks);
        host.Verbose($"{OtherShardTracks} tracks belong to other shards and were skipped.");
    }
}
