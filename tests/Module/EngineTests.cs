namespace MessTools.Tests.Module;

/// <summary>The runspace tests run in the engine pwsh users have: the default modules are there, not only Core.</summary>
public class EngineTests
{
    [Fact]
    public void The_hosted_engine_has_the_cmdlets_pwsh_users_script_with()
    {
        using var dir = new TempDir();
        using var ps = new Infrastructure.ModuleRunspace(dir.Path, importModule: false);
        var names = ps.InvokeClean("'Select-Object','Sort-Object','Import-Csv','ConvertTo-Json','Measure-Object','Test-Path','Join-Path','Format-Table' | ForEach-Object { (Get-Command $_ -ErrorAction Stop).Name }")
            .Select(o => o.ToString()).ToList();
        Assert.Equal(8, names.Count);
        var json = ps.InvokeClean("[pscustomobject]@{ a = 1 } | ConvertTo-Json -Compress").Single().ToString();
        Assert.Equal("{\"a\":1}", json);
    }
}
