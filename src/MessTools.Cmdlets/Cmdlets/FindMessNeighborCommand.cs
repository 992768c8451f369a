using System.Management.Automation;
using System.Text.Json;
using System.Text.Json.Serialization;
using MessTools.Cmdlets.Common;
using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Common;
using MessTools.Core.Embedding;
using MessTools.Core.Index;
using MessTools.Core.VectorStore;

namespace MessTools.Cmdlets;

/// <summary>
/// Find-MessNeighbor: the K tracks closest to a track (by -TrackId, or track objects from the pipeline), or to an
/// audio file outside the catalogue (-AudioPath, embedded with the model recorded in embeddings_meta.json), by cosine
/// similarity of their embeddings, from index/hnsw.index (or exactly with -Exact). The query track itself is never
/// returned; -ExcludeSameAlbum and -Composer filter on the catalogue metadata. Read-only: writes no run record.
/// The loaded index is kept for the next call in the session until any of its files changes.
/// With -ConnectionString the neighbours come from a pgvector table that Publish-MessVector filled, as the same objects.
/// </summary>
[Cmdlet(VerbsCommon.Find, "MessNeighbor", DefaultParameterSetName = TrackIdSet, HelpUri = "https://github.com/messtools/MessTools/blob/main/docs/index.md")]
[OutputType(typeof(NeighborResult))]
[OutputType(typeof(string))]
public sealed class FindMessNeighborCommand : MessCmdlet
{
    private const string TrackIdSet = "TrackId";
    private const string AudioSet = "AudioPath";
    private const string LiteralAudioSet = "LiteralPath";
    private const string ConnectionSet = "Connection";

    /// <summary>Track ids to find neighbours of; also bound from the TrackId / track_id property of pipeline objects.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = TrackIdSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ConnectionSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("track_id")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(FindMessNeighborTrackIdCompleter))]
    public string[] TrackId { get; set; } = Array.Empty<string>();

