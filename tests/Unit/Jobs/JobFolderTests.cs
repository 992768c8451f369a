using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Jobs;
using MessTools.Tests.Infrastructure;

namespace MessTools.Tests.Unit.Jobs;

/// <summary>The jobs' hold on a folder: the writer lock, the run record, and no folder left by a failed job that created it.</summary>
public class JobFolderTests
{
    [Fact]
    public void A_second_owner_is_refused_naming_the_holder_until_the_first_lets_go()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        var a = new RecordingJobHost();
        using (JobFolder.Lock(store, a, TimeSpan.Zero))
        {
            var ex = Assert.Throws<MessException>(() => JobFolder.Lock(store, new RecordingJobHost(), TimeSpan.Zero));
            Assert.Equal(JobErrors.ArtifactFolderLocked, ex.ErrorId);
            Assert.Contains("Test-Job", ex.Message);
            using (JobFolder.Lock(store, a, TimeSpan.Zero)) { } // the same owner joins its own lock
        }
        using (JobFolder.Lock(store, new RecordingJobHost(), TimeSpan.Zero)) { }
    }

    [Fact]
    public void A_failed_job_leaves_no_folder_it_created_and_a_completed_one_keeps_its_run_record()
    {
        using var tmp = new TempDir();
        var failed = new ArtifactStore(tmp["failed"]);
        var failedHost = new RecordingJobHost();
        using (var f = JobFolder.Lock(failed, failedHost, TimeSpan.Zero)) f.SaveRun("failed");
        Assert.False(Directory.Exists(failed.Root));
        // The record is settled, so a front end that saves what its job did not (the cmdlet base) does not make the folder again.
        Assert.True(failedHost.Run!.Saved);

        var done = new ArtifactStore(tmp["done"]);
        var host = new RecordingJobHost();
        using (var f = JobFolder.Lock(done, host, TimeSpan.Zero))
        {
            host.Run!.AddError("OneBadItem", "one item failed", "x");
            f.SaveRun("completed");
        }
        var record = Assert.Single(Directory.GetFiles(done.RunsDir));
        Assert.Contains("\"completed_with_errors\"", File.ReadAllText(record));
        Assert.True(host.Run.Saved);
    }

    [Fact]
    public void WhatIf_takes_no_lock_and_creates_nothing_and_a_missing_folder_is_refused_when_it_must_exist()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        using (JobFolder.Lock(store, new RecordingJobHost { WhatIf = true }, TimeSpan.Zero)) { }
        Assert.False(Directory.Exists(store.Root));
        var ex = Assert.Throws<MessException>(() => JobFolder.Lock(store, new RecordingJobHost(), TimeSpan.Zero, mustExist: true));
        Assert.Equal(JobErrors.ArtifactsNotFound, ex.ErrorId);
        Assert.False(Directory.Exists(store.Root));
    }
}
