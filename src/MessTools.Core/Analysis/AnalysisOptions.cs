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
    /// <summary>Above this many tracks, the silhouette and the k-means fit use a seeded sample of this many (0: all
    /// tracks); at least <see cref="Clusters"/>. Every track is still assigned to its nearest fitted centre.</summary>
    public int SampleSize { get; init; } = EmbeddingAnalyzer.DefaultSampleSize;
    /// <summary>Above this many tracks the uniformity (a mean over all pairs, O(N² D)) uses a seeded sample of this
    /// many (0: all tracks). 5,000 tracks are 12.5 million pairs.</summary>
    public int UniformitySampleSize { get; init; } = EmbeddingAnalyzer.DefaultUniformitySampleSize;
    /// <summary>Points in the PCA scatter of the report (a seeded sample above it).</summary>
    public int ScatterPoints { get; init; } = 3000;
    public int MaxThreads { get; init; }
    public CancellationToken Cancellation { get; init; }
    /// <summary>Fraction done (0..1) and the step running; called from worker threads.</summary>
    public Action<double, string>? Progress { get; init; }
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
        ["uniformity"] = "ln(mean over all pairs i < j of exp(-2 ||e_i - e_j||^2)) (Wang & Isola 2020); on a seeded sample of uniformity_sample_size tracks when that is set.",
        ["silhouette"] = "scikit-learn's silhouette_score(E, composer, metric='cosine'): (b - a) / max(a, b) per track, a = mean cosine distance to its own composer's other tracks, b = the smallest mean distance to another composer; a track whose composer has no other track counts 0; on the seeded sample when sample_size is set.",
        ["per_composer"] = "count; mean_within_cosine = mean cosine over pairs of the composer's tracks; mean_cosine_to_others = mean cosine between its tracks and all other tracks.",
        ["clusters"] = "k-means (Lloyd) on E with k-means++ seeding from the seed (fitted on the seeded sample when sample_size is set, every track then assigned to its nearest centre); cluster_nmi = normalised mutual information between clusters and composers (arithmetic mean of the entropies, natural log, as scikit-learn's normalized_mutual_info_score).",
        ["mean_pairwise_cosine"] = "Mean cosine over all pairs i < j.",
        ["neighbor_composer_share"] = "Mean over tracks of the distinct composers among its K neighbours divided by the number of composers; mean_neighbor_composers is the same count undivided.",
        ["comparison"] = "Over the tracks both folders hold: cka = ||X'Y||_F^2 / (||X'X||_F ||Y'Y||_F) on centred X and Y (linear CKA); neighbor_jaccard = mean over tracks of |A_K intersect B_K| / |A_K union B_K| of the two K-neighbour sets; precision_at_k as in the evaluation (same composer among the K neighbours / K), overall and per composer.",
    };
}
