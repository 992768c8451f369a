using System.Numerics.Tensors;
using MessTools.Core.Dsp;

namespace MessTools.Core.Embedding.Builtin;

/// <summary>
/// builtin-2 (<c>ConvertTo-MessEmbedding -Model builtin-2</c>): a weight-free embedder of the music as written rather
/// than of the recording: key-normalised pitch-class statistics, transposition-invariant interval and transition
/// profiles, chord types and root motion, register in semitones and tempo-normalised rhythm, all read from a
/// whitened, partial-suppressed semitone spectrum (no spectral-shape or MFCC features). Streaming by construction:
/// every frame updates running sums (<see cref="ScoreFeatures"/>), so memory is flat in track length. Same input
/// validation, standardisation and block weighting as builtin-1 (<see cref="BuiltinEmbedder"/>), which it leaves unchanged.
/// Deterministic and thread-safe (the instance is immutable; each call or stream has its own state).
/// </summary>
public sealed class Builtin2Embedder : IWholeTrackEmbedder
{
    /// <summary>Bumped whenever the feature computation changes; part of <see cref="Version"/>.</summary>
    private static readonly string FeatureRevision = "builtin2-features-3|weights " +
        string.Join(",", ScoreFeatures.Weights.Select(w => w.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static readonly BuiltinFrontEnd FrontEnd = new();
    private readonly float[] _mean, _scale;

    public Builtin2Embedder()
    {
        (_mean, _scale) = BuiltinStandardisation.Load(ScoreFeatures.Dimension, Builtin2Standardisation.Dimension,
            Builtin2Standardisation.MeanBase64, Builtin2Standardisation.StdBase64);
        Version = ComputeVersion(_mean, _scale);
    }

    public int SampleRate => BuiltinFrontEnd.SampleRate;
    public int Dimension => ScoreFeatures.Dimension;

    /// <summary>"builtin-2+" and a hash of the feature layout and constants: changes whenever either changes.</summary>
    public string Version { get; }

    /// <summary>The feature blocks in vector order.</summary>
    public static IReadOnlyList<BuiltinFeatureBlock> Blocks => ScoreFeatures.Blocks;

    /// <summary>The embedding of a whole mono track at <see cref="SampleRate"/> (the same bytes as streaming it).</summary>
    /// <exception cref="Common.MessException">Empty, too short (under 1 s), non-finite or out-of-range input.</exception>
    public float[] Embed(ReadOnlySpan<float> mono) => EmbedFeatures(ExtractFeatures(mono));

    /// <summary>The raw (unstandardised) features of a whole track, through the streaming path.</summary>
    public float[] ExtractFeatures(ReadOnlySpan<float> mono)
    {
        BuiltinEmbedder.Validate(mono);
        var s = new Stream(this, mono.Length);
        s.Push(mono);
        return s.FinishRaw();
    }

    /// <summary>Standardisation and block weighting of raw features (as <see cref="Embed"/> does after the front end).</summary>
    public float[] EmbedFeatures(float[] raw) => EmbedFeatures(raw, _mean, _scale);

    /// <summary>The same with other constants (bench/BuiltinQuality refits them under each protocol).</summary>
    public static float[] EmbedFeatures(float[] raw, float[] mean, float[] scale)
    {
        ArgumentNullException.ThrowIfNull(raw);
        if (raw.Length != ScoreFeatures.Dimension) throw new ArgumentException($"Expected {ScoreFeatures.Dimension} raw features, got {raw.Length}.", nameof(raw));
        return BuiltinEmbedder.Standardise(raw, mean, scale, ScoreFeatures.Blocks, ScoreFeatures.Weights);
    }

    /// <summary>Reciprocal scales 1/(std + 1e-6) for <see cref="EmbedFeatures(float[], float[], float[])"/> from standard deviations.</summary>
    public static float[] Scales(float[] std) => BuiltinStandardisation.Scales(std);

    /// <summary>A track that arrives in chunks: <see cref="Stream.Push"/> them, then <see cref="Stream.Finish"/>.</summary>
    public Stream OpenStream(long totalSamples) => new(this, totalSamples);

    IWholeTrackStream IWholeTrackEmbedder.OpenStream(long totalSamples) => OpenStream(totalSamples);

    public sealed class Stream : IWholeTrackStream
    {
        private readonly Builtin2Embedder _embedder;
        private readonly FrameStream _frames;
        private readonly FrameStream.FrameSink _sink;
        private readonly ScoreFeatures _features = new();
        private float _peak;

        internal Stream(Builtin2Embedder embedder, long totalSamples)
        {
            BuiltinEmbedder.CheckLength(totalSamples);
            _embedder = embedder;
            _frames = new FrameStream(FrontEnd.Stft, totalSamples);
            _sink = (_, power) => _features.Add(power);
        }

        /// <summary>The next samples (finite; the pipeline checks them).</summary>
        public void Push(ReadOnlySpan<float> chunk)
        {
            if (!chunk.IsEmpty) _peak = Math.Max(_peak, TensorPrimitives.MaxMagnitude(chunk));
            _frames.Push(chunk, _sink);
        }

        public float[] Finish() => _embedder.EmbedFeatures(FinishRaw());

        internal float[] FinishRaw()
        {
            _frames.Finish(_sink);
            BuiltinEmbedder.CheckPeak(_peak);
            return _features.Compute();
        }
    }

    private static string ComputeVersion(float[] mean, float[] scale) =>
        BuiltinEmbedder.VersionOf(EmbeddingModels.Builtin2, FeatureRevision, ScoreFeatures.Blocks, mean, scale);
}
