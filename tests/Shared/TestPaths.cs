namespace MessTools.Tests.Infrastructure;

/// <summary>Where things are: the repository, the published module folder, ../shared.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MessTools.sln"))) return dir.FullName;
        throw new InvalidOperationException("MessTools.sln not found above " + AppContext.BaseDirectory);
    }

    public static string ModuleVersion { get; } =
        System.Text.RegularExpressions.Regex.Match(File.ReadAllText(Path.Combine(Root, "module", "MessTools.psd1")),
            @"ModuleVersion\s*=\s*'([0-9.]+)'").Groups[1].Value;

    /// <summary>The staged module folder that `dotnet publish` made (never a test project's build output).</summary>
    public static string ModuleFolder => Path.Combine(Root, "out", "MessTools", ModuleVersion);
    public static string ModuleManifest => Path.Combine(ModuleFolder, "MessTools.psd1");
    /// <summary>../shared beside the repository: models, data and tools that are never copied into it.</summary>
    public static string Shared => Path.GetFullPath(Path.Combine(Root, "..", "shared"));
    public static string SharedModels => Path.Combine(Shared, "models");
}

/// <summary>A temporary folder removed after the test.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "messtest-" + Guid.NewGuid().ToString("N")[..12]);
    public TempDir() => Directory.CreateDirectory(Path);
    public string this[string relative] => System.IO.Path.Combine(Path, relative);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
