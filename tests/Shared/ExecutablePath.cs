namespace MessTools.Tests.Infrastructure;

/// <summary>Where a program the fixtures start (moto_server, npm, npx) is: PATH, then the usual install places.</summary>
public static class ExecutablePath
{
    public static string? Find(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, name);
            if (File.Exists(p)) return p;
        }
        foreach (var p in new[] { "/usr/local/bin/" + name, "/usr/bin/" + name, Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".pyenv", "shims", name) })
            if (File.Exists(p)) return p;
        return null;
    }
}
