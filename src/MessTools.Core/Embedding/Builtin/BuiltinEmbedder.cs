using System.Numerics.Tensors;
using System.Security.Cryptography;
using System.Text;
using MessTools.Core.Common;
using MessTools.Core.Dsp;

namespace MessTools.Core.Embedding.Builtin;

/// <summary>
/// The built-in, weight-free music embedder (ConvertTo-MessEmbedding -Model builtin): texture, articulation,
/// register and rhythm statistics of a mono 22050 Hz signal, pooled over the whole track (see docs/builtin-embedder.md).
/// Each raw feature is standardised with fixed constants (<see cref="BuiltinStandardisation"/>), each block is
/// L2-normalised so every block weighs the same in a cosine similarity, and the concatenation is L2-normalised.
/// Deterministic (no randomness, no threading inside, the same bytes for the same input), thread-safe (the
/// instance is immutable; every call allocates its own buffers).
/// </summary>
public sealed class BuiltinEmbedder : IWholeTrackEmbedder
{
    /// <summary>Bumped whenever the feature computation changes; part of <see cref="Version"/>.</summary>
    private const string FeatureRevision = "builtin-features-2";

    /// <summary>The shortest input accepted, in samples (1 s): shorter clips give no meaningful rhythm or texture statistics.</summary>
    public const int MinimumSamples = BuiltinFrontEnd.SampleRate;

    private static readonly BuiltinFrontEnd FrontEnd = new();
    private readonly float[] _mean, _scale;

    public BuiltinEmbedder()
    {
        (_mean, _scale) = BuiltinStandardisation.Load(BuiltinFeatures.Dimension);
        Version = ComputeVersion(_mean, _scale);
    }

    /// <summary>The input rate: Get-MessAudio's default standardisation rate.</summary>
    public int SampleRate => BuiltinFrontEnd.SampleRate;

    public int Dimension => BuiltinFeatures.Dimension;

    /// <summary>Changes whenever the features or the standardisation constants change (goes into the model hash).</summary>
    public string Version { get; }

    /// <summary>The feature blocks in vector order (name, offset, length, what it measures).</summary>
    public static IReadOnlyList<BuiltinFeatureBlock> Blocks => BuiltinFeatures.Blocks;

    /// <summary>The embedding of a mono signal at <see cref="SampleRate"/>: <see cref="Dimension"/> values, L2 norm 1.</summary>
    /// <exception cref="MessException">Empty, too short (under 1 s) or non-finite input.</exception>
    public float[] Embed(ReadOnlySpan<float> mono) => Standardise(ExtractFeatures(mono));

    /// <summary>
    /// The embedding of a track that arrives in chunks (<see cref="Stream.Push"/>, then <see cref="Stream.Finish"/>):
    /// the front end runs frame by frame, so only its per-frame output (mel and pitch rows, about 26 kB per second of
    /// audio) is kept, never the waveform. Equals <see cref="Embed"/> on the whole track.
    /// </summary>
    public Stream OpenStream(long totalSamples) => new(this, totalSamples);

    IWholeTrackStream IWholeTrackEmbedder.OpenStream(long totalSamples) => OpenStream(totalSamples);

    public sealed class Stream : IWholeTrackStream
    {
        private readonly BuiltinEmbedder _embedder;
        private readonly FrameStream _frames;
        private readonly FrameStream.FrameSink _sink;
        private readonly float[] _mel, _pitch;
        private float _peak;

        internal Stream(BuiltinEmbedder embedder, long totalSamples)
        {
            CheckLength(totalSamples);
            _embedder = embedder;
            _frames = new FrameStream(FrontEnd.Stft, totalSamples);
            _mel = new float[(long)_frames.FrameCount * BuiltinFrontEnd.MelBands];
            _pitch = new float[(long)_frames.FrameCount * BuiltinFrontEnd.Pitches];
            _sink = (k, power) => FrontEnd.AnalyseFrame(power, _mel.AsSpan(k * BuiltinFrontEnd.MelBands, BuiltinFrontEnd.MelBands),
                _pitch.AsSpan(k * BuiltinFrontEnd.Pitches, BuiltinFrontEnd.Pitches));
        }

        /// <summary>The next samples (finite; the pipeline checks them).</summary>
        public void Push(ReadOnlySpan<float> chunk)
        {
            if (!chunk.IsEmpty) _peak = Math.Max(_peak, TensorPrimitives.MaxMagnitude(chunk));
            _frames.Push(chunk, _sink);
        }

        public float[] Finish()
        {
            _frames.Finish(_sink);
            CheckPeak(_peak);
            return _embedder.Standardise(BuiltinFeatures.Compute(_mel, _pitch, _frames.FrameCount));
        }
    }

    /// <summary>The embedding of raw features from <see cref="ExtractFeatures"/>: what <see cref="Embed"/> does after
    /// the front end (standardisation, block and total L2 normalisation). For research (bench/BuiltinQuality --protocols).</summary>
    public float[] EmbedFeatures(float[] raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        if (raw.Length != Dimension) throw new ArgumentException($"Expected {Dimension} raw features, got {raw.Length}.", nameof(raw));
        return Standardise(raw);
    }

