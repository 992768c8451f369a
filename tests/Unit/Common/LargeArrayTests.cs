using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MessTools.Core.Common;

namespace MessTools.Tests.Unit.Common;

/// <summary>A fact about huge-page advice: skipped, with the reason shown, where Linux does not offer THP on request.</summary>
public sealed class HugePageFactAttribute : FactAttribute
{
    public HugePageFactAttribute() => Skip = LargeArrayTests.SkipReason;
}

public sealed class LargeArrayTests
{
    internal static string? SkipReason
    {
        get
        {
            if (!OperatingSystem.IsLinux()) return "transparent huge pages are a Linux feature";
            try
            {
                string mode = File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled");
                return mode.Contains("[madvise]", StringComparison.Ordinal) ? null : $"transparent huge pages are not offered on request here ({mode.Trim()})";
            }
            catch (IOException) { return "/sys/kernel/mm/transparent_hugepage/enabled cannot be read"; }
        }
    }

    [Fact]
    public void Arrays_have_the_length_asked_for_and_small_ones_stay_ordinary()
    {
        var small = LargeArray.Uninitialized<float>(1000);
        Assert.Equal(1000, small.Length);
        Assert.Equal(0, GC.GetGeneration(small)); // a new small array, not on the pinned heap
        var zeroed = LargeArray.Zeroed<int>(LargeArray.AdviceThreshold / 4 + 3);
        Assert.Equal(LargeArray.AdviceThreshold / 4 + 3, zeroed.Length);
        Assert.All(new[] { 0, zeroed.Length / 2, zeroed.Length - 1 }, i => Assert.Equal(0, zeroed[i]));
        Assert.Throws<OverflowException>(() => LargeArray.Uninitialized<byte>((long)int.MaxValue + 1));
    }

    /// <summary>The kernel's own account (/proc/self/smaps) of the mapping that holds a large array: huge pages allowed
    /// for it (THPeligible 1). The control is a fresh mapping of the same size from the C library, never advised: in a
    /// madvise-only system it gets none. (Not a second managed array: the collector reuses the address ranges of
    /// arrays other tests advised and freed, and the advice stays with the range.)</summary>
    [HugePageFact]
    public unsafe void A_large_array_is_advised_for_huge_pages_before_it_is_touched()
    {
        var advised = LargeArray.Uninitialized<byte>(32L << 20);
        long a = (long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(advised)) + (16L << 20);
        advised.AsSpan().Fill(1);
        Assert.Equal(1, ThpEligible(a));
        GC.KeepAlive(advised);

        // 48 MB: above glibc's largest mmap threshold (32 MB), so always a mapping of its own.
        nuint size = 48u << 20;
        byte* plain = (byte*)NativeMemory.Alloc(size);
        try
        {
            new Span<byte>(plain, (int)size).Fill(1);
            Assert.Equal(0, ThpEligible((long)plain + (24L << 20)));
        }
        finally { NativeMemory.Free(plain); }
    }

    /// <summary>THPeligible of the mapping in /proc/self/smaps that contains <paramref name="address"/>.</summary>
    private static int ThpEligible(long address)
    {
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash && long.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, null, out long start)
                && long.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, null, out long end))
            {
                inside = address >= start && address < end;
                continue;
            }
            if (inside && line.StartsWith("THPeligible:", StringComparison.Ordinal))
                return int.Parse(line.AsSpan("THPeligible:".Length).Trim(), CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException($"no mapping in /proc/self/smaps holds 0x{address:x}");
    }
}
