using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MessTools.Core.Common;

namespace MessTools.Core.Search;

// The execution paths of one call: packed blocks (queries x row ranges), the symmetric all-pairs pass,
// and the in-place path for a few queries; their merges; the per-thread workspace.
public static unsafe partial class ExactSearch
{
    private sealed partial class Job
    {
        /// <summary>Scores of the packed query block (mqPad rows) against database rows jc..jc+nc-1 into c (row stride NC).</summary>
        private void ComputeTile(float* a, float* pb, int mqPad, int jc, int nc, float* c)
        {
            int ldc = _nc;
            int ncPanels = (nc + _nr - 1) / _nr;
            for (int pc = 0; pc < _dim; pc += _kc)
            {
                int kc = Math.Min(_kc, _dim - pc);
                bool accumulate = pc > 0;
                for (int jp = 0; jp < ncPanels; jp++)
                {
                    float* bPanel = pb + (nint)((jc / _nr) + jp) * _dim * _nr + (nint)pc * _nr;
                    float* cCol = c + jp * _nr;
                    for (int ip = 0; ip < mqPad / _mr; ip++)
                    {
                        float* aPanel = a + (nint)ip * _dim * _mr + (nint)pc * _mr;
                        float* cTile = cCol + (nint)ip * _mr * ldc;
                        switch (_kernel)
                        {
                            case Kernel.Avx512: Kernel12x32(aPanel, bPanel, kc, cTile, ldc, accumulate); break;
                            case Kernel.Avx2: Kernel6x16(aPanel, bPanel, kc, cTile, ldc, accumulate); break;
                            default: KernelPortable(aPanel, bPanel, kc, cTile, ldc, accumulate); break;
                        }
                    }
                }
            }
        }

        public void Execute(Neighbor[][] results)
        {
            var ct = _options?.Cancellation ?? CancellationToken.None;
            if (UseInPlacePath)
            {
                ExecuteInPlace(results, ct);
                return;
            }
            int panels = (_count + _nr - 1) / _nr;
            // The packed database, shared read-only by all threads: [panel][dim][NR], zero rows after the last.
            float[] packedStore = LargeArray.Uninitialized<float>((long)panels * _nr * _dim + 16);
            var po = new ParallelOptions { MaxDegreeOfParallelism = _threads, CancellationToken = ct };
            fixed (float* vp = _vectors.Span)
            fixed (float* pb0 = packedStore)
            {
                float* pb = Align(pb0);
                nint vAddr = (nint)vp, bAddr = (nint)pb;
                int chunk = Math.Max(1, panels / (_threads * 8));
                Parallel.For(0, (panels + chunk - 1) / chunk, po, c =>
                {
                    for (int jp = c * chunk; jp < Math.Min(panels, (c + 1) * chunk); jp++)
                        PackPanel((float*)vAddr, _count, _dim, jp * _nr, _nr, (float*)bAddr + (nint)jp * _dim * _nr);
                });

                if (_symmetric)
                {
                    ExecuteSymmetric((float*)bAddr, results, po, ct);
                    return;
                }
                int items = _queryBlocks * _rowRanges;
                var partial = new Candidates[items];
                Parallel.For(0, items, po,
                    () => new Workspace(_mq, _dim, _nc),
                    (item, _, ws) =>
                    {
                        partial[item] = RunItem(item / _rowRanges, item % _rowRanges, (float*)bAddr, ws, ct);
                        return ws;
                    },
                    _ => { });

                for (int qb = 0; qb < _queryBlocks; qb++)
                {
                    int q0 = qb * _mq, mq = Math.Min(_mq, _queryCount - q0);
                    for (int qi = 0; qi < mq; qi++)
                        results[q0 + qi] = Merge(partial, qb * _rowRanges, _rowRanges, qi);
                }
            }
            GC.KeepAlive(packedStore);
        }

        /// <summary>
        /// A few queries: packing the whole database would cost more than the products, so rows are read in place,
        /// 8 at a time, transposed in registers (lane r = row r), giving the same sequential-FMA scores.
        /// </summary>
        private bool UseInPlacePath => !_symmetric && _queryCount < _mr && _kernel is Kernel.Avx512 or Kernel.Avx2 && Avx.IsSupported && Fma.IsSupported;

