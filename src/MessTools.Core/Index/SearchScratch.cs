using System.Runtime.CompilerServices;

namespace MessTools.Core.Index;

/// <summary>
/// A binary heap of (score, node) pairs, each packed into one 64-bit key whose integer order is the heap's order, so a
/// step of the heap is one load and one compare (the search and the build spent an eighth of their time here with two
/// arrays and a comparer that branched on the heap's direction). <c>maxFirst</c>: the top is the highest score (the
/// candidate queue); otherwise the lowest (the result set, whose top is the worst kept result). Ties: a max-heap
/// prefers the lower node, a min-heap puts the higher node on top (first to be dropped).
/// <para>Key: the score's bits mapped to a signed integer in the order of the floats (high half; -0 is stored as +0)
/// and int.MaxValue - node (low half, unsigned: lower nodes rank higher among equal scores). A min-heap stores the
/// complement of each key, so both directions keep the larger stored key on top. Scores are never NaN here (dot
/// products of finite rows).</para>
/// </summary>
internal sealed class ScoreHeap
{
    private long[] _keys;
    private readonly long _flip;

    public ScoreHeap(bool maxFirst, int capacity = 64)
    {
        _flip = maxFirst ? 0 : -1;
        _keys = new long[capacity];
    }

    public int Count { get; private set; }

    public float TopScore
    {
        get
        {
            int b = (int)((_keys[0] ^ _flip) >> 32);
            return BitConverter.Int32BitsToSingle(b ^ ((b >> 31) & 0x7FFFFFFF));
        }
    }

    public int TopId => unchecked(int.MaxValue - (int)(uint)(_keys[0] ^ _flip));

    public void Clear() => Count = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Key(float score, int id)
    {
        int b = BitConverter.SingleToInt32Bits(score + 0f); // -0 + 0 = +0: the two zeros tie, as floats compare
        b ^= (b >> 31) & 0x7FFFFFFF;
        return ((long)b << 32) | (uint)unchecked(int.MaxValue - id);
    }

    public void Push(float score, int id)
    {
        if (Count == _keys.Length) Array.Resize(ref _keys, Count * 2);
        long key = Key(score, id) ^ _flip;
        var keys = _keys;
        int i = Count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            long above = keys[parent];
            if (key <= above) break;
            keys[i] = above;
            i = parent;
        }
        keys[i] = key;
    }

    public void Pop()
    {
        int n = --Count;
        if (n == 0) return;
        var keys = _keys;
        long key = keys[n];
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n) break;
            long best = keys[child];
            if (child + 1 < n && keys[child + 1] > best) best = keys[++child];
            if (best <= key) break;
            keys[i] = best;
            i = child;
        }
        keys[i] = key;
    }

    /// <summary>Empties the heap into <paramref name="scores"/>/<paramref name="ids"/>, best (highest score) first; returns the count.</summary>
    public int DrainBestFirst(float[] scores, int[] ids)
    {
        int n = Count;
        if (_flip == 0)
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
