using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

// ColdStart: how long Find-MessNeighbor takes from nothing: a new process, a PowerShell runspace, Import-Module of the
// published module, loading a 100,000-track index (and its metadata) and answering one query.
//   ColdStart prepare ART [--n 100000] [--d 256]   artifact folder from /tmp/ann_N_D.f32 (+ 100k metadata rows) and New-MessIndex
//   ColdStart measure ART [--runs 5]               runs `once` in fresh processes, prints each and the medians
//   ColdStart once ART                             one cold run, one JSON line with the phase times
string Repo() { for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent) if (File.Exists(Path.Combine(d.FullName, "MessTools.sln"))) return d.FullName; throw new InvalidOperationException("repo not found"); }
string Manifest() => Directory.GetFiles(Path.Combine(Repo(), "out", "MessTools"), "MessTools.psd1", SearchOption.AllDirectories).Single();
string? Opt(string name) { int i = Array.IndexOf(args, "--" + name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }
if (args.Length < 2) { Console.Error.WriteLine("usage: ColdStart prepare|measure|once ART"); return 2; }
string art = Path.GetFullPath(args[1]);

switch (args[0])
{
    case "prepare":
    {
        int n = int.Parse(Opt("n") ?? "100000", CultureInfo.InvariantCulture), d = int.Parse(Opt("d") ?? "256", CultureInfo.InvariantCulture);
        string src = $"/tmp/ann_{n}_{d}.f32";
        Directory.CreateDirectory(Path.Combine(art, "embeddings"));
        Directory.CreateDirectory(Path.Combine(art, "metadata"));
        var bytes = File.ReadAllBytes(src);
        File.WriteAllBytes(Path.Combine(art, "embeddings", "embeddings.f32"), bytes);
        var ids = Enumerable.Range(0, n).Select(i => $"trk{i:D6}").ToArray();
        File.WriteAllText(Path.Combine(art, "embeddings", "track_ids.json"), JsonSerializer.Serialize(ids));
        File.WriteAllText(Path.Combine(art, "embeddings", "embeddings_meta.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model"] = "ann_anchor", ["dim"] = d, ["count"] = n, ["normalization"] = "l2",
            ["embeddings_sha256"] = Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant(),
        }));
        var sb = new StringBuilder("track_id,album_id,track_no,title,composer,audio_s3_key,duration_sec\n");
        string[] composers = { "Chopin", "Liszt", "Rachmaninoff", "Debussy", "Ravel", "Schumann", "Brahms", "Bach" };
        for (int i = 0; i < n; i++)
            sb.Append(CultureInfo.InvariantCulture, $"{ids[i]},alb{i / 12:D5},{i % 12 + 1},Piece number {i},{composers[i % composers.Length]},s3://music/{ids[i]}.flac,{180 + i % 300}.5\n");
        File.WriteAllText(Path.Combine(art, "metadata", "tracks_metadata.csv"), sb.ToString());
        using var rs = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        rs.Open();
        using var ps = PowerShell.Create();
        ps.Runspace = rs;
        var sw = Stopwatch.StartNew();
        ps.AddScript("Import-Module $args[0] -ErrorAction Stop; New-MessIndex -ArtifactPath $args[1] | ForEach-Object { '{0} tracks, recall@10 {1}, {2:N1} s' -f $_.Count, $_.RecallAt10, $_.BuildSeconds }")
          .AddArgument(Manifest()).AddArgument(art);
        foreach (var o in ps.Invoke()) Console.WriteLine(o);
        foreach (var e in ps.Streams.Error) Console.Error.WriteLine(e);
        Console.WriteLine($"prepared {art} in {sw.Elapsed.TotalSeconds:F1} s");
        break;
    }
    case "measure":
    {
        int runs = int.Parse(Opt("runs") ?? "5", CultureInfo.InvariantCulture);
        var rows = new List<JsonElement>();
        Console.WriteLine("uptime: " + Uptime());
        for (int r = 0; r < runs; r++)
        {
            var psi = new ProcessStartInfo(Environment.ProcessPath!, new[] { "once", art }) { RedirectStandardOutput = true, RedirectStandardError = true };
            var wall = Stopwatch.StartNew();
            using var p = Process.Start(psi)!;
            string stdout = p.StandardOutput.ReadToEnd();
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            double processMs = wall.Elapsed.TotalMilliseconds;
            if (p.ExitCode != 0) { Console.Error.WriteLine(stderr); return 1; }
            var line = stdout.Split('\n').First(l => l.StartsWith('{'));
            Console.WriteLine(line.TrimEnd() + $"  (whole process incl. .NET start and exit: {processMs:F0} ms)");
            rows.Add(JsonDocument.Parse(line).RootElement.Clone());
        }
        foreach (string key in new[] { "runspace_ms", "import_ms", "first_query_ms", "import_and_query_ms", "second_query_ms", "import_jit_methods", "import_jit_ms", "query_jit_methods", "query_jit_ms" })
        {
            var v = rows.Select(r => r.GetProperty(key).GetDouble()).OrderBy(x => x).ToArray();
            Console.WriteLine($"median {key}: {v[v.Length / 2]:F0}  (runs: {string.Join(", ", v.Select(x => x.ToString("F0")))})");
        }
        var both = rows.Select(r => r.GetProperty("import_and_query_ms").GetDouble()).OrderBy(x => x).ToArray();
        Console.WriteLine($"goal (issue 22): import and first query < 250 ms; median {both[both.Length / 2]:F0} ms = {both[both.Length / 2] / 250:F2} of the goal");
        Console.WriteLine("uptime: " + Uptime());
        break;
    }
    case "once":
    {
        var total = Stopwatch.StartNew();
        using var rs = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        rs.Open();
        double runspaceMs = total.Elapsed.TotalMilliseconds;
        // What the JIT compiled in each phase (methods and its own time, all threads): the figures a busy machine does not
        // change, beside the wall times it does (ReadyToRun code is not compiled again).
        (long Methods, double Ms) Jit() => (System.Runtime.JitInfo.GetCompiledMethodCount(), System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds);
        var jit0 = Jit();
        var sw = Stopwatch.StartNew();
        Invoke(rs, "Import-Module $args[0] -ErrorAction Stop", Manifest());
        double importMs = sw.Elapsed.TotalMilliseconds;
        var jit1 = Jit();
        sw.Restart();
        var first = Invoke(rs, "Find-MessNeighbor -TrackId trk004242 -K 5 -ArtifactPath $args[0]", art);
        double queryMs = sw.Elapsed.TotalMilliseconds;
        var jit2 = Jit();
        sw.Restart();
        var second = Invoke(rs, "Find-MessNeighbor -TrackId trk099999 -K 5 -ArtifactPath $args[0]", art);
        double secondMs = sw.Elapsed.TotalMilliseconds;
        if (first.Count != 5 || second.Count != 5) throw new InvalidOperationException($"expected 5 results, got {first.Count}/{second.Count}");
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            runspace_ms = Math.Round(runspaceMs), import_ms = Math.Round(importMs), first_query_ms = Math.Round(queryMs),
            import_and_query_ms = Math.Round(importMs + queryMs), second_query_ms = Math.Round(secondMs, 1),
            import_jit_methods = jit1.Methods - jit0.Methods, import_jit_ms = Math.Round(jit1.Ms - jit0.Ms),
            query_jit_methods = jit2.Methods - jit1.Methods, query_jit_ms = Math.Round(jit2.Ms - jit1.Ms),
            top = first[0].Properties["TrackId"].Value,
        }));
        break;
    }
}
return 0;

static string Uptime()
{
    try { return File.ReadAllText("/proc/loadavg").Trim() + " (load averages 1, 5, 15 min; running/total; last pid)"; }
    catch (IOException) { return "(no /proc/loadavg)"; }
}

static System.Collections.ObjectModel.Collection<PSObject> Invoke(Runspace rs, string script, string arg)
{
    using var ps = PowerShell.Create();
    ps.Runspace = rs;
    ps.AddScript(script).AddArgument(arg);
    var result = ps.Invoke();
    if (ps.HadErrors) throw new InvalidOperationException(string.Join("\n", ps.Streams.Error));
    return result;
}