        private void ExecuteInPlace(Neighbor[][] results, CancellationToken ct)
        {
            const int group = 8;
            int chunks = Math.Max(1, Math.Min(_threads * 4, _count / (4 * group)));
            int chunkRows = RoundUp((_count + chunks - 1) / chunks, group);
            chunks = (_count + chunkRows - 1) / chunkRows;
            var partial = new Candidates[chunks];
            var po = new ParallelOptions { MaxDegreeOfParallelism = _threads, CancellationToken = ct };
            Parallel.For(0, chunks, po, () => GC.AllocateArray<float>(_queryCount * _nc + 16, pinned: true), (chunk, _, buffer) =>
            {
                var heaps = new Candidates(_queryCount, _k);
                int start = chunk * chunkRows, end = Math.Min(_count, start + chunkRows);
                fixed (float* v = _vectors.Span)
                fixed (float* q = _queries)
                fixed (float* c = buffer)
                {
                    for (int rb = start; rb < end; rb += _nc)
                    {
                        ct.ThrowIfCancellationRequested();
                        int nc = Math.Min(_nc, end - rb);
                        int full = nc / group * group;
                        for (int r = 0; r < full; r += group)
                        {
                            float* rows = v + (nint)(rb + r) * _dim;
                            int j = 0;
                            for (; j + 4 <= _queryCount; j += 4) RowDots4(rows, _dim, q + (nint)j * _dim, c + (nint)j * _nc + r, _nc);
                            for (; j < _queryCount; j++) RowDots1(rows, _dim, q + (nint)j * _dim, c + (nint)j * _nc + r);
                        }
                        for (int r = full; r < nc; r++)
                            for (int j = 0; j < _queryCount; j++)
                                c[(nint)j * _nc + r] = Dot(new ReadOnlySpan<float>(q + (nint)j * _dim, _dim), new ReadOnlySpan<float>(v + (nint)(rb + r) * _dim, _dim));
                        for (int j = 0; j < _queryCount; j++)
                            heaps.Scan(j, j, c + (nint)j * _nc, nc, rb, _selfExclude, _allow);
                        if (_options?.Progress is { } progress)
                            progress((double)Interlocked.Add(ref _done, (long)_queryCount * nc) / _total);
                    }
                }
                partial[chunk] = heaps;
                return buffer;
            }, _ => { });
            for (int j = 0; j < _queryCount; j++)
                results[j] = MergeRange(partial, j);
        }

        private Neighbor[] MergeRange(Candidates[] parts, int h)
        {
            int total = 0;
            foreach (var p in parts) total += p.Count[h];
            var all = new Neighbor[total];
            int at = 0;
            foreach (var p in parts)
                for (int i = 0; i < p.Count[h]; i++) all[at++] = new Neighbor(p.Ids[h * _k + i], p.Scores[h * _k + i]);
            Array.Sort(all, NeighborOrder.Instance);
            return all.Length > _k ? all[.._k] : all;
        }

        /// <summary>
        /// All pairs, each scored once: block I of rows against rows from the start of block I to the end. Inside the
        /// diagonal block every row offers to every other; beyond it each score is offered to the row's heap and,
        /// transposed, to the column's heap. Every thread keeps heaps for all rows; they are merged at the end.
        /// Blocks are taken largest first from a shared counter, so the uneven items balance out.
        /// </summary>
        private void ExecuteSymmetric(float* pb, Neighbor[][] results, ParallelOptions po, CancellationToken ct)
        {
            int next = -1;
            var sets = new System.Collections.Concurrent.ConcurrentBag<Candidates>();
            nint bAddr = (nint)pb;
            int workers = Math.Max(1, Math.Min(_threads, _queryBlocks));
            Parallel.For(0, workers, po, _ =>
            {
                var heaps = new Candidates(_count, _k);
                sets.Add(heaps);
                var ws = new Workspace(_mq, _dim, _nc);
                int item;
                while ((item = Interlocked.Increment(ref next)) < _queryBlocks)
                    RunSymmetricItem(item, (float*)bAddr, ws, heaps, ct);
            });
            var all = sets.ToArray();
            Parallel.For(0, _count, po, q =>
            {
                int total = 0;
                foreach (var h in all) total += h.Count[q];
                var list = new Neighbor[total];
                int at = 0;
                foreach (var h in all)
                    for (int i = 0; i < h.Count[q]; i++) list[at++] = new Neighbor(h.Ids[q * _k + i], h.Scores[q * _k + i]);
                Array.Sort(list, NeighborOrder.Instance);
                results[q] = list.Length > _k ? list[.._k] : list;
            });
        }

