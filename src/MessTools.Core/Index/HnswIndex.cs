using System.Runtime.CompilerServices;
using MessTools.Core.Common;
using MessTools.Core.Search;

namespace MessTools.Core.Index;

/// <summary>
/// A Hierarchical Navigable Small World graph (Malkov &amp; Yashunin) over L2-normalised vectors with inner
/// product as similarity (= cosine). Layout for speed: vectors in one contiguous row-major array, layer-0
/// neighbour lists in one flat int array (count, then up to 2M ids per node), upper layers in another flat
/// array addressed by a per-node offset; searches use a per-thread visited list with a generation counter
/// and two binary heaps, with no allocation in the loop. Insertion runs on several threads: neighbour lists
/// are written under striped spin locks and read without locks (a reader sees old or new ids, never
/// invalid ones); the entry point and top level change together in one 64-bit word.
/// One-thread builds are reproducible from <see cref="HnswParameters.Seed"/>. Searches may run on many threads
/// at once, but not while <see cref="Append"/> runs.
/// </summary>
public sealed unsafe class HnswIndex : VectorIndex
{
    public const int MaxLevelCap = 30;
    private const int LockStripes = 1 << 12;

    private readonly int _m;
    private readonly int _m0;
    private readonly int _stride0;
    private readonly int _strideUp;
    private readonly double _levelMult;
    private int[] _links0;
    private byte[] _levels;
    private int[] _upperOffsets;
    private int[] _upperLinks;
    private int _upperUsed;
    private long _entry = Pack(0, -1);
    private readonly int[] _locks = new int[LockStripes * 16]; // one stripe per 64-byte line
    private readonly object _entryGate = new();

    public override IndexKind Kind => IndexKind.Hnsw;
    public HnswParameters Parameters { get; }
    public int EntryPoint => (int)Volatile.Read(ref _entry);
    public int MaxLevel => (int)(Volatile.Read(ref _entry) >> 32);

    private HnswIndex(HnswParameters p, int dimension, int capacity)
        : base(new string[capacity], LargeArray.Zeroed<float>((long)capacity * dimension), new byte[capacity], 0, dimension)
    {
        p.Validate();
        Parameters = p;
        _m = p.M;
        _m0 = p.M0;
        _stride0 = _m0 + 1;
        _strideUp = _m + 1;
        _levelMult = 1.0 / Math.Log(_m);
        _links0 = LargeArray.Zeroed<int>((long)capacity * _stride0);
        _levels = new byte[capacity];
        _upperOffsets = new int[capacity];
        _upperLinks = new int[Math.Max(16, capacity / Math.Max(1, _m - 1) * _strideUp)];
    }

    /// <summary>For <see cref="IndexFile"/>: an index from stored arrays (already validated).</summary>
    internal HnswIndex(HnswParameters p, int dimension, int count, string[] ids, Memory<float> vectors, byte[] deleted,
        byte[] levels, int[] links0, int[] upperOffsets, int[] upperLinks, int upperUsed, int entryPoint, int maxLevel,
        QuantisedRows? quantised)
        : base(ids, vectors, deleted, count, dimension)
    {
        if (quantised is not null)
        {
            _quantised = quantised;
            _quantisedTried = true;
        }
        Parameters = p;
        _m = p.M;
        _m0 = p.M0;
        _stride0 = _m0 + 1;
        _strideUp = _m + 1;
        _levelMult = 1.0 / Math.Log(_m);
        _links0 = links0;
        _levels = levels;
        _upperOffsets = upperOffsets;
        _upperLinks = upperLinks;
        _upperUsed = upperUsed;
        _entry = Pack(maxLevel, entryPoint);
    }

    internal byte[] LevelStorage => _levels;
    internal int[] Links0Storage => _links0;
    internal int[] UpperOffsetStorage => _upperOffsets;
    internal int[] UpperLinkStorage => _upperLinks;
    internal int UpperUsed => _upperUsed;

