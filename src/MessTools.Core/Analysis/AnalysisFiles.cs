using MessTools.Core.Artifacts;

namespace MessTools.Core.Analysis;

/// <summary>analysis/analysis.json: the figures with their definitions.</summary>
public sealed class AnalysisDocument
{
    public string Schema { get; set; } = "messtools.analysis/1";
    public string ModuleVersion { get; set; } = ModuleInfo.Version;
    public DateTime CreatedUtc { get; set; } = DateTime.UtcNow;
    public IReadOnlyDictionary<string, string> Definitions { get; set; } = AnalysisDefinitions.All;
    public EmbeddingAnalysis Analysis { get; set; } = new();
    public string ReportHtml { get; set; } = AnalysisFiles.ReportFileName;
}

/// <summary>Writes analysis/analysis.json and analysis/analysis.html atomically (the page first, the JSON last).</summary>
public static class AnalysisFiles
{
    public const string FolderName = "analysis";
    public const string ResultsFileName = "analysis.json";
    public const string ReportFileName = "analysis.html";

    public static string Folder(ArtifactStore store) => SafePath.Combine(store.Root, FolderName);

    public static (string Results, string Report) Write(ArtifactStore store, EmbeddingAnalysis analysis)
    {
        string dir = Folder(store);
        string json = SafePath.Combine(dir, ResultsFileName), html = SafePath.Combine(dir, ReportFileName);
        analysis.ResultsPath = json;
        analysis.ReportPath = html;
        AtomicFile.WriteAllText(html, AnalysisReportHtml.Build(analysis));
        ArtifactJson.Write(json, new AnalysisDocument { Analysis = analysis });
        return (json, html);
    }
}
