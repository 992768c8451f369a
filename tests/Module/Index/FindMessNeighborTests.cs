using System.Management.Automation;
using System.Text.Json;
using MessTools.Tests.Module.Infrastructure;

namespace MessTools.Tests.Module.Index;

/// <summary>One artifact folder with 400 tracks and a built HNSW index, shared by the read-only tests.</summary>
public sealed class NeighborFixture : IDisposable
{
    private readonly TempDir _tmp = new();
    public string Root => _tmp.Path;
    public string Art { get; }
    public string[] Ids { get; }
    public float[] Data { get; }

    public NeighborFixture()
    {
        (Art, Ids, Data) = IndexArtifacts.Create(_tmp.Path, 400, seed: 9);
        using var ps = new ModuleRunspace(_tmp.Path);
        ps.InvokeClean("$null = New-MessIndex -ArtifactPath art");
    }

    public void Dispose() => _tmp.Dispose();
}

[Collection(ProcessEnvironmentCollection.Name)]
public class FindMessNeighborTests : IClassFixture<NeighborFixture>
{
    private readonly NeighborFixture _f;
    public FindMessNeighborTests(NeighborFixture f) => _f = f;

    private ModuleRunspace Shell() => new(_f.Root);

    private static string Id(PSObject o) => (string)o.Properties["TrackId"].Value;

    /// <summary>The error that stopped <paramref name="script"/> (terminating errors of a statement land in the error stream).</summary>
    internal static ErrorRecord Fails(ModuleRunspace ps, string script)
    {
        int before = ps.Errors.Count;
        try { ps.Invoke(script); }
        catch (RuntimeException ex) { return ex.ErrorRecord; }
        Assert.True(ps.Errors.Count > before, "expected an error from: " + script);
        return ps.Errors[before];
    }

    private static string Message(ErrorRecord e) => e.Exception.Message;

    [Fact]
    public void By_track_id_returns_K_ranked_neighbours_with_metadata_and_never_itself()
    {
        using var ps = Shell();
        var res = ps.InvokeClean("Find-MessNeighbor -TrackId t0005 -ArtifactPath art");
        Assert.Equal(5, res.Count);
        Assert.All(res, r => Assert.Equal("MessTools.NeighborResult", r.BaseObject.GetType().FullName));
        Assert.Equal(new[] { 1, 2, 3, 4, 5 }, res.Select(r => (int)r.Properties["NeighborRank"].Value));
        Assert.All(res, r => Assert.Equal("t0005", r.Properties["QueryTrackId"].Value));
        Assert.DoesNotContain("t0005", res.Select(Id));
        var sims = res.Select(r => (double)r.Properties["Similarity"].Value).ToArray();
        Assert.Equal(sims.OrderByDescending(x => x), sims);
        var first = res[0];
        int row = Array.IndexOf(_f.Ids, Id(first));
        Assert.Equal(IndexArtifacts.Composer(row), first.Properties["Composer"].Value);
        Assert.Equal($"Piece {row}", first.Properties["Title"].Value);
        Assert.Equal(IndexArtifacts.Album(row), first.Properties["AlbumId"].Value);
        // Same answer as brute force over the vectors.
        var truth = IndexArtifacts.BruteForce(_f.Data, IndexArtifacts.Dim, 5, 5, _ => true).Select(i => _f.Ids[i]);
        Assert.Equal(truth, res.Select(Id));
    }

    [Fact]
    public void Exact_agrees_with_hnsw_on_this_set_and_K_is_honoured()
    {
        using var ps = Shell();
        var hnsw = ps.InvokeClean("Find-MessNeighbor t0100, t0200 -K 10 -ArtifactPath art").Select(Id).ToArray();
        var exact = ps.InvokeClean("Find-MessNeighbor t0100, t0200 -K 10 -Exact -ArtifactPath art").Select(Id).ToArray();
        Assert.Equal(20, exact.Length);
        Assert.True(hnsw.Intersect(exact).Count() >= 19, string.Join(",", hnsw) + " vs " + string.Join(",", exact));
    }

