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
    private volatile Dictionary<string, ArtifactStore>? _stores;
    private volatile FrozenDictionary<string, ModelSnapshot> _models = FrozenDictionary<string, ModelSnapshot>.Empty;
    private readonly Dictionary<string, string> _failed = new(StringComparer.Ordinal);
    private readonly Stopwatch _sinceCreated = Stopwatch.StartNew();
    private int _version;

    /// <summary>The artifact root, once known (an s3:// set: after its import).</summary>
    public string? Root { get; private set; }
    /// <summary>Model names in a stable order (empty until the folders are known).</summary>
    public IReadOnlyList<string> ModelNames { get; private set; } = Array.Empty<string>();
    /// <summary>True once the folders are known and every model folder is loaded and verified.</summary>
    public bool Ready => _stores is { } stores && _models.Count == stores.Count;
    /// <summary>From the catalog's creation (the start) to ready: the import, discovery and the first load.</summary>
    public TimeSpan? TimeToReady { get; private set; }
    /// <summary>How many times a new version replaced a loaded one.</summary>
    public int Reloads { get; private set; }
    /// <summary>Why the start-up failed (the s3:// import), when it did: the process stops with it.</summary>
    public Exception? StartFailure { get; private set; }

    /// <summary>With --vector-store: the pgvector table that answers the neighbour routes instead of the index file
    /// (null until the start-up service has opened it, <see cref="AttachVectorStore"/>).</summary>
    public VectorStoreFinder? VectorStore { get; private set; }

    /// <summary>True when the neighbour routes come from a pgvector table (--vector-store): nothing loads before it is open.</summary>
    public bool UsesVectorStore { get; }

    /// <summary>A catalog over <paramref name="root"/>, its folders discovered now.</summary>
    public ArtifactCatalog(string root, ILogger log, bool usesVectorStore = false) : this(log, usesVectorStore) => Open(root);

    /// <summary>A catalog whose folders come later (<see cref="Open"/>, after the start-up import): not ready until then.
    /// With <paramref name="usesVectorStore"/>, not ready either until the table is attached.</summary>
    public ArtifactCatalog(ILogger log, bool usesVectorStore = false)
    {
        _log = log;
        UsesVectorStore = usesVectorStore;
    }

    /// <summary>The pgvector table, opened (extension, table, model checked) by the start-up service; the next
    /// <see cref="Refresh"/> loads the folder against it. The catalog owns it from here (closed on dispose).</summary>
    public void AttachVectorStore(VectorStoreFinder table)
    {
        if (!UsesVectorStore || VectorStore is not null) throw new InvalidOperationException("The catalog takes one vector store, and only when built for one.");
        VectorStore = table;
    }

    /// <summary>Discovers the model folders under <paramref name="root"/>; the next <see cref="Refresh"/> loads them.</summary>
    public void Open(string root)
    {
        string full = Path.GetFullPath(root);
        var stores = Discover(full);
        var names = stores.Keys.Order(StringComparer.Ordinal).ToList();
        if (UsesVectorStore && stores.Count != 1)
            throw new MessException(MessErrorIds.VectorStoreNeedsOneModel, MessErrorKind.InvalidArgument,
                $"--vector-store serves one model, but '{full}' holds {stores.Count} model folders ({string.Join(", ", names)}). Point --artifact-path at the {FolderPrefix}<MODEL> folder whose embeddings the table holds.", full);
        Root = full;
        ModelNames = names;
        _stores = stores;
    }

    /// <summary>Records a failed start (the import); /readyz says so until the process stops.</summary>
    public void Failed(Exception ex) => StartFailure = ex;

    /// <summary>Model name -> folder: the folder itself when it is a v1_model_ folder or holds an index, else its v1_model_ subfolders.</summary>
    public static Dictionary<string, ArtifactStore> Discover(string root)
    {
        if (!Directory.Exists(root))
            throw new MessException(MessErrorIds.ArtifactPathNotFound, MessErrorKind.ObjectNotFound, $"The artifact folder '{root}' does not exist.", root);
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
            throw new MessException(MessErrorIds.NoModelFolders, MessErrorKind.ObjectNotFound,
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
        if (_stores is not { } stores || (UsesVectorStore && VectorStore is null)) return false;
        var current = _models;
        var next = new Dictionary<string, ModelSnapshot>(current, StringComparer.Ordinal);
        bool changed = false;
        foreach (var (name, store) in stores)
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
        // The old snapshot is left to the garbage collector (no forced, blocking collection on the request path's process).
        if (changed) _models = next.ToFrozenDictionary(StringComparer.Ordinal);
        if (TimeToReady is null && Ready) TimeToReady = _sinceCreated.Elapsed;
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
                throw new MessException(MessErrorIds.VectorTableMismatch, MessErrorKind.InvalidData,
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
        // eval_results.json no longer carries a timestamp (same input, same bytes): the file's write time stands in.
        if (eval is not null) eval.CreatedUtc ??= File.GetLastWriteTimeUtc(store.EvalResultsFile);
        string report = EvaluationFiles.ReportPath(store);
        return (eval, File.Exists(report) ? File.ReadAllBytes(report) : null);
    }
}

/// <summary>
/// The start-up I/O and the reload loop, off the request path: with --vector-store the pgvector table is opened first
/// (connection, extension, table, model), with an s3:// artifact path the set is imported (<see cref="ArtifactSource"/>);
/// /livez answers and /readyz says "loading" (data routes 503 NotReady) meanwhile. Then the catalog loads every model
/// folder and polls them for new versions. A failed start-up step stops the process with one line (exit code 1).
/// </summary>
public sealed class ArtifactReloader(ArtifactCatalog catalog, ServerSettings settings, IHostApplicationLifetime lifetime, ILogger<ArtifactReloader> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        if (catalog.Root is null || (catalog.UsesVectorStore && catalog.VectorStore is null))
        {
            try
            {
                if (catalog.UsesVectorStore && settings.VectorStore is { } cs)
                {
                    // Messages name host, port and database only, never the password.
                    var table = await Task.Run(() => VectorStoreFinder.Open(cs, settings.VectorTable), stoppingToken);
                    catalog.AttachVectorStore(table);
                    log.LogInformation("Serving the neighbour routes from {Table} ({Count} tracks, {Dim} dims)", table.Description, table.Count, table.Dimension);
                }
                if (catalog.Root is null) catalog.Open(await ArtifactSource.ImportAsync(settings, log, stoppingToken));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
            catch (Exception ex)
            {
                catalog.Failed(ex);
                Console.Error.WriteLine($"MessTools.Server could not start: {ServerApp.StartError(ex) ?? ex.Message}");
                Environment.ExitCode = 1;
                lifetime.StopApplication();
                return;
            }
        }
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
