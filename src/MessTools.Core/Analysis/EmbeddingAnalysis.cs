using System.Text.Json.Serialization;
using MessTools.Core.Artifacts;

namespace MessTools.Core.Analysis;

/// <summary>What Measure-MessEmbedding computes (see <see cref="AnalysisDefinitions"/> for every formula).</summary>
public sealed record AnalysisOptions
{
    /// <summary>Neighbours per track for hubness, diversity and the comparison's neighbour overlap and P@K.</summary>
    public int K { get; init; } = 10;
    /// <summary>k-means clusters.</summary>
    public int Clusters { get; init; } = 10;
    /// <summary>Seed of k-means++ and of the silhouette/uniformity sample.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Above this many tracks, the silhouette and the uniformity use a seeded sample of this many (0: all tracks).</summary>
    public int SampleSize { get; init; } = EmbeddingAnalyzer.DefaultSampleSize;
    /// <summary>Points in the PCA scatter of the report (a seeded sample above it).</summary>
    public int ScatterPoints { get; init; } = 3000;
    public int MaxThreads { get; init; }
    public CancellationToken Cancellation { get; init; }
    /// <summary>Fraction done (0..1) and the step running; called from worker threads.</summary>
    public Action<double, string>? Progress { get; init; }
}

/// <summary>The figures of one embedding space: one result object of Measure-MessEmbedding.</summary>
public sealed class EmbeddingAnalysis
{
    public string ArtifactPath { get; set; } = "";
    public string? Model { get; set; }
    public string? EmbeddingsSha256 { get; set; }
    public int Tracks { get; set; }
    public int Dimension { get; set; }
    public int Composers { get; set; }
    public int K { get; set; }
    public int Seed { get; set; }

    // Dimensionality
    /// <summary>Eigenvalues of the covariance of centred E, descending.</summary>
    public double[] Eigenvalues { get; set; } = Array.Empty<double>();
    /// <summary>Cumulative explained-variance share of the first 1, 2, ... components.</summary>
    public double[] ExplainedVariance { get; set; } = Array.Empty<double>();
    public int ComponentsFor90 { get; set; }
    public double ParticipationRatio { get; set; }
    public double EffectiveRank { get; set; }
    public double? IntrinsicDimension { get; set; }
    /// <summary>Tracks the TwoNN estimate used (those with r1 &gt; 0).</summary>
    public int IntrinsicDimensionTracks { get; set; }

    // Hubness at K
    public double KOccurrenceSkewness { get; set; }
    public double RobinHood { get; set; }
    public double AntihubShare { get; set; }
    public double HubOccurrence { get; set; }
    public List<Hub> TopHubs { get; set; } = new();
    /// <summary>How many tracks have each N_K (index = N_K).</summary>
    public int[] OccurrenceHistogram { get; set; } = Array.Empty<int>();

    // Geometry against composer labels
    public double? Alignment { get; set; }
    public double Uniformity { get; set; }
    public double? Silhouette { get; set; }
    /// <summary>Null: silhouette and uniformity over all tracks; else the size of the seeded sample they used.</summary>
    public int? SampleSize { get; set; }
    public List<ComposerGeometry> PerComposer { get; set; } = new();

    // Clustering
    public int Clusters { get; set; }
    public int[] ClusterSizes { get; set; } = Array.Empty<int>();
    /// <summary>Composer -> tracks in cluster 0, 1, ...</summary>
    public SortedDictionary<string, int[]> ComposerByCluster { get; set; } = new(StringComparer.Ordinal);
    public double ClusterNmi { get; set; }
    public double ClusterInertia { get; set; }
    public int ClusterIterations { get; set; }

    // Diversity
    public double MeanPairwiseCosine { get; set; }
    /// <summary>Mean over tracks of (distinct composers among its K neighbours) / (composers).</summary>
    public double NeighborComposerShare { get; set; }
    /// <summary>Mean over tracks of the distinct composers among its K neighbours.</summary>
    public double MeanNeighborComposers { get; set; }

    public Comparison? Comparison { get; set; }
    public Dictionary<string, double> Seconds { get; set; } = new();
    public string? ResultsPath { get; set; }
    public string? ReportPath { get; set; }

    /// <summary>Row order of the per-track arrays below: ordinal track_id.</summary>
    [JsonIgnore] public string[] TrackIds { get; set; } = Array.Empty<string>();
    [JsonIgnore] public string[] TrackComposers { get; set; } = Array.Empty<string>();
    /// <summary>The k-means cluster of each track.</summary>
    [JsonIgnore] public int[] ClusterOfTrack { get; set; } = Array.Empty<int>();
    /// <summary>N_K of each track.</summary>
    [JsonIgnore] public int[] Occurrences { get; set; } = Array.Empty<int>();
    /// <summary>Rows (indices into <see cref="TrackIds"/>) shown in the PCA scatter and their coordinates on the first two components.</summary>
    [JsonIgnore] public int[] ScatterRows { get; set; } = Array.Empty<int>();
    [JsonIgnore] public double[] ScatterXY { get; set; } = Array.Empty<double>();
}