    [Fact]
    public void Pipeline_input_binds_strings_objects_csv_rows_and_results()
    {
        using var ps = Shell();
        var res = ps.InvokeClean(
            "'t0001', [pscustomobject]@{ track_id = 't0002' }, [pscustomobject]@{ TrackId = 't0003'; AlbumId = 'x' } | Find-MessNeighbor -K 2 -ArtifactPath art");
        Assert.Equal(new[] { "t0001", "t0001", "t0002", "t0002", "t0003", "t0003" }, res.Select(r => (string)r.Properties["QueryTrackId"].Value));
        // Neighbours of neighbours: results carry TrackId.
        var second = ps.InvokeClean("Find-MessNeighbor t0001 -K 2 -ArtifactPath art | Find-MessNeighbor -K 1 -ArtifactPath art");
        Assert.Equal(res.Take(2).Select(Id), second.Select(r => (string)r.Properties["QueryTrackId"].Value));
        // Rows of tracks_metadata.csv, read with .NET (Import-Csv is not in this runspace) and bound by property name.
        var rows = ps.InvokeClean(
            "$lines = [System.IO.File]::ReadAllLines([System.IO.Path]::Combine($pwd.Path, 'art/metadata/tracks_metadata.csv')); " +
            "$lines[1..2] | ForEach-Object { $c = $_.Split(','); [pscustomobject]@{ track_id = $c[0]; album_id = $c[1]; composer = $c[4] } } | Find-MessNeighbor -K 1 -ArtifactPath art");
        Assert.Equal(new[] { "t0000", "t0001" }, rows.Select(r => (string)r.Properties["QueryTrackId"].Value));
    }

    [Fact]
    public void Self_is_never_returned_even_with_duplicated_vectors()
    {
        using var tmp = new TempDir();
        string art = Path.Combine(tmp.Path, "art");
        int d = IndexArtifacts.Dim;
        var baseData = IndexArtifacts.Clustered(60, d, 4, 2);
        // Tracks 0..59 and three copies of each of the first 20 vectors (dupA/dupB/dupC).
        var ids = IndexArtifacts.Ids(60).Concat(Enumerable.Range(0, 20).SelectMany(i => new[] { $"dupA{i}", $"dupB{i}", $"dupC{i}" })).ToArray();
        var data = baseData.Concat(Enumerable.Range(0, 20).SelectMany(i => Enumerable.Repeat(baseData.AsSpan(i * d, d).ToArray(), 3).SelectMany(x => x))).ToArray();
        IndexArtifacts.WriteEmbeddings(art, ids, data, d);
        using var ps = new ModuleRunspace(tmp.Path);
        ps.InvokeClean("$null = New-MessIndex -ArtifactPath art");
        foreach (string exact in new[] { "", "-Exact" })
            for (int i = 0; i < 20; i++)
            {
                var res = ps.InvokeClean($"Find-MessNeighbor t{i:D4}, dupB{i} -K 4 -ArtifactPath art {exact}");
                Assert.Equal(8, res.Count);
                foreach (var group in res.GroupBy(r => (string)r.Properties["QueryTrackId"].Value))
                {
                    var found = group.Select(Id).ToList();
                    Assert.DoesNotContain(group.Key, found);
                    // The other three copies of the vector come first, at similarity 1.
                    var twins = new[] { $"t{i:D4}", $"dupA{i}", $"dupB{i}", $"dupC{i}" }.Where(t => t != group.Key).ToHashSet();
                    Assert.Equal(twins, found.Take(3).ToHashSet());
                    Assert.All(group.Take(3), r => Assert.Equal(1.0, (double)r.Properties["Similarity"].Value, 4));
                }
            }
    }

    [Fact]
    public void K_out_of_range_is_refused()
    {
        using var ps = Shell();
        var low = Fails(ps, "Find-MessNeighbor t0001 -K 0 -ArtifactPath art");
        Assert.IsAssignableFrom<ParameterBindingException>(low.Exception);
        Assert.Contains("ParameterArgumentValidationError", low.FullyQualifiedErrorId);
        // One K rule with the server (Core's NeighborRequest): 1 to N-1, the query itself never counts. -K 400 of 400
        // tracks used to pass and return 399 rows.
        foreach (int k in new[] { 400, 401 })
        {
            var high = Fails(ps, $"Find-MessNeighbor t0001 -K {k} -ArtifactPath art");
            Assert.StartsWith("KOutOfRange", high.FullyQualifiedErrorId);
            Assert.StartsWith("-K must be a whole number from 1 to 399", Message(high));
            Assert.Equal(ErrorCategory.InvalidArgument, high.CategoryInfo.Category);
        }
        Assert.Equal(399, ps.InvokeClean("Find-MessNeighbor t0001 -K 399 -ArtifactPath art").Count);
    }

