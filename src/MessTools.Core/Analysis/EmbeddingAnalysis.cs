using System.Text.Json.Serialization;

namespace MessTools;

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
    /// <summary>Null: the silhouette over all tracks; else the size of the seeded sample it used.</summary>
    public int? SampleSize { get; set; }
    /// <summary>Null: the uniformity over all pairs of tracks; else the size of the seeded sample whose pairs it used.</summary>
    public int? UniformitySampleSize { get; set; }
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

    /// <summary>One line of the headline figures (the table's), for string contexts.</summary>
    public override string ToString() => FormattableString.Invariant(
        $"{Tracks} tracks x {Dimension}, K={K}: effective rank {EffectiveRank:F2}, k-occurrence skewness {KOccurrenceSkewness:F2}, silhouette {AnalysisText.Figure(Silhouette, "F3")}, cluster NMI {ClusterNmi:F2}");
}

/// <summary>The text of an optional figure: "n/a" where it is undefined, as in analysis.html.</summary>
internal static class AnalysisText
{
    public static string Figure(double? value, string format) =>
        value is { } v ? v.ToString(format, System.Globalization.CultureInfo.InvariantCulture) : "n/a";
}

public sealed class Hub
{
    public string TrackId { get; set; } = "";
    public string Composer { get; set; } = "";
    public int Occurrences { get; set; }

    public override string ToString() => $"{TrackId} ({Composer}): {Occurrences}";
}

public sealed class ComposerGeometry
{
    public string Composer { get; set; } = "";
    public int Count { get; set; }
    /// <summary>Mean cosine over pairs of this composer's tracks (null with one track).</summary>
    public double? MeanWithinCosine { get; set; }
    /// <summary>Mean cosine between this composer's tracks and all other composers' tracks.</summary>
    public double? MeanCosineToOthers { get; set; }

    public override string ToString() =>
        $"{Composer}: {Count} tracks, within {AnalysisText.Figure(MeanWithinCosine, "F3")}, to others {AnalysisText.Figure(MeanCosineToOthers, "F3")}";
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

    public override string ToString() => FormattableString.Invariant(
        $"{SharedTracks} shared tracks, K={K}: CKA {Cka:F3}, neighbour Jaccard {NeighborJaccard:F3}, P@K {PrecisionAtK:F3} vs {ComparePrecisionAtK:F3}");
}

public sealed class ComposerPrecision
{
    public string Composer { get; set; } = "";
    public int Tracks { get; set; }
    public double PrecisionAtK { get; set; }
    public double ComparePrecisionAtK { get; set; }

    public override string ToString() => FormattableString.Invariant($"{Composer}: P@K {PrecisionAtK:F3} vs {ComparePrecisionAtK:F3} ({Tracks} tracks)");
}
