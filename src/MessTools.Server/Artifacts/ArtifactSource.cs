namespace MessTools.Server.Artifacts;

/// <summary>Where the served artifacts come from: a local folder, as given.</summary>
public static class ArtifactSource
{
    public static string LocalFolder(ServerSettings settings, ILogger log)
    {
        string path = settings.ArtifactPath.Trim();
        if (path.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException("s3:// artifact paths are not supported by this build: import the published set with the module first, then pass its local folder.");
        log.LogInformation("Serving the artifacts in {Path}", Path.GetFullPath(path));
        return path;
    }
}
