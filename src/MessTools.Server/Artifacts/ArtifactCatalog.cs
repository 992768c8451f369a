using System.Collections.Frozen;
using System.Diagnostics;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Evaluation;
using MessTools.Core.Embedding;
using MessTools.Core.Index;
using MessTools.Core.VectorStore;

namespace MessTools.Server.Artifacts;

/// <summary>
/// The model folders the server serves, found under the artifact path (one v1_model_&lt;MODEL&gt; folder, or a root
/// holding several), each loaded into a <see cref="ModelSnapshot"/> and verified (the index's XXH64 checksum, the index
/// against the embeddings' SHA-256 in embeddings_meta.json, embeddings.f32 against that SHA-256). Reads only: it never
/// writes into the artifact folders and never takes the writer lock. A background loop picks up a new version (the
/// files replaced atomically by New-MessIndex or an import) and swaps the whole snapshot at once; a version caught
/// half-replaced fails its checks and is retried on the next tick while the old one keeps serving.
/// </summary>
public sealed class ArtifactCatalog : IDisposable
{
    public const string FolderPrefix = ArtifactLayout.ModelFolderPrefix;

    private readonly ILogger _log;
    private readonly Dictionary<string, ArtifactStore> _stores;
    private volatile FrozenDictionary<string, ModelSnapshot> _models = FrozenDictionary<string, ModelSnapshot>.Empty;
    private readonly Dictionary<string, string> _failed = new(StringComparer.Ordinal);
    private int _version;

    public string Root { get; }
    /// <summary>Model names in a stable order.</summary>
    public IReadOnlyList<string> ModelNames { get; }
    /// <summary>True once every model folder is loaded and verified.</summary>
    public bool Ready => _models.Count == _stores.Count;
    public TimeSpan? TimeToReady { get; private set; }
    /// <summary>How many times a new version replaced a loaded one.</summary>
    public int Reloads { get; private set; }

    /// <summary>With --vector-store: the pgvector table that answers the neighbour routes instead of the index file.</summary>
    public VectorStoreFinder? VectorStore { get; }

    public ArtifactCatalog(string root, ILogger log, VectorStoreFinder? vectorStore = null)
    {
        _log = log;
        Root = Path.GetFullPath(root);
        _stores = Discover(Root);
        ModelNames = _stores.Keys.Order(StringComparer.Ordinal).ToList();
        VectorStore = vectorStore;
        if (vectorStore is not null && _stores.Count != 1)
            throw new MessException("VectorStoreNeedsOneModel", MessErrorKind.InvalidArgument,
                $"--vector-store serves one model, but '{Root}' holds {_stores.Count} model folders ({string.Join(", ", ModelNames)}). Point --artifact-path at the {FolderPrefix}<MODEL> folder whose embeddings the table holds.", Root);
    }

