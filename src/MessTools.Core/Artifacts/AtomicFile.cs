using System.Text;

namespace MessTools.Core.Artifacts;

/// <summary>
/// Every artifact is written here: into a temporary file beside the target, flushed to disk, then renamed
/// over the target. A run killed at any moment leaves either the old complete file or the new one.
/// </summary>
public static class AtomicFile
{
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        using var w = AtomicFileWriter.Create(path);
        w.Stream.Write(bytes);
        w.Commit();
    }

    public static void WriteAllText(string path, string text) =>
        WriteAllBytes(path, new UTF8Encoding(false).GetBytes(text));

    public static void Write(string path, Action<Stream> write)
    {
        using var w = AtomicFileWriter.Create(path);
        write(w.Stream);
        w.Commit();
    }
}

/// <summary>A file being written atomically: write to <see cref="Stream"/>, then <see cref="Commit"/>; dispose without commit discards it.</summary>
public sealed class AtomicFileWriter : IDisposable
{
    public const string TempSuffix = ".messtmp";
    private readonly FileStream _stream;
    private bool _done;

    public string TargetPath { get; }
    public string TempPath { get; }
    public Stream Stream => _stream;

    private AtomicFileWriter(string target)
    {
        TargetPath = Path.GetFullPath(target);
        string dir = Path.GetDirectoryName(TargetPath)!;
        Directory.CreateDirectory(dir);
        TempPath = Path.Combine(dir, $".{Path.GetFileName(TargetPath)}.{Guid.NewGuid():N}{TempSuffix}");
        _stream = new FileStream(TempPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
    }

    public static AtomicFileWriter Create(string path) => new(path);

    public void Commit()
    {
        if (_done) throw new InvalidOperationException("The file was already committed or discarded.");
        _stream.Flush(flushToDisk: true);
        _stream.Dispose();
        Common.FaultInjection.Hit("before-rename:" + Path.GetFileName(TargetPath));
        File.Move(TempPath, TargetPath, overwrite: true);
        _done = true;
        Common.FaultInjection.Hit("after-rename:" + Path.GetFileName(TargetPath));
    }

    public void Dispose()
    {
        if (_done) return;
        _done = true;
        _stream.Dispose();
        try { File.Delete(TempPath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
