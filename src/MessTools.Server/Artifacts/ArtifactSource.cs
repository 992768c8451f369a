using MessTools.Core.Aws;
using MessTools.Core.Common;
using MessTools.Core.Publishing;

namespace MessTools.Server.Artifacts;

/// <summary>
/// Where the served artifacts come from: a local folder as given, or <c>s3://bucket/prefix[/v1_model_MODEL[/version]]</c>,
/// imported at start through the Core import entry point (<see cref="ArtifactImporter"/>: every file downloaded into a
/// staging folder, its SHA-256 checked against the published manifest, then swapped in) into
/// <see cref="ServerSettings.DownloadPath"/>, and served from there. Without a model in the URI every model published
/// under the prefix is imported (its latest version).
/// </summary>
public static class ArtifactSource
{
    public static bool IsRemote(ServerSettings settings) => settings.ArtifactPath.Trim().StartsWith("s3://", StringComparison.OrdinalIgnoreCase);

    /// <summary>The s3:// set imported into the download folder (run by <see cref="ArtifactReloader"/> at start); returns the folder to serve.</summary>
    public static async Task<string> ImportAsync(ServerSettings settings, ILogger log, CancellationToken ct)
    {
        string uri = settings.ArtifactPath.Trim();
        var connection = new S3Connection
        {
            Region = settings.S3Region ?? Environment.GetEnvironmentVariable("AWS_REGION") ?? Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION"),
            EndpointUrl = settings.S3EndpointUrl ?? Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL_S3") ?? Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL"),
        };
        var (remote, model, version) = ArtifactRemote.Parse(uri, connection);
        var models = model is not null
            ? new List<string> { model }
            : (await ArtifactVersions.ListAsync(remote, null, ct).ConfigureAwait(false)).Where(v => v.IsLatest).Select(v => v.Model).Distinct().ToList();
        if (models.Count == 0)
            throw new MessException(MessErrorIds.ArtifactVersionNotFound, MessErrorKind.ObjectNotFound, $"No model is published under {remote.Display}.", remote.Display);
        string root = Path.GetFullPath(settings.DownloadPath);
        Directory.CreateDirectory(root);
        foreach (string m in models)
        {
            var result = await Core.Jobs.ImportJob.RunAsync(remote, new ImportRequest
            {
                Model = m,
                Version = version ?? "latest",
                ArtifactPath = Path.Combine(root, ArtifactCatalog.FolderPrefix + m),
                // Another import (a second server, Import-MessArtifact) writing the folder: wait for it, then reuse its files.
                LockTimeout = settings.LockTimeout,
            }, new ServerJobHost(log, ct)).ConfigureAwait(false);
            log.LogInformation("Imported {Model} version {Version} from {Uri}: {Files} files ({Downloaded} downloaded, {Reused} reused), verified",
                result.Model, result.VersionId, result.Uri, result.Files, result.DownloadedFiles, result.ReusedFiles);
        }
        return models.Count == 1 && model is not null ? Path.Combine(root, ArtifactCatalog.FolderPrefix + models[0]) : root;
    }
}