    private float[] Standardise(float[] raw) => Standardise(raw, _mean, _scale, BuiltinFeatures.Blocks);

    /// <summary>
    /// z = (raw - mean) * scale clamped to +-8 (a value far outside the calibration range must not swamp its block), each
    /// block L2-normalised (to its weight: 1 for every builtin-1 block), then the whole vector: builtin-1's and builtin-2's last step.
    /// </summary>
    internal static float[] Standardise(float[] raw, float[] mean, float[] scale, IReadOnlyList<BuiltinFeatureBlock> blocks, IReadOnlyList<float>? weights = null)
    {
        var v = new float[raw.Length];
        TensorPrimitives.Subtract(raw, mean, v);
        TensorPrimitives.Multiply(v, scale, v);
        TensorPrimitives.Min(v, ClampZ, v);
        TensorPrimitives.Max(v, -ClampZ, v);
        for (int i = 0; i < blocks.Count; i++)
        {
            var b = blocks[i];
            var s = v.AsSpan(b.Offset, b.Length);
            float n = TensorPrimitives.Norm(s);
            if (n > 1e-12f) TensorPrimitives.Multiply(s, (weights is null ? 1f : weights[i]) / n, s);
            else s.Clear();
        }
        float norm = TensorPrimitives.Norm(v);
        if (!(norm > 1e-12f) || !float.IsFinite(norm))
            throw new MessException(MessErrorIds.BuiltinEmbeddingDegenerate, MessErrorKind.InvalidData,
                "The built-in embedder produced a zero or non-finite vector for this audio.");
        TensorPrimitives.Multiply(v, 1f / norm, v);
        return v;
    }

    private const float ClampZ = 8f;

    /// <summary>
    /// The raw, unstandardised feature vector (same layout as the embedding). For research and for refitting the
    /// standardisation constants (bench/BuiltinQuality --fit); <see cref="Embed"/> is what users want.
    /// </summary>
    public float[] ExtractFeatures(ReadOnlySpan<float> mono)
    {
        Validate(mono);
        var (mel, pitch, frames) = FrontEnd.Analyse(mono);
        return BuiltinFeatures.Compute(mel, pitch, frames);
    }

    internal static void Validate(ReadOnlySpan<float> mono)
    {
        CheckLength(mono.Length);
        for (int i = 0; i < mono.Length; i++)
        {
            if (!float.IsFinite(mono[i]))
                throw new MessException(MessErrorIds.BuiltinAudioNotFinite, MessErrorKind.InvalidData,
                    $"The audio contains a non-finite sample (NaN or infinity) at sample {i}.");
        }
        CheckPeak(TensorPrimitives.MaxMagnitude(mono));
    }

    /// <summary>BuiltinAudioEmpty / BuiltinAudioTooShort for a track of <paramref name="samples"/> samples.</summary>
    internal static void CheckLength(long samples)
    {
        if (samples == 0)
            throw new MessException(MessErrorIds.BuiltinAudioEmpty, MessErrorKind.InvalidData, "The built-in embedder got no audio samples.");
        if (samples < MinimumSamples)
            throw new MessException(MessErrorIds.BuiltinAudioTooShort, MessErrorKind.InvalidData,
                $"The built-in embedder needs at least {MinimumSamples} samples (1 s at {BuiltinFrontEnd.SampleRate} Hz); got {samples}.");
    }

    /// <summary>BuiltinAudioOutOfRange for a peak magnitude above 1e6 (not audio in [-1, 1]).</summary>
    internal static void CheckPeak(float peak)
    {
        if (peak > 1e6f)
            throw new MessException(MessErrorIds.BuiltinAudioOutOfRange, MessErrorKind.InvalidData,
                $"The audio's peak magnitude {peak:G4} is implausible for samples in [-1, 1] (above 1e6).");
    }

    private static string ComputeVersion(float[] mean, float[] scale) => VersionOf("builtin-1", FeatureRevision, BuiltinFeatures.Blocks, mean, scale);

    /// <summary>"&lt;name&gt;+" and 12 hex digits of SHA-256 over the feature revision, the block layout and the constants.</summary>
    internal static string VersionOf(string name, string revision, IEnumerable<BuiltinFeatureBlock> blocks, float[] mean, float[] scale)
    {
        using var sha = SHA256.Create();
        var header = Encoding.UTF8.GetBytes(revision + "|" + string.Join(",", blocks.Select(b => $"{b.Name}:{b.Length}")) + "|");
        sha.TransformBlock(header, 0, header.Length, null, 0);
        var m = System.Runtime.InteropServices.MemoryMarshal.AsBytes(mean.AsSpan()).ToArray();
        var s = System.Runtime.InteropServices.MemoryMarshal.AsBytes(scale.AsSpan()).ToArray();
        sha.TransformBlock(m, 0, m.Length, null, 0);
        sha.TransformFinalBlock(s, 0, s.Length);
        return name + "+" + Convert.ToHexString(sha.Hash!)[..12].ToLowerInvariant();
    }
}
