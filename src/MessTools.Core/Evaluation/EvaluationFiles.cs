using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using CsvHelper;
using CsvHelper.Configuration;
using MessTools.Core.Artifacts;
using MessTools.Core.Catalog;

namespace MessTools.Core.Evaluation;

/// <summary>eval/eval_results.json: the run's figures with their definitions.</summary>
public sealed class EvaluationDocument
{
    public string Schema { get; set; } = "messtools.evaluation/1";
    public string ModuleVersion { get; set; } = ModuleInfo.Version;
    /// <summary>Not written any more (the same input gives the same bytes); files of earlier versions have it.</summary>
    public DateTime? CreatedUtc { get; set; }
    public string ArtifactPath { get; set; } = "";
    public string? Model { get; set; }
    public string? EmbeddingsSha256 { get; set; }
    public int Dim { get; set; }
    public int Tracks { get; set; }
    public int Composers { get; set; }
    public int Albums { get; set; }
    public string Search { get; set; } = "exact";
    public int[] Ks { get; set; } = Array.Empty<int>();
    public IReadOnlyDictionary<string, string> Definitions { get; set; } = EvaluationDefinitions.All;
    /// <summary>One entry per (album mode, K); confusion tables are under <see cref="ConfusionTop1"/>.</summary>
    public List<ResultEntry> Results { get; set; } = new();
    public List<ConfusionEntry> ConfusionTop1 { get; set; } = new();
    public SamplesEntry? Samples { get; set; }
    public string? ReportHtml { get; set; }
    /// <summary>Not written any more (it changes from run to run; the run record keeps it); files of earlier versions have it.</summary>
    public double? SearchSeconds { get; set; }
    /// <summary>How the intervals and p-values were computed; null without a bootstrap.</summary>
    public BootstrapEntry? Bootstrap { get; set; }
    /// <summary>Comparison files only: the first folder's figures minus each other folder's, paired over the shared tracks.</summary>
    public List<EvaluationComparison>? PairedDifferences { get; set; }
    /// <summary>Comparison files only: the folders compared on their shared tracks.</summary>
    public List<string>? ComparedArtifactPaths { get; set; }

    public sealed class ResultEntry
    {
        public string ArtifactPath { get; set; } = "";
        public string? Model { get; set; }
        public int K { get; set; }
        public bool ExcludeSameAlbum { get; set; }
        public int Queries { get; set; }
        public double PrecisionAtK { get; set; }
        public double HitRateAtK { get; set; }
        public double NdcgAtK { get; set; }
        public double ChancePrecisionAtK { get; set; }
        public double ChanceHitRateAtK { get; set; }
        public double ChanceNdcgAtK { get; set; }
        public int QueriesWithoutRelevant { get; set; }
        public double? IndexRecallAtK { get; set; }
        public int? IndexRecallQueries { get; set; }
        public ConfidenceInterval? PrecisionAtKInterval { get; set; }
        public ConfidenceInterval? HitRateAtKInterval { get; set; }
        public ConfidenceInterval? NdcgAtKInterval { get; set; }
        public IReadOnlyList<ComposerEvaluation>? PerComposer { get; set; }
    }

    public sealed class BootstrapEntry
    {
        public string Method { get; set; } = "percentile bootstrap over queries, SplitMix64 streams (see definitions)";
        public int Resamples { get; set; }
        public double Level { get; set; }
        public int Seed { get; set; }
        public int MinComposerQueries { get; set; }
        public int? Permutations { get; set; }

        public static BootstrapEntry? From(EvaluationOptions o, bool paired) => o.BootstrapResamples <= 0 ? null : new()
        {
            Resamples = o.BootstrapResamples, Level = o.ConfidenceLevel, Seed = o.Seed, MinComposerQueries = o.MinComposerQueriesForInterval,
            Permutations = paired && o.Permutations > 0 ? o.Permutations : null,
        };
    }

    public sealed class ConfusionEntry
    {
        public string ArtifactPath { get; set; } = "";
        public bool ExcludeSameAlbum { get; set; }
        public IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> Counts { get; set; } =
            new Dictionary<string, IReadOnlyDictionary<string, int>>();
    }

    public sealed class SamplesEntry
    {
        public string File { get; set; } = "samples.csv";
        public int Queries { get; set; }
        public int? Seed { get; set; }
        public List<string>? ChosenTrackIds { get; set; }
    }

    public static ResultEntry Entry(EvaluationResult r, bool withComposers) => new()
    {
        ArtifactPath = r.ArtifactPath, Model = r.Model, K = r.K, ExcludeSameAlbum = r.ExcludeSameAlbum, Queries = r.Queries,
        PrecisionAtK = r.PrecisionAtK, HitRateAtK = r.HitRateAtK, NdcgAtK = r.NdcgAtK,
        ChancePrecisionAtK = r.ChancePrecisionAtK, ChanceHitRateAtK = r.ChanceHitRateAtK, ChanceNdcgAtK = r.ChanceNdcgAtK,
        QueriesWithoutRelevant = r.QueriesWithoutRelevant, IndexRecallAtK = r.IndexRecallAtK, IndexRecallQueries = r.IndexRecallQueries,
        PrecisionAtKInterval = r.PrecisionAtKInterval, HitRateAtKInterval = r.HitRateAtKInterval, NdcgAtKInterval = r.NdcgAtKInterval,
        PerComposer = withComposers ? r.PerComposer : null,
    };
}

/// <summary>Writes the evaluation's files atomically into an artifact folder's eval/.</summary>
public static class EvaluationFiles
{
    public const string SamplesFileName = "samples.csv";
    public const string ReportFileName = "report.html";
    public const string ComparisonFileName = "comparison.json";
    public const string ComparisonReportFileName = "comparison.html";

