using System.Management.Automation;
using MessTools.Tests.Module.Infrastructure;
using Microsoft.Data.Sqlite;

namespace MessTools.Tests.Module.Catalog;

public class ExportMessMetadataTests
{
    internal static string DemoSqlite(string path)
    {
        using var c = new SqliteConnection("Data Source=" + path);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE tracks (track_id TEXT, album_id TEXT, track_no INTEGER, title TEXT, composer TEXT, audio_s3_key TEXT, duration_sec REAL);
            INSERT INTO tracks VALUES
              ('chopin-op28-4', 'chopin-op28', 4, 'Prelude in E minor', 'Chopin', 's3://demo/chopin-op28/4.m4a', 125.5),
              ('chopin-op28-7', 'chopin-op28', 7, '=cmd|'' /C calc''!A0', 'Chopin, Frédéric', 's3://demo/chopin-op28/7.m4a', 48.0),
              ('liszt-s139-1', 'liszt-s139', 1, 'Preludio', 'Liszt', 's3://demo/liszt-s139/1.mp3', 60.0),
              ('evil', '../../etc', 1, 'x', 'Liszt', 's3://demo/x.mp3', 1.0),
              ('mozart-k545-1', 'mozart-k545', 1, 'Allegro', 'Mozart', 's3://demo/mozart-k545/1.wav', 300.0);
            """;
        cmd.ExecuteNonQuery();
        SqliteConnection.ClearAllPools();
        return path;
    }

    [Fact]
    public void Export_from_sqlite_filters_down_the_pipeline_and_writes_the_csv()
    {
        using var tmp = new TempDir();
        DemoSqlite(tmp["demo.sqlite"]);
        using var ps = new ModuleRunspace(tmp.Path);
        var chopin = ps.Invoke("Export-MessMetadata -Path demo.sqlite -Table tracks -ArtifactPath art | Where-Object Composer -eq 'Chopin'");
        // 'Chopin, Frédéric' is standardised to 'Frédéric Chopin', so only the plain 'Chopin' row matches.
        Assert.Equal("chopin-op28-4", Assert.Single(chopin).Properties["TrackId"].Value);
        Assert.Equal("MessTools.MessTrack", chopin[0].BaseObject.GetType().FullName);
        var err = Assert.Single(ps.Errors);
        Assert.Equal("UnsafeAlbumId,MessTools.Cmdlets.ExportMessMetadataCommand", err.FullyQualifiedErrorId);
        Assert.Contains("row 4", err.Exception.Message);
        Assert.Equal(ErrorCategory.InvalidData, err.CategoryInfo.Category);
        var lines = File.ReadAllLines(tmp["art/metadata/tracks_metadata.csv"]);
        Assert.Equal("track_id,album_id,track_no,title,composer,audio_s3_key,duration_sec", lines[0]);
        Assert.Equal(5, lines.Length); // header + 4 good rows, the unsafe one rejected
        // The formula gets a leading apostrophe so a spreadsheet shows it as text instead of running it.
        Assert.Contains(lines, l => l.StartsWith("chopin-op28-7,chopin-op28,7,'=cmd|' /C calc'!A0,Frédéric Chopin,"));
    }

    [Fact]
    public void WhatIf_writes_nothing()
    {
        using var tmp = new TempDir();
        DemoSqlite(tmp["demo.sqlite"]);
        using var ps = new ModuleRunspace(tmp.Path);
        var tracks = ps.Invoke("Export-MessMetadata -Path demo.sqlite -Table tracks -ArtifactPath art -WhatIf");
        Assert.Equal(4, tracks.Count); // the tracks still flow, so a whole pipeline can be dry-run
        Assert.False(Directory.Exists(tmp["art"]), "-WhatIf created " + tmp["art"]);
    }

    [Fact]
    public void Run_record_is_written_with_counts_and_errors()
    {
        using var tmp = new TempDir();
        DemoSqlite(tmp["demo.sqlite"]);
        using var ps = new ModuleRunspace(tmp.Path);
        ps.Invoke("$null = Export-MessMetadata -Path demo.sqlite -Table tracks -ArtifactPath art");
        var record = Assert.Single(Directory.GetFiles(tmp["art/runs"], "*_Export-MessMetadata.json"));
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(record));
        var root = doc.RootElement;
        Assert.Equal("completed_with_errors", root.GetProperty("status").GetString());
        Assert.Equal(5, root.GetProperty("counts").GetProperty("rows").GetInt64());
        Assert.Equal(4, root.GetProperty("counts").GetProperty("exported").GetInt64());
        Assert.Equal("UnsafeAlbumId", root.GetProperty("errors")[0].GetProperty("error_id").GetString());
        Assert.Equal(RepoPaths.ModuleVersion, root.GetProperty("module_version").GetString());
        Assert.Equal("demo.sqlite", root.GetProperty("parameters").GetProperty("Path").GetString());
    }

    [Fact]
    public void Secrets_in_a_connection_string_never_reach_the_record_or_the_error()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        // Nothing listens on port 1: the connection fails; the password must appear nowhere.
        ps.Invoke("Export-MessMetadata -ConnectionString 'Host=127.0.0.1;Port=1;Database=x;Username=u;Password=TopSecret-42;Timeout=2' -Table tracks -ArtifactPath art");
        var err = Assert.Single(ps.Errors);
        Assert.Equal("CatalogConnectFailed,MessTools.Cmdlets.ExportMessMetadataCommand", err.FullyQualifiedErrorId);
        Assert.DoesNotContain("TopSecret-42", err.ToString());
        var record = File.ReadAllText(Assert.Single(Directory.GetFiles(tmp["art/runs"])));
        Assert.DoesNotContain("TopSecret-42", record);
        Assert.Contains("\"status\": \"failed\"", record);
    }

    [Fact]
    public void Missing_required_column_is_a_terminating_error_naming_it()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["c.csv"], "track_id,album_id,audio_s3_key\nt1,a,x.wav\n");
        using var ps = new ModuleRunspace(tmp.Path);
        // try/catch without -ErrorAction Stop catches only terminating errors.
        var caught = ps.Invoke("try { Export-MessMetadata -Path c.csv -ArtifactPath art; 'not terminated' } catch { $_.FullyQualifiedErrorId; $_.Exception.Message }");
        Assert.Equal("RequiredColumnMissing,MessTools.Cmdlets.ExportMessMetadataCommand", caught[0].ToString());
        Assert.Contains("'composer'", caught[1].ToString());
        Assert.False(File.Exists(tmp["art/metadata/tracks_metadata.csv"]));
    }

    [Fact]
    public void No_source_at_all_says_how_to_name_one()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        ps.Invoke("$env:MESS_CATALOG_CONNECTION = $null; Export-MessMetadata -ArtifactPath art");
        var err = Assert.Single(ps.Errors);
        Assert.StartsWith("NoCatalogSource", err.FullyQualifiedErrorId);
        Assert.Contains("-Path", err.Exception.Message);
    }

    [Fact]
    public void Table_tab_completes_from_the_sqlite_file()
    {
        using var tmp = new TempDir();
        DemoSqlite(tmp["demo.sqlite"]);
        using var ps = new ModuleRunspace(tmp.Path);
        string line = "Export-MessMetadata -Path demo.sqlite -Table tr";
        var matches = ps.InvokeClean("[System.Management.Automation.CommandCompletion]::CompleteInput($l, $l.Length, $null).CompletionMatches.CompletionText", ("l", line));
        Assert.Equal("tracks", Assert.Single(matches).ToString());
    }

    [Fact]
    public void Csv_catalogue_with_aliased_columns_exports_standardised_tracks()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["c.csv"], "track_id,album_id,composer,audio_path,duration\nt1,a,\"Grieg, Edvard\",audio/t1.wav,3.5\n");
        using var ps = new ModuleRunspace(tmp.Path);
        var t = Assert.Single(ps.InvokeClean("Export-MessMetadata -Path c.csv -ArtifactPath art"));
        Assert.Equal("Edvard Grieg", t.Properties["Composer"].Value);
        Assert.Equal("audio/t1.wav", t.Properties["AudioUri"].Value);
        Assert.Equal(3.5, t.Properties["DurationSec"].Value);
        Assert.Equal(tmp["art"], t.Properties["ArtifactPath"].Value);
    }
}

public class HelpAndConventionsTests
{
    // What Get-Verb lists (it is not in a Core-only runspace): the constants of the Verbs* classes.
    private static readonly HashSet<string> ApprovedVerbs = new[]
    {
        typeof(VerbsCommon), typeof(VerbsData), typeof(VerbsLifecycle), typeof(VerbsDiagnostic),
        typeof(VerbsCommunications), typeof(VerbsSecurity), typeof(VerbsOther),
    }.SelectMany(t => t.GetFields()).Select(f => (string)f.GetValue(null)!).ToHashSet();

    [Fact]
    public void Every_exported_cmdlet_has_help_with_a_synopsis_and_an_example_and_an_OutputType()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        var names = ps.InvokeClean("(Get-Command -Module MessTools -CommandType Cmdlet).Name").Select(o => o.ToString()!).ToList();
        Assert.NotEmpty(names);
        foreach (var name in names)
        {
            var help = Assert.Single(ps.InvokeClean("Get-Help $n -Full", ("n", name)));
            string synopsis = help.Properties["Synopsis"]?.Value?.ToString()?.Trim() ?? "";
            Assert.False(string.IsNullOrEmpty(synopsis) || synopsis.StartsWith(name, StringComparison.Ordinal), $"{name} has no MAML synopsis (got '{synopsis}')");
            var examples = ps.InvokeClean("@((Get-Help $n -Examples).examples.example).Count", ("n", name));
            Assert.True((int)examples[0].BaseObject >= 1, $"{name} has no example in its help");
            var outputTypes = ps.InvokeClean("(Get-Command $n).OutputType.Count", ("n", name));
            Assert.True((int)outputTypes[0].BaseObject >= 1, $"{name} declares no [OutputType]");
            var verb = ps.InvokeClean("(Get-Command $n).Verb", ("n", name))[0].ToString();
            Assert.Contains(verb, ApprovedVerbs);
        }
    }

    public static IEnumerable<object[]> PowerShellScripts() =>
        new[] { "tests/Pester", "examples" }
            .SelectMany(d => Directory.GetFiles(Path.Combine(RepoPaths.Root, d), "*.ps1", SearchOption.AllDirectories))
            .Append(Path.Combine(RepoPaths.Root, "build.ps1"))
            .Select(f => new object[] { Path.GetRelativePath(RepoPaths.Root, f) });

    [Theory]
    [MemberData(nameof(PowerShellScripts))]
    public void Every_script_in_the_repository_parses(string relativePath)
    {
        // pwsh and Pester are not on this project's machines: the Pester tests, examples and build.ps1 must at
        // least be valid PowerShell for the users who run them.
        System.Management.Automation.Language.Parser.ParseFile(Path.Combine(RepoPaths.Root, relativePath), out _, out var errors);
        Assert.True(errors.Length == 0, string.Join("\n", errors.Select(e => $"{relativePath}:{e.Extent.StartLineNumber}: {e.Message}")));
    }

    [Fact]
    public void Commands_that_write_support_WhatIf_and_Confirm()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        foreach (var name in new[] { "Export-MessMetadata", "Clear-MessCache" })
        {
            var p = ps.InvokeClean("(Get-Command $n).Parameters.Keys", ("n", name)).Select(o => o.ToString()).ToList();
            Assert.Contains("WhatIf", p);
            Assert.Contains("Confirm", p);
        }
    }

    [Fact]
    public void Clear_cache_WhatIf_keeps_everything_and_a_real_run_keeps_artifacts()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp["art/cache/x"]);
        File.WriteAllText(tmp["art/cache/x/f.bin"], "1");
        Directory.CreateDirectory(tmp["art/metadata"]);
        File.WriteAllText(tmp["art/metadata/tracks_metadata.csv"], "keep");
        File.WriteAllText(tmp["art/metadata/.tracks_metadata.csv.abc.messtmp"], "half");
        using var ps = new ModuleRunspace(tmp.Path);
        ps.InvokeClean("Clear-MessCache -ArtifactPath art -WhatIf");
        Assert.True(File.Exists(tmp["art/cache/x/f.bin"]));
        Assert.True(File.Exists(tmp["art/metadata/.tracks_metadata.csv.abc.messtmp"]));
        var removed = ps.InvokeClean("Clear-MessCache -ArtifactPath art -Force -PassThru");
        Assert.Equal(2, removed.Count);
        Assert.False(Directory.Exists(tmp["art/cache/x"]));
        Assert.False(File.Exists(tmp["art/metadata/.tracks_metadata.csv.abc.messtmp"]));
        Assert.Equal("keep", File.ReadAllText(tmp["art/metadata/tracks_metadata.csv"]));
    }
}
