using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using MessTools.Core.Catalog;

namespace MessTools.Cmdlets.Common;

/// <summary>Completes -Table with the tables and views of the SQLite file named by -Path.</summary>
public sealed class CatalogTableCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        if (fakeBoundParameters["Path"] is not { } pathValue) return Array.Empty<CompletionResult>();
        string path = pathValue is PSObject p ? p.BaseObject.ToString()! : pathValue.ToString()!;
        try
        {
            using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
            path = ps.AddCommand("Microsoft.PowerShell.Core\\ForEach-Object")
                     .AddParameter("InputObject", path)
                     .AddParameter("Process", ScriptBlock.Create("$ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($_)"))
                     .Invoke().FirstOrDefault()?.ToString() ?? path;
        }
        catch (Exception) { /* no runspace: take the path as given */ }
        try
        {
            return CatalogSourceFactory.ListSqliteTables(path)
                .Where(t => t.StartsWith(wordToComplete.Trim('\'', '"'), StringComparison.OrdinalIgnoreCase))
                .Select(t => new CompletionResult(t, t, CompletionResultType.ParameterValue, "table " + t))
                .ToList();
        }
        catch (Exception) { return Array.Empty<CompletionResult>(); } // completion never throws at the user
    }
}