    /// <summary>Builds the graph over <paramref name="ids"/>.Length rows of <paramref name="vectors"/> (taken over, not copied).</summary>
    public static HnswIndex Build(string[] ids, float[] vectors, int dimension, HnswParameters parameters,
        int maxThreads = 0, Action<int>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(vectors);
        if ((long)ids.Length * dimension != vectors.Length)
            throw new ArgumentException($"{ids.Length} ids x {dimension} dims != {vectors.Length} values.");
        var index = new HnswIndex(parameters, dimension, 0);
        index._ids = ids;
        index._vectors = vectors;
        index._deleted = new byte[ids.Length];
        index._links0 = LargeArray.Zeroed<int>((long)ids.Length * index._stride0);
        index._levels = new byte[ids.Length];
        index._upperOffsets = new int[ids.Length];
        index.InsertNew(ids.Length, maxThreads, progress, cancellation);
        return index;
    }

    /// <summary>Adds <paramref name="ids"/>.Length rows without rebuilding; returns the first new node.</summary>
    public int Append(string[] ids, ReadOnlySpan<float> rows, int maxThreads = 0, Action<int>? progress = null, CancellationToken cancellation = default)
    {
        if ((long)ids.Length * Dimension != rows.Length)
            throw new ArgumentException($"{ids.Length} ids x {Dimension} dims != {rows.Length} values.");
        int first = _count;
        int total = checked(first + ids.Length);
        _quantised = null; // the walk's int8 rows are made again, for all the rows, by the next search
        _quantisedTried = false;
        if (_ids.Length < total)
        {
            Array.Resize(ref _ids, total);
            Array.Resize(ref _deleted, total);
            Array.Resize(ref _levels, total);
            Array.Resize(ref _upperOffsets, total);
        }
        EnsureVectorCapacity(total);
        if (_links0.LongLength < (long)total * _stride0) Array.Resize(ref _links0, checked(total * _stride0));
        Array.Copy(ids, 0, _ids, first, ids.Length);
        rows.CopyTo(_vectors.Span[(first * Dimension)..]);
        Array.Clear(_deleted, first, ids.Length);
        Array.Clear(_links0, first * _stride0, ids.Length * _stride0);
        InsertNew(ids.Length, maxThreads, progress, cancellation);
        return first;
    }

