using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

using MessTools.Tests.Infrastructure;

namespace MessTools.Tests.Module.Infrastructure;

/// <summary>
/// A real PowerShell runspace (Microsoft.PowerShell.SDK, InitialSessionState.CreateDefault2: the default modules pwsh has)
/// with the published MessTools module imported and its location set to a working folder.
/// </summary>
public sealed class ModuleRunspace : IDisposable
{
    private readonly Runspace _runspace;

    public string WorkDir { get; }
    public Collection<ErrorRecord> Errors { get; } = new();
    public Collection<WarningRecord> Warnings { get; } = new();
    public Collection<VerboseRecord> Verbose { get; } = new();
    public Collection<ProgressRecord> Progress { get; } = new();

    public ModuleRunspace(string workDir, bool importModule = true, string? beforeImport = null)
    {
        WorkDir = workDir;
        Directory.CreateDirectory(workDir);
        if (!File.Exists(RepoPaths.ModuleManifest))
            throw new InvalidOperationException($"The module is not staged at {RepoPaths.ModuleFolder}: run dotnet publish src/MessTools.Cmdlets.");
        var iss = InitialSessionState.CreateDefault2();
        _runspace = RunspaceFactory.CreateRunspace(iss);
        _runspace.Open();
        _runspace.SessionStateProxy.Path.SetLocation(workDir);
        if (beforeImport is not null) Invoke(beforeImport);
        if (importModule) Invoke("Import-Module $m -ErrorAction Stop", ("m", RepoPaths.ModuleManifest));
    }

    /// <summary>Runs a script; errors, warnings, verbose and progress records are collected (not thrown).</summary>
    public Collection<PSObject> Invoke(string script, params (string Name, object? Value)[] variables)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = _runspace;
        foreach (var (name, value) in variables) _runspace.SessionStateProxy.SetVariable(name, value);
        ps.AddScript(script);
        var result = ps.Invoke();
        foreach (var e in ps.Streams.Error) Errors.Add(e);
        foreach (var w in ps.Streams.Warning) Warnings.Add(w);
        foreach (var v in ps.Streams.Verbose) Verbose.Add(v);
        foreach (var p in ps.Streams.Progress) Progress.Add(p);
        return result;
    }

    /// <summary>Runs a script that must not fail; a terminating or non-terminating error fails the test with its text.</summary>
    public Collection<PSObject> InvokeClean(string script, params (string Name, object? Value)[] variables)
    {
        int before = Errors.Count;
        Collection<PSObject> result;
        try { result = Invoke(script, variables); }
        catch (RuntimeException ex) { throw new Xunit.Sdk.XunitException("Script threw: " + ex.Message + "\n" + script); }
        if (Errors.Count > before)
            throw new Xunit.Sdk.XunitException("Script wrote errors:\n" + string.Join("\n", Errors.Skip(before).Select(e => $"{e.FullyQualifiedErrorId}: {e}")));
        return result;
    }

    public void Dispose() => _runspace.Dispose();
}

/// <summary>
/// Tests that set process-wide state ($env:MESS_ARTIFACT_PATH and the like) or rely on its absence: xunit runs this
/// collection alone, after the parallel ones, so no other test sees the variables they set.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironmentCollection
{
    public const string Name = "Process environment";
}
