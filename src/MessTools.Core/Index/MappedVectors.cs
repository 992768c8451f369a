using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace MessTools.Core.Index;

/// <summary>
/// A section of an index file (the float rows; the int8 rows of the walk), memory-mapped read-only and searched in
/// place: the rows are held once, by the
/// operating system's page cache, instead of once there and again in a managed copy. Pages are read on first touch and,
/// being clean file pages, can be dropped and re-read under memory pressure. Alive as long as any
/// <see cref="Memory{T}"/> over it (the index, its exact view, a running search's pin) is: the mapping is released by
/// its handle's finalizer after that, or by <see cref="Dispose(bool)"/>.
/// <para>The file must not be overwritten in place while mapped (truncating it under a reader faults the reader);
/// MessTools never does: every index write is a new file renamed over the old one (<see cref="Artifacts.AtomicFile"/>),
/// and the old inode stays mapped until released. On Windows a mapped file cannot be replaced at all, so
/// <see cref="IndexFile.Load(string)"/> maps only where rename-over-a-mapped-file works (Linux, macOS).</para>
/// </summary>
internal sealed unsafe class MappedVectors<T> : MemoryManager<T> where T : unmanaged
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly T* _start;
    private readonly int _length;

    private MappedVectors(MemoryMappedFile file, MemoryMappedViewAccessor view, T* start, int length)
    {
        _file = file;
        _view = view;
        _start = start;
        _length = length;
    }

    /// <summary>Maps <paramref name="elements"/> values at byte <paramref name="offset"/> of the open <paramref name="stream"/>'s file.</summary>
    public static MappedVectors<T> Open(FileStream stream, long offset, int elements)
    {
        var file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        try
        {
            var view = file.CreateViewAccessor(offset, (long)sizeof(T) * elements, MemoryMappedFileAccess.Read);
            // The view's base address without taking a reference on its handle (AcquirePointer would keep the mapping
            // alive forever unless released): the handle stays alive through _view, and this object through every Memory.
            byte* b = (byte*)view.SafeMemoryMappedViewHandle.DangerousGetHandle() + view.PointerOffset;
            return new MappedVectors<T>(file, view, (T*)b, elements);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public override Span<T> GetSpan() => new(_start, _length);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
        // The handle holds this manager (and so the mapping) until it is disposed.
        return new MemoryHandle(_start + elementIndex, default, this);
    }

    public override void Unpin() { }

    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        _view.Dispose();
        _file.Dispose();
    }
}