    /// <summary>
    /// Audio files that are not in the catalogue: decoded with ffmpeg and embedded with the model the index's embeddings
    /// were made with. Wildcards are expanded as every -Path in pwsh does (-LiteralPath takes names as they are).
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = AudioSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] AudioPath { get; set; } = Array.Empty<string>();

    /// <summary>Like -AudioPath, with no wildcard expansion: brackets and asterisks in file names are literal.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralAudioSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>With -AudioPath, when the embeddings come from an ONNX model: that .onnx file (its hash must match the one recorded).</summary>
    [Parameter(ParameterSetName = AudioSet)]
    [Parameter(ParameterSetName = LiteralAudioSet)]
    [ValidateNotNullOrEmpty]
    public string? Model { get; set; }

    /// <summary>With -AudioPath and -Model: the model's JSON profile when it is not model.onnx.json beside it.</summary>
    [Parameter(ParameterSetName = AudioSet)]
    [Parameter(ParameterSetName = LiteralAudioSet)]
    [ValidateNotNullOrEmpty]
    public string? ModelProfile { get; set; }

    /// <summary>With -AudioPath: the ffmpeg executable (default: $env:MESS_FFMPEG, then PATH).</summary>
    [Parameter(ParameterSetName = AudioSet)]
    [Parameter(ParameterSetName = LiteralAudioSet)]
    [ValidateNotNullOrEmpty]
    public string? FfmpegPath { get; set; }

    /// <summary>Query a pgvector table (filled by Publish-MessVector) on this PostgreSQL server instead of the index file.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ConnectionSet)]
    [ValidateNotNullOrEmpty]
    public string? ConnectionString { get; set; }

    /// <summary>With -ConnectionString: user name and password, instead of putting them in the connection string.</summary>
    [Parameter(ParameterSetName = ConnectionSet)]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>With -ConnectionString: the table ([schema.]table; default mess_tracks).</summary>
    [Parameter(ParameterSetName = ConnectionSet)]
    [ValidateNotNullOrEmpty]
    public string? Table { get; set; }

    /// <summary>How many neighbours per query (1 to the number of indexed tracks less one: the query itself never counts).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int K { get; set; } = 5;

    /// <summary>Compare with every indexed track (the flat index) instead of walking the HNSW graph.</summary>
    [Parameter]
    public SwitchParameter Exact { get; set; }

    /// <summary>Leave out tracks from the query track's album.</summary>
    [Parameter]
    public SwitchParameter ExcludeSameAlbum { get; set; }

    /// <summary>Only tracks by these composers (wildcards allowed, case-insensitive).</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(FindMessNeighborComposerCompleter))]
    public string[]? Composer { get; set; }

    /// <summary>HNSW candidate list size for this query (default: the index's efSearch); higher is slower and more exact.</summary>
    [Parameter]
    [ValidateRange(1, HnswParameters.MaxEf)]
    public int EfSearch { get; set; }

    /// <summary>Emit one JSON array (snake_case fields) of all results instead of objects.</summary>
    [Parameter]
    public SwitchParameter AsJson { get; set; }

    protected override bool WritesRunRecord => false;

    private INeighborCatalog _finder = null!;
    private NeighborQuery _query = null!;
    private readonly List<NeighborResult> _json = new();

    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        try
        {
            if (ParameterSetName == ConnectionSet)
            {
                var store = VectorStoreFinder.Open(ConnectionString!, Table, Credential?.UserName, Credential?.GetNetworkCredential().Password);
                _finder = store;
                WriteVerbose($"{store.Description}: {store.Count:N0} tracks, {store.Dimension} dims, model '{store.Model}'.");
            }
            else
            {
                // A folder that does not exist, or a root of model folders, is named as such before any index is looked for.
                RequireArtifacts(Store.Root);
                var finder = NeighborFinder.OpenCached(Store);
                _finder = finder;
                WriteVerbose($"Index {finder.IndexPath}: {finder.Index.Kind}, {finder.Count:N0} tracks, {finder.Dimension} dims.");
            }
        }
        catch (MessException ex) { ThrowTerminating(ex); }
        if (!_finder.HasMetadata)
            WriteVerbose($"{Store.MetadataCsv} is absent: Composer, Title and AlbumId stay empty.");
        // The request's rules are Core's (NeighborRequest: K from 1 to N-1, the metadata rule, composer patterns), the
        // same the HTTP server applies; the cmdlet only words them with its parameter names.
        var checkedRequest = new NeighborRequest
        {
            K = K, Exact = Exact, ExcludeSameAlbum = ExcludeSameAlbum, Composers = Composer, Ef = EfSearch,
        }.Validate(_finder, _finder is VectorStoreFinder ? VectorStoreFinder.MaxEfSearch : HnswParameters.MaxEf);
        if (checkedRequest.Failures.Count > 0)
        {
            var failure = checkedRequest.Failures[0];
            ThrowTerminating(failure.ToException(ParameterName(failure.Parameter)));
        }
        foreach (string pattern in checkedRequest.UnmatchedComposers) Warn($"No indexed track is by a composer matching '{pattern}'.");
        _query = checkedRequest.Query!;
    }

    /// <summary>How this cmdlet names a request parameter in its errors.</summary>
    internal static string ParameterName(NeighborParameter p) => p switch
    {
        NeighborParameter.K => "-K",
        NeighborParameter.Ef => "-EfSearch",
        NeighborParameter.ExcludeSameAlbum => "-ExcludeSameAlbum",
        NeighborParameter.Composer => "-Composer",
        NeighborParameter.TrackId => "-TrackId",
        _ => p.ToString(),
    };

    private IEmbeddingModel? _queryModel;
    private IAudioDecoder? _decoder;

    protected override void ProcessRecord()
    {
        if (ParameterSetName == AudioSet)
        {
            foreach (string pattern in AudioPath)
                foreach (string file in ExpandAudioPath(pattern)) FindByAudio(file);
            return;
        }
        if (ParameterSetName == LiteralAudioSet)
        {
            foreach (string path in LiteralPath) FindByAudio(ResolveUserPath(path));
            return;
        }
        foreach (string raw in TrackId)
        {
            if (Cancellation.IsCancellationRequested) return;
            string id = raw?.Trim() ?? "";
            if (id.Length == 0) continue;
            IReadOnlyList<NeighborResult> results;
            try { results = _finder.ByTrackId(id, _query); }
            catch (MessException ex)
            {
                WriteItemError(ex, id);
                continue;
            }
            Emit(results);
        }
    }

    /// <summary>
    /// The files a -AudioPath value names, wildcards expanded by the FileSystem provider as for any -Path; a pattern
    /// that matches nothing is one AudioFileNotFound error naming it. A plain path is passed on as it is.
    /// </summary>
    private IEnumerable<string> ExpandAudioPath(string pattern)
    {
        if (!WildcardPattern.ContainsWildcardCharacters(pattern)) return new[] { ResolveUserPath(pattern) };
        try
        {
            var files = SessionState.Path.GetResolvedProviderPathFromPSPath(pattern, out var provider);
            if (provider.Name == "FileSystem" && files.Count > 0) return files.Where(File.Exists).Order(StringComparer.Ordinal).ToList();
        }
        catch (ItemNotFoundException) { }
        WriteItemError(new MessException(MessErrorIds.AudioFileNotFound, MessErrorKind.ObjectNotFound,
            $"No audio file matches '{pattern}' (wildcards are expanded as for -Path; use -LiteralPath for a name with [ ] or *).", pattern));
        return Array.Empty<string>();
    }

    private void FindByAudio(string file)
    {
        if (Cancellation.IsCancellationRequested) return;
        if (!File.Exists(file))
        {
            WriteItemError(new MessException(MessErrorIds.AudioFileNotFound, MessErrorKind.ObjectNotFound, $"The audio file '{file}' does not exist.", file));
            return;
        }
        try
        {
            // The model and the decoder are opened once, for the first file.
            _queryModel ??= QueryEmbedder.OpenRecordedModel(Store, Model is null ? null : ResolveUserPath(Model), ModelProfile is null ? null : ResolveUserPath(ModelProfile));
            _decoder ??= new FfmpegDecoder(FfmpegPath is null ? null : ResolveUserPath(FfmpegPath));
        }
        catch (MessException ex) { ThrowTerminating(ex); }
        if (ExcludeSameAlbum) WriteVerbose($"'{file}' belongs to no album of the catalogue: -ExcludeSameAlbum leaves nothing out for it.");
        try
        {
            var vector = QueryEmbedder.EmbedFileAsync(_queryModel!, _decoder!, file, Cancellation).GetAwaiter().GetResult();
            Emit(_finder.ByVector(vector, file, null, _query));
        }
        catch (MessException ex) { WriteItemError(ex, file); }
        catch (OperationCanceledException) { }
    }

    private void Emit(IReadOnlyList<NeighborResult> results)
    {
        if (AsJson) _json.AddRange(results);
        else foreach (var r in results) WriteObject(r);
    }

    protected override void EndProcessing()
    {
        _queryModel?.Dispose();
        _queryModel = null;
        if (AsJson) WriteObject(JsonSerializer.Serialize(_json, JsonOptions));
        base.EndProcessing();
    }

    protected override void ReleaseResources() => (_finder as IDisposable)?.Dispose();

    private static readonly JsonSerializerOptions JsonOptions = new(ArtifactJson.Options)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}
