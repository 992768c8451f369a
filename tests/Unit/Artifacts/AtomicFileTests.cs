using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Tests.Unit.Artifacts;

public class AtomicFileTests
{
    [Fact]
    public void Write_replaces_the_whole_file_and_leaves_no_temporaries()
    {
        using var tmp = new TempDir();
        var path = tmp["sub/x.json"];
        AtomicFile.WriteAllText(path, "old");
        AtomicFile.WriteAllText(path, "new content");
        Assert.Equal("new content", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void A_writer_that_fails_before_commit_leaves_the_old_file_untouched()
    {
        using var tmp = new TempDir();
        var path = tmp["x.bin"];
        AtomicFile.WriteAllText(path, "complete old");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[1000]);
            throw new InvalidOperationException("killed halfway");
        }));
        Assert.Equal("complete old", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(tmp.Path));
    }

    [Fact]
    public void Stale_temporaries_of_killed_writers_are_removed()
    {
        using var tmp = new TempDir();
        var stale = tmp[".x.json.0123" + AtomicFileWriter.TempSuffix];
        File.WriteAllText(stale, "half");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-2));
        File.WriteAllText(tmp["keep.json"], "{}");
        Assert.Single(ArtifactCleanup.RemoveStaleTemporaries(tmp.Path, TimeSpan.FromHours(1)));
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(tmp["keep.json"]));
    }

    [Fact]
    public void Run_record_redacts_secrets_and_counts()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp.Path);
        var run = new RunRecord { Command = "Export-MessMetadata", CommandLine = SecretRedactor.Redact("Export-MessMetadata -ConnectionString 'Host=h;Password=hunter2;Database=d'") };
        run.Count("exported", 3);
        run.Count("exported");
        run.AddError("DuplicateTrackId", "row 3: password=hunter2 leaked?", "row 3");
        string path = run.Save(store, "completed");
        string json = File.ReadAllText(path);
        Assert.DoesNotContain("hunter2", json);
        Assert.Contains("\"exported\": 4", json);
        Assert.Contains("\"status\": \"completed\"", json);
        Assert.StartsWith(store.RunsDir, path);
        Assert.Matches(@"\d{8}T\d{6}\.\d{3}Z_Export-MessMetadata\.json$", path);
    }

    [Theory]
    [InlineData("Host=db;Username=u;Password=hunter2;Database=x", "hunter2")]
    [InlineData("postgres://user:hunter2@host:5432/db", "hunter2")]
    [InlineData("key AKIAABCDEFGHIJKLMNOP here", "AKIAABCDEFGHIJKLMNOP")]
    [InlineData("-SecretKey s3cr3tvalue -Region eu", "s3cr3tvalue")]
    [InlineData("Pwd='quoted secret';Host=x", "quoted secret")]
    public void Redactor_masks_secrets(string text, string secret)
    {
        var redacted = SecretRedactor.Redact(text);
        Assert.DoesNotContain(secret, redacted);
        Assert.Contains(SecretRedactor.Mask, redacted);
    }
}
