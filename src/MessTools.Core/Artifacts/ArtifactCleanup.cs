namespace MessTools.Core.Artifacts;

/// <summary>
/// The one place that deletes things in an artifact folder on a scan: the temporaries of atomic writes that killed
/// writers left (<see cref="AtomicFileWriter.TempSuffix"/>) and the entries of cache/. It never follows a link: a
/// symbolic link (or junction) is removed itself, never what it points to, and a scan never descends into one, so
/// nothing outside the folder is ever touched.
/// </summary>
public static class ArtifactCleanup
{
    private static readonly EnumerationOptions OneLevel = new()
    {
        RecurseSubdirectories = false,
        IgnoreInaccessible = true,
        AttributesToSkip = 0,
        ReturnSpecialDirectories = false,
    };

    /// <summary>True for a symbolic link or any other reparse point (a junction on Windows).</summary>
    public static bool IsLink(FileSystemInfo entry) =>
        entry.LinkTarget is not null || (entry.Exists && entry.Attributes.HasFlag(FileAttributes.ReparsePoint));

    /// <summary>
    /// Temporaries under <paramref name="root"/> (at any depth, without entering links) last written at least
    /// <paramref name="olderThan"/> ago. Linked temporaries are not listed: they are not ours; nor are those of a nested
    /// artifact folder that has a writer lock of its own (a shard under shards/).
    /// </summary>
    public static IEnumerable<FileInfo> StaleTemporaries(string root, TimeSpan olderThan)
    {
        var dir = new DirectoryInfo(root);
        if (!dir.Exists || IsLink(dir)) yield break;
        var pending = new Stack<DirectoryInfo>();
        pending.Push(dir);
        var now = DateTime.UtcNow;
        while (pending.Count > 0)
        {
            var d = pending.Pop();
            IEnumerable<FileSystemInfo> entries;
            try { entries = d.EnumerateFileSystemInfos("*", OneLevel).ToList(); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { continue; }
            foreach (var e in entries)
            {
                if (IsLink(e)) continue;
                // A nested artifact folder (shards/<i>-of-<n>/) has its own writer and lock: its temporaries are its writer's.
                if (e is DirectoryInfo sub) { if (!File.Exists(Path.Combine(sub.FullName, ArtifactWriterLock.LockFileName))) pending.Push(sub); }
                else if (e is FileInfo f && f.Name.EndsWith(AtomicFileWriter.TempSuffix, StringComparison.Ordinal)
                         && now - f.LastWriteTimeUtc >= olderThan)
                    yield return f;
            }
        }
    }

    /// <summary>Deletes the stale temporaries under <paramref name="root"/> and returns their paths (ones that could not be deleted are skipped).</summary>
    public static List<string> RemoveStaleTemporaries(string root, TimeSpan olderThan)
    {
        var removed = new List<string>();
        foreach (var f in StaleTemporaries(root, olderThan))
        {
            try { f.Delete(); removed.Add(f.FullName); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        }
        return removed;
    }

    /// <summary>The top-level entries of a cache folder (links included, as links); none when it does not exist.</summary>
    public static IReadOnlyList<FileSystemInfo> CacheEntries(string cacheDir)
    {
        var dir = new DirectoryInfo(cacheDir);
        if (!dir.Exists || IsLink(dir)) return Array.Empty<FileSystemInfo>();
        return dir.EnumerateFileSystemInfos("*", OneLevel).OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Removes a file, a link (the link only) or a folder with everything in it, unlinking (never entering) the
    /// links it holds. Throws IOException/UnauthorizedAccessException when something cannot be removed.
    /// </summary>
    public static void Remove(FileSystemInfo entry)
    {
        if (IsLink(entry) || entry is FileInfo)
        {
            // A link to a folder is removed with Directory.Delete (non-recursive: the link itself) on Windows; File.Delete on Unix.
            if (entry is DirectoryInfo && OperatingSystem.IsWindows()) Directory.Delete(entry.FullName, recursive: false);
            else File.Delete(entry.FullName);
            return;
        }
        var dir = (DirectoryInfo)entry;
        foreach (var child in dir.EnumerateFileSystemInfos("*", OneLevel).ToList()) Remove(child);
        dir.Delete(recursive: false);
    }
}
