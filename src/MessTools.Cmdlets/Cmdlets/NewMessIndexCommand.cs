using System.Management.Automation;
using MessTools.Cmdlets.Common;
using MessTools.Core.Common;
using MessTools.Core.Index;
using MessTools.Core.Jobs;

namespace MessTools.Cmdlets;

/// <summary>
/// New-MessIndex: turns the embedding artifacts into a persistent nearest-neighbour index: index/hnsw.index (an HNSW
/// graph, built on all cores) or index/flat.index (exact), plus index/index_meta.json with the parameters, build time
/// and recall@10 measured against exact search, and index/track_table.bin (the metadata's served columns, for fast
/// loads). -Append brings an existing index up to date with the embeddings
/// (new tracks inserted, changed ones replaced, removed ones tombstoned) without a rebuild. Files are replaced
/// atomically, so Find-MessNeighbor in another session keeps answering from the old, complete index meanwhile.
/// </summary>
[Cmdlet(VerbsCommon.New, "MessIndex", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = "https://github.com/messtools/MessTools/blob/main/docs/index.md")]
[OutputType(typeof(MessIndexInfo))]
public sealed class NewMessIndexCommand : MessCmdlet
{
    protected override bool WritesArtifacts => true;
    // The folder is known only after the last piped track (RetargetArtifactPath): IndexJob takes the lock.
    protected override bool LockAtBegin => false;

    /// <summary>Hnsw (approximate, fast) or Flat (exact).</summary>
    [Parameter(Position = 0)]
    [ValidateSet("Hnsw", "Flat", IgnoreCase = true)]
    public string Type { get; set; } = "Hnsw";

    /// <summary>Links per node on the upper layers (2 M on layer 0).</summary>
    [Parameter]
    [ValidateRange(2, HnswParameters.MaxM)]
    public int M { get; set; } = HnswParameters.DefaultM;

    /// <summary>Candidate list size while inserting: higher is slower to build and better connected.</summary>
    [Parameter]
    [ValidateRange(1, HnswParameters.MaxEf)]
    public int EfConstruction { get; set; } = HnswParameters.DefaultEfConstruction;

    /// <summary>Default candidate list size of queries (stored in the index; Find-MessNeighbor -EfSearch overrides it).</summary>
    [Parameter]
    [ValidateRange(1, HnswParameters.MaxEf)]
    public int EfSearch { get; set; } = HnswParameters.DefaultEfSearch;

    /// <summary>Seed of the level draws: builds with -ThrottleLimit 1 and the same seed are identical.</summary>
    [Parameter]
    public int Seed { get; set; } = HnswParameters.DefaultSeed;

    /// <summary>Insertion threads; 0 (default) uses every core.</summary>
    [Parameter]
    [ValidateRange(0, 1024)]
    public int ThrottleLimit { get; set; }

    /// <summary>Add what changed in the embeddings to the existing index instead of rebuilding it.</summary>
    [Parameter]
    public SwitchParameter Append { get; set; }

    /// <summary>How many indexed tracks serve as queries when measuring recall@10 (0 skips the measurement).</summary>
    [Parameter]
    [ValidateRange(0, 1_000_000)]
    public int RecallSampleSize { get; set; } = 1000;

    /// <summary>
    /// Tracks from ConvertTo-MessEmbedding (or anything with an ArtifactPath property): the index is built once,
    /// after the last track, over the folder they were embedded into (unless -ArtifactPath names another).
    /// </summary>
    [Parameter(ValueFromPipeline = true, DontShow = true)]
    public PSObject? InputObject { get; set; }

    private string? _pipedFolder;
    private long _piped;

    protected override void ProcessRecord()
    {
        if (InputObject is null) return;
        _piped++;
        if (InputObject.Properties["ArtifactPath"]?.Value is not string folder || string.IsNullOrWhiteSpace(folder)) return;
        folder = Path.GetFullPath(ResolveUserPath(folder));
        if (_pipedFolder is null) _pipedFolder = folder;
        else if (!string.Equals(_pipedFolder, folder, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
            ThrowTerminating(new MessException(MessErrorIds.MixedArtifactFolders, MessErrorKind.InvalidArgument,
                $"The tracks from the pipeline come from two artifact folders ('{_pipedFolder}' and '{folder}'); one index covers one folder. Name it with -ArtifactPath.", folder));
    }

    protected override bool ReadsExistingArtifacts => true;

    protected override void EndProcessing()
    {
        if (_pipedFolder is not null && !ArtifactPathBound) RetargetArtifactPath(_pipedFolder);
        if (_piped > 0) WriteVerbose($"{_piped:N0} tracks came down the pipeline; indexing the embeddings in {Store.Root}.");
        Build();
        base.EndProcessing();
    }

    private void Build()
    {
        var options = new IndexBuildOptions
        {
            Kind = string.Equals(Type, "Flat", StringComparison.OrdinalIgnoreCase) ? IndexKind.Flat : IndexKind.Hnsw,
            Parameters = new HnswParameters { M = M, EfConstruction = EfConstruction, EfSearch = EfSearch, Seed = Seed },
            MaxThreads = ThrottleLimit,
            Append = Append,
            RecallSampleSize = RecallSampleSize,
        };
        MessIndexInfo? info;
        try { info = IndexJob.Run(new IndexRequest { Store = Store, Options = options, LockTimeout = LockTimeout }, JobHost); }
        catch (MessException ex) { ThrowTerminating(ex); return; }
        catch (OperationCanceledException) { return; }
        finally { CompleteProgress(1, IndexJob.Activity); }
        if (info is not null) WriteObject(info);
    }
}
