using System.Diagnostics;
using System.Globalization;
using MessTools.Tests.Module.Infrastructure;

namespace MessTools.Tests.Module.Pipeline;

/// <summary>
/// The README's pipeline end to end in the published module: Export-MessMetadata | Get-MessAudio |
/// ConvertTo-MessEmbedding | New-MessIndex, then Invoke-MessEvaluation and Find-MessNeighbor (by id and by a file
/// outside the catalogue), on short tracks that ffmpeg synthesises.
/// </summary>
[Collection(ProcessEnvironmentCollection.Name)]
public class FullPipelineTests
{
    // Two "composers" with different material: low sustained chords vs. high fast tones.
    private static readonly (string Id, string Album, string Composer, string Expr)[] Tracks =
    {
        ("low-1", "low-a", "Lowman", "0.3*sin(2*PI*110*t)+0.2*sin(2*PI*165*t)+0.1*sin(2*PI*220*t)"),
        ("low-2", "low-a", "Lowman", "0.3*sin(2*PI*98*t)+0.2*sin(2*PI*147*t)+0.1*sin(2*PI*196*t)"),
        ("low-3", "low-b", "Lowman", "0.3*sin(2*PI*123*t)+0.2*sin(2*PI*185*t)+0.1*sin(2*PI*246*t)"),
        ("high-1", "high-a", "Highman", "0.4*sin(2*PI*(1760+400*sin(2*PI*3*t))*t)*(0.5+0.5*sin(2*PI*6*t))"),
        ("high-2", "high-a", "Highman", "0.4*sin(2*PI*(1568+300*sin(2*PI*4*t))*t)*(0.5+0.5*sin(2*PI*5*t))"),
        ("high-3", "high-b", "Highman", "0.4*sin(2*PI*(1976+500*sin(2*PI*2*t))*t)*(0.5+0.5*sin(2*PI*7*t))"),
    };

    private static void Synthesize(string expr, string path)
    {
        var psi = new ProcessStartInfo("ffmpeg", new[] { "-nostdin", "-v", "error", "-f", "lavfi", "-i", $"aevalsrc={expr}:s=44100:d=6", "-ac", "2", "-y", path })
        { RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, "ffmpeg failed: " + err);
    }

    [Fact]
    public void Whole_pipeline_then_evaluation_and_neighbour_queries()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp["audio"]);
        var csv = new List<string> { "track_id,album_id,track_no,title,composer,audio_s3_key,duration_sec" };
        int n = 0;
        foreach (var t in Tracks)
        {
            Synthesize(t.Expr, tmp[$"audio/{t.Id}.wav"]);
            csv.Add(string.Join(',', t.Id, t.Album, (++n).ToString(CultureInfo.InvariantCulture), "Piece " + t.Id, t.Composer, $"audio/{t.Id}.wav", "6"));
        }
        File.WriteAllLines(tmp["catalog.csv"], csv);
        Directory.CreateDirectory(tmp["elsewhere"]);
        File.Copy(tmp["audio/high-2.wav"], tmp["elsewhere/query.wav"]);

        using var ps = new ModuleRunspace(tmp.Path);
        // No -ArtifactPath anywhere: every stage uses ./artifacts/v1_model_builtin, and New-MessIndex the folder the tracks were embedded into.
        var index = ps.InvokeClean(
            "$env:MESS_ARTIFACT_PATH = $null; Export-MessMetadata -Path catalog.csv | Get-MessAudio -AudioRoot . | ConvertTo-MessEmbedding | New-MessIndex");
        var info = Assert.Single(index);
        Assert.Equal(6, Convert.ToInt32(info.Properties["TrackCount"].Value, CultureInfo.InvariantCulture));
        string art = tmp["artifacts/v1_model_builtin"];
        Assert.True(File.Exists(Path.Combine(art, "index", "hnsw.index")));
        Assert.Equal(6, File.ReadAllLines(Path.Combine(art, "metadata", "tracks_metadata.csv")).Length - 1);
        Assert.Equal(6, Directory.GetFiles(Path.Combine(art, "audio_wav"), "*.wav").Length);
        Assert.Equal(4L * 6 * 620, new FileInfo(Path.Combine(art, "embeddings", "embeddings.f32")).Length);
        foreach (var stage in new[] { "Export-MessMetadata", "Get-MessAudio", "ConvertTo-MessEmbedding", "New-MessIndex" })
            Assert.Single(Directory.GetFiles(Path.Combine(art, "runs"), $"*_{stage}.json"));

        var eval = Assert.Single(ps.InvokeClean("Invoke-MessEvaluation -K 2 | Where-Object ExcludeSameAlbum -eq $false"));
        Assert.Equal(6, (int)eval.Properties["Queries"].Value);
        Assert.True((double)eval.Properties["PrecisionAtK"].Value >= 0.75, "the two synthetic composers should mostly find each other");
        Assert.True(File.Exists(Path.Combine(art, "eval", "eval_results.json")));

        var byId = ps.InvokeClean("Find-MessNeighbor -TrackId low-1 -K 2");
        Assert.Equal(2, byId.Count);
        Assert.DoesNotContain(byId, r => (string)r.Properties["TrackId"].Value == "low-1");

        // A file outside the catalogue with the same audio as high-2: its nearest track is high-2, similarity ~1.
        var byAudio = ps.InvokeClean("Find-MessNeighbor -AudioPath elsewhere/query.wav -K 3");
        Assert.Equal(3, byAudio.Count);
        Assert.Equal("high-2", byAudio[0].Properties["TrackId"].Value);
        Assert.True(Convert.ToDouble(byAudio[0].Properties["Similarity"].Value, CultureInfo.InvariantCulture) > 0.99);
        Assert.Equal("Highman", byAudio[0].Properties["Composer"].Value);

        ps.Invoke("Find-MessNeighbor -AudioPath elsewhere/missing.wav");
        Assert.Contains(ps.Errors, e => e.FullyQualifiedErrorId.StartsWith("AudioFileNotFound,", StringComparison.Ordinal));

        // -AudioPath expands wildcards as every -Path does; -LiteralPath takes a name with brackets as it is.
        var byPattern = ps.InvokeClean("Find-MessNeighbor -AudioPath elsewhere/que*.wav -K 3");
        Assert.Equal(byAudio.Select(r => r.Properties["TrackId"].Value), byPattern.Select(r => r.Properties["TrackId"].Value));
        File.Copy(Path.Combine(tmp.Path, "elsewhere", "query.wav"), Path.Combine(tmp.Path, "elsewhere", "[take 1].wav"));
        var literal = ps.InvokeClean("Find-MessNeighbor -LiteralPath 'elsewhere/[take 1].wav' -K 3");
        Assert.Equal("high-2", literal[0].Properties["TrackId"].Value);
        ps.Invoke("Find-MessNeighbor -AudioPath elsewhere/nothing*.wav");
        Assert.Contains(ps.Errors, e => e.FullyQualifiedErrorId.StartsWith("AudioFileNotFound,", StringComparison.Ordinal) && e.Exception.Message.Contains("nothing*.wav"));
    }

    [Fact]
    public void New_index_refuses_tracks_from_two_folders()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        var caught = ps.Invoke("try { [pscustomobject]@{ ArtifactPath = 'a' }, [pscustomobject]@{ ArtifactPath = 'b' } | New-MessIndex; 'not stopped' } catch { $_.FullyQualifiedErrorId }");
        Assert.StartsWith("MixedArtifactFolders,", caught.Single().ToString());
    }
}
