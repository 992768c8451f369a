using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MessTools.Core.Search;

// The block plan of one call: micro-kernel shape, query blocks, row ranges, the symmetric all-pairs plan.
public static unsafe partial class ExactSearch
{
    /// <summary>One call's data, block plan and shared packed database.</summary>
    private sealed partial class Job
    {
        private readonly ReadOnlyMemory<float> _vectors;
        private readonly float[] _queries;
        private readonly int _count, _dim, _queryCount, _k, _threads;
        private readonly PairFilter? _allow;
        private readonly bool _selfExclude;
        private readonly ExactSearchOptions? _options;
        private readonly Kernel _kernel;
        private readonly int _mr, _nr, _kc, _nc, _mq;
        private readonly int _queryBlocks;
        private readonly int _rowRanges, _rangeRows;
        private long _done;
        private readonly long _total;

        public Job(Kernel kernel, ReadOnlyMemory<float> vectors, int count, int dim, float[] queries, int queryCount, int k,
            PairFilter? allow, bool selfExclude, int maxThreads, ExactSearchOptions? options,
            int queryBlock, int dimBlock, int rowBlock)
        {
            _kernel = kernel;
            (_mr, _nr) = kernel switch
            {
                Kernel.Avx512 => (12, 32),
                Kernel.Avx2 => (6, 16),
                _ => (4, 2 * Vector<float>.Count),
            };
            _vectors = vectors; _count = count; _dim = dim; _queries = queries; _queryCount = queryCount; _k = k;
            _allow = allow; _selfExclude = selfExclude; _options = options;
            _threads = maxThreads > 0 ? maxThreads : Environment.ProcessorCount;
            _kc = dimBlock;
            _nc = Math.Max(_nr, RoundUp(rowBlock, _nr));
            // Query blocks: about QueryBlock queries each, a multiple of the thread count so no core idles at the end.
            int target = Math.Max(_mr, queryBlock);
            int blocks = (queryCount + target - 1) / target;
            if (blocks > 1 && blocks % _threads != 0) blocks += _threads - blocks % _threads;
            blocks = Math.Min(blocks, (queryCount + _mr - 1) / _mr);
            _mq = RoundUp((queryCount + blocks - 1) / blocks, _mr);
            _queryBlocks = (queryCount + _mq - 1) / _mq;
            // Too few query blocks to keep every thread busy: split the database rows too, and merge at the end.
            _rowRanges = _queryBlocks >= _threads ? 1 : Math.Min((_threads + _queryBlocks - 1) / _queryBlocks, Math.Max(1, count / _nr));
            _rangeRows = RoundUp((count + _rowRanges - 1) / _rowRanges, _nr);
            _rowRanges = (count + _rangeRows - 1) / _rangeRows;
            _total = (long)queryCount * count;
            // All pairs of one set: score each pair once (upper triangle of blocks) and offer it both ways.
            _symmetric = !NoSymmetricPass && selfExclude && queryCount == count
                && MemoryMarshal.TryGetArray(vectors, out var whole) && whole.Offset == 0 && ReferenceEquals(whole.Array, queries);
            if (_symmetric)
            {
                _mq = RoundUp(Math.Max(_mr, queryBlock), Lcm(_mr, _nr));
                _queryBlocks = (count + _mq - 1) / _mq;
                _total = 0;
                for (int b = 0; b < _queryBlocks; b++) _total += (long)Math.Min(_mq, count - b * _mq) * (count - b * _mq);
            }
        }

        private readonly bool _symmetric;

        private static int Lcm(int a, int b)
        {
            int x = a, y = b;
            while (y != 0) (x, y) = (y, x % y);
            return a / x * b;
        }

        private static int RoundUp(int x, int m) => (x + m - 1) / m * m;
    }
}
