using System.Diagnostics;
using System.Management.Automation;
using MessTools.Tests.Module.Index;
using MessTools.Tests.Module.Infrastructure;
using Npgsql;

namespace MessTools.Tests.Module.VectorStore;

/// <summary>The test classes that use PGlite share one server (start-up is slow) and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class PgliteCollection : ICollectionFixture<PgliteServer>
{
    public const string Name = "PGlite";
}

/// <summary>Publish-MessVector and Find-MessNeighbor -ConnectionString in the real engine, against PGlite (real pgvector).</summary>
[Collection(PgliteCollection.Name)]
public class PublishMessVectorTests
{
    private readonly PgliteServer _pg;
    public PublishMessVectorTests(PgliteServer pg)
    {
        _pg = pg;
        _pg.EnsureRunning();
    }

    private T Sql<T>(string sql) => _pg.Scalar<T>(sql);

    private bool TableExists(string table) => Sql<object>($"SELECT to_regclass('{table}')::text") is not DBNull;

    [Fact]
    public void Publish_then_query_gives_NeighborResults_like_the_index_file_and_WhatIf_writes_nothing()
    {
        using var tmp = new TempDir();
        var (art, _, _) = IndexArtifacts.Create(tmp.Path, 300, seed: 4);
        using var ps = new ModuleRunspace(tmp.Path);
        ps.InvokeClean("Publish-MessVector -ArtifactPath art -ConnectionString $cs -Table rs_whatif -WhatIf", ("cs", _pg.ConnectionString));
        Assert.False(TableExists("rs_whatif"));

        var res = ps.InvokeClean("Publish-MessVector -ArtifactPath art -ConnectionString $cs -Table rs_tracks -BatchSize 100", ("cs", _pg.ConnectionString));
        var r = Assert.Single(res);
        Assert.Equal("MessTools.VectorPublishResult", r.BaseObject.GetType().FullName);
        Assert.Equal(300, (int)r.Properties["Inserted"].Value);
        Assert.NotEmpty(ps.Progress);
        Assert.Equal(300L, Sql<long>("SELECT count(*) FROM rs_tracks"));

        ps.InvokeClean("$null = New-MessIndex -ArtifactPath art -Type Flat");
        var db = ps.InvokeClean("Find-MessNeighbor t0005 -K 5 -ConnectionString $cs -Table rs_tracks", ("cs", _pg.ConnectionString));
        var file = ps.InvokeClean("Find-MessNeighbor t0005 -K 5 -ArtifactPath art -Exact");
        Assert.All(db, o => Assert.Equal("MessTools.NeighborResult", o.BaseObject.GetType().FullName));
        Assert.Equal(file.Select(o => o.Properties["TrackId"].Value), db.Select(o => o.Properties["TrackId"].Value));
        Assert.Equal(file.Select(o => o.Properties["Composer"].Value), db.Select(o => o.Properties["Composer"].Value));

        var filtered = ps.InvokeClean("'t0001', [pscustomobject]@{ track_id = 't0002' } | Find-MessNeighbor -K 4 -Composer 'Rach*' -ExcludeSameAlbum -ConnectionString $cs -Table rs_tracks",
            ("cs", _pg.ConnectionString));
        Assert.Equal(8, filtered.Count);
        Assert.All(filtered, o => Assert.Equal("Rachmaninoff", o.Properties["Composer"].Value));
        Assert.All(filtered, o => Assert.NotEqual("a000", o.Properties["AlbumId"].Value));
        Assert.DoesNotContain(filtered, o => Equals(o.Properties["TrackId"].Value, o.Properties["QueryTrackId"].Value));
    }