        private void RunSymmetricItem(int block, float* pb, Workspace ws, Candidates heaps, CancellationToken ct)
        {
            int q0 = block * _mq, mq = Math.Min(_mq, _count - q0), diagEnd = q0 + mq;
            int mqPad = RoundUp(mq, _mr);
            float* a = ws.A, c = ws.C;
            fixed (float* vp = _vectors.Span)
            {
                for (int ip = 0; ip < mqPad / _mr; ip++)
                    PackPanel(vp, _count, _dim, q0 + ip * _mr, _mr, a + (nint)ip * _dim * _mr);
            }
            for (int jc = q0; jc < _count; jc += _nc)
            {
                ct.ThrowIfCancellationRequested();
                int nc = Math.Min(_nc, _count - jc);
                ComputeTile(a, pb, mqPad, jc, nc, c);
                int offDiag = Math.Clamp(diagEnd - jc, 0, nc); // first column beyond the diagonal block
                for (int qi = 0; qi < mq; qi++)
                {
                    int q = q0 + qi;
                    float* row = c + (nint)qi * _nc;
                    heaps.Scan(q, q, row, nc, jc, true, _allow);
                    if (offDiag < nc) heaps.ScanColumns(q, row + offDiag, nc - offDiag, jc + offDiag, _allow);
                }
                if (_options?.Progress is { } progress)
                    progress((double)Interlocked.Add(ref _done, (long)mq * nc) / _total);
            }
        }

        private Neighbor[] Merge(Candidates[] partial, int first, int n, int qi)
        {
            int total = 0;
            for (int r = 0; r < n; r++) total += partial[first + r].Count[qi];
            var all = new Neighbor[total];
            int at = 0;
            for (int r = 0; r < n; r++)
            {
                var c = partial[first + r];
                int m = c.Count[qi];
                for (int i = 0; i < m; i++) all[at++] = new Neighbor(c.Ids[qi * _k + i], c.Scores[qi * _k + i]);
            }
            Array.Sort(all, NeighborOrder.Instance);
            return all.Length > _k ? all[.._k] : all;
        }

        /// <summary>One query block against one range of database rows.</summary>
        private Candidates RunItem(int qb, int range, float* pb, Workspace ws, CancellationToken ct)
        {
            int q0 = qb * _mq, mq = Math.Min(_mq, _queryCount - q0);
            int mqPad = RoundUp(mq, _mr);
            int rowStart = range * _rangeRows, rowEnd = Math.Min(_count, rowStart + _rangeRows);
            var heaps = new Candidates(mq, _k);
            float* a = ws.A, c = ws.C;
            int ldc = _nc;
            fixed (float* qp = _queries)
            {
                for (int ip = 0; ip < mqPad / _mr; ip++)
                    PackPanel(qp, _queryCount, _dim, q0 + ip * _mr, _mr, a + (nint)ip * _dim * _mr);
            }
            for (int jc = rowStart; jc < rowEnd; jc += _nc)
            {
                ct.ThrowIfCancellationRequested();
                int nc = Math.Min(_nc, rowEnd - jc);
                ComputeTile(a, pb, mqPad, jc, nc, c);
                for (int qi = 0; qi < mq; qi++)
                    heaps.Scan(qi, q0 + qi, c + (nint)qi * ldc, nc, jc, _selfExclude, _allow);
                if (_options?.Progress is { } progress)
                    progress((double)Interlocked.Add(ref _done, (long)mq * nc) / _total);
            }
            return heaps;
        }
    }

    /// <summary>Per-thread buffers: packed query block and a block of scores, 64-byte aligned.</summary>
    private sealed class Workspace
    {
        private readonly float[] _a, _c;
        public readonly float* A, C;

        public Workspace(int mq, int dim, int nc)
        {
            _a = GC.AllocateUninitializedArray<float>(checked(mq * dim + 16), pinned: true);
            _c = GC.AllocateArray<float>(checked(mq * nc + 16), pinned: true);
            A = Align((float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_a)));
            C = Align((float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_c)));
        }
    }
}
