namespace MessTools.Core.Embedding;

/// <summary>
/// One model input cut from a track (a waveform window, a log-mel patch, or the whole track for the built-in
/// embedder) and, after <see cref="IEmbeddingModel.Run"/>, its frame-level output.
/// </summary>
public sealed class ModelUnit
{
    public ModelUnit(float[] input, int length, double startSec, double endSec)
    {
        Input = input; Length = length; StartSec = startSec; EndSec = endSec;
    }

    /// <summary>The model input; the first <see cref="Length"/> values are used.</summary>
    public float[] Input { get; private set; }
    public int Length { get; }
    public double StartSec { get; }
    public double EndSec { get; }
    /// <summary>Part of the track-level pool.</summary>
    public bool ForTrack { get; set; } = true;
    /// <summary>The segments (of -SegmentSeconds) whose pools include this unit.</summary>
    public List<int> Segments { get; } = new();
    /// <summary>Output frames x <see cref="FrameDim"/>, row-major.</summary>
    public float[]? Frames { get; set; }
    public int FrameCount { get; set; }
    public int FrameDim { get; set; }
    /// <summary>Set by a model that failed on this unit alone (the track fails; a segment-only unit just gives no segment row).</summary>
    public Common.MessException? Error { get; set; }
    /// <summary>Who the unit belongs to (the pipeline's job).</summary>
    public object? Owner { get; set; }

    internal void ReleaseInput() => Input = Array.Empty<float>();
}

/// <summary>
/// A track embedding model: a front end that cuts audio into units (thread-safe), a batched runner (called
/// from <see cref="IEmbeddingModel.InferenceWorkers"/> threads at a time; batches may mix units of different tracks), and time pooling of the frame
/// outputs into one vector. <see cref="OnnxEmbeddingModel"/> and the built-in model implement it.
/// </summary>
public interface IEmbeddingModel : IDisposable
{
    /// <summary>The artifact folder's model name (v1_model_&lt;Name&gt;).</summary>
    string Name { get; }
    /// <summary>SHA-256 of the model file (or of the built-in embedder's version string).</summary>
    string ModelSha256 { get; }
    int SampleRate { get; }
    /// <summary>
    /// Everything that decides the vectors (model file hash and the settings that change the output, not names,
    /// descriptions, batch size or threads): a row is reused only when this matches.
    /// </summary>
    string Identity { get; }
    /// <summary>The pooled vector's length, or 0 when it is known only after the first run.</summary>
    int Dimension { get; }
    /// <summary>Units per <see cref="Run"/> call the pipeline aims for.</summary>
    int BatchSize { get; }
    /// <summary>
    /// How many <see cref="Run"/> calls the pipeline may make at once (each on its own batch). 1: Run is called
    /// from one thread at a time; more: Run must be thread-safe.
    /// </summary>
    int InferenceWorkers => 1;

    /// <summary>Fills the model-specific fields of the meta (profile, pooling, layers, chunking, versions).</summary>
    void Describe(EmbeddingsMeta meta);

    /// <summary>Cuts a mono track at <see cref="SampleRate"/> into units; assigns each unit to the given segments (sample ranges).</summary>
    List<ModelUnit> Prepare(float[] mono, IReadOnlyList<(int Start, int End)> segments);

    /// <summary>
    /// A streaming front end for a track of <paramref name="totalSamples"/> samples at <see cref="SampleRate"/>: the
    /// pipeline pushes the audio in chunks and takes units as they are ready, so memory stays flat in track length.
    /// Null when the model has none for these settings (the pipeline then reads the whole track and calls <see cref="Prepare"/>).
    /// The units equal <see cref="Prepare"/>'s (within float tolerance).
    /// </summary>
    IUnitStream? OpenStream(long totalSamples, IReadOnlyList<(int Start, int End)> segments) => null;

    /// <summary>Runs the units and fills their Frames.</summary>
    void Run(IReadOnlyList<ModelUnit> units, CancellationToken cancellationToken);

    /// <summary>Pools the frames of <paramref name="units"/> over time into one vector (not normalised).</summary>
    float[] Pool(IReadOnlyList<ModelUnit> units);
}

/// <summary>A model's front end fed chunk by chunk (<see cref="IEmbeddingModel.OpenStream"/>).</summary>
public interface IUnitStream
{
    /// <summary>The next samples; units they complete are added to <paramref name="ready"/>.</summary>
    void Push(ReadOnlySpan<float> chunk, List<ModelUnit> ready);

    /// <summary>After the last chunk: the remaining units (and the segment assignment of all of them).</summary>
    void Finish(List<ModelUnit> ready);
}

/// <summary>Time pooling of frame outputs (double accumulation).</summary>
public static class FramePooling
{
    public static int OutputDim(TimePooling pooling, int frameDim) => pooling == TimePooling.MeanStd ? 2 * frameDim : frameDim;

    public static float[] Pool(IReadOnlyList<ModelUnit> units, TimePooling pooling)
    {
        int dim = units.FirstOrDefault(u => u.Frames is not null)?.FrameDim ?? 0;
        if (dim == 0) throw new InvalidOperationException("No unit has output frames.");
        var sum = new double[dim]; var sq = new double[dim]; var max = new double[dim];
        Array.Fill(max, double.NegativeInfinity);
        long n = 0;
        foreach (var u in units)
        {
            if (u.Frames is null) continue;
            if (u.FrameDim != dim) throw new InvalidOperationException($"Units disagree on the frame width ({u.FrameDim} vs {dim}).");
            for (int f = 0; f < u.FrameCount; f++)
            {
                var row = u.Frames.AsSpan(f * dim, dim);
                for (int d = 0; d < dim; d++)
                {
                    double v = row[d];
                    sum[d] += v; sq[d] += v * v;
                    if (v > max[d] || double.IsNaN(v)) max[d] = v;
                }
                n++;
            }
        }
        if (n == 0) throw new InvalidOperationException("The units produced no frames.");
        var result = new float[OutputDim(pooling, dim)];
        for (int d = 0; d < dim; d++)
        {
            double mean = sum[d] / n;
            double std = Math.Sqrt(Math.Max(0, sq[d] / n - mean * mean));
            switch (pooling)
            {
                case TimePooling.Mean: result[d] = (float)mean; break;
                case TimePooling.Max: result[d] = (float)max[d]; break;
                case TimePooling.Std: result[d] = (float)std; break;
                default: result[d] = (float)mean; result[dim + d] = (float)std; break;
            }
        }
        return result;
    }
}
