using MessTools.Core.Analysis;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Jobs;

/// <summary>
/// The Analyse stage (Measure-MessEmbedding): under the folder's writer lock, measures the embedding geometry
/// (<see cref="EmbeddingAnalyzer"/>, optionally against a second folder) off the caller's thread with progress, writes
/// analysis/ and the run record's headline figures.
/// </summary>
public static class AnalyseJob
{
    public const string Activity = "Measure-MessEmbedding";

    public static EmbeddingAnalysis Run(ArtifactStore store, AnalysisOptions options, ArtifactStore? compare, TimeSpan lockTimeout, IMessJobHost host)
    {
        using var folder = JobFolder.Lock(store, host, lockTimeout, mustExist: true);
        if (compare is not null && !Directory.Exists(compare.Root))
            throw new MessException(MessErrorIds.CompareFolderMissing, MessErrorKind.ObjectNotFound, $"The -Compare folder '{compare.Root}' does not exist.", compare.Root);
        double fraction = 0;
        string step = "Loading";
        var previous = options.Progress;
        options = options with { Progress = (f, what) => { Volatile.Write(ref fraction, f); Volatile.Write(ref step, what); previous?.Invoke(f, what); } };
        var result = host.Wait(Task.Run(() => EmbeddingAnalyzer.Run(store, options, compare)), Activity,
            () => (Volatile.Read(ref step), Volatile.Read(ref fraction)));
        if (result.SampleSize is { } s)
            host.Verbose($"The silhouette and the k-means fit use a seeded sample of {s:N0} of {result.Tracks:N0} tracks (seed {options.Seed}; -SampleSize 0 for all).");
        if (result.UniformitySampleSize is { } u)
            host.Verbose($"The uniformity uses the pairs of a seeded sample of {u:N0} of {result.Tracks:N0} tracks (seed {options.Seed}; -UniformitySampleSize 0 for all).");
        if (host.ShouldProcess(AnalysisFiles.Folder(store), "Write analysis.json and analysis.html"))
        {
            try
            {
                var (json, html) = AnalysisFiles.Write(store, result);
                host.Verbose($"Wrote {json} and {html}");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new MessException(MessErrorIds.AnalysisWriteFailed, MessErrorKind.WriteError,
                    $"Writing the analysis files to '{AnalysisFiles.Folder(store)}' failed: {ex.Message}", AnalysisFiles.Folder(store), ex);
            }
        }
        if (host.Run is { } record) Headline(record, result);
        folder.SaveRun("completed");
        return result;
    }

    /// <summary>The headline figures in the run record.</summary>
    private static void Headline(RunRecord run, EmbeddingAnalysis r)
    {
        var h = run.Results;
        h["tracks"] = r.Tracks; h["dimension"] = r.Dimension; h["composers"] = r.Composers; h["k"] = r.K;
        h["components_for_90"] = r.ComponentsFor90; h["participation_ratio"] = r.ParticipationRatio;
        h["effective_rank"] = r.EffectiveRank; h["intrinsic_dimension"] = r.IntrinsicDimension;
        h["k_occurrence_skewness"] = r.KOccurrenceSkewness; h["robin_hood"] = r.RobinHood;
        h["antihub_share"] = r.AntihubShare; h["hub_occurrence"] = r.HubOccurrence;
        h["alignment"] = r.Alignment; h["uniformity"] = r.Uniformity; h["silhouette"] = r.Silhouette;
        h["sample_size"] = r.SampleSize; h["uniformity_sample_size"] = r.UniformitySampleSize; h["cluster_nmi"] = r.ClusterNmi; h["mean_pairwise_cosine"] = r.MeanPairwiseCosine;
        h["neighbor_composer_share"] = r.NeighborComposerShare;
        if (r.Comparison is { } c)
        {
            h["compare_artifact_path"] = c.CompareArtifactPath; h["shared_tracks"] = c.SharedTracks; h["cka"] = c.Cka;
            h["neighbor_jaccard"] = c.NeighborJaccard; h["precision_at_k"] = c.PrecisionAtK; h["compare_precision_at_k"] = c.ComparePrecisionAtK;
        }
        h["results_file"] = r.ResultsPath;
        run.Count("tracks", r.Tracks);
    }
}