    public static string SamplesPath(ArtifactStore store) => Path.Combine(store.EvalDir, SamplesFileName);
    public static string ReportPath(ArtifactStore store) => Path.Combine(store.EvalDir, ReportFileName);

    public static EvaluationDocument Document(EvaluationOutcome outcome, EvaluationOptions options)
    {
        var d = outcome.Data;
        var doc = new EvaluationDocument
        {
            ArtifactPath = options.ArtifactPath,
            Model = d.Model,
            EmbeddingsSha256 = d.EmbeddingsSha256,
            Dim = d.Dimension,
            Tracks = d.Count,
            Composers = d.Composers.Distinct(StringComparer.Ordinal).Count(),
            Albums = d.AlbumIds.Distinct(StringComparer.Ordinal).Count(),
            Search = outcome.Search.ToLowerInvariant(),
            Ks = outcome.Ks.ToArray(),
            Bootstrap = EvaluationDocument.BootstrapEntry.From(options, paired: false),
            Results = outcome.Results.Select(r => EvaluationDocument.Entry(r, withComposers: true)).ToList(),
            ConfusionTop1 = outcome.Results.GroupBy(r => r.ExcludeSameAlbum).Select(g => new EvaluationDocument.ConfusionEntry
            {
                ArtifactPath = options.ArtifactPath, ExcludeSameAlbum = g.Key, Counts = g.First().ConfusionTop1,
            }).ToList(),
            Samples = new EvaluationDocument.SamplesEntry
            {
                Queries = outcome.Samples.Select(s => s.QueryTrackId).Distinct().Count(),
                Seed = options.SampleTrackIds is { Count: > 0 } ? null : options.Seed,
                ChosenTrackIds = options.SampleTrackIds is { Count: > 0 } ids ? ids.ToList() : null,
            },
            ReportHtml = ReportFileName,
        };
        return doc;
    }

    /// <summary>eval_results.json, samples.csv and report.html; returns their paths.</summary>
    public static (string Results, string Samples, string Report) Write(ArtifactStore store, EvaluationOutcome outcome, EvaluationOptions options)
    {
        var doc = Document(outcome, options);
        string samples = SamplesPath(store), report = ReportPath(store);
        WriteSamples(samples, outcome.Samples);
        AtomicFile.WriteAllText(report, EvaluationReportHtml.Build(doc, outcome.Results));
        ArtifactJson.Write(store.EvalResultsFile, doc);
        return (store.EvalResultsFile, samples, report);
    }

    public static void WriteSamples(string path, IEnumerable<EvaluationSample> samples)
    {
        AtomicFile.Write(path, stream =>
        {
            using var text = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
            using var csv = new CsvWriter(text, new CsvConfiguration(CultureInfo.InvariantCulture) { NewLine = "\n", InjectionOptions = InjectionOptions.None });
            foreach (var h in new[] { "query_track_id", "query_composer", "query_album_id", "exclude_same_album", "rank", "track_id", "composer", "album_id", "similarity", "relevant" })
                csv.WriteField(h);
            csv.NextRecord();
            foreach (var s in samples)
            {
                csv.WriteField(s.QueryTrackId);
                csv.WriteField(s.QueryComposer);
                csv.WriteField(s.QueryAlbumId);
                csv.WriteField(s.ExcludeSameAlbum ? "true" : "false");
                csv.WriteField(s.Rank.ToString(CultureInfo.InvariantCulture));
                csv.WriteField(s.TrackId);
                csv.WriteField(s.Composer);
                csv.WriteField(s.AlbumId);
                csv.WriteField(s.Similarity.ToString("0.000000", CultureInfo.InvariantCulture));
                csv.WriteField(s.Relevant ? "true" : "false");
                csv.NextRecord();
            }
            csv.Flush();
        });
    }

    /// <summary>Several folders on their shared tracks: comparison.json and comparison.html in the first folder's eval/.</summary>
    public static (string Results, string Report) WriteComparison(ArtifactStore first, IReadOnlyList<EvaluationOutcome> outcomes,
        IReadOnlyList<string> folders, int sharedTracks, IReadOnlyList<EvaluationComparison> comparisons, EvaluationOptions options)
    {
        var o0 = outcomes[0];
        var doc = new EvaluationDocument
        {
            ArtifactPath = folders[0],
            ComparedArtifactPaths = folders.ToList(),
            Tracks = sharedTracks,
            Dim = o0.Data.Dimension,
            Composers = o0.Data.Composers.Distinct(StringComparer.Ordinal).Count(),
            Albums = o0.Data.AlbumIds.Distinct(StringComparer.Ordinal).Count(),
            Search = o0.Search.ToLowerInvariant(),
            Ks = o0.Ks.ToArray(),
            Bootstrap = EvaluationDocument.BootstrapEntry.From(options, paired: true),
            PairedDifferences = comparisons.ToList(),
            Results = outcomes.SelectMany(o => o.Results).Select(r => EvaluationDocument.Entry(r, withComposers: true)).ToList(),
            ConfusionTop1 = new(),
            ReportHtml = ComparisonReportFileName,
        };
        string json = Path.Combine(first.EvalDir, ComparisonFileName), html = Path.Combine(first.EvalDir, ComparisonReportFileName);
        AtomicFile.WriteAllText(html, EvaluationReportHtml.BuildComparison(doc, outcomes.SelectMany(o => o.Results).ToList(), comparisons));
        ArtifactJson.Write(json, doc);
        return (json, html);
    }
}
