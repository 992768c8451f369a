using System.Runtime.InteropServices;

namespace MessTools.Core.Publishing;

/// <summary>
/// Folder operations of the atomic import: exchanging two folders in one step (Linux renameat2 RENAME_EXCHANGE, so a reader
/// of the target sees the old folder or the new one, never neither), and hard links that let an unchanged file join the new
/// folder without copying (files are only ever replaced by rename, so a shared inode is never written in place).
/// </summary>
internal static partial class FolderSwap
{
    /// <summary>Makes <paramref name="staging"/> the target; afterwards the old target (if any) is at <paramref name="staging"/>.</summary>
    public static void Exchange(string staging, string target)
    {
        if (!Directory.Exists(target))
        {
            Directory.Move(staging, target);
            return;
        }
        if (OperatingSystem.IsLinux())
        {
            const uint RENAME_EXCHANGE = 2;
            const int AT_FDCWD = -100;
            if (renameat2(AT_FDCWD, staging, AT_FDCWD, target, RENAME_EXCHANGE) == 0) return;
            int errno = Marshal.GetLastPInvokeError();
            // EINVAL/ENOSYS: a file system or kernel without RENAME_EXCHANGE; fall back to two renames below.
            if (errno is not (22 or 38))
                throw new IOException($"Swapping '{staging}' into '{target}' failed (errno {errno}).");
        }
        // Elsewhere: two renames; between them the target is briefly absent (never half-written).
        string aside = staging + ".old";
        if (Directory.Exists(aside)) Directory.Delete(aside, recursive: true);
        Directory.Move(target, aside);
        Directory.Move(staging, target);
        Directory.Move(aside, staging);
    }

    /// <summary>
    /// Gives <paramref name="staging"/> the writer lock file of <paramref name="target"/> (a hard link: the same, locked
    /// file), so after <see cref="Exchange"/> the lock held on the old folder covers the new one. Where hard links are
    /// not available nothing is linked.
    /// </summary>
    public static void CarryLock(string target, string staging)
    {
        string source = Path.Combine(target, Artifacts.ArtifactWriterLock.LockFileName);
        string dest = Path.Combine(staging, Artifacts.ArtifactWriterLock.LockFileName);
        if (!File.Exists(source) || OperatingSystem.IsWindows()) return;
        if (File.Exists(dest)) File.Delete(dest);
        if (link(source, dest) != 0)
            throw new IOException($"The writer lock '{source}' could not be carried into '{staging}' (errno {Marshal.GetLastPInvokeError()}).");
    }

    /// <summary>Puts <paramref name="source"/>'s bytes at <paramref name="target"/>: a hard link when possible, else an atomic copy.</summary>
    public static void LinkOrCopy(string source, string target)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        if (File.Exists(target)) File.Delete(target);
        if (!OperatingSystem.IsWindows() && link(source, target) == 0) return;
        Artifacts.AtomicFile.Write(target, s => { using var src = File.OpenRead(source); src.CopyTo(s); });
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int renameat2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int link(string oldpath, string newpath);
}