    [Fact]
    public void Unknown_id_is_a_non_terminating_error_with_close_ids_suggested()
    {
        using var ps = Shell();
        var res = ps.Invoke("Find-MessNeighbor t0001, t001, T0002, nonsense-id, t0003 -K 1 -ArtifactPath art");
        Assert.Equal(new[] { "t0001", "t0003" }, res.Select(r => (string)r.Properties["QueryTrackId"].Value));
        Assert.Equal(3, ps.Errors.Count);
        Assert.All(ps.Errors, e => Assert.StartsWith("UnknownTrackId", e.FullyQualifiedErrorId));
        Assert.All(ps.Errors, e => Assert.Equal(ErrorCategory.ObjectNotFound, e.CategoryInfo.Category));
        Assert.Contains("Did you mean", ps.Errors[0].Exception.Message);
        Assert.Contains("'t0010'", ps.Errors[0].Exception.Message); // t001 -> prefix matches
        Assert.Contains("'t0002'", ps.Errors[1].Exception.Message); // case
        Assert.DoesNotContain("Did you mean", ps.Errors[2].Exception.Message);
    }

    [Fact]
    public void Album_and_composer_filters()
    {
        using var ps = Shell();
        var other = ps.InvokeClean("Find-MessNeighbor t0008 -K 20 -ExcludeSameAlbum -ArtifactPath art");
        Assert.Equal(20, other.Count);
        Assert.All(other, r => Assert.NotEqual("a001", r.Properties["AlbumId"].Value));
        var truth = IndexArtifacts.BruteForce(_f.Data, IndexArtifacts.Dim, 8, 20, i => IndexArtifacts.Album(i) != "a001");
        Assert.True(other.Select(Id).Intersect(truth.Select(i => _f.Ids[i])).Count() >= 19);

        var liszt = ps.InvokeClean("Find-MessNeighbor t0000 -K 7 -Composer 'liszt', 'Rach*' -ArtifactPath art");
        Assert.Equal(7, liszt.Count);
        Assert.All(liszt, r => Assert.Contains((string)r.Properties["Composer"].Value, new[] { "Liszt", "Rachmaninoff" }));
        var exact = IndexArtifacts.BruteForce(_f.Data, IndexArtifacts.Dim, 0, 7, i => i % 3 != 0).Select(i => _f.Ids[i]);
        Assert.Equal(exact, liszt.Select(Id));

        int warnings = ps.Warnings.Count;
        var none = ps.InvokeClean("Find-MessNeighbor t0000 -Composer 'Bach' -ArtifactPath art");
        Assert.Empty(none);
        Assert.Contains("Bach", ps.Warnings[warnings].Message);
    }

    [Fact]
    public void AsJson_emits_one_array_for_all_queries()
    {
        using var ps = Shell();
        var json = Assert.Single(ps.InvokeClean("Find-MessNeighbor t0001, t0002 -K 3 -AsJson -ArtifactPath art"));
        var doc = JsonDocument.Parse((string)json.BaseObject).RootElement;
        Assert.Equal(6, doc.GetArrayLength());
        var first = doc[0];
        Assert.Equal("t0001", first.GetProperty("query_track_id").GetString());
        Assert.Equal(1, first.GetProperty("rank").GetInt32());
        Assert.False(string.IsNullOrEmpty(first.GetProperty("track_id").GetString()));
        Assert.InRange(first.GetProperty("similarity").GetDouble(), -1, 1.0001);
        Assert.True(first.TryGetProperty("composer", out _) && first.TryGetProperty("title", out _) && first.TryGetProperty("album_id", out _));
    }

    [Fact]
    public void TrackId_tab_completes_from_track_ids_json()
    {
        using var ps = Shell();
        var r = ps.InvokeClean("$line = 'Find-MessNeighbor -ArtifactPath art -TrackId t012'; [System.Management.Automation.CommandCompletion]::CompleteInput($line, $line.Length, $null).CompletionMatches.CompletionText");
        Assert.Equal(Enumerable.Range(120, 10).Select(i => $"t{i:D4}"), r.Select(o => o.ToString()));
        // Through the API the issue names, with the artifact folder from the environment.
        var viaApi = ps.InvokeClean(
            "$env:MESS_ARTIFACT_PATH = [System.IO.Path]::Combine($pwd.Path, 'art'); " +
            "$line = 'Find-MessNeighbor -TrackId t039'; " +
            "[System.Management.Automation.CommandCompletion]::CompleteInput($line, $line.Length, $null).CompletionMatches.CompletionText; " +
            "$env:MESS_ARTIFACT_PATH = $null");
        Assert.Equal(Enumerable.Range(390, 10).Select(i => $"t{i:D4}"), viaApi.Select(o => o.ToString()));
        var composers = ps.InvokeClean("$line = 'Find-MessNeighbor -ArtifactPath art -Composer Ra'; [System.Management.Automation.CommandCompletion]::CompleteInput($line, $line.Length, $null).CompletionMatches.CompletionText");
        Assert.Equal("Rachmaninoff", Assert.Single(composers).ToString());
    }

