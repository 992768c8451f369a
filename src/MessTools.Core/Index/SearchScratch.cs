using System.Runtime.CompilerServices;

namespace MessTools.Core.Index;

/// <summary>
/// A binary heap of (score, node) pairs in two flat arrays. <c>maxFirst</c>: the top is the highest score
/// (the candidate queue); otherwise the lowest (the result set, whose top is the worst kept result).
/// Ties: a max-heap prefers the lower node, a min-heap puts the higher node on top (first to be dropped).
/// </summary>
internal sealed class ScoreHeap
{
    private float[] _scores;
    private int[] _ids;
    private readonly bool _maxFirst;

    public ScoreHeap(bool maxFirst, int capacity = 64)
    {
        _maxFirst = maxFirst;
        _scores = new float[capacity];
        _ids = new int[capacity];
    }

    public int Count { get; private set; }
    public float TopScore => _scores[0];
    public int TopId => _ids[0];

    public void Clear() => Count = 0;

    /// <summary>True when (sa, ia) belongs above (sb, ib).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Above(float sa, int ia, float sb, int ib) =>
        _maxFirst ? (sa > sb || (sa == sb && ia < ib)) : (sa < sb || (sa == sb && ia > ib));

    public void Push(float score, int id)
    {
        if (Count == _scores.Length)
        {
            Array.Resize(ref _scores, Count * 2);
            Array.Resize(ref _ids, Count * 2);
        }
        int i = Count++;
        var scores = _scores;
        var ids = _ids;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Above(score, id, scores[parent], ids[parent])) break;
            scores[i] = scores[parent];
            ids[i] = ids[parent];
            i = parent;
        }
        scores[i] = score;
        ids[i] = id;
    }

    public void Pop()
    {
        int n = --Count;
        if (n == 0) return;
        float score = _scores[n];
        int id = _ids[n];
        var scores = _scores;
        var ids = _ids;
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && Above(scores[child + 1], ids[child + 1], scores[child], ids[child])) child++;
            if (!Above(scores[child], ids[child], score, id)) break;
            scores[i] = scores[child];
            ids[i] = ids[child];
            i = child;
        }
        scores[i] = score;
        ids[i] = id;
    }

    /// <summary>Empties the heap into <paramref name="scores"/>/<paramref name="ids"/>, best (highest score) first; returns the count.</summary>
    public int DrainBestFirst(float[] scores, int[] ids)
    {
        int n = Count;
        if (_maxFirst)
        {
            for (int i = 0; i < n; i++) { scores[i] = TopScore; ids[i] = TopId; Pop(); }
        }
        else
        {
            for (int i = n - 1; i >= 0; i--) { scores[i] = TopScore; ids[i] = TopId; Pop(); }
        }
        return n;
    }
}

/// <summary>
/// What one search needs, reused across searches of the same thread: a visited list with a generation
/// counter (no clearing, no HashSet), the two heaps and buffers for neighbour selection.
/// </summary>
internal sealed class SearchScratch
{
    private int[] _visited = Array.Empty<int>();
    private int _generation;

    public readonly ScoreHeap Candidates = new(maxFirst: true, 256);
    public readonly ScoreHeap Results = new(maxFirst: false, 256);
    public float[] SortedScores = new float[256];
    public int[] SortedIds = new int[256];
    public float[] SelectedScores = new float[128];
    public int[] SelectedIds = new int[128];
    public float[] ConnectScores = new float[128];
    public int[] ConnectIds = new int[128];
    public float[] ConnectSelScores = new float[128];
    public int[] ConnectSelIds = new int[128];
    /// <summary>Per-layer neighbour choices of the node being inserted, published after all layers are searched.</summary>
    public int[] Pending = new int[256];

    public void EnsurePendingCapacity(int n)
    {
        if (Pending.Length < n) Pending = new int[n];
    }

    [ThreadStatic] private static SearchScratch? _current;

    public static SearchScratch ForThisThread() => _current ??= new SearchScratch();

    /// <summary>Starts a new visit over <paramref name="nodes"/> nodes; returns the mark for this visit.</summary>
    public int[] BeginVisit(int nodes, out int mark)
    {
        if (_visited.Length < nodes)
        {
            _visited = new int[Math.Max(nodes, _visited.Length + _visited.Length / 2)];
            _generation = 0;
        }
        if (_generation == int.MaxValue)
        {
            Array.Clear(_visited);
            _generation = 0;
        }
        mark = ++_generation;
        return _visited;
    }

    public void EnsureSortCapacity(int n)
    {
        if (SortedScores.Length < n)
        {
            SortedScores = new float[n];
            SortedIds = new int[n];
        }
    }

    public void EnsureSelectedCapacity(int n)
    {
        if (SelectedScores.Length < n)
        {
            SelectedScores = new float[n];
            SelectedIds = new int[n];
        }
        if (ConnectScores.Length < n)
        {
            ConnectScores = new float[n];
            ConnectIds = new int[n];
            ConnectSelScores = new float[n];
            ConnectSelIds = new int[n];
        }
    }
}
