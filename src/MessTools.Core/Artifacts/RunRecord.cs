using System.Reflection;
using MessTools.Core.Common;

namespace MessTools.Core.Artifacts;

/// <summary>
/// runs/&lt;utc-timestamp&gt;_&lt;cmdlet&gt;.json: what one cmdlet run did (the seeds' run_info.json). Secrets are
/// redacted before they reach it; the cmdlet layer fills it and <see cref="Save"/> writes it once at the end.
/// </summary>
public sealed class RunRecord
{
    public string Command { get; set; } = "";
    public string CommandLine { get; set; } = "";
    public Dictionary<string, object?> Parameters { get; set; } = new();
    public string ModuleVersion { get; set; } = ModuleInfo.Version;
    public string Host { get; set; } = Environment.MachineName;
    public string Os { get; set; } = System.Runtime.InteropServices.RuntimeInformation.OSDescription;
    public DateTime StartUtc { get; set; } = DateTime.UtcNow;
    public DateTime? EndUtc { get; set; }
    public double? DurationSec { get; set; }
    /// <summary>completed, failed or stopped.</summary>
    public string Status { get; set; } = "running";
    public Dictionary<string, long> Counts { get; set; } = new();
    /// <summary>Stage-specific results (for example the evaluation's metrics), for runbooks that compare runs.</summary>
    public Dictionary<string, object?> Results { get; set; } = new();
    public List<string> Warnings { get; set; } = new();
    public List<RunError> Errors { get; set; } = new();

    /// <summary>How many error entries are kept; the rest are only counted.</summary>
    public const int MaxErrors = 1000;

    public void Count(string name, long delta = 1)
    {
        lock (Counts) Counts[name] = Counts.TryGetValue(name, out var n) ? n + delta : delta;
    }

    /// <summary>Several counts at once (a job's totals).</summary>
    public void Count(params (string Name, long Delta)[] counts)
    {
        foreach (var (name, delta) in counts) Count(name, delta);
    }

    public void AddWarning(string message)
    {
        lock (Warnings) if (Warnings.Count < MaxErrors) Warnings.Add(SecretRedactor.Redact(message));
    }

    public void AddError(string errorId, string message, string? target)
    {
        Count("errors");
        lock (Errors)
            if (Errors.Count < MaxErrors)
                Errors.Add(new RunError { ErrorId = errorId, Message = SecretRedactor.Redact(message), Target = target is null ? null : SecretRedactor.Redact(target) });
    }

    /// <summary>
    /// True once the record's fate is settled: <see cref="Save"/> wrote it (a job saved it before its lock went), or
    /// <see cref="Withhold"/> kept it out of a folder that went with a failed job. The front end does not save it again.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool Saved { get; private set; }

    /// <summary>Never writes this record: the job failed in a folder it created, which goes with its lock.</summary>
    public void Withhold() => Saved = true;

    /// <summary>Writes the record under <paramref name="store"/>'s runs/ folder and returns its path.</summary>
    public string Save(ArtifactStore store, string status)
    {
        Saved = true;
        Status = status;
        EndUtc = DateTime.UtcNow;
        DurationSec = Math.Round((EndUtc.Value - StartUtc).TotalSeconds, 3);
        string name = $"{StartUtc:yyyyMMdd'T'HHmmss'.'fff'Z'}_{Command}";
        string path = SafePath.Combine(store.RunsDir, name + ".json");
        for (int i = 2; File.Exists(path); i++) path = SafePath.Combine(store.RunsDir, $"{name}-{i}.json");
        ArtifactJson.Write(path, this);
        return path;
    }
}

public sealed class RunError
{
    public string ErrorId { get; set; } = "";
    public string Message { get; set; } = "";
    public string? Target { get; set; }
}

public static class ModuleInfo
{
    public static string Version { get; } =
        typeof(ModuleInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(ModuleInfo).Assembly.GetName().Version?.ToString() ?? "0.0.0";
}
