using System.Management.Automation;
using MessTools.Cmdlets.Common;
using MessTools.Core.Analysis;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Cmdlets;

/// <summary>
/// Measure-MessEmbedding: what an artifact folder's embedding space looks like beyond one retrieval score
/// (dimensionality, hubness, geometry against composers, k-means clusters, diversity; with -Compare, agreement with
/// another folder). Writes analysis/analysis.json and analysis/analysis.html and emits one <see cref="EmbeddingAnalysis"/>.
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "MessEmbedding", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = "https://github.com/messtools/MessTools/blob/main/docs/analysis.md")]
[OutputType(typeof(EmbeddingAnalysis))]
public sealed class MeasureMessEmbeddingCommand : MessCmdlet
{
    /// <summary>Neighbours per track for hubness, diversity and the comparison.</summary>
    [Parameter(Position = 0)]
    [ValidateRange(1, 10000)]
    public int K { get; set; } = 10;

    /// <summary>k-means clusters.</summary>
    [Parameter]
    [ValidateRange(2, 10000)]
    public int Clusters { get; set; } = 10;

    /// <summary>Seed of k-means++ and of the silhouette/uniformity sample.</summary>
    [Parameter]
    public int Seed { get; set; } = 1;

    /// <summary>A second artifact folder: CKA, neighbour overlap and per-composer P@K over the tracks both hold.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Compare { get; set; }

    /// <summary>Above this many tracks the silhouette uses a seeded sample of this many (0: all tracks).</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int SampleSize { get; set; } = EmbeddingAnalyzer.DefaultSampleSize;

    /// <summary>Above this many tracks the uniformity uses the pairs of a seeded sample of this many (0: all tracks).</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int UniformitySampleSize { get; set; } = EmbeddingAnalyzer.DefaultUniformitySampleSize;

    /// <summary>Threads (0: all cores).</summary>
    [Parameter]
    [ValidateRange(0, 1024)]
    public int MaxThreads { get; set; }

    private const string Activity = "Measure-MessEmbedding";

    /// <summary>Writes analysis/ of a folder earlier stages wrote: takes the writer lock, never creates the folder.</summary>
    protected override bool WritesArtifacts => true;
    protected override bool ReadsExistingArtifacts => true;

    protected override void EndProcessing()
    {
        ArtifactStore? other = null;
        if (Compare is not null)
        {
            string path = Path.GetFullPath(ResolveUserPath(Compare));
            if (!Directory.Exists(path))
                ThrowTerminating(new MessException("CompareFolderMissing", MessErrorKind.ObjectNotFound, $"The -Compare folder '{path}' does not exist.", path));
            other = new ArtifactStore(path);
        }
        double fraction = 0;
        string step = "Loading";
        var options = new AnalysisOptions
        {
            K = K, Clusters = Clusters, Seed = Seed, SampleSize = SampleSize, UniformitySampleSize = UniformitySampleSize, MaxThreads = MaxThreads, Cancellation = Cancellation,
            Progress = (f, what) => { Volatile.Write(ref fraction, f); Volatile.Write(ref step, what); },
        };
        EmbeddingAnalysis result;
        try
        {
            ReportProgress(1, Activity, $"Loading {Store.Root}", 0, force: true);
            result = AwaitWithProgress(Task.Run(() => EmbeddingAnalyzer.Run(Store, options, other)), 1, Activity,
                () => (Volatile.Read(ref step), Volatile.Read(ref fraction)));
        }
        catch (MessException ex) { ThrowTerminating(ex); return; }
        catch (OperationCanceledException) { return; }
        CompleteProgress(1, Activity);
        if (result.SampleSize is { } s)
            WriteVerbose($"The silhouette uses a seeded sample of {s:N0} of {result.Tracks:N0} tracks (seed {Seed}; -SampleSize 0 for all).");
        if (result.UniformitySampleSize is { } u)
            WriteVerbose($"The uniformity uses the pairs of a seeded sample of {u:N0} of {result.Tracks:N0} tracks (seed {Seed}; -UniformitySampleSize 0 for all).");

        if (ShouldProcess(AnalysisFiles.Folder(Store), "Write analysis.json and analysis.html"))
        {
            try
            {
                var (json, html) = AnalysisFiles.Write(Store, result);
                WriteVerbose($"Wrote {json} and {html}");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                ThrowTerminating(new MessException("AnalysisWriteFailed", MessErrorKind.WriteError,
                    $"Writing the analysis files to '{AnalysisFiles.Folder(Store)}' failed: {ex.Message}", AnalysisFiles.Folder(Store), ex));
            }
        }
        Headline(result);
        WriteObject(result);
        base.EndProcessing();
    }

    /// <summary>The headline figures in the run record.</summary>
    private void Headline(EmbeddingAnalysis r)
    {
        var h = Run.Results;
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
        Run.Count("tracks", r.Tracks);
    }
}
