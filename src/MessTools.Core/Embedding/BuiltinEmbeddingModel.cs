using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MessTools.Core.Common;
using MessTools.Core.Embedding.Builtin;

namespace MessTools.Core.Embedding;

/// <summary>
/// A built-in embedder (<see cref="BuiltinEmbedder"/>, builtin-1, or <see cref="Builtin2Embedder"/>) behind
/// <see cref="IEmbeddingModel"/>: one unit per track (and one per segment), the units of a batch embedded in parallel
/// (the embedders are thread-safe), its output already pooled.
/// </summary>
public sealed class BuiltinEmbeddingModel : IEmbeddingModel
{
    private readonly IWholeTrackEmbedder _embedder;
    private readonly int _threads;

    public BuiltinEmbeddingModel(int? batchSize = null, int? threads = null) : this(EmbeddingModels.Builtin, batchSize, threads) { }

    /// <param name="name"><see cref="EmbeddingModels.Builtin"/> or <see cref="EmbeddingModels.Builtin2"/>.</param>
    /// <param name="batchSize">Units per batch (default twice the threads, at least 2).</param>
    /// <param name="threads">Units embedded at once (default: the processor count).</param>
    public BuiltinEmbeddingModel(string name, int? batchSize = null, int? threads = null)
    {
        Name = name;
        _embedder = name switch
        {
            EmbeddingModels.Builtin => new BuiltinEmbedder(),
            EmbeddingModels.Builtin2 => new Builtin2Embedder(),
            _ => throw new ArgumentException($"'{name}' is not a built-in model.", nameof(name)),
        };
        _threads = threads ?? Environment.ProcessorCount;
        BatchSize = batchSize ?? Math.Max(2, 2 * _threads);
        ModelSha256 = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(_embedder.Version))).ToLowerInvariant();
    }

    public string Name { get; }
    public string ModelSha256 { get; }
    public int SampleRate => _embedder.SampleRate;
    public string Identity => Name + "|" + _embedder.Version;
    public int Dimension => _embedder.Dimension;
    public int BatchSize { get; }

    public void Describe(EmbeddingsMeta meta)
    {
        meta.Model = Name;
        meta.ModelSha256 = ModelSha256;
        meta.Profile = JsonSerializer.SerializeToElement(new { embedder = Name, version = _embedder.Version });
        meta.Pooling = "track_statistics";
        meta.SampleRate = SampleRate;
        meta.Chunking = JsonSerializer.SerializeToElement(new { whole_track = true });
    }

    public List<ModelUnit> Prepare(float[] mono, IReadOnlyList<(int Start, int End)> segments)
    {
        var units = new List<ModelUnit> { new(mono, mono.Length, 0, (double)mono.Length / SampleRate) };
        for (int s = 0; s < segments.Count; s++)
        {
            var (a, b) = segments[s];
            if (segments.Count == 1 && a == 0 && b == mono.Length) { units[0].Segments.Add(s); continue; }
            if (b - a < BuiltinEmbedder.MinimumSamples) continue; // too short for the embedder: no row for this segment
            var u = new ModelUnit(mono[a..b], b - a, (double)a / SampleRate, (double)b / SampleRate) { ForTrack = false };
            u.Segments.Add(s);
            units.Add(u);
        }
        return units;
    }

    /// <summary>
    /// Streams a whole-track embedding (no segments, or one segment that is the whole track): the unit comes out of the
    /// front end already embedded, and <see cref="Run"/> passes it through.
    /// </summary>
    public IUnitStream? OpenStream(long totalSamples, IReadOnlyList<(int Start, int End)> segments)
    {
        bool wholeOnly = segments.Count == 0 || (segments.Count == 1 && segments[0].Start == 0 && segments[0].End == totalSamples);
        return wholeOnly ? new TrackStream(this, totalSamples, segments.Count) : null;
    }

    private sealed class TrackStream : IUnitStream
    {
        private readonly BuiltinEmbeddingModel _model;
        private readonly IWholeTrackStream _stream;
        private readonly long _total;
        private readonly int _segments;

        public TrackStream(BuiltinEmbeddingModel model, long totalSamples, int segments)
        {
            _model = model; _total = totalSamples; _segments = segments;
            _stream = model._embedder.OpenStream(totalSamples);
        }

        public void Push(ReadOnlySpan<float> chunk, List<ModelUnit> ready) => _stream.Push(chunk);

        public void Finish(List<ModelUnit> ready)
        {
            var v = _stream.Finish();
            var unit = new ModelUnit(Array.Empty<float>(), 0, 0, (double)_total / _model.SampleRate) { Frames = v, FrameCount = 1, FrameDim = v.Length };
            if (_segments == 1) unit.Segments.Add(0);
            ready.Add(unit);
        }
    }

    public void Run(IReadOnlyList<ModelUnit> units, CancellationToken cancellationToken)
    {
        Parallel.For(0, units.Count, new ParallelOptions { MaxDegreeOfParallelism = _threads, CancellationToken = cancellationToken }, i =>
        {
            var u = units[i];
            if (u.Frames is not null) return; // embedded by the streaming front end
            try
            {
                u.Frames = _embedder.Embed(u.Input.AsSpan(0, u.Length));
                u.FrameCount = 1;
                u.FrameDim = u.Frames.Length;
            }
            catch (MessException ex) { u.Error = ex; }
            u.ReleaseInput();
        });
    }

    public float[] Pool(IReadOnlyList<ModelUnit> units) => FramePooling.Pool(units, TimePooling.Mean);

    public void Dispose() { }
}
