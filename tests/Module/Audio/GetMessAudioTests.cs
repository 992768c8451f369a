using System.Diagnostics;
using System.Management.Automation;
using MessTools.Tests.Module.Infrastructure;

namespace MessTools.Tests.Module.Audio;

/// <summary>Get-MessAudio in a real runspace, against the published module, local files and a real moto_server.</summary>
[Collection("moto-module")]
public class GetMessAudioTests : IClassFixture<GetMessAudioTests.Moto>
{
    public sealed class Moto : IDisposable
    {
        public MotoServer Server { get; }
        public Moto()
        {
            Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "testing");
            Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "testing-secret");
            Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
            Server = new MotoServer();
        }
        public void Dispose() => Server.Dispose();
    }

    private readonly Moto _moto;
    public GetMessAudioTests(Moto moto) => _moto = moto;

    private static void Sine(string path, double seconds = 2, int rate = 44100, string extra = "")
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        Ffmpeg($"-f lavfi -i sine=frequency=440:sample_rate={rate}:duration={seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)} {extra} -y".Split(' ', StringSplitOptions.RemoveEmptyEntries).Append(path).ToArray());
    }

    private static void Ffmpeg(params string[] args)
    {
        var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-nostdin", "-v", "error" }.Concat(args)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("ffmpeg failed: " + err);
    }

    private static object? Prop(PSObject o, string name) => o.Properties[name]?.Value;

    [Fact]
    public void Csv_like_rows_and_MessTrack_objects_both_bind_and_come_out_standardised()
    {
        using var tmp = new TempDir();
        Sine(tmp["audio/A/t1.wav"]);
        Sine(tmp["audio/A/t2.mp3"], extra: "-c:a libmp3lame");
        Sine(tmp["audio/B/t3.flac"], rate: 48000);
        File.WriteAllText(tmp["tracks_metadata.csv"],
            "track_id,album_id,track_no,title,composer,audio_path,duration_sec\n" +
            "t1,a,1,One,Chopin,audio/A/t1.wav,2.0\nt2,a,2,Two,Chopin,audio/A/t2.mp3,2.0\nt3,b,1,Three,Liszt,audio/B/t3.flac,2.0\n");
        using var ps = new ModuleRunspace(tmp.Path);

        // Import-Csv-like rows: [pscustomobject] with the seed's column names, relative audio_path, -AudioRoot.
        var fromRows = ps.InvokeClean(
            "$rows = @([pscustomobject]@{ track_id = 't1'; album_id = 'a'; composer = 'Chopin'; audio_path = 'audio/A/t1.wav' }," +
            "          [pscustomobject]@{ track_id = 't3'; album_id = 'b'; composer = 'Liszt'; audio_path = 'audio/B/t3.flac'; sample_rate = '44100' })\n" +
            "$rows | Get-MessAudio -AudioRoot $root -ArtifactPath rows -SampleRate 16000", ("root", tmp.Path));
        Assert.Equal(2, fromRows.Count);
        foreach (var o in fromRows)
        {
            Assert.Equal("MessTools.MessTrack", o.BaseObject.GetType().FullName);
            Assert.Equal("Standardized", Prop(o, "Status")!.ToString());
            Assert.Equal(16000, (int)Prop(o, "SampleRate")!);
            Assert.InRange((double)Prop(o, "DurationSec")!, 1.99, 2.01);
            string wav = (string)Prop(o, "WavPath")!;
            Assert.Equal(Path.Combine(tmp.Path, "rows", "audio_wav", Prop(o, "TrackId") + ".wav"), wav);
            Assert.True(File.Exists(wav));
            Assert.StartsWith(tmp.Path, (string)Prop(o, "AudioPath")!); // local files are used in place
        }

        // MessTrack objects from Export-MessMetadata, relative paths resolved against -AudioRoot.
        var fromExport = ps.InvokeClean("Export-MessMetadata -Path tracks_metadata.csv -ArtifactPath exp | Get-MessAudio -AudioRoot $root -ArtifactPath exp -WavFormat Pcm16", ("root", tmp.Path));
        Assert.Equal(new[] { "t1", "t2", "t3" }, fromExport.Select(o => (string)Prop(o, "TrackId")!).OrderBy(x => x));
        Assert.All(fromExport, o => Assert.Equal(22050, (int)Prop(o, "SampleRate")!));
        var header = File.ReadAllBytes(tmp["exp/audio_wav/t2.wav"])[..44];
        Assert.Equal(1, BitConverter.ToUInt16(header, 20)); // PCM
        Assert.Equal(16, BitConverter.ToUInt16(header, 34));
    }

    [Fact]
    public void Older_AWSSDK_Core_in_the_session_does_not_stop_fetching_from_S3_and_a_rerun_downloads_nothing()
    {
        using var tmp = new TempDir();
        _moto.Server.CreateBucket("iso");
        var wavBytes = SineBytes(tmp["src.wav"]);
        _moto.Server.PutObject("iso", "music/t1.wav", wavBytes);
        _moto.Server.PutObject("iso", "music/t2.wav", wavBytes);
        using var ps = new ModuleRunspace(tmp.Path, importModule: false);
        var v = ps.InvokeClean("[System.Reflection.Assembly]::Load('AWSSDK.Core, Version=3.3.0.0, Culture=neutral, PublicKeyToken=885c28607f98e604').GetName().Version.Major");
        Assert.Equal("3", v.Single().ToString());
        ps.InvokeClean("Import-Module $m -ErrorAction Stop", ("m", RepoPaths.ModuleManifest));
        const string run = "@([pscustomobject]@{ TrackId = 't1'; AlbumId = 'al'; AudioUri = 's3://iso/music/t1.wav' }," +
                           "  [pscustomobject]@{ TrackId = 't2'; AlbumId = 'al'; audio_s3_key = 'music/t2.wav' }) |" +
                           " Get-MessAudio -Bucket iso -EndpointUrl $ep -ArtifactPath art -Verbose";
        var first = ps.InvokeClean(run, ("ep", _moto.Server.Endpoint));
        Assert.Equal(2, first.Count);
        Assert.Equal(wavBytes, File.ReadAllBytes(tmp["art/audio_cache/al/t1.wav"]));
        Assert.True(File.Exists(tmp["art/audio_wav/t2.wav"]));
        Assert.Contains(ps.Verbose, r => r.Message.Contains("2 fetched") && r.Message.Contains("0 skipped as cached"));
        Assert.Contains(ps.Progress, p => p.Activity == "Get-MessAudio" && p.StatusDescription.Contains("MB downloaded"));

        int before = ps.Verbose.Count;
        var second = ps.InvokeClean(run, ("ep", _moto.Server.Endpoint));
        Assert.Equal(2, second.Count);
        Assert.Contains(ps.Verbose.Skip(before), r => r.Message.Contains("0 fetched") && r.Message.Contains("2 skipped as cached"));
        var record = Directory.GetFiles(tmp["art/runs"], "*Get-MessAudio*.json").OrderBy(f => f).Last();
        string json = File.ReadAllText(record);
        Assert.Contains("\"skipped_cached\": 2", json);
        Assert.DoesNotContain("testing-secret", json);

        var alc = ps.InvokeClean("[System.Runtime.Loader.AssemblyLoadContext]::All | ForEach-Object { $c = $_; $c.Assemblies | Where-Object { $_.GetName().Name -eq 'AWSSDK.Core' } | ForEach-Object { '{0}:{1}' -f $c.Name, $_.GetName().Version.Major } }")
            .Select(o => o.ToString()).ToHashSet();
        Assert.Contains("Default:3", alc);
        Assert.Contains("MessTools:4", alc);
    }

    [Fact]
    public void WhatIf_downloads_and_writes_nothing()
    {
        using var tmp = new TempDir();
        _moto.Server.CreateBucket("whatif");
        _moto.Server.PutObject("whatif", "a.wav", SineBytes(tmp["src.wav"]));
        using var ps = new ModuleRunspace(tmp.Path);
        var output = ps.InvokeClean("[pscustomobject]@{ track_id = 'w1'; album_id = 'x'; audio_s3_key = 's3://whatif/a.wav' } | Get-MessAudio -EndpointUrl $ep -ArtifactPath art -WhatIf",
            ("ep", _moto.Server.Endpoint));
        Assert.Empty(output);
        Assert.False(Directory.Exists(tmp["art"]));
    }

    [Fact]
    public void Bad_tracks_are_non_terminating_errors_and_PassThru_emits_them_as_Failed()
    {
        using var tmp = new TempDir();
        _moto.Server.CreateBucket("errs");
        _moto.Server.PutObject("errs", "good.wav", SineBytes(tmp["src.wav"]));
        Ffmpeg("-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono", "-t", "2", "-y", tmp["silent.wav"]);
        File.WriteAllText(tmp["text.mp3"], "not audio\n");
        using var ps = new ModuleRunspace(tmp.Path);
        var output = ps.Invoke(
            "@([pscustomobject]@{ track_id = 'good'; album_id = 'e'; audio_s3_key = 's3://errs/good.wav' }," +
            "  [pscustomobject]@{ track_id = 'gone'; album_id = 'e'; audio_s3_key = 's3://errs/missing.wav' }," +
            "  [pscustomobject]@{ track_id = 'quiet'; album_id = 'e'; audio_s3_key = 'silent.wav' }," +
            "  [pscustomobject]@{ track_id = 'text'; album_id = 'e'; audio_s3_key = 'text.mp3' }," +
            "  [pscustomobject]@{ track_id = '../evil'; album_id = 'e'; audio_s3_key = 'text.mp3' }," +
            "  [pscustomobject]@{ track_id = 'good'; album_id = 'e'; audio_s3_key = 's3://errs/good.wav' }) |" +
            " Get-MessAudio -EndpointUrl $ep -ArtifactPath art -PassThru -RetryCount 0", ("ep", _moto.Server.Endpoint));
        var ids = ps.Errors.Select(e => e.FullyQualifiedErrorId.Split(',')[0]).OrderBy(x => x).ToArray();
        Assert.Equal(new[] { "AudioObjectNotFound", "AudioSilent", "AudioUndecodable", "DuplicateTrackId", "UnsafeName" }, ids);
        var gone = ps.Errors.Single(e => e.FullyQualifiedErrorId.StartsWith("AudioObjectNotFound"));
        Assert.Contains("'gone'", gone.Exception.Message);
        Assert.Contains("errs", gone.Exception.Message);
        Assert.Contains("missing.wav", gone.Exception.Message);
        Assert.Equal(ErrorCategory.ObjectNotFound, gone.CategoryInfo.Category);
        Assert.Equal("gone", Prop(PSObject.AsPSObject(gone.TargetObject), "TrackId"));
        Assert.Equal(6, output.Count);
        var statuses = output.Select(o => $"{Prop(o, "TrackId")}:{Prop(o, "Status")}").ToHashSet();
        Assert.Contains("good:Standardized", statuses);
        Assert.Contains("good:Failed", statuses); // the duplicate
        var byId = output.Where(o => (string)Prop(o, "TrackId")! != "good").ToDictionary(o => (string)Prop(o, "TrackId")!, o => Prop(o, "Status")!.ToString());
        Assert.Equal("Failed", byId["gone"]);
        Assert.Equal("Failed", byId["quiet"]);
        Assert.Equal("Failed", byId["text"]);
        Assert.False(File.Exists(tmp["art/audio_wav/quiet.wav"]));

        // Without -PassThru only ready tracks come out.
        var plain = ps.Invoke("[pscustomobject]@{ track_id = 'gone'; album_id = 'e'; audio_s3_key = 's3://errs/missing.wav' } | Get-MessAudio -EndpointUrl $ep -ArtifactPath art2 -RetryCount 0",
            ("ep", _moto.Server.Endpoint));
        Assert.Empty(plain);
    }

    [Fact]
    public void Missing_ffmpeg_is_one_terminating_error_with_install_instructions()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["a.wav"], "x");
        using var ps = new ModuleRunspace(tmp.Path);
        var output = ps.Invoke(
            "@([pscustomobject]@{ track_id = 'a'; audio_path = 'a.wav' }, [pscustomobject]@{ track_id = 'b'; audio_path = 'a.wav' }) | Get-MessAudio -ArtifactPath art -FfmpegPath ./no/ffmpeg");
        Assert.Empty(output);
        var error = Assert.Single(ps.Errors);
        Assert.Equal("FfmpegNotFound", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(ErrorCategory.NotInstalled, error.CategoryInfo.Category);
        Assert.Contains("apt-get install ffmpeg", error.Exception.Message);
        Assert.Contains("brew install ffmpeg", error.Exception.Message);
        Assert.Contains("winget install", error.Exception.Message);
        Assert.False(Directory.Exists(tmp["art/audio_wav"]));
    }

    [Fact]
    public void ProfileName_reads_credentials_from_the_shared_file()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["credentials"], "[moto]\naws_access_key_id = AKIAMOTOTEST00000000\naws_secret_access_key = profile-secret-value\n");
        _moto.Server.CreateBucket("prof");
        _moto.Server.PutObject("prof", "p.wav", SineBytes(tmp["src.wav"]));
        using var ps = new ModuleRunspace(tmp.Path);
        var output = ps.InvokeClean(
            "$env:AWS_SHARED_CREDENTIALS_FILE = $cred; try { [pscustomobject]@{ track_id = 'p'; album_id = 'x'; audio_s3_key = 's3://prof/p.wav' } | Get-MessAudio -ProfileName moto -Region eu-west-1 -EndpointUrl $ep -ArtifactPath art -Standardize:$false } finally { $env:AWS_SHARED_CREDENTIALS_FILE = $null }",
            ("cred", tmp["credentials"]), ("ep", _moto.Server.Endpoint));
        Assert.Equal("Fetched", Prop(Assert.Single(output), "Status")!.ToString());
        Assert.Null(Prop(output[0], "WavPath"));
        var errs = ps.Invoke("[pscustomobject]@{ track_id = 'p'; audio_s3_key = 's3://prof/p.wav' } | Get-MessAudio -ProfileName no-such-profile -EndpointUrl $ep -ArtifactPath art2", ("ep", _moto.Server.Endpoint));
        Assert.Contains(ps.Errors, e => e.FullyQualifiedErrorId.StartsWith("AwsProfileNotFound"));
        foreach (var f in Directory.GetFiles(tmp.Path, "*.json", SearchOption.AllDirectories))
            Assert.DoesNotContain("profile-secret-value", File.ReadAllText(f));
    }

    [Fact]
    public void Help_has_a_synopsis_examples_and_every_parameter()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        var synopsis = ps.InvokeClean("(Get-Help Get-MessAudio).Synopsis").Single().ToString();
        Assert.Contains("standardises", synopsis);
        Assert.True((int)ps.InvokeClean("@((Get-Help Get-MessAudio -Examples).examples.example).Count").Single().BaseObject >= 2);
        var documented = ps.InvokeClean("(Get-Help Get-MessAudio -Full).parameters.parameter | ForEach-Object { $_.name }").Select(o => o.ToString()).ToHashSet();
        var actual = ps.InvokeClean("(Get-Command Get-MessAudio).Parameters.Values | Where-Object { -not ($_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.DontShow }) } | ForEach-Object Name")
            .Select(o => o.ToString())
            .Except(new[] { "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable", "WarningVariable", "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable" });
        foreach (var name in actual) Assert.Contains(name, documented);
    }

    [Fact]
    public void Stopping_the_pipeline_cancels_transfers_promptly_and_leaves_the_cache_consistent()
    {
        using var tmp = new TempDir();
        _moto.Server.CreateBucket("stop");
        var body = new byte[4 << 20];
        new Random(5).NextBytes(body);
        for (int i = 0; i < 24; i++) { body[0] = (byte)i; _moto.Server.PutObject("stop", $"s/{i:00}.wav", body); }
        using var rs = System.Management.Automation.Runspaces.RunspaceFactory.CreateRunspace(System.Management.Automation.Runspaces.InitialSessionState.CreateDefault2());
        rs.Open();
        rs.SessionStateProxy.Path.SetLocation(tmp.Path);
        using (var imp = PowerShell.Create()) { imp.Runspace = rs; imp.AddScript("Import-Module $args[0] -ErrorAction Stop").AddArgument(RepoPaths.ModuleManifest).Invoke(); }
        using var ps = PowerShell.Create();
        ps.Runspace = rs;
        ps.AddScript("param($ep) 0..23 | ForEach-Object { [pscustomobject]@{ track_id = 't{0:00}' -f $_; album_id = 'st'; audio_s3_key = 's3://stop/s/{0:00}.wav' -f $_ } } | Get-MessAudio -EndpointUrl $ep -ArtifactPath art -ThrottleLimit 2 -Standardize:$false")
          .AddArgument(_moto.Server.Endpoint);
        var async = ps.BeginInvoke();
        string cache = tmp["art/audio_cache/st"];
        var wait = Stopwatch.StartNew();
        while (wait.Elapsed < TimeSpan.FromSeconds(60) && !(Directory.Exists(cache) && Directory.GetFiles(cache, "*.source.json").Length >= 1)) Thread.Sleep(20);
        var sw = Stopwatch.StartNew();
        ps.Stop();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"Stop took {sw.Elapsed}");
        Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
        var done = Directory.GetFiles(cache, "*.wav");
        Assert.InRange(done.Length, 1, 23); // stopped in the middle
        Assert.Empty(Directory.GetFiles(cache, "*.messtmp", SearchOption.AllDirectories));
        foreach (var f in done)
        {
            Assert.True(File.Exists(f + ".source.json"), f);
            Assert.Equal(body.Length, new FileInfo(f).Length);
        }
        var record = Directory.GetFiles(tmp["art/runs"], "*Get-MessAudio*.json").Single();
        Assert.Contains("\"status\": \"stopped\"", File.ReadAllText(record));
    }

    private static byte[] SineBytes(string path)
    {
        Sine(path);
        return File.ReadAllBytes(path);
    }
}