public sealed class Hub
{
    public string TrackId { get; set; } = "";
    public string Composer { get; set; } = "";
    public int Occurrences { get; set; }
}

public sealed class ComposerGeometry
{
    public string Composer { get; set; } = "";
    public int Count { get; set; }
    /// <summary>Mean cosine over pairs of this composer's tracks (null with one track).</summary>
    public double? MeanWithinCosine { get; set; }
    /// <summary>Mean cosine between this composer's tracks and all other composers' tracks.</summary>
    public double? MeanCosineToOthers { get; set; }
}

/// <summary>-Compare: two artifact folders over the tracks both hold.</summary>
public sealed class Comparison
{
    public string ArtifactPath { get; set; } = "";
    public string CompareArtifactPath { get; set; } = "";
    public string? Model { get; set; }
    public string? CompareModel { get; set; }
    public int SharedTracks { get; set; }
    public int K { get; set; }
    public double Cka { get; set; }
    public double NeighborJaccard { get; set; }
    public double PrecisionAtK { get; set; }
    public double ComparePrecisionAtK { get; set; }
    public List<ComposerPrecision> PerComposer { get; set; } = new();
    /// <summary>The second folder's own analysis (all its tracks), shown side by side in the report.</summary>
    public EmbeddingAnalysis? CompareAnalysis { get; set; }
}

public sealed class ComposerPrecision
{
    public string Composer { get; set; } = "";
    public int Tracks { get; set; }
    public double PrecisionAtK { get; set; }
    public double ComparePrecisionAtK { get; set; }
}

/// <summary>The definitions written into analysis.json, the report and docs/analysis.md.</summary>
public static class AnalysisDefinitions
{
    public static readonly IReadOnlyDictionary<string, string> All = new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["e"] = "E is the N x D matrix of L2-normalised embedding rows, ordered by track_id (ordinal). Centred: the column mean subtracted.",
        ["neighbours"] = "Exact cosine neighbours (the evaluation's exact search): the track itself excluded, ties broken by track_id.",
        ["eigenvalues"] = "Eigenvalues of the D x D covariance of centred E (squared singular values divided by N), descending; explained_variance is their cumulative share; components_for_90 the smallest k whose share reaches 0.90.",
        ["participation_ratio"] = "(sum of eigenvalues)^2 / sum of squared eigenvalues.",
        ["effective_rank"] = "exp(-sum p_k ln p_k), p_k = sigma_k / sum sigma, sigma the singular values of centred E (RankMe; p_k = 0 left out).",
        ["intrinsic_dimension"] = "TwoNN maximum likelihood: mu_i = r2_i / r1_i (Euclidean distances to the two nearest other tracks); d = n / sum ln mu_i over the n tracks with r1_i > 0.",
        ["k_occurrence"] = "N_K(x): how many other tracks have x among their K nearest. k_occurrence_skewness = E[(N_K - K)^3] / sigma^3 (population); robin_hood = sum |N_K - K| / (2 sum N_K); antihub_share = share of tracks with N_K = 0; hub_occurrence = share of all neighbour slots taken by tracks with N_K > 2K; top_hubs: the 10 largest N_K (ties by track_id).",
        ["alignment"] = "Mean over same-composer pairs i < j of ||e_i - e_j||^2.",
        ["uniformity"] = "ln(mean over all pairs i < j of exp(-2 ||e_i - e_j||^2)) (Wang & Isola 2020); on a seeded sample of sample_size tracks when sample_size is set.",
        ["silhouette"] = "scikit-learn's silhouette_score(E, composer, metric='cosine'): (b - a) / max(a, b) per track, a = mean cosine distance to its own composer's other tracks, b = the smallest mean distance to another composer; a track whose composer has no other track counts 0; on the seeded sample when sample_size is set.",
        ["per_composer"] = "count; mean_within_cosine = mean cosine over pairs of the composer's tracks; mean_cosine_to_others = mean cosine between its tracks and all other tracks.",
        ["clusters"] = "k-means (Lloyd) on E with k-means++ seeding from the seed; cluster_nmi = normalised mutual information between clusters and composers (arithmetic mean of the entropies, natural log, as scikit-learn's normalized_mutual_info_score).",
        ["mean_pairwise_cosine"] = "Mean cosine over all pairs i < j.",
        ["neighbor_composer_share"] = "Mean over tracks of the distinct composers among its K neighbours divided by the number of composers; mean_neighbor_composers is the same count undivided.",
        ["comparison"] = "Over the tracks both folders hold: cka = ||X'Y||_F^2 / (||X'X||_F ||Y'Y||_F) on centred X and Y (linear CKA); neighbor_jaccard = mean over tracks of |A_K intersect B_K| / |A_K union B_K| of the two K-neighbour sets; precision_at_k as in the evaluation (same composer among the K neighbours / K), overall and per composer.",
    };
}