    [Fact]
    public void Damaged_or_stale_index_is_refused_with_a_rebuild_message()
    {
        using var tmp = new TempDir();
        var (art, ids, data) = IndexArtifacts.Create(tmp.Path, 80);
        using var ps = new ModuleRunspace(tmp.Path);
        var missing = Fails(ps, "Find-MessNeighbor t0001 -ArtifactPath art");
        Assert.StartsWith("IndexMissing", missing.FullyQualifiedErrorId);
        ps.InvokeClean("$null = New-MessIndex -ArtifactPath art");
        Assert.Equal(5, ps.InvokeClean("Find-MessNeighbor t0001 -ArtifactPath art").Count);

        string index = Path.Combine(art, "index", "hnsw.index");
        var good = File.ReadAllBytes(index);
        var bad = (byte[])good.Clone();
        bad[good.Length / 2] ^= 0x08;
        File.WriteAllBytes(index, bad);
        var corrupt = Fails(ps, "Find-MessNeighbor t0001 -ArtifactPath art");
        Assert.StartsWith("IndexCorrupt", corrupt.FullyQualifiedErrorId);
        Assert.Contains("New-MessIndex", Message(corrupt));
        File.WriteAllBytes(index, good[..(good.Length - 100)]);
        Assert.Contains("truncated", Message(Fails(ps, "Find-MessNeighbor t0001 -ArtifactPath art")));
        File.WriteAllText(index, "not an index");
        Assert.StartsWith("IndexForeign", Fails(ps, "Find-MessNeighbor t0001 -ArtifactPath art").FullyQualifiedErrorId);
        File.WriteAllBytes(index, good);
        Assert.Equal(5, ps.InvokeClean("Find-MessNeighbor t0001 -ArtifactPath art").Count);

        // New embeddings, old index: out of step.
        data[0] = -data[0];
        double norm = Math.Sqrt(data.Take(IndexArtifacts.Dim).Sum(x => (double)x * x));
        IndexArtifacts.WriteEmbeddings(art, ids, data, IndexArtifacts.Dim);
        var stale = Fails(ps, "Find-MessNeighbor t0001 -ArtifactPath art");
        Assert.StartsWith("IndexOutOfStep", stale.FullyQualifiedErrorId);
        Assert.Contains("Rebuild the index: New-MessIndex", Message(stale));
        Assert.True(norm > 0);
    }

    [Fact]
    public void Without_metadata_results_have_no_composer_and_filters_are_refused()
    {
        using var tmp = new TempDir();
        var (art, _, _) = IndexArtifacts.Create(tmp.Path, 60);
        File.Delete(Path.Combine(art, "metadata", "tracks_metadata.csv"));
        using var ps = new ModuleRunspace(tmp.Path);
        ps.InvokeClean("$null = New-MessIndex -ArtifactPath art");
        var res = ps.InvokeClean("Find-MessNeighbor t0001 -K 3 -ArtifactPath art");
        Assert.Equal(3, res.Count);
        Assert.All(res, r => Assert.Null(r.Properties["Composer"].Value));
        Assert.StartsWith("MetadataMissing", Fails(ps, "Find-MessNeighbor t0001 -ExcludeSameAlbum -ArtifactPath art").FullyQualifiedErrorId);
        Assert.StartsWith("MetadataMissing", Fails(ps, "Find-MessNeighbor t0001 -Composer Liszt -ArtifactPath art").FullyQualifiedErrorId);
    }

    [Fact]
    public void Reads_only_and_has_help()
    {
        using var ps = Shell();
        int runsBefore = Directory.Exists(Path.Combine(_f.Art, "runs")) ? Directory.GetFiles(Path.Combine(_f.Art, "runs")).Length : 0;
        ps.InvokeClean("$null = Find-MessNeighbor t0001 -ArtifactPath art");
        Assert.Equal(runsBefore, Directory.GetFiles(Path.Combine(_f.Art, "runs")).Length);
        foreach (var cmd in new[] { "Find-MessNeighbor", "New-MessIndex" })
        {
            var synopsis = ps.InvokeClean($"(Get-Help {cmd}).Synopsis");
            Assert.False(string.IsNullOrWhiteSpace(synopsis[0]?.ToString()));
            var examples = ps.InvokeClean($"@((Get-Help {cmd}).examples.example).Count");
            Assert.True((int)examples[0].BaseObject >= 1);
        }
        var outputTypes = ps.InvokeClean("(Get-Command Find-MessNeighbor).OutputType.Name");
        Assert.Contains("MessTools.NeighborResult", outputTypes.Select(o => o.ToString()));
    }
}
