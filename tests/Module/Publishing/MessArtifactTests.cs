using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using MessTools.Tests.Module.Audio;
using MessTools.Tests.Module.Index;
using MessTools.Tests.Module.Infrastructure;

namespace MessTools.Tests.Module.Publishing;

/// <summary>Publish-MessArtifact, Import-MessArtifact and Get-MessArtifactVersion in a real runspace and a real pwsh process, against moto.</summary>
[Collection("moto-module")]
public class MessArtifactTests : IClassFixture<GetMessAudioTests.Moto>
{
    private readonly GetMessAudioTests.Moto _moto;
    public MessArtifactTests(GetMessAudioTests.Moto moto) => _moto = moto;

    private string NewBucket()
    {
        string b = "art-" + Guid.NewGuid().ToString("N")[..10];
        _moto.Server.CreateBucket(b);
        return b;
    }

    private static Dictionary<string, string> Snapshot(string root, Func<string, bool>? include = null) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => (Rel: Path.GetRelativePath(root, f).Replace('\\', '/'), Full: f))
            .Where(f => !f.Rel.Contains('/') && f.Rel.StartsWith('.') ? false : include?.Invoke(f.Rel) ?? true) // the writer lock's files are no content
            .ToDictionary(f => f.Rel, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f.Full))));

    private static bool Published(string rel) => !rel.StartsWith("superseded_runs/", StringComparison.Ordinal) && // an import's local records, never published
        (!rel.StartsWith("runs/", StringComparison.Ordinal) || !rel.Contains("_Publish-MessArtifact") && !rel.Contains("_Import-MessArtifact"));

    /// <summary>An artifact folder with embeddings, metadata, an index and an evaluation, made by the module itself.</summary>
    private static (ModuleRunspace Ps, string Art) Evaluated(TempDir tmp)
    {
        var (art, _, _) = IndexArtifacts.Create(tmp.Path, n: 120);
        var ps = new ModuleRunspace(tmp.Path);
        ps.InvokeClean("New-MessIndex -ArtifactPath art -RecallSampleSize 0 | Out-Null; Invoke-MessEvaluation -ArtifactPath art -K 5 -SampleCount 0 | Out-Null");
        return (ps, art);
    }

    private static object? P(PSObject o, string name) => o.Properties[name].Value;

    [Fact]
    public void Publish_then_import_into_a_fresh_folder_gives_identical_files_and_the_same_evaluation()
    {
        using var tmp = new TempDir();
        var (ps, art) = Evaluated(tmp);
        using var _ = ps;
        string bucket = NewBucket();
        var pub = Assert.Single(ps.InvokeClean($"Publish-MessArtifact -ArtifactPath art -Bucket {bucket} -EndpointUrl $ep -Model builtin", ("ep", _moto.Server.Endpoint)));
        Assert.Equal("MessTools.Core.Publishing.PublishResult", pub.BaseObject.GetType().FullName);
        string version = (string)P(pub, "VersionId")!;
        Assert.Equal($"s3://{bucket}/vector-artifacts/v1_model_builtin/{version}/", P(pub, "Uri"));
        Assert.Contains(ps.Progress, p => p.Activity == "Publish-MessArtifact" && p.StatusDescription.Contains("files") && p.StatusDescription.Contains("MB"));

        var listed = ps.InvokeClean($"Get-MessArtifactVersion -Bucket {bucket} -EndpointUrl $ep", ("ep", _moto.Server.Endpoint));
        var only = Assert.Single(listed);
        Assert.Equal(version, P(only, "VersionId"));
        Assert.True((bool)P(only, "IsLatest")!);

        var imp = Assert.Single(ps.InvokeClean($"Import-MessArtifact -Bucket {bucket} -EndpointUrl $ep -Model builtin -ArtifactPath fresh", ("ep", _moto.Server.Endpoint)));
        Assert.Equal(version, P(imp, "VersionId"));
        var source = Snapshot(art, Published);
        var copy = Snapshot(tmp["fresh"], Published);
        Assert.Equal(source.Keys.Order(StringComparer.Ordinal), copy.Keys.Order(StringComparer.Ordinal));
        foreach (var (rel, hash) in source) Assert.Equal(hash, copy[rel]);
        Assert.Single(Directory.GetFiles(tmp["fresh/runs"], "*_Import-MessArtifact.json"));

        string Figures(string folder) => string.Join(";", ps.InvokeClean($"Invoke-MessEvaluation -ArtifactPath {folder} -K 5 -SampleCount 0")
            .Select(r => string.Join(",", new[] { "Queries", "PrecisionAtK", "HitRateAtK", "NdcgAtK" }.Select(n => Convert.ToString(P(r, n), CultureInfo.InvariantCulture)))));
        string original = Figures("art");
        Assert.Contains("120,", original);
        Assert.Equal(original, Figures("fresh"));
    }

    [Fact]
    public void WhatIf_uploads_nothing_and_a_Deny_policy_is_a_terminating_error_naming_bucket_and_prefix_without_secrets()
    {
        using var tmp = new TempDir();
        var (art, _, _) = IndexArtifacts.Create(tmp.Path, n: 40);
        using var ps = new ModuleRunspace(tmp.Path);
        string bucket = NewBucket();
        Thread.Sleep(300);
        int mark = _moto.Server.RequestCount;
        var none = ps.InvokeClean($"Publish-MessArtifact -ArtifactPath art -Bucket {bucket} -EndpointUrl $ep -Model builtin -WhatIf", ("ep", _moto.Server.Endpoint));
        Assert.Empty(none);
        Thread.Sleep(300);
        var log = _moto.Server.RequestLog().Skip(mark).ToList();
        Assert.Contains(log, r => r.Method == "GET" && r.Path.StartsWith($"/{bucket}", StringComparison.Ordinal)); // it did look
        Assert.DoesNotContain(log, r => r.Method is "PUT" or "POST");
        Assert.Empty(ps.InvokeClean($"Get-MessArtifactVersion -Bucket {bucket} -EndpointUrl $ep", ("ep", _moto.Server.Endpoint)));
        Assert.False(Directory.Exists(Path.Combine(art, "runs")));

        _moto.Server.PutBucketPolicy(bucket, MotoServer.DenyPolicy(bucket, "s3:*", "team/"));
        var ex = Terminating(ps, $"Publish-MessArtifact -ArtifactPath art -Bucket {bucket} -Prefix team/arts -EndpointUrl $ep -Model builtin -RetryCount 0");
        Assert.Equal("ArtifactAccessDenied,MessTools.Cmdlets.PublishMessArtifactCommand", ex.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.PermissionDenied, ex.CategoryInfo.Category);
        Assert.Contains($"Bucket '{bucket}', prefix 'team/arts'", ex.Exception.Message);
        var record = File.ReadAllText(Directory.GetFiles(Path.Combine(art, "runs"), "*_Publish-MessArtifact.json").Single());
        Assert.Contains("\"status\": \"failed\"", record);
        Assert.Contains("ArtifactAccessDenied", record);
        Assert.DoesNotContain("testing-secret", record + ex.Exception.Message);

        var missing = Terminating(ps, "Import-MessArtifact -Bucket no-such-bucket-q -EndpointUrl $ep -Model builtin -ArtifactPath got");
        Assert.Equal("ArtifactBucketNotFound,MessTools.Cmdlets.ImportMessArtifactCommand", missing.FullyQualifiedErrorId);
        Assert.Contains("'no-such-bucket-q'", missing.Exception.Message);
        Assert.Contains("prefix 'vector-artifacts'", missing.Exception.Message);
    }

    /// <summary>The error that <paramref name="command"/> ended with: only a terminating error reaches catch (with the default preference).</summary>
    private ErrorRecord Terminating(ModuleRunspace ps, string command)
    {
        var output = ps.Invoke("try { " + command + " } catch { $_ }", ("ep", _moto.Server.Endpoint));
        return Assert.Single(output.Select(o => o.BaseObject).OfType<ErrorRecord>());
    }

    // ---------------------------------------------------------------- killed publishes (a real pwsh process)

    private Process StartPwshPublish(string art, string bucket, string endpoint)
    {
        string script = $"$ErrorActionPreference = 'Stop'; Import-Module '{RepoPaths.ModuleManifest}'; " +
                        $"Publish-MessArtifact -ArtifactPath '{art}' -Bucket {bucket} -EndpointUrl {endpoint} -Model builtin -ThrottleLimit 1 -RetryCount 0";
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = RepoPaths.Root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "pwsh", "-NoProfile", "-NonInteractive", "-Command", script }) psi.ArgumentList.Add(a);
        psi.Environment["AWS_ACCESS_KEY_ID"] = "testing";
        psi.Environment["AWS_SECRET_ACCESS_KEY"] = "testing-secret";
        psi.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static void KillWhenHeld(Process p, HoldingProxy proxy)
    {
        bool held = proxy.Held.Wait(TimeSpan.FromSeconds(90));
        bool exitedEarly = p.HasExited;
        p.Kill(entireProcessTree: true);
        p.WaitForExit(10_000);
        Assert.True(held, $"the publish never reached the request to hold (exited early: {exitedEarly})");
    }

    [Theory]
    [InlineData("before the manifest", @"^PUT /\S*/blobs/sha256/[0-9a-f]{64}(\?\S*)?$", 2)]
    [InlineData("after the manifest", @"^PUT /\S*/latest\.json(\?\S*)?$", 1)]
    public void A_publish_killed_mid_way_leaves_the_pointer_on_a_complete_version_and_a_rerun_completes(string when, string holdPattern, int holdAt)
    {
        using var tmp = new TempDir();
        var (art, _, _) = IndexArtifacts.Create(tmp.Path, n: 60);
        using var ps = new ModuleRunspace(tmp.Path);
        string bucket = NewBucket();
        (string, object?) ep = ("ep", _moto.Server.Endpoint);
        var v1 = Assert.Single(ps.InvokeClean($"Publish-MessArtifact -ArtifactPath art -Bucket {bucket} -EndpointUrl $ep -Model builtin", ep));
        var v1Files = Snapshot(art, Published);

        // Two files change: a run killed on the second upload has uploaded the first.
        File.AppendAllText(Path.Combine(art, "metadata", "tracks_metadata.csv"), "extra,a,1,x,Chopin,s3://b/x.wav,1\n");
        Directory.CreateDirectory(Path.Combine(art, "eval"));
        File.WriteAllText(Path.Combine(art, "eval", "notes.json"), "{\"changed\": true}");

        using var proxy = new HoldingProxy(_moto.Server.Port) { Hold = new Regex(holdPattern), HoldAt = holdAt };
        using (var child = StartPwshPublish(art, bucket, proxy.Endpoint)) KillWhenHeld(child, proxy);

        // Readers still get v1, complete.
        var versions = ps.InvokeClean($"Get-MessArtifactVersion -Bucket {bucket} -EndpointUrl $ep -Model builtin", ep);
        var latest = Assert.Single(versions, v => (bool)P(v, "IsLatest")!);
        Assert.Equal(P(v1, "VersionId"), P(latest, "VersionId"));
        Assert.Equal(when == "after the manifest" ? 2 : 1, versions.Count); // after the manifest, v2 exists but is not named
        ps.InvokeClean($"Import-MessArtifact -Bucket {bucket} -EndpointUrl $ep -Model builtin -ArtifactPath reader | Out-Null", ep);
        Assert.Equal(v1Files, Snapshot(tmp["reader"], Published));

        // A rerun completes, uploading only what is missing.
        var v2 = Assert.Single(ps.InvokeClean($"Publish-MessArtifact -ArtifactPath art -Bucket {bucket} -EndpointUrl $ep -Model builtin", ep));
        Assert.NotEqual(P(v1, "VersionId"), P(v2, "VersionId"));
        Assert.True((bool)P(v2, "PointerUpdated")!);
        Assert.Equal(when == "after the manifest" ? 0 : 1, Convert.ToInt32(P(v2, "UploadedFiles"), CultureInfo.InvariantCulture));
        Assert.Equal(when == "after the manifest", (bool)P(v2, "AlreadyPublished")!);
        ps.InvokeClean($"Import-MessArtifact -Bucket {bucket} -EndpointUrl $ep -Model builtin -ArtifactPath reader | Out-Null", ep);
        Assert.Equal(Snapshot(art, Published), Snapshot(tmp["reader"], Published));
    }
}
