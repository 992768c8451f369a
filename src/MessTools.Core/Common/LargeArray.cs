using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MessTools.Core.Common;

/// <summary>
/// Large arrays (tens of megabytes: embedding matrices, index sections) whose memory Linux may back with 2 MiB pages.
/// <para>Fresh memory costs one page fault per 4 KiB page on first touch. On the virtual machines this was measured on
/// a fault cost about 13 µs, so a new 100 MB matrix spent 0.33 s in faults before any work, and random reads across it
/// (a graph walk) missed the TLB on most rows. Where transparent huge pages are offered on request
/// (<c>/sys/kernel/mm/transparent_hugepage/enabled</c> = madvise, the common default) the array's whole 2 MiB blocks
/// are advised with <c>madvise(MADV_HUGEPAGE)</c> before anything touches them: 100 MB then faults in about 10 ms.</para>
/// <para>The arrays are pinned (the pinned object heap: the collector never moves them, so the advice stays with the
/// memory). Elsewhere (Windows, macOS, THP off) this is a plain uninitialised array.</para>
/// </summary>
public static partial class LargeArray
{
    /// <summary>Below this many bytes an array gets no advice (it spans too few whole 2 MiB blocks to matter).</summary>
    public const long AdviceThreshold = 8L << 20;
    private const long HugePage = 2L << 20;
    private const int MadvHugePage = 14;
    private static readonly bool Offered = ProbeOffered();

    /// <summary>A new array of <paramref name="length"/> elements with undefined contents (every element must be written).</summary>
    public static T[] Uninitialized<T>(long length) where T : unmanaged
    {
        int n = checked((int)length);
        if (!Advised<T>(n)) return GC.AllocateUninitializedArray<T>(n);
        var array = GC.AllocateUninitializedArray<T>(n, pinned: true);
        Advise(ref Unsafe.As<T, byte>(ref MemoryMarshal.GetArrayDataReference(array)), (long)n * Unsafe.SizeOf<T>());
        return array;
    }

    /// <summary>A new zeroed array of <paramref name="length"/> elements.</summary>
    public static T[] Zeroed<T>(long length) where T : unmanaged
    {
        int n = checked((int)length);
        // Unadvised, the collector's own zeroed array (fresh pages from the system need no clearing); advised, the
        // pages must be advised before anything touches them, so the array is cleared after the advice.
        if (!Advised<T>(n)) return new T[n];
        var array = Uninitialized<T>(n);
        array.AsSpan().Clear();
        return array;
    }

    private static bool Advised<T>(int n) where T : unmanaged => Offered && (long)n * Unsafe.SizeOf<T>() >= AdviceThreshold;

    private static unsafe void Advise(ref byte start, long bytes)
    {
        long first = ((long)Unsafe.AsPointer(ref start) + HugePage - 1) & ~(HugePage - 1);
        long end = ((long)Unsafe.AsPointer(ref start) + bytes) & ~(HugePage - 1);
        if (end <= first) return;
        // Advice only: a refusal (an old kernel, a container's seccomp policy) leaves ordinary pages.
        _ = Madvise((nint)first, (nuint)(end - first), MadvHugePage);
    }

    private static bool ProbeOffered()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            string mode = File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled");
            return mode.Contains("[madvise]", StringComparison.Ordinal) || mode.Contains("[always]", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return false; }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