    /// <summary>Draws levels for the next <paramref name="added"/> nodes and links them into the graph.</summary>
    private void InsertNew(int added, int maxThreads, Action<int>? progress, CancellationToken ct)
    {
        int first = _count;
        int end = first + added;
        var rng = new Random(unchecked(Parameters.Seed * 1_000_003 + first));
        for (int node = first; node < end; node++)
        {
            int level = Math.Min((int)(-Math.Log(1.0 - rng.NextDouble()) * _levelMult), MaxLevelCap);
            _levels[node] = (byte)level;
            if (level > 0)
            {
                _upperOffsets[node] = _upperUsed;
                _upperUsed = checked(_upperUsed + level * _strideUp);
            }
            else _upperOffsets[node] = -1;
        }
        if (_upperLinks.Length < _upperUsed) Array.Resize(ref _upperLinks, _upperUsed + _upperUsed / 8);
        for (int node = first; node < end; node++)
            if (_levels[node] > 0) Array.Clear(_upperLinks, _upperOffsets[node], _levels[node] * _strideUp);
        _count = end;
        for (int node = first; node < end; node++) RegisterLive(node);
        if (added == 0) return;

        int threads = maxThreads > 0 ? maxThreads : Environment.ProcessorCount;
        threads = Math.Clamp(Math.Min(threads, added / 256 + 1), 1, 256);
        int next = first;
        int done = 0;
        if (threads == 1)
        {
            var scratch = SearchScratch.ForThisThread();
            fixed (float* v = _vectors.Span)
            fixed (int* l0 = _links0)
            fixed (int* up = _upperLinks)
            {
                var g = new Graph(this, v, l0, up);
                for (int node = first; node < end; node++)
                {
                    if ((node & 255) == 0)
                    {
                        ct.ThrowIfCancellationRequested();
                        progress?.Invoke(node - first);
                    }
                    InsertNode(ref g, node, scratch);
                }
            }
            progress?.Invoke(added);
            return;
        }

        Exception? failure = null;
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            workers[t] = new Thread(() =>
            {
                try
                {
                    var scratch = SearchScratch.ForThisThread();
                    fixed (float* v = _vectors.Span)
                    fixed (int* l0 = _links0)
                    fixed (int* up = _upperLinks)
                    {
                        var g = new Graph(this, v, l0, up);
                        while (!ct.IsCancellationRequested && Volatile.Read(ref failure) is null)
                        {
                            int node = Interlocked.Increment(ref next) - 1;
                            if (node >= end) break;
                            InsertNode(ref g, node, scratch);
                            Interlocked.Increment(ref done);
                        }
                    }
                }
                catch (Exception ex) { Interlocked.CompareExchange(ref failure, ex, null); }
            }, 16 << 20) { IsBackground = true, Name = $"MessTools HNSW insert {t}" };
            workers[t].Start();
        }
        foreach (var w in workers)
        {
            while (!w.Join(250)) progress?.Invoke(Volatile.Read(ref done));
        }
        if (failure is not null) throw new InvalidOperationException("HNSW insertion failed: " + failure.Message, failure);
        ct.ThrowIfCancellationRequested();
        progress?.Invoke(added);
    }

    /// <summary>Pointers into the pinned arrays, for the duration of a build or a search.</summary>
    private readonly struct Graph
    {
        public readonly float* V;
        public readonly int* L0;
        public readonly int* Up;
        public readonly int Dim;

        public Graph(HnswIndex index, float* v, int* l0, int* up)
        {
            V = v;
            L0 = l0;
            Up = up;
            Dim = index.Dimension;
        }
    }

    /// <summary>How the layer search scores a node against the query: in float, or in int8 for the search's final
    /// walk (<see cref="QuantisedRows"/>).</summary>
    private interface IScorer
    {
        float Score(int node);
        /// <summary>Ahead of scoring a node's neighbours: their rows, or the start of them.</summary>
        void Prefetch(int node);
        /// <summary>While scoring one neighbour: more of the next one's row.</summary>
        void PrefetchNext(int node);
    }

    private readonly struct FloatScorer : IScorer
    {
        private readonly float* _q;
        private readonly float* _v;
        private readonly int _dim;
        public FloatScorer(float* q, in Graph g) { _q = q; _v = g.V; _dim = g.Dim; }
        public float Score(int node) => VectorMath.Dot(_q, _v + (long)node * _dim, _dim);
        // A float row is 1 KiB at 256 dimensions: its first line ahead, its second while the one before is scored
        // (more than that measured slower: the prefetches crowd out the loads).
        public void Prefetch(int node) => VectorMath.Prefetch(_v + (long)node * _dim);
        public void PrefetchNext(int node) => VectorMath.Prefetch(_v + (long)node * _dim + 16);
    }

    private readonly struct Int8Scorer : IScorer
    {
        private readonly sbyte* _q;
        private readonly float _qScale;
        private readonly int _shift;
        private readonly byte* _rows;
        private readonly float* _scale;
        private readonly int _pad;
        public Int8Scorer(sbyte* q, float qScale, int shift, byte* rows, float* scale, int pad)
        {
            _q = q; _qScale = qScale; _shift = shift; _rows = rows; _scale = scale; _pad = pad;
        }
        public float Score(int node) => _qScale * _scale[node] * (QuantisedRows.Dot(_rows + (long)node * _pad, _q, _pad) - _shift);
        // An int8 row is 4 lines at 256 dimensions: all of every neighbour's row ahead (1.19x the walk's speed over
        // the first line alone, interleaved in one process, 100k x 256, ef 80).
        public void Prefetch(int node)
        {
            byte* r = _rows + (long)node * _pad;
            for (int o = 0; o < _pad; o += 64) VectorMath.Prefetch(r + o);
        }
        public void PrefetchNext(int node) { }
    }

    /// <summary>Benchmark and test switch: false walks layer 0 in float.</summary>
    internal bool QuantisedWalk { get; set; } = true;

    /// <summary>How many rows the int8 walk's rows hold (0 until a search made them): for the tests.</summary>
    internal int QuantisedRowCount => Volatile.Read(ref _quantisedTried) ? _quantised?.Count ?? 0 : 0;

    private QuantisedRows? _quantised;
    private bool _quantisedTried;
    private readonly object _quantiseGate = new();

    /// <summary>The int8 rows for the layer-0 walk; null where the CPU has no AVX2, or <see cref="Quantised"/> is.</summary>
    private QuantisedRows? QuantisedRowsForWalk() => QuantisedWalk && QuantisedRows.Supported ? Quantised() : null;

    /// <summary>The int8 rows of this index: read with it from the file (format 2), or made from the float rows on
    /// first need (an index appended to, or a format-1 file: then the first search pays for reading every row). Null
    /// when the index is small (<see cref="QuantisedRows.MinRows"/>) or a row is not finite. On every CPU, so the
    /// file's bytes do not depend on the machine that wrote it.</summary>
    internal QuantisedRows? Quantised()
    {
        if (_count < QuantisedRows.MinRows) return null;
        if (Volatile.Read(ref _quantisedTried)) return _quantised;
        lock (_quantiseGate)
        {
            if (!_quantisedTried)
            {
                _quantised = QuantisedRows.Create(_vectors.Span, _count, Dimension);
                Volatile.Write(ref _quantisedTried, true);
            }
            return _quantised;
        }
    }

    /// <summary>How many of the int8 walk's best candidates are scored again in float: 3k, at least 32. On the
    /// 100k x 256 benchmark set at ef 80 recall@10 is the float walk's or better with 3k, and rescoring all ef
    /// candidates costs 12 % of a query (each a 1 KiB row from memory).</summary>
    internal static int RescoreCount(int k) => Math.Max(3 * k, 32);

    /// <summary>The int8 walk's best candidates (in s.Results) scored again in float, each row prefetched whole while
    /// the one before is scored; the best k stay, with float scores.</summary>
    private static void Rescore(in Graph g, float* q, SearchScratch s, int k)
    {
        var res = s.Results;
        int n = res.Count;
        s.EnsureSortCapacity(n);
        res.DrainBestFirst(s.SortedScores, s.SortedIds);
        res.Clear();
        n = Math.Min(n, RescoreCount(k));
        int lines = (g.Dim * sizeof(float) + 63) / 64;
        for (int i = 0; i < n; i++)
        {
            int id = s.SortedIds[i];
            if (i + 1 < n)
            {
                byte* next = (byte*)(g.V + (long)s.SortedIds[i + 1] * g.Dim);
                for (int l = 0; l < lines; l++) VectorMath.Prefetch(next + l * 64);
            }
            res.Push(VectorMath.Dot(q, g.V + (long)id * g.Dim, g.Dim), id);
            if (res.Count > k) res.Pop();
        }
    }

    private interface INodeCheck
    {
        bool Filtering { get; }
        bool Allowed(int node);
    }

    private readonly struct AllowAll : INodeCheck
    {
        public bool Filtering => false;
        public bool Allowed(int node) => true;
    }

    private readonly struct LiveCheck : INodeCheck
    {
        private readonly byte[] _deleted;
        private readonly NodeFilter? _filter;
        public LiveCheck(byte[] deleted, NodeFilter? filter) { _deleted = deleted; _filter = filter; }
        public bool Filtering => true;
        public bool Allowed(int node) => _deleted[node] == 0 && (_filter is null || _filter(node));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Pack(int level, int node) => ((long)level << 32) | (uint)node;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int* LinksOf(in Graph g, int node, int level) =>
        level == 0 ? g.L0 + (long)node * _stride0 : g.Up + _upperOffsets[node] + (level - 1) * _strideUp;

    private void Lock(int node)
    {
        ref int word = ref _locks[(node & (LockStripes - 1)) << 4];
        if (Interlocked.CompareExchange(ref word, 1, 0) == 0) return;
        var spin = new SpinWait();
        while (Interlocked.CompareExchange(ref word, 1, 0) != 0) spin.SpinOnce(sleep1Threshold: -1);
    }

    private void Unlock(int node) => Volatile.Write(ref _locks[(node & (LockStripes - 1)) << 4], 0);

    private void InsertNode(ref Graph g, int node, SearchScratch s)
    {
        int level = _levels[node];
        long entry = Volatile.Read(ref _entry);
        bool gate = false;
        if ((int)entry < 0 || level > (int)(entry >> 32))
        {
            Monitor.Enter(_entryGate);
            gate = true;
            entry = Volatile.Read(ref _entry);
            if ((int)entry >= 0 && level <= (int)(entry >> 32))
            {
                Monitor.Exit(_entryGate);
                gate = false;
            }
        }
        try
        {
            int ep = (int)entry;
            int maxLevel = (int)(entry >> 32);
            if (ep < 0)
            {
                Volatile.Write(ref _entry, Pack(level, node));
                return;
            }
            float* q = g.V + (long)node * g.Dim;
            int cur = ep;
            float curScore = VectorMath.Dot(q, g.V + (long)cur * g.Dim, g.Dim);
            for (int l = maxLevel; l > level; l--) Greedy(in g, q, ref cur, ref curScore, l);
            // Search every layer first and only then publish: the node's own lists are complete before any other
            // node links to it, so a concurrent insertion can never enter it half-built or have its link overwritten.
            int top = Math.Min(level, maxLevel);
            int pendStride = _m + 1;
            s.EnsurePendingCapacity((top + 1) * pendStride);
            s.EnsureSelectedCapacity(_m0 + 1);
            for (int l = top; l >= 0; l--)
            {
                SearchLayer(in g, new FloatScorer(q, in g), cur, curScore, l, Parameters.EfConstruction, s, default(AllowAll));
                int n = s.Results.Count;
                s.EnsureSortCapacity(n);
                s.Results.DrainBestFirst(s.SortedScores, s.SortedIds);
                int selected = SelectHeuristic(in g, s.SortedScores, s.SortedIds, n, _m, s.SelectedScores, s.SelectedIds);
                s.Pending[l * pendStride] = selected;
                Array.Copy(s.SelectedIds, 0, s.Pending, l * pendStride + 1, selected);
                if (n > 0)
                {
                    cur = s.SortedIds[0];
                    curScore = s.SortedScores[0];
                }
            }
            for (int l = top; l >= 0; l--)
            {
                int selected = s.Pending[l * pendStride];
                int* own = LinksOf(in g, node, l);
                Lock(node);
                for (int j = 0; j < selected; j++) own[1 + j] = s.Pending[l * pendStride + 1 + j];
                Volatile.Write(ref own[0], selected);
                Unlock(node);
            }
            for (int l = top; l >= 0; l--)
            {
                int selected = s.Pending[l * pendStride];
                for (int j = 0; j < selected; j++) Connect(in g, s.Pending[l * pendStride + 1 + j], node, q, l, s);
            }
            if (level > maxLevel) Volatile.Write(ref _entry, Pack(level, node));
        }
        finally
        {
            if (gate) Monitor.Exit(_entryGate);
        }
    }

    /// <summary>Adds <paramref name="node"/> to <paramref name="target"/>'s list, pruning with the heuristic when full.</summary>
    private void Connect(in Graph g, int target, int node, float* q, int level, SearchScratch s)
    {
        int maxM = level == 0 ? _m0 : _m;
        int* links = LinksOf(in g, target, level);
        float* vt = g.V + (long)target * g.Dim;
        Lock(target);
        try
        {
            int cnt = Math.Min(links[0], maxM);
            for (int j = 1; j <= cnt; j++) if (links[j] == node) return;
            if (cnt < maxM)
            {
                links[1 + cnt] = node;
                Volatile.Write(ref links[0], cnt + 1);
                return;
            }
            // Full: keep the best-diversified maxM of the current neighbours plus the new node.
            var scores = s.ConnectScores;
            var ids = s.ConnectIds;
            for (int j = 0; j < cnt; j++)
            {
                int nb = links[1 + j];
                ids[j] = nb;
                scores[j] = VectorMath.Dot(vt, g.V + (long)nb * g.Dim, g.Dim);
            }
            ids[cnt] = node;
            scores[cnt] = VectorMath.Dot(vt, q, g.Dim);
            SortDescending(scores, ids, cnt + 1);
            int kept = SelectHeuristic(in g, scores, ids, cnt + 1, maxM, s.ConnectSelScores, s.ConnectSelIds);
            for (int j = 0; j < kept; j++) links[1 + j] = s.ConnectSelIds[j];
            Volatile.Write(ref links[0], kept);
        }
        finally { Unlock(target); }
    }

    private static void SortDescending(float[] scores, int[] ids, int n)
    {
        for (int i = 1; i < n; i++)
        {
            float sc = scores[i];
            int id = ids[i];
            int j = i - 1;
            while (j >= 0 && (scores[j] < sc || (scores[j] == sc && ids[j] > id)))
            {
                scores[j + 1] = scores[j];
                ids[j + 1] = ids[j];
                j--;
            }
            scores[j + 1] = sc;
            ids[j + 1] = id;
        }
    }

    /// <summary>
    /// The neighbour heuristic (HNSW paper, algorithm 4): walking the candidates best first, keep one only if it is
    /// closer to the base than to every one kept so far. Candidates must be sorted best first.
    /// </summary>
    private static int SelectHeuristic(in Graph g, float[] scores, int[] ids, int n, int m, float[] outScores, int[] outIds)
    {
        if (n <= m)
        {
            Array.Copy(scores, outScores, n);
            Array.Copy(ids, outIds, n);
            return n;
        }
        int selected = 0;
        for (int i = 0; i < n && selected < m; i++)
        {
            float* ve = g.V + (long)ids[i] * g.Dim;
            float se = scores[i];
            bool good = true;
            for (int j = 0; j < selected; j++)
            {
                if (VectorMath.Dot(ve, g.V + (long)outIds[j] * g.Dim, g.Dim) > se) { good = false; break; }
            }
            if (good)
            {
                outScores[selected] = se;
                outIds[selected] = ids[i];
                selected++;
            }
        }
        return selected;
    }

    private void Greedy(in Graph g, float* q, ref int cur, ref float curScore, int level)
    {
        bool changed = true;
        while (changed)
        {
            changed = false;
            int* links = LinksOf(in g, cur, level);
            int cnt = Math.Min(Volatile.Read(ref links[0]), _m);
            for (int j = 1; j <= cnt; j++)
            {
                int nb = links[j];
                float sc = VectorMath.Dot(q, g.V + (long)nb * g.Dim, g.Dim);
                if (sc > curScore)
                {
                    curScore = sc;
                    cur = nb;
                    changed = true;
                }
            }
        }
    }

    /// <summary>The query's layer-0 search: unchecked where nothing is filtered or deleted, else with the live check.</summary>
    private void SearchLayer0<TScorer>(in Graph g, TScorer scorer, int ep, float epScore, int ef, SearchScratch s, NodeFilter? allow)
        where TScorer : struct, IScorer
    {
        if (allow is null && _deletedCount == 0) SearchLayer(in g, scorer, ep, epScore, 0, ef, s, default(AllowAll));
        else SearchLayer(in g, scorer, ep, epScore, 0, ef, s, new LiveCheck(_deleted, allow));
    }

    /// <summary>Best-first search of one layer with a dynamic list of <paramref name="ef"/>; the results are left in s.Results.</summary>
    private void SearchLayer<TCheck, TScorer>(in Graph g, TScorer scorer, int ep, float epScore, int level, int ef, SearchScratch s, TCheck check)
        where TCheck : struct, INodeCheck
        where TScorer : struct, IScorer
    {
        int[] visited = s.BeginVisit(_count, out int mark);
        var cand = s.Candidates;
        var res = s.Results;
        cand.Clear();
        res.Clear();
        visited[ep] = mark;
        float lower = float.NegativeInfinity;
        if (check.Allowed(ep))
        {
            res.Push(epScore, ep);
            lower = epScore;
        }
        cand.Push(epScore, ep);
        int maxCnt = level == 0 ? _m0 : _m;
        fixed (int* vis = visited)
        {
            while (cand.Count > 0)
            {
                float cs = cand.TopScore;
                if (cs < lower && (!check.Filtering || res.Count >= ef)) break;
                int c = cand.TopId;
                cand.Pop();
                int* links = LinksOf(in g, c, level);
                int cnt = Volatile.Read(ref links[0]);
                if (cnt > maxCnt) cnt = maxCnt;
                for (int j = 1; j <= cnt; j++)
                {
                    int nb = links[j];
                    if (vis[nb] != mark) scorer.Prefetch(nb);
                }
                for (int j = 1; j <= cnt; j++)
                {
                    int nb = links[j];
                    if (vis[nb] == mark) continue;
                    vis[nb] = mark;
                    if (j < cnt) scorer.PrefetchNext(links[j + 1]);
                    float sc = scorer.Score(nb);
                    if (res.Count < ef || sc > lower)
                    {
                        cand.Push(sc, nb);
                        if (check.Allowed(nb))
                        {
                            res.Push(sc, nb);
                            if (res.Count > ef) res.Pop();
                            lower = res.TopScore;
                        }
                    }
                }
            }
        }
    }

    public override Neighbor[] Search(ReadOnlySpan<float> query, int k, NodeFilter? allow = null, int ef = 0)
    {
        ValidateK(k);
        Span<Neighbor> buffer = k <= 256 ? stackalloc Neighbor[k] : new Neighbor[k];
        int n = Search(query, k, buffer, allow, ef);
        return buffer[..n].ToArray();
    }

    /// <summary>
    /// The k best live nodes into <paramref name="destination"/>, best first; returns how many were found (fewer
    /// than k only when the filter or the tombstones leave fewer reachable nodes).
    /// </summary>
    public int Search(ReadOnlySpan<float> query, int k, Span<Neighbor> destination, NodeFilter? allow = null, int ef = 0)
    {
        CheckQuery(query);
        ValidateK(k);
        if (destination.Length < k) throw new ArgumentException("The destination is shorter than k.", nameof(destination));
        long entry = Volatile.Read(ref _entry);
        int ep = (int)entry;
        if (ep < 0 || LiveCount == 0) return 0;
        int maxLevel = (int)(entry >> 32);
        int efUse = Math.Max(ef > 0 ? ef : Parameters.EfSearch, k);
        var s = SearchScratch.ForThisThread();
        fixed (float* v = _vectors.Span)
        fixed (int* l0 = _links0)
        fixed (int* up = _upperLinks)
        fixed (float* q = query)
        {
            var g = new Graph(this, v, l0, up);
            int cur = ep;
            float curScore = VectorMath.Dot(q, v + (long)cur * g.Dim, g.Dim);
            for (int l = maxLevel; l > 0; l--) Greedy(in g, q, ref cur, ref curScore, l);
            var rows = QuantisedRowsForWalk();
            byte* qb = stackalloc byte[rows?.DimPad ?? 0];
            if (rows is not null && QuantisedRows.Quantise(q, g.Dim, rows.DimPad, qb, shifted: false, out float qScale, out int qSum))
            {
                fixed (byte* rb = rows.Bytes.Span)
                fixed (float* rs = rows.Scale)
                {
                    var scorer = new Int8Scorer((sbyte*)qb, qScale, 128 * qSum, rb, rs, rows.DimPad);
                    SearchLayer0(in g, scorer, cur, scorer.Score(cur), efUse, s, allow);
                }
                Rescore(in g, q, s, k);
            }
            else
                SearchLayer0(in g, new FloatScorer(q, in g), cur, curScore, efUse, s, allow);
        }
        // The rows may be a mapped file section, which stays mapped while this index is reachable: keep it so to here.
        GC.KeepAlive(this);
        int found = s.Results.Count;
        s.EnsureSortCapacity(found);
        s.Results.DrainBestFirst(s.SortedScores, s.SortedIds);
        int take = Math.Min(found, k);
        for (int i = 0; i < take; i++) destination[i] = new Neighbor(s.SortedIds[i], s.SortedScores[i]);
        return take;
    }

    /// <summary>The layer-0 neighbours of a node (for tests and diagnostics).</summary>
    public int[] NeighborsOf(int node, int level = 0)
    {
        if ((uint)node >= (uint)_count) throw new ArgumentOutOfRangeException(nameof(node));
        if (level < 0 || level > _levels[node]) throw new ArgumentOutOfRangeException(nameof(level));
        int start = level == 0 ? node * _stride0 : _upperOffsets[node] + (level - 1) * _strideUp;
        int[] list = level == 0 ? _links0 : _upperLinks;
        return list.AsSpan(start + 1, list[start]).ToArray();
    }

    public int LevelOf(int node) => _levels[node];
}
