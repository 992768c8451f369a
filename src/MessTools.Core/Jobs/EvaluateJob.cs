using MessTools.Core.Artifacts;
using MessTools.Core.Evaluation;

namespace MessTools.Core.Jobs;

/// <summary>
/// The Evaluate stage: under the writer lock of the first folder (the one it writes), runs the evaluation engine
/// (<see cref="EvaluationJob"/>: one folder, or several compared on their shared tracks) off the caller's thread with
/// progress, writes eval_results.json, samples.csv and report.html (or the comparison files), and the run record.
/// </summary>
public static class EvaluateJob
{
    public const string Activity = "Invoke-MessEvaluation";

    public static EvaluationRun Run(EvaluationRequest request, TimeSpan lockTimeout, IMessJobHost host)
    {
        var stores = request.ArtifactPaths.Select(p => new ArtifactStore(p)).ToList();
        foreach (var s in stores) JobFolder.RequireExisting(s);
        if (request.CompareWith is { } baseline) JobFolder.RequireExisting(new ArtifactStore(baseline));
        using var folder = JobFolder.Lock(stores[0], host, lockTimeout, mustExist: true);
        var progress = new EvaluationProgress();
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var run = host.Wait(Task.Run(() => EvaluationJob.Run(request, progress, log.Enqueue)), Activity, () => (progress.Status, progress.Fraction));
        while (log.TryDequeue(out var line)) host.Verbose(line);
        string what = run.Outcomes.Count == 1 ? "Write eval_results.json, samples.csv and report.html" : "Write comparison.json and comparison.html";
        if (host.ShouldProcess(run.EvalDir, what))
        {
            var (json, html) = EvaluationJob.Write(run);
            host.Verbose($"Wrote {json} and {html}");
        }
        if (host.Run is { } record)
        {
            foreach (var (key, value) in EvaluationJob.RunRecordResults(run)) record.Results[key] = value;
            if (run.Results.Count > 0) record.Count("queries", run.Results[0].Queries);
        }
        folder.SaveRun("completed");
        return run;
    }
}
