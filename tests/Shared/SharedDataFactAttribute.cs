namespace MessTools.Tests.Infrastructure;

/// <summary>
/// A fact that needs files from ../shared (models, data sets). When they are absent the test is reported as
/// skipped with the reason, never silently passed.
/// </summary>
public sealed class SharedDataFactAttribute : FactAttribute
{
    public SharedDataFactAttribute(params string[] relativePaths) => Skip = SharedData.SkipReason(relativePaths);
}

/// <summary>The theory form of <see cref="SharedDataFactAttribute"/>.</summary>
public sealed class SharedDataTheoryAttribute : TheoryAttribute
{
    public SharedDataTheoryAttribute(params string[] relativePaths) => Skip = SharedData.SkipReason(relativePaths);
}

public static class SharedData
{
    /// <summary>Null when every path exists under ../shared, else the reason to skip.</summary>
    public static string? SkipReason(string[] relativePaths)
    {
        var missing = relativePaths.Where(p => !File.Exists(Path.Combine(RepoPaths.Shared, p)) && !Directory.Exists(Path.Combine(RepoPaths.Shared, p))).ToArray();
        return missing.Length == 0 ? null : $"needs ../shared/{string.Join(", ../shared/", missing)}, which is absent on this machine";
    }
}