    [Fact]
    public void A_publish_killed_mid_way_is_finished_by_the_next_run()
    {
        using var tmp = new TempDir();
        string art = Path.Combine(tmp.Path, "art");
        var ids = IndexArtifacts.Ids(3000);
        var data = IndexArtifacts.Clustered(3000, 64, 12, seed: 8);
        IndexArtifacts.WriteEmbeddings(art, ids, data, 64);
        IndexArtifacts.WriteMetadata(art, ids);

        // A real pwsh process (dotnet pwsh, the tool manifest's 7.6.9) publishing in batches of 25, killed after its third batch.
        // The verbose records reach ForEach-Object on the publishing thread, so holding the third one there holds the
        // publisher after exactly three batches: the kill lands mid-way however fast the machine is (CI once finished all
        // 120 batches between the third message and the kill).
        string script = Path.Combine(tmp.Path, "publish.ps1");
        File.WriteAllText(script, $$"""
            $ErrorActionPreference = 'Stop'
            Import-Module '{{RepoPaths.ModuleManifest}}'
            $batches = 0
            Publish-MessVector -ArtifactPath '{{art}}' -ConnectionString '{{_pg.ConnectionString}}' -Table killed -BatchSize 25 -Verbose 4>&1 | ForEach-Object {
                [Console]::Out.WriteLine("$_"); [Console]::Out.Flush()
                if ("$_" -like 'Wrote a batch*' -and ++$batches -eq 3) { Start-Sleep -Seconds 600 }
            }
            """);
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = RepoPaths.Root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "pwsh", "-NoProfile", "-NonInteractive", "-File", script }) psi.ArgumentList.Add(a);
        int commits = 0;
        var enough = new ManualResetEventSlim();
        var output = new System.Text.StringBuilder();
        using (var p = Process.Start(psi)!)
        {
            p.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (output) output.AppendLine(e.Data);
                if (e.Data.Contains("Wrote a batch") && Interlocked.Increment(ref commits) >= 3) enough.Set();
            };
            p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            bool killedMidWay = enough.Wait(TimeSpan.FromSeconds(180));
            p.Kill(entireProcessTree: true);
            p.WaitForExit(30_000);
            Assert.True(killedMidWay, "the publishing process never reported three committed batches:\n" + output);
        }
        // The rows went into the staging table; nothing half-published is visible under the table's name.
        Assert.Equal(75L, Sql<long>("SELECT count(*) FROM killed_next"));
        Assert.Equal(0L, Sql<long>("SELECT count(*) FROM pg_class WHERE relname = 'killed'"));
        Assert.False(Sql<long>("SELECT count(*) FROM mess_vector_meta WHERE table_name = 'killed'") > 0, "the metadata row comes with the swap");

        using var ps = new ModuleRunspace(tmp.Path);
        var r = Assert.Single(ps.InvokeClean("Publish-MessVector -ArtifactPath art -ConnectionString $cs -Table killed", ("cs", _pg.ConnectionString)));
        Assert.Equal(3000, (int)r.Properties["Inserted"].Value);
        Assert.Equal(0L, Sql<long>("SELECT count(*) FROM pg_class WHERE relname = 'killed_next'"));
        Assert.Equal(3000L, Sql<long>("SELECT count(*) FROM killed"));
        // Every row holds exactly the artifact's vector.
        using (var c = new NpgsqlConnection(_pg.ConnectionString + ";Pooling=false"))
        {
            c.Open();
            using var cmd = new NpgsqlCommand("SELECT track_id, embedding::real[] FROM killed", c);
            using var rd = cmd.ExecuteReader();
            var row = ids.Select((id, i) => (id, i)).ToDictionary(x => x.id, x => x.i);
            int n = 0;
            while (rd.Read())
            {
                int i = row[rd.GetString(0)];
                Assert.Equal(data.AsSpan(i * 64, 64).ToArray(), rd.GetFieldValue<float[]>(1));
                n++;
            }
            Assert.Equal(3000, n);
        }
        var again = Assert.Single(ps.InvokeClean("Publish-MessVector -ArtifactPath art -ConnectionString $cs -Table killed", ("cs", _pg.ConnectionString)));
        Assert.Equal(0, (int)again.Properties["Inserted"].Value + (int)again.Properties["Updated"].Value + (int)again.Properties["Deleted"].Value);
    }
}

/// <summary>A wrong password against a real PostgreSQL 15 (SCRAM): one terminating error, and neither the output nor the run record holds it.</summary>
public class PublishMessVectorPasswordTests : IClassFixture<PublishMessVectorPasswordTests.Server>
{
    public sealed class Server : IDisposable
    {
        public PostgresServer Pg { get; } = new();
        public void Dispose() => Pg.Dispose();
    }

    private readonly PostgresServer _pg;
    public PublishMessVectorPasswordTests(Server s) => _pg = s.Pg;

    [Fact]
    public void A_wrong_password_is_never_echoed_and_the_missing_extension_is_one_error()
    {
        using var tmp = new TempDir();
        IndexArtifacts.Create(tmp.Path, 20);
        using var ps = new ModuleRunspace(tmp.Path);
        const string wrong = "Wr0ng-Secret-4417";
        string cs = _pg.ConnectionString.Replace(PostgresServer.Password, wrong);
        var e = FindMessNeighborTests.Fails(ps, $"Publish-MessVector -ArtifactPath art -ConnectionString '{cs}' -ErrorAction Stop");
        Assert.Equal("VectorStoreConnectFailed,MessTools.Cmdlets.PublishMessVectorCommand", e.FullyQualifiedErrorId);
        string record = string.Join("\n", Directory.GetFiles(Path.Combine(tmp.Path, "art", "runs"), "*Publish-MessVector.json").Select(File.ReadAllText));
        Assert.Contains("VectorStoreConnectFailed", record);
        foreach (string text in new[] { e.ToString(), e.Exception.ToString(), record, string.Join("\n", ps.Verbose.Select(v => v.Message)) })
        {
            Assert.DoesNotContain(wrong, text);
            Assert.DoesNotContain(PostgresServer.Password, text);
        }

        var missing = FindMessNeighborTests.Fails(ps, $"Publish-MessVector -ArtifactPath art -ConnectionString '{_pg.ConnectionString}' -ErrorAction Stop");
        Assert.Equal("VectorExtensionMissing,MessTools.Cmdlets.PublishMessVectorCommand", missing.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.NotInstalled, missing.CategoryInfo.Category);
    }
}
