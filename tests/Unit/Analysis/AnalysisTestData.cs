using MessTools.Core.Evaluation;

namespace MessTools.Tests.Unit.Analysis;

/// <summary>Builds <see cref="EvaluationData"/> (the analysis's input) from rows and composer labels.</summary>
internal static class AnalysisTestData
{
    public static EvaluationData Make(float[] vectors, int dim, IReadOnlyList<string> composers, string prefix = "t")
    {
        int n = composers.Count;
        var ids = Enumerable.Range(0, n).Select(i => $"{prefix}{i:D5}").ToArray();
        var meta = ids.Select((id, i) => new MessTrack { TrackId = id, AlbumId = "a" + (i % 7), Composer = composers[i] })
            .ToDictionary(t => t.TrackId, StringComparer.Ordinal);
        return EvaluationData.Create(ids, vectors, dim, meta);
    }

    public static EvaluationData Clustered(int n, int dim, int composers, double noise, int seed, out float[] vectors)
    {
        vectors = SyntheticVectors.Clustered(n, dim, composers, noise, seed, out var labels);
        return Make(vectors, dim, labels.Select(l => $"Composer {l}").ToArray());
    }
}
