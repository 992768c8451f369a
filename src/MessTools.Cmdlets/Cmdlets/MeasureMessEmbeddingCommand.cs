using System.Management.Automation;
using MessTools.Cmdlets.Common;
using MessTools.Core.Analysis;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Jobs;

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

    /// <summary>Above this many tracks the silhouette and the k-means fit use a seeded sample of this many (0: all tracks).</summary>
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

    /// <summary>Writes analysis/ of a folder earlier stages wrote: takes the writer lock, never creates the folder.</summary>
    protected override bool WritesArtifacts => true;
    protected override bool ReadsExistingArtifacts => true;

    protected override void EndProcessing()
    {
        var options = new AnalysisOptions
        {
            K = K, Clusters = Clusters, Seed = Seed, SampleSize = SampleSize, UniformitySampleSize = UniformitySampleSize, MaxThreads = MaxThreads, Cancellation = Cancellation,
        };
        EmbeddingAnalysis result;
        try
        {
            var other = Compare is null ? null : new ArtifactStore(Path.GetFullPath(ResolveUserPath(Compare)));
            ReportProgress(1, AnalyseJob.Activity, $"Loading {Store.Root}", 0, force: true);
            result = AnalyseJob.Run(Store, options, other, LockTimeout, JobHost);
        }
        catch (MessException ex) { ThrowTerminating(ex); return; }
        catch (OperationCanceledException) { return; }
        finally { CompleteProgress(1, AnalyseJob.Activity); }
        WriteObject(result);
        base.EndProcessing();
    }
}
