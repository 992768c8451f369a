using MessTools.Tests.Module.Infrastructure;

namespace MessTools.Tests.Module;

public class ModuleLoadingTests
{
    [Fact]
    public void Module_folder_holds_only_what_a_module_needs()
    {
        var root = RepoPaths.ModuleFolder;
        var top = Directory.GetFiles(root).Select(Path.GetFileName).OrderBy(x => x).ToArray();
        Assert.Equal(new[] { "MessTools.dll", "MessTools.format.ps1xml", "MessTools.psd1", "MessTools.types.ps1xml" }, top);
        Assert.True(File.Exists(Path.Combine(root, "en-US", "MessTools.dll-Help.xml")));
        Assert.True(File.Exists(Path.Combine(root, "Dependencies", "MessTools.Core.dll")));
        var rids = Directory.GetDirectories(Path.Combine(root, "Dependencies", "runtimes")).Select(Path.GetFileName).OrderBy(x => x).ToArray();
        Assert.Equal(new[] { "linux-x64", "osx-arm64", "win-x64" }, rids);
        Assert.Empty(Directory.GetFiles(root, "*.pdb", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(root, "*.deps.json", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(root, "*.lib", SearchOption.AllDirectories));
    }

    [Fact]
    public void Import_exports_exactly_the_manifest_cmdlets()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        var names = ps.InvokeClean("(Get-Command -Module MessTools).Name").Select(o => o.ToString()).OrderBy(x => x).ToArray();
        var manifest = File.ReadAllText(RepoPaths.ModuleManifest);
        foreach (var n in names) Assert.Contains($"'{n}'", manifest);
        Assert.Contains("Export-MessMetadata", names);
        Assert.Contains("Clear-MessCache", names);
    }

    [Fact]
    public void Engine_loads_into_the_modules_own_load_context()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        File.WriteAllText(tmp["c.csv"], "track_id,album_id,composer,audio_s3_key\nt1,a1,Chopin,s3://b/t1.wav\n");
        ps.InvokeClean("$null = Export-MessMetadata -Path c.csv -ArtifactPath art");
        var alc = ps.InvokeClean("[System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext(([System.AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'MessTools.Core' })).Name");
        Assert.Equal("MessTools", Assert.Single(alc).ToString());
    }

    [Fact]
    public void Older_CsvHelper_and_AWSSDK_loaded_first_do_not_break_the_module()
    {
        using var tmp = new TempDir();
        // Another module got there first with its own, older copies.
        using var ps = new ModuleRunspace(tmp.Path, importModule: false);
        var loaded = ps.InvokeClean(
            "$a = [System.Reflection.Assembly]::Load('CsvHelper, Version=30.0.0.0, Culture=neutral, PublicKeyToken=8c4959082be5c823');" +
            "$b = [System.Reflection.Assembly]::Load('AWSSDK.Core, Version=3.3.0.0, Culture=neutral, PublicKeyToken=885c28607f98e604');" +
            "$a.GetName().Version.Major; $b.GetName().Version.Major");
        Assert.Equal(new[] { "30", "3" }, loaded.Select(o => o.ToString()));
        ps.InvokeClean("Import-Module $m -ErrorAction Stop", ("m", RepoPaths.ModuleManifest));
        File.WriteAllText(tmp["c.csv"], "track_id,album_id,composer,audio_s3_key\nt1,a1,Chopin,s3://b/t1.wav\nt2,a1,Liszt,s3://b/t2.wav\n");
        var tracks = ps.InvokeClean("Export-MessMetadata -Path c.csv -ArtifactPath art | ForEach-Object TrackId");
        Assert.Equal(new[] { "t1", "t2" }, tracks.Select(o => o.ToString()));
        var versions = ps.InvokeClean(
            "[System.Runtime.Loader.AssemblyLoadContext]::All | ForEach-Object { $ctx = $_; $ctx.Assemblies | Where-Object { $_.GetName().Name -in 'CsvHelper','AWSSDK.Core' } | ForEach-Object { '{0}:{1}:{2}' -f $ctx.Name, $_.GetName().Name, $_.GetName().Version.Major } }");
        var set = versions.Select(o => o.ToString()).ToHashSet();
        Assert.Contains("Default:CsvHelper:30", set);
        Assert.Contains("MessTools:CsvHelper:33", set);
    }
}
