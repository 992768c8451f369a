using System.Management.Automation;
using MessTools.Tests.Module.Embedding;
using MessTools.Tests.Module.Infrastructure;

namespace MessTools.Tests.Module.Artifacts;

/// <summary>Issue 10 items 1 and 11 in hosted runspaces: the writer lock through the cmdlets, Clear-MessCache and links.</summary>
public class WriterLockTests
{
    private static readonly string[] Writers =
        { "Export-MessMetadata", "Get-MessAudio", "Split-MessAudio", "ConvertTo-MessEmbedding", "New-MessIndex", "Invoke-MessEvaluation", "Clear-MessCache" };

    [Fact]
    public void Every_writer_has_LockTimeout_and_readers_do_not()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        foreach (var name in Writers)
            Assert.Contains("LockTimeout", ps.InvokeClean("(Get-Command $n).Parameters.Keys", ("n", name)).Select(o => o.ToString()));
        Assert.DoesNotContain("LockTimeout", ps.InvokeClean("(Get-Command Find-MessNeighbor).Parameters.Keys").Select(o => o.ToString()));
        Assert.Contains("Seconds to wait for another writer", string.Join("\n", ps.InvokeClean("(Get-Help New-MessIndex -Parameter LockTimeout).description | ForEach-Object Text").Select(o => o.ToString())));
    }

    private static string Wav(TempDir dir, string id, double freq)
    {
        const int sr = 22050;
        var x = Enumerable.Range(0, (int)(2.0 * sr)).Select(i => (float)(0.3 * Math.Sin(2 * Math.PI * freq * i / sr))).ToArray();
        string p = dir[id + ".wav"];
        ConvertToMessEmbeddingTests.WriteWav(p, x, sr);
        return p;
    }

    [Fact]
    public async Task Another_runspace_writing_the_folder_fails_at_once_naming_the_holder_then_waits_with_LockTimeout()
    {
        using var tmp = new TempDir();
        string go = tmp["go"];
        var t1 = Wav(tmp, "t1", 220); var t2 = Wav(tmp, "t2", 330); var t3 = Wav(tmp, "t3", 440);
        using var a = new ModuleRunspace(tmp.Path);
        using var b = new ModuleRunspace(tmp.Path);
        // A posts t1 and then holds the folder (and its lock) until told to go on.
        var holder = Task.Run(() => a.InvokeClean(
            "& { [pscustomobject]@{ track_id = 't1'; wav_path = $t1 }; while (-not [IO.File]::Exists($go)) { [Threading.Thread]::Sleep(50) }; [pscustomobject]@{ track_id = 't2'; wav_path = $t2 } } | ConvertTo-MessEmbedding -ArtifactPath art | Out-Null",
            ("t1", t1), ("t2", t2), ("go", go)));
        try
        {
            string holderFile = tmp["art/.lock.holder.json"];
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!File.Exists(holderFile) && DateTime.UtcNow < deadline && !holder.IsCompleted) Thread.Sleep(50);
            Assert.True(File.Exists(holderFile), "A never took the lock");

            // a terminating error: the statement ends (in a script it goes to the error stream)
            var output = b.Invoke("[pscustomobject]@{ track_id = 't3'; wav_path = $t3 } | ConvertTo-MessEmbedding -ArtifactPath art", ("t3", t3));
            Assert.Empty(output);
            var error = Assert.Single(b.Errors);
            Assert.Equal("ArtifactFolderLocked", error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Equal(ErrorCategory.ResourceUnavailable, error.CategoryInfo.Category);
            string message = error.Exception.Message;
            Assert.Contains("ConvertTo-MessEmbedding", message);
            Assert.Contains($"process {Environment.ProcessId} on host '{Environment.MachineName}'", message);
            Assert.Contains("-LockTimeout", message);
            b.Errors.Clear();

            // -WhatIf writes nothing, so it does not need the lock
            b.InvokeClean("[pscustomobject]@{ track_id = 't3'; wav_path = $t3 } | ConvertTo-MessEmbedding -ArtifactPath art -WhatIf", ("t3", t3));

            _ = Task.Run(async () => { await Task.Delay(1500); File.WriteAllText(go, "go"); });
            b.InvokeClean("[pscustomobject]@{ track_id = 't3'; wav_path = $t3 } | ConvertTo-MessEmbedding -ArtifactPath art -LockTimeout 120 -Verbose | Out-Null", ("t3", t3));
            Assert.Contains(b.Verbose, v => v.Message.StartsWith("Waiting up to 120 s for the writer lock", StringComparison.Ordinal));
        }
        finally
        {
            File.WriteAllText(go, "go");
            await Task.WhenAny(holder, Task.Delay(TimeSpan.FromSeconds(120)));
        }
        Assert.True(holder.IsCompletedSuccessfully, holder.Exception?.ToString() ?? "A did not finish in 2 minutes");
        var ids = System.Text.Json.JsonSerializer.Deserialize<string[]>(File.ReadAllText(tmp["art/embeddings/track_ids.json"]))!;
        Assert.Equal(new[] { "t1", "t2", "t3" }, ids); // A's two tracks, then B's: nothing overwritten
        Assert.False(File.Exists(tmp["art/.lock.holder.json"]));
    }

    [Fact]
    public void The_stages_of_one_pipeline_share_the_lock_and_a_finished_run_leaves_it_free()
    {
        using var tmp = new TempDir();
        var t1 = Wav(tmp, "t1", 220);
        using var ps = new ModuleRunspace(tmp.Path);
        ps.InvokeClean("[pscustomobject]@{ track_id = 't1'; wav_path = $t1 } | ConvertTo-MessEmbedding -ArtifactPath art | New-MessIndex -Type Flat | Out-Null", ("t1", t1));
        Assert.True(File.Exists(tmp["art/index/flat.index"]));
        using var other = new ModuleRunspace(tmp.Path);
        other.InvokeClean("New-MessIndex -ArtifactPath art -Type Flat -LockTimeout 0 | Out-Null");
    }

    [Fact]
    public void Clear_MessCache_removes_links_not_what_they_point_to()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp["outside/sub"]);
        File.WriteAllText(tmp["outside/precious.txt"], "keep");
        File.WriteAllText(tmp["outside/sub/.x.messtmp"], "not ours");
        Directory.CreateDirectory(tmp["art/cache/real"]);
        File.WriteAllText(tmp["art/cache/real/f.bin"], "1");
        Directory.CreateSymbolicLink(tmp["art/cache/dirlink"], tmp["outside"]);
        File.CreateSymbolicLink(tmp["art/cache/filelink"], tmp["outside/precious.txt"]);
        Directory.CreateSymbolicLink(tmp["art/cache/real/nested"], tmp["outside"]);
        Directory.CreateSymbolicLink(tmp["art/elsewhere"], tmp["outside"]);
        using var ps = new ModuleRunspace(tmp.Path);
        var removed = ps.InvokeClean("Clear-MessCache -ArtifactPath art -Force -PassThru | ForEach-Object Name").Select(o => o.ToString()).ToList();
        Assert.Equal(new[] { "dirlink", "filelink", "real" }, removed.OrderBy(n => n, StringComparer.Ordinal));
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp["art/cache"]));
        Assert.Equal("keep", File.ReadAllText(tmp["outside/precious.txt"]));
        Assert.True(File.Exists(tmp["outside/sub/.x.messtmp"]));
        Assert.True(Directory.Exists(tmp["art/elsewhere"]));
    }
}
