using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using MessTools.Core.Artifacts;
using MessTools.Core.Embedding;
using MessTools.Core.Index;

namespace MessTools.Cmdlets;

/// <summary>Where a completer looks: the command line's -ArtifactPath, else $env:MESS_ARTIFACT_PATH, else ./artifacts/v1_model_builtin.</summary>
internal static class FindMessNeighborCompletion
{
    public const int MaxResults = 500;

    public static ArtifactStore? ResolveStore(IDictionary fakeBoundParameters)
    {
        try
        {
            string? explicitPath = fakeBoundParameters.Contains("ArtifactPath")
                ? LanguagePrimitives.ConvertTo<string>(fakeBoundParameters["ArtifactPath"])
                : null;
            string cwd = CurrentLocation();
            if (!string.IsNullOrWhiteSpace(explicitPath) && !Path.IsPathRooted(explicitPath))
                explicitPath = Path.Combine(cwd, explicitPath);
            return ArtifactStore.Resolve(explicitPath, cwd);
        }
        catch (Exception)
        {
            return null; // a completer never throws at the user
        }
    }

    private static string CurrentLocation()
    {
        // A completer runs on the pipeline thread of the session: ask that session for its location.
        try
        {
            using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
            ps.AddScript("$ExecutionContext.SessionState.Path.CurrentFileSystemLocation.ProviderPath");
            var result = ps.Invoke();
            if (result.Count > 0 && result[0]?.BaseObject is string path && path.Length > 0) return path;
        }
        catch (Exception) { }
        return Environment.CurrentDirectory;
    }

    public static IEnumerable<CompletionResult> Complete(IEnumerable<string> values, string wordToComplete, Func<string, string>? tooltip = null)
    {
        string word = (wordToComplete ?? "").Trim('\'', '"');
        return values
            .Where(v => v.StartsWith(word, StringComparison.OrdinalIgnoreCase))
            .OrderBy(v => v, StringComparer.OrdinalIgnoreCase)
            .Take(MaxResults)
            .Select(v => new CompletionResult(Quote(v), v, CompletionResultType.ParameterValue, tooltip?.Invoke(v) ?? v))
            .ToList();
    }

    public static string Quote(string value) =>
        value.Length > 0 && value.All(c => char.IsLetterOrDigit(c) || c is '_' or '-' or '.' or ':' or '/')
            && !value.StartsWith('-')
            ? value
            : "'" + value.Replace("'", "''") + "'";

    private static readonly object Gate = new();
    private static (string Key, string[] Ids)? _ids;

    /// <summary>The ids in embeddings/track_ids.json, cached while the file is unchanged.</summary>
    public static string[] TrackIds(ArtifactStore store)
    {
        var file = new FileInfo(store.TrackIdsFile);
        if (!file.Exists) return Array.Empty<string>();
        string key = $"{file.FullName}|{file.Length}|{file.LastWriteTimeUtc.Ticks}";
        lock (Gate)
            if (_ids is { } c && c.Key == key) return c.Ids;
        var ids = EmbeddingMatrix.ReadTrackIds(file.FullName);
        lock (Gate) _ids = (key, ids);
        return ids;
    }
}

/// <summary>Tab completion of Find-MessNeighbor -TrackId from embeddings/track_ids.json.</summary>
public sealed class FindMessNeighborTrackIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            var store = FindMessNeighborCompletion.ResolveStore(fakeBoundParameters);
            if (store is null) return Array.Empty<CompletionResult>();
            return FindMessNeighborCompletion.Complete(FindMessNeighborCompletion.TrackIds(store), wordToComplete);
        }
        catch (Exception)
        {
            return Array.Empty<CompletionResult>();
        }
    }
}

/// <summary>Tab completion of Find-MessNeighbor -Composer from the composers of the indexed tracks.</summary>
public sealed class FindMessNeighborComposerCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            var store = FindMessNeighborCompletion.ResolveStore(fakeBoundParameters);
            if (store is null) return Array.Empty<CompletionResult>();
            var finder = NeighborFinder.OpenCached(store);
            return FindMessNeighborCompletion.Complete(finder.Composers, wordToComplete);
        }
        catch (Exception)
        {
            return Array.Empty<CompletionResult>();
        }
    }
}