    /// <summary>Model name -> folder: the folder itself when it is a v1_model_ folder or holds an index, else its v1_model_ subfolders.</summary>
    public static Dictionary<string, ArtifactStore> Discover(string root)
    {
        if (!Directory.Exists(root))
            throw new MessException("ArtifactPathNotFound", MessErrorKind.ObjectNotFound, $"The artifact folder '{root}' does not exist.", root);
        var found = new Dictionary<string, ArtifactStore>(StringComparer.Ordinal);
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(root));
        if (name.StartsWith(FolderPrefix, StringComparison.Ordinal) || Directory.Exists(Path.Combine(root, "index")))
        {
            found[name.StartsWith(FolderPrefix, StringComparison.Ordinal) ? name[FolderPrefix.Length..] : name] = new ArtifactStore(root);
            return found;
        }
        foreach (string model in ArtifactLayout.ModelsUnder(root))
            found[model] = new ArtifactStore(Path.Combine(root, ArtifactLayout.ModelFolder(model)));
        if (found.Count == 0)
            throw new MessException("NoModelFolders", MessErrorKind.ObjectNotFound,
                $"'{root}' is neither a {FolderPrefix}<MODEL> folder nor a folder holding any. Point --artifact-path at the artifacts folder of a MessTools run.", root);
        return found;
    }

    /// <summary>Closes the vector store's connection pool (the container disposes the catalog at shutdown).</summary>
    public void Dispose() => VectorStore?.Dispose();

    public bool TryGet(string name, out ModelSnapshot model) => _models.TryGetValue(name, out model!);

    /// <summary>The loaded snapshots (a consistent set: the dictionary itself is swapped, never changed).</summary>
    public FrozenDictionary<string, ModelSnapshot> Models => _models;

    /// <summary>Why a model folder is not (yet) loaded, for /readyz.</summary>
    public IReadOnlyDictionary<string, string> Failures
    {
        get { lock (_failed) return new Dictionary<string, string>(_failed); }
    }

    /// <summary>Loads every folder whose files changed since its snapshot (all of them the first time). True when anything changed.</summary>
    public bool Refresh(CancellationToken cancellation = default)
    {
        var clock = Stopwatch.StartNew();
        var current = _models;
        var next = new Dictionary<string, ModelSnapshot>(current, StringComparer.Ordinal);
        bool changed = false;
        foreach (var (name, store) in _stores)
        {
            cancellation.ThrowIfCancellationRequested();
            string stamp;
            try { stamp = Stamp(store); }
            catch (IOException ex) { Fail(name, ex.Message); continue; }
            if (current.TryGetValue(name, out var old) && old.Stamp == stamp) continue;
            try
            {
                var snapshot = VectorStore is { } vs
                    ? LoadWithVectorStore(name, store, stamp, Interlocked.Increment(ref _version), vs)
                    : Load(name, store, stamp, Interlocked.Increment(ref _version));
                // The files may have changed while they were read: keep it only when the stamp still holds.
                if (Stamp(store) != stamp) { Fail(name, "the files changed while they were loaded; retrying"); continue; }
                next[name] = snapshot;
                changed = true;
                if (old is not null) Reloads++;
                lock (_failed) _failed.Remove(name);
                _log.LogInformation("Loaded model {Model} (version {Version}): {Count} tracks, {Dim} dims", name, snapshot.Version, snapshot.Search.Count, snapshot.Search.Dimension);
            }
            catch (Exception ex) when (ex is MessException or IOException or UnauthorizedAccessException or InvalidDataException or System.Text.Json.JsonException)
            {
                Fail(name, ex.Message);
            }
        }
        if (changed)
        {
            _models = next.ToFrozenDictionary(StringComparer.Ordinal);
            // Loading reads whole files into buffers and a reload leaves the old snapshot behind: give that memory back
            // to the OS now, so resident memory stays close to what the snapshots hold (a rare, one-off cost).
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
        if (TimeToReady is null && Ready) TimeToReady = clock.Elapsed;
        return changed;
    }

    private void Fail(string name, string reason)
    {
        lock (_failed) _failed[name] = reason;
        _log.LogWarning("Model {Model} not loaded: {Reason}", name, SecretRedactor.Redact(reason));
    }

    /// <summary>Every file a snapshot reads, by path, size and write time.</summary>
    private static string Stamp(ArtifactStore store)
    {
        static string S(string p)
        {
            var f = new FileInfo(p);
            return f.Exists ? $"{f.Length}|{f.LastWriteTimeUtc.Ticks}" : "-";
        }
        return string.Join("\n", NeighborFinder.ArtifactStamp(store), S(store.IndexMetaFile), S(store.EvalResultsFile), S(EvaluationFiles.ReportPath(store)));
    }

    private static ModelSnapshot Load(string name, ArtifactStore store, string stamp, int version)
    {
        // embeddings.f32 is hashed on another core while the index loads and is checked against the embeddings.
        var embeddingsCheck = Task.Run(() => IndexConsistency.VerifyEmbeddingsFile(store));
        NeighborFinder finder;
        try { finder = NeighborFinder.Open(store); }
        catch
        {
            embeddingsCheck.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
            throw;
        }
        string? sha;
        try { sha = embeddingsCheck.GetAwaiter().GetResult(); }
        catch (AggregateException ex) when (ex.InnerException is not null) { throw ex.InnerException; }
        var info = IndexBuilder.ReadCurrentInfo(store, finder.IndexPath);
        var (eval, html) = LoadEvaluation(store);
        return new ModelSnapshot
        {
            Name = name, Store = store, Search = finder, Stamp = stamp, Version = version, IndexInfo = info,
            EmbeddingsSha256 = sha ?? finder.Index.EmbeddingsSha256, Evaluation = eval, ReportHtml = html,
        };
    }

    /// <summary>
    /// A model folder served through a pgvector table: the folder gives the embeddings' facts and the evaluation files,
    /// the table answers the neighbour routes. The table must hold the folder's model at the folder's dimension.
    /// </summary>
    private static ModelSnapshot LoadWithVectorStore(string name, ArtifactStore store, string stamp, int version, VectorStoreFinder table)
    {
        string? sha = IndexConsistency.VerifyEmbeddingsFile(store);
        if (File.Exists(store.EmbeddingsMetaFile))
        {
            var meta = ArtifactJson.Read<EmbeddingsMeta>(store.EmbeddingsMetaFile);
            if (meta.Dim != table.Dimension || (table.Model.Length > 0 && !string.Equals(meta.Model, table.Model, StringComparison.Ordinal)))
                throw new MessException("VectorTableMismatch", MessErrorKind.InvalidData,
                    $"{table.Description} holds model '{table.Model}' at {table.Dimension} dimensions, but the artifact folder '{store.Root}' has model '{meta.Model}' at {meta.Dim}. Publish this folder: Publish-MessVector -ArtifactPath ... -Table ...", store.Root);
        }
        var (eval, html) = LoadEvaluation(store);
        return new ModelSnapshot
        {
            Name = name, Store = store, Search = table, Stamp = stamp, Version = version, IndexInfo = null,
            EmbeddingsSha256 = sha, Evaluation = eval, ReportHtml = html,
        };
    }

    private static (EvaluationDocument? Eval, byte[]? Html) LoadEvaluation(ArtifactStore store)
    {
        EvaluationDocument? eval = File.Exists(store.EvalResultsFile) ? ArtifactJson.Read<EvaluationDocument>(store.EvalResultsFile) : null;
        string report = EvaluationFiles.ReportPath(store);
        return (eval, File.Exists(report) ? File.ReadAllBytes(report) : null);
    }
}

/// <summary>Loads the catalog at start and polls it for new versions.</summary>
public sealed class ArtifactReloader(ArtifactCatalog catalog, ServerSettings settings, ILogger<ArtifactReloader> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try { catalog.Refresh(stoppingToken); }
            catch (OperationCanceledException) { return; }
            catch (Exception ex) { log.LogError(ex, "Checking the artifacts for a new version failed"); }
            try { await Task.Delay(catalog.Ready ? settings.ReloadInterval : TimeSpan.FromMilliseconds(Math.Min(250, settings.ReloadInterval.TotalMilliseconds)), stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }
}
