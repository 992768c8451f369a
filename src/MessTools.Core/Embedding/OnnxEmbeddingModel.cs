using System.Security.Cryptography;
using System.Text.Json;
using MessTools.Core.Common;
using MessTools.Core.Dsp;
using Microsoft.ML.OnnxRuntime;

namespace MessTools.Core.Embedding;

/// <summary>
/// An ONNX audio model described by a <see cref="ResolvedOnnxProfile"/>: one InferenceSession per instance
/// (create one per run), CPU execution. The profile is checked against the session's metadata at load:
/// input/output names, ranks and fixed dimensions. Front end (<see cref="Prepare"/>) and <see cref="Run"/> are
/// thread-safe (InferenceSession.Run is; every call has its own input and output buffers): the pipeline runs
/// <see cref="InferenceWorkers"/> (= <see cref="Threads"/>) batches at once, each on one ONNX Runtime thread,
/// which measured faster on 2 cores than one batch at a time on 2 intra-op threads.
/// </summary>
public sealed class OnnxEmbeddingModel : IEmbeddingModel
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly LogMelSpectrogram? _mel;
    private readonly string[] _inputNames, _outputNames;
    private int _frameDim;
    private readonly int _layerCount; // 0 unknown

    public ResolvedOnnxProfile Profile { get; }
    public string ModelPath { get; }
    public string Name { get; }
    public string ModelSha256 { get; }
    public int SampleRate => Profile.SampleRate;
    public string Identity => string.Join("|", "onnx", ModelSha256, Profile.InputName, Profile.Kind, SampleRate, Profile.InputLayout,
        Profile.WindowSamples, Profile.Normalize, MelText(Profile.Mel), Profile.PatchFrames, Profile.PatchHop, Profile.OutputName,
        Profile.OutputLayout, Profile.Layers is null ? "all" : string.Join(",", Profile.Layers), Profile.LayerConcat,
        Profile.WindowSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Profile.OverlapSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), Profile.Pooling);
    public int Dimension => _frameDim <= 0 ? 0 : FramePooling.OutputDim(Profile.Pooling, _frameDim);
    public int BatchSize { get; }
    public int Threads { get; }
    /// <summary>Concurrent <see cref="Run"/> calls (one intra-op thread each) the pipeline makes: <see cref="Threads"/>.</summary>
    public int InferenceWorkers => Threads;
    public static string OnnxRuntimeVersion => OrtEnv.Instance().GetVersionString();

    /// <summary>Opens <paramref name="modelPath"/> with the profile at <paramref name="profilePath"/> (default: model path + ".json").</summary>
    public static OnnxEmbeddingModel Open(string modelPath, string? profilePath = null, int? batchSize = null, int? threads = null)
    {
        var profile = OnnxProfile.Load(profilePath ?? modelPath + ".json");
        return new OnnxEmbeddingModel(modelPath, profile, batchSize, threads);
    }

    public OnnxEmbeddingModel(string modelPath, ResolvedOnnxProfile profile, int? batchSize = null, int? threads = null)
    {
        ModelPath = Path.GetFullPath(modelPath);
        Profile = profile;
        if (!File.Exists(ModelPath))
            throw new MessException(MessErrorIds.ModelNotFound, MessErrorKind.ObjectNotFound, $"The model file '{ModelPath}' does not exist.", ModelPath);
        using (var fs = File.OpenRead(ModelPath)) ModelSha256 = Convert.ToHexString(SHA256.HashData(fs)).ToLowerInvariant();
        Name = profile.Name ?? StripExtension(Path.GetFileName(ModelPath));
        BatchSize = batchSize ?? profile.BatchSize;
        Threads = Math.Max(1, threads ?? profile.Threads ?? Environment.ProcessorCount);
        var options = new SessionOptions
        {
            // parallelism comes from concurrent Run calls on this one session (see InferenceWorkers)
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        // The decoding and front-end threads of the pipeline share the cores: idle ONNX Runtime workers must
        // sleep, not spin (spinning measured slower here whenever the cores are shared).
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        try { _session = new InferenceSession(ModelPath, options); }
        catch (OnnxRuntimeException ex)
        {
            throw new MessException(MessErrorIds.ModelLoadFailed, MessErrorKind.InvalidData, $"ONNX Runtime cannot load '{ModelPath}': {ex.Message}", ModelPath, ex);
        }
        finally { options.Dispose(); }
        try
        {
            (_frameDim, _layerCount) = Validate();
        }
        catch
        {
            _session.Dispose();
            throw;
        }
        _inputNames = new[] { profile.InputName };
        _outputNames = new[] { profile.OutputName };
        if (profile.Kind == ModelInputKind.LogMel) _mel = new LogMelSpectrogram(profile.Mel!);
    }

    private static string MelText(LogMelSettings? m) => m is null ? "" : FormattableString.Invariant(
        $"{m.SampleRate},{m.FrameLength},{m.Hop},{m.FftSize},{m.Window},{m.Placement},{m.Bands},{m.FMin:R},{m.FMax:R},{m.Scale},{m.Normalization},{m.Log},{m.LogParameter:R}");

    private static string StripExtension(string file) => file.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? file[..^5] : Path.GetFileNameWithoutExtension(file);

    private MessException Mismatch(string what) => new(MessErrorIds.ModelProfileMismatch, MessErrorKind.InvalidData,
        $"The model profile '{Profile.Source}' does not fit the model '{ModelPath}': {what}.", Profile.Source);

    private static string Dims(NodeMetadata m) =>
        "[" + string.Join(", ", m.Dimensions.Select((d, i) => d > 0 ? d.ToString() : (m.SymbolicDimensions.ElementAtOrDefault(i) is { Length: > 0 } s ? s : "?"))) + "]";

    private (int FrameDim, int Layers) Validate()
    {
        var p = Profile;
        if (!_session.InputMetadata.TryGetValue(p.InputName, out var im))
            throw Mismatch($"input.name '{p.InputName}' is not an input of the model (its inputs: {string.Join(", ", _session.InputMetadata.Keys.Select(k => "'" + k + "'"))})");
        if (im.ElementType != typeof(float))
            throw Mismatch($"input '{p.InputName}' holds {im.ElementType.Name}, not float32");
        int[] d = im.Dimensions;
        int rank = p.InputLayout switch { InputLayout.BatchSamples => 2, InputLayout.BatchChannelFramesBands => 4, _ => 3 };
        if (d.Length != rank)
            throw Mismatch($"input.layout has rank {rank} but input '{p.InputName}' is {Dims(im)} (rank {d.Length})");
        switch (p.InputLayout)
        {
            case InputLayout.BatchSamplesChannel when d[2] > 1:
                throw Mismatch($"input.layout \"[batch, samples, 1]\" but the last dimension of '{p.InputName}' is {d[2]}");
            case InputLayout.BatchSamples or InputLayout.BatchSamplesChannel when d[1] > 0:
                if (p.WindowSamples is null) p.WindowSamples = d[1];
                else if (p.WindowSamples != d[1]) throw Mismatch($"input.window_samples is {p.WindowSamples} but the model takes exactly {d[1]} samples");
                if (p.WindowSeconds is not null) throw Mismatch($"chunking.window_seconds is set but the model takes a fixed window of {d[1]} samples");
                break;
            case InputLayout.BatchFramesBands:
                CheckDim(d[1], p.PatchFrames, "input.patch_frames"); CheckDim(d[2], p.Mel!.Bands, "input.mel.bands"); break;
            case InputLayout.BatchBandsFrames:
                CheckDim(d[1], p.Mel!.Bands, "input.mel.bands"); CheckDim(d[2], p.PatchFrames, "input.patch_frames"); break;
            case InputLayout.BatchChannelFramesBands:
                if (d[1] > 1) throw Mismatch($"input.layout \"[batch, 1, frames, bands]\" but dimension 1 of '{p.InputName}' is {d[1]}");
                CheckDim(d[2], p.PatchFrames, "input.patch_frames"); CheckDim(d[3], p.Mel!.Bands, "input.mel.bands"); break;
        }
        if (!_session.OutputMetadata.TryGetValue(p.OutputName, out var om))
            throw Mismatch($"output.name '{p.OutputName}' is not an output of the model (its outputs: {string.Join(", ", _session.OutputMetadata.Keys.Select(k => "'" + k + "'"))})");
        if (om.ElementType != typeof(float))
            throw Mismatch($"output '{p.OutputName}' holds {om.ElementType.Name}, not float32");
        int orank = p.OutputLayout switch { OutputLayout.BatchDim => 2, OutputLayout.BatchFramesDim => 3, _ => 4 };
        if (om.Dimensions.Length != orank)
            throw Mismatch($"output.layout has rank {orank} but output '{p.OutputName}' is {Dims(om)} (rank {om.Dimensions.Length})");
        int dim = om.Dimensions[^1];
        int layers = p.OutputLayout == OutputLayout.LayersBatchFramesDim ? Math.Max(0, om.Dimensions[0]) : 0;
        if (layers > 0 && p.Layers is not null)
            foreach (int l in p.Layers)
                if (l >= layers || l < -layers) throw Mismatch($"output.layers names layer {l} but the model has {layers} layers (0..{layers - 1}, or -1..-{layers})");
        int frameDim = dim <= 0 ? 0 : p.LayerConcat && p.OutputLayout == OutputLayout.LayersBatchFramesDim
            ? dim * (p.Layers?.Length ?? layers) : dim;
        if (p.LayerConcat && p.Layers is null && layers == 0) frameDim = 0;
        return (frameDim, layers);

        void CheckDim(int modelDim, int profileValue, string field)
        {
            if (modelDim > 0 && modelDim != profileValue) throw Mismatch($"{field} is {profileValue} but the model's input '{p.InputName}' is {Dims(im)}");
        }
    }

    public void Describe(EmbeddingsMeta meta)
    {
        meta.Model = Name;
        meta.ModelSha256 = ModelSha256;
        meta.ModelFile = Path.GetFileName(ModelPath);
        meta.Profile = Profile.Json;
        meta.Pooling = ResolvedOnnxProfile.PoolingName(Profile.Pooling);
        meta.SampleRate = SampleRate;
        meta.OnnxRuntimeVersion = OnnxRuntimeVersion;
        if (Profile.OutputLayout == OutputLayout.LayersBatchFramesDim)
            meta.Layers = JsonSerializer.SerializeToElement(new { selected = Profile.Layers is null ? (object)"all" : Profile.Layers, combine = Profile.LayerConcat ? "concat" : "mean", model_layers = _layerCount == 0 ? (int?)null : _layerCount });
        meta.Chunking = Profile.Kind == ModelInputKind.LogMel
            ? JsonSerializer.SerializeToElement(new { patch_frames = Profile.PatchFrames, patch_hop = Profile.PatchHop, frame_hop_samples = Profile.Mel!.Hop })
            : JsonSerializer.SerializeToElement(new { window_samples = WindowLength(int.MaxValue) == int.MaxValue ? (int?)null : WindowLength(int.MaxValue), hop_samples = HopLength(int.MaxValue) == int.MaxValue ? (int?)null : HopLength(int.MaxValue), normalize = Profile.Normalize });
    }

    private int WindowLength(int total) =>
        Profile.WindowSamples ?? (Profile.WindowSeconds is { } s ? Math.Max(1, (int)Math.Round(s * SampleRate)) : total);

    private int HopLength(int total)
    {
        int w = WindowLength(total);
        if (w == total && Profile.WindowSamples is null && Profile.WindowSeconds is null) return total;
        return Math.Max(1, w - (int)Math.Round(Profile.OverlapSeconds * SampleRate));
    }

    public List<ModelUnit> Prepare(float[] mono, IReadOnlyList<(int Start, int End)> segments)
    {
        var units = new List<ModelUnit>();
        if (Profile.Kind == ModelInputKind.LogMel)
        {
            var s = Profile.Mel!;
            var mel = _mel!.Compute(mono, out int frames);
            int bands = s.Bands, pf = Profile.PatchFrames, ph = Profile.PatchHop;
            int patches = frames < pf ? 1 : (frames - pf) / ph + 1;
            double frameSec = (double)s.Hop / SampleRate;
            for (int i = 0; i < patches; i++)
            {
                var input = new float[pf * bands];
                int f0 = i * ph, nf = Math.Min(pf, frames - f0);
                mel.AsSpan(f0 * bands, nf * bands).CopyTo(input); // a short clip is zero padded to one patch
                units.Add(new ModelUnit(input, input.Length, f0 * frameSec, (f0 + pf) * frameSec));
            }
        }
        else
        {
            int n = mono.Length;
            bool fixedWindow = Profile.WindowSamples is not null;
            int w = WindowLength(n), hop = HopLength(n);
            var starts = new List<int>();
            if (n <= w) starts.Add(0);
            else
            {
                for (int st = 0; st + w <= n; st += hop) starts.Add(st);
                if (starts[^1] + w < n) starts.Add(fixedWindow ? starts[^1] + hop : n - w); // free windows end-align; fixed ones zero pad
            }
            foreach (int st in starts)
            {
                int len = fixedWindow ? w : Math.Min(w, n - st);
                var input = new float[len];
                int avail = Math.Max(0, Math.Min(len, n - st));
                mono.AsSpan(st, avail).CopyTo(input);
                if (Profile.Normalize) NormalizeWindow(input.AsSpan(0, fixedWindow ? Math.Max(avail, 1) : len));
                units.Add(new ModelUnit(input, len, (double)st / SampleRate, (double)(st + len) / SampleRate));
            }
        }
        AssignSegments(units, segments, SampleRate);
        return units;
    }

    /// <summary>Log-mel models stream: mel frames are computed as audio arrives and each patch is cut as soon as its frames exist.</summary>
    public IUnitStream? OpenStream(long totalSamples, IReadOnlyList<(int Start, int End)> segments) =>
        Profile.Kind == ModelInputKind.LogMel && totalSamples > 0 ? new LogMelStream(this, totalSamples, segments) : null;

    /// <summary>
    /// <see cref="Prepare"/>'s log-mel path, fed chunk by chunk: keeps only the mel frames of the patches not yet cut
    /// (about one patch), so memory does not grow with the track; the patches are the same values.
    /// </summary>
    private sealed class LogMelStream : IUnitStream
    {
        private readonly OnnxEmbeddingModel _model;
        private readonly IReadOnlyList<(int Start, int End)> _segments;
        private readonly FrameStream _frames;
        private readonly FrameStream.FrameSink _sink;
        private readonly int _bands, _pf, _ph, _patches;
        private readonly double _frameSec;
        private readonly List<ModelUnit> _all = new();
        private float[] _mel;       // frames [_melStart, _melStart + _melCount), row-major
        private int _melStart, _melCount, _nextPatch;
        private List<ModelUnit>? _ready;

        public LogMelStream(OnnxEmbeddingModel model, long totalSamples, IReadOnlyList<(int Start, int End)> segments)
        {
            _model = model;
            _segments = segments;
            var s = model.Profile.Mel!;
            _frames = new FrameStream(model._mel!.Spectrogram, totalSamples);
            _bands = s.Bands; _pf = model.Profile.PatchFrames; _ph = model.Profile.PatchHop;
            int frames = _frames.FrameCount;
            _patches = frames < _pf ? 1 : (frames - _pf) / _ph + 1;
            _frameSec = (double)s.Hop / model.SampleRate;
            _mel = new float[(_pf + _ph) * _bands];
            _sink = OnFrame;
        }

        private void OnFrame(int k, ReadOnlySpan<float> power)
        {
            if (k - _melStart >= _mel.Length / _bands) Array.Resize(ref _mel, _mel.Length * 2);
            _model._mel!.FromPower(power, _mel.AsSpan((k - _melStart) * _bands, _bands));
            _melCount = k - _melStart + 1;
            CutPatches(k + 1);
        }

        // Cuts every patch whose frames (up to the end of the track) are among the first 'available' frames.
        private void CutPatches(int available)
        {
            int total = _frames.FrameCount;
            while (_nextPatch < _patches)
            {
                int f0 = _nextPatch * _ph, nf = Math.Min(_pf, total - f0);
                if (f0 + nf > available) break;
                var input = new float[_pf * _bands];
                _mel.AsSpan((f0 - _melStart) * _bands, nf * _bands).CopyTo(input); // a short clip is zero padded to one patch
                var unit = new ModelUnit(input, input.Length, f0 * _frameSec, (f0 + _pf) * _frameSec);
                _all.Add(unit);
                _ready!.Add(unit);
                _nextPatch++;
            }
            // drop the frames no later patch needs
            int keep = Math.Min(_nextPatch * _ph, _melStart + _melCount);
            int drop = keep - _melStart;
            if (drop > 0)
            {
                Array.Copy(_mel, drop * _bands, _mel, 0, (_melCount - drop) * _bands);
                _melStart += drop; _melCount -= drop;
            }
        }

        public void Push(ReadOnlySpan<float> chunk, List<ModelUnit> ready)
        {
            _ready = ready;
            _frames.Push(chunk, _sink);
        }

        public void Finish(List<ModelUnit> ready)
        {
            _ready = ready;
            _frames.Finish(_sink);
            CutPatches(_frames.FrameCount);
            AssignSegments(_all, _segments, _model.SampleRate);
        }
    }

    /// <summary>Each unit joins the segment holding its centre; a segment no unit centre falls in takes the nearest unit.</summary>
    internal static void AssignSegments(List<ModelUnit> units, IReadOnlyList<(int Start, int End)> segments, int sampleRate)
    {
        if (segments.Count == 0 || units.Count == 0) return;
        var used = new bool[segments.Count];
        foreach (var u in units)
        {
            double c = (u.StartSec + u.EndSec) / 2 * sampleRate;
            for (int s = 0; s < segments.Count; s++)
                if (c >= segments[s].Start && (c < segments[s].End || s == segments.Count - 1)) { u.Segments.Add(s); used[s] = true; break; }
        }
        for (int s = 0; s < segments.Count; s++)
        {
            if (used[s]) continue;
            double sc = (segments[s].Start + segments[s].End) / 2.0 / sampleRate;
            units.MinBy(u => Math.Abs((u.StartSec + u.EndSec) / 2 - sc))!.Segments.Add(s);
        }
    }

    /// <summary>Zero mean, unit variance (HF Wav2Vec2FeatureExtractor's do_normalize: epsilon 1e-7).</summary>
    internal static void NormalizeWindow(Span<float> x)
    {
        if (x.Length == 0) return;
        double mean = 0; foreach (var v in x) mean += v; mean /= x.Length;
        double var = 0; foreach (var v in x) var += (v - mean) * (v - mean); var /= x.Length;
        float scale = (float)(1.0 / Math.Sqrt(var + 1e-7));
        for (int i = 0; i < x.Length; i++) x[i] = (float)((x[i] - mean) * scale);
    }

    public void Run(IReadOnlyList<ModelUnit> units, CancellationToken cancellationToken)
    {
        foreach (var group in units.GroupBy(u => u.Length))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var list = group.ToList();
            RunGroup(list);
        }
    }

    private void RunGroup(List<ModelUnit> list)
    {
        var p = Profile;
        int b = list.Count, len = list[0].Length;
        var data = new float[(long)b * len];
        long[] shape;
        if (p.Kind == ModelInputKind.Waveform)
        {
            for (int i = 0; i < b; i++) list[i].Input.AsSpan(0, len).CopyTo(data.AsSpan(i * len, len));
            shape = p.InputLayout == InputLayout.BatchSamples ? new long[] { b, len } : new long[] { b, len, 1 };
        }
        else
        {
            int bands = p.Mel!.Bands, frames = p.PatchFrames;
            for (int i = 0; i < b; i++)
            {
                var src = list[i].Input.AsSpan(0, len);
                var dst = data.AsSpan(i * len, len);
                if (p.InputLayout == InputLayout.BatchBandsFrames)
                {
                    for (int f = 0; f < frames; f++)
                        for (int m = 0; m < bands; m++) dst[m * frames + f] = src[f * bands + m];
                }
                else src.CopyTo(dst);
            }
            shape = p.InputLayout switch
            {
                InputLayout.BatchBandsFrames => new long[] { b, bands, frames },
                InputLayout.BatchChannelFramesBands => new long[] { b, 1, frames, bands },
                _ => new long[] { b, frames, bands },
            };
        }
        using var input = OrtValue.CreateTensorValueFromMemory(data, shape);
        IDisposableReadOnlyCollection<OrtValue> outputs;
        try { outputs = _session.Run(_runOptions, _inputNames, new[] { input }, _outputNames); }
        catch (OnnxRuntimeException ex)
        {
            throw new MessException(MessErrorIds.ModelRunFailed, MessErrorKind.InvalidOperation,
                $"ONNX Runtime failed to run '{ModelPath}' on input [{string.Join(", ", shape)}]: {ex.Message}", ModelPath, ex);
        }
        using (outputs)
        {
            var o = outputs[0];
            long[] os = o.GetTensorTypeAndShape().Shape;
            var span = o.GetTensorDataAsSpan<float>();
            Scatter(list, os, span);
        }
        foreach (var u in list) u.ReleaseInput();
    }

    private void Scatter(List<ModelUnit> list, long[] os, ReadOnlySpan<float> y)
    {
        var p = Profile;
        int b = list.Count;
        string shapeText = "[" + string.Join(", ", os) + "]";
        MessException Bad(string why) => new(MessErrorIds.ModelOutputUnexpected, MessErrorKind.InvalidData,
            $"Output '{p.OutputName}' of '{ModelPath}' has shape {shapeText}, which does not fit output.layout: {why}.", ModelPath);
        switch (p.OutputLayout)
        {
            case OutputLayout.BatchDim:
            {
                if (os.Length != 2 || os[0] != b) throw Bad($"expected [{b}, dim]");
                int d = (int)os[1];
                SetFrameDim(d);
                for (int i = 0; i < b; i++) { list[i].Frames = y.Slice(i * d, d).ToArray(); list[i].FrameCount = 1; list[i].FrameDim = d; }
                break;
            }
            case OutputLayout.BatchFramesDim:
            {
                if (os.Length != 3 || os[0] != b) throw Bad($"expected [{b}, frames, dim]");
                int t = (int)os[1], d = (int)os[2];
                if (t < 1) throw Bad("no frames (the input is shorter than one model frame)");
                SetFrameDim(d);
                for (int i = 0; i < b; i++) { list[i].Frames = y.Slice(i * t * d, t * d).ToArray(); list[i].FrameCount = t; list[i].FrameDim = d; }
                break;
            }
            default:
            {
                if (os.Length != 4 || os[1] != b) throw Bad($"expected [layers, {b}, frames, dim]");
                int L = (int)os[0], t = (int)os[2], d = (int)os[3];
                if (t < 1) throw Bad("no frames (the input is shorter than one model frame)");
                int[] sel = p.Layers is null ? Enumerable.Range(0, L).ToArray() : p.Layers.Select(l => l < 0 ? L + l : l).ToArray();
                foreach (int l in sel) if (l < 0 || l >= L) throw Bad($"output.layers selects layer {l} but the model returned {L} layers");
                int fd = p.LayerConcat ? d * sel.Length : d;
                SetFrameDim(fd);
                long layerStride = (long)b * t * d;
                for (int i = 0; i < b; i++)
                {
                    var frames = new float[t * fd];
                    for (int f = 0; f < t; f++)
                    {
                        for (int k = 0; k < sel.Length; k++)
                        {
                            var src = y.Slice((int)(sel[k] * layerStride + ((long)i * t + f) * d), d);
                            if (p.LayerConcat) src.CopyTo(frames.AsSpan(f * fd + k * d, d));
                            else System.Numerics.Tensors.TensorPrimitives.Add(frames.AsSpan(f * fd, d), src, frames.AsSpan(f * fd, d));
                        }
                        if (!p.LayerConcat && sel.Length > 1)
                            System.Numerics.Tensors.TensorPrimitives.Multiply(frames.AsSpan(f * fd, d), 1f / sel.Length, frames.AsSpan(f * fd, d));
                    }
                    list[i].Frames = frames; list[i].FrameCount = t; list[i].FrameDim = fd;
                }
                break;
            }
        }
    }

    private void SetFrameDim(int d)
    {
        int seen = Interlocked.CompareExchange(ref _frameDim, d, 0); // concurrent Run calls: the first width wins
        if (seen > 0 && seen != d)
            throw new MessException(MessErrorIds.ModelOutputUnexpected, MessErrorKind.InvalidData,
                $"Output '{Profile.OutputName}' of '{ModelPath}' changed its width from {seen} to {d} between batches.", ModelPath);
    }

    public float[] Pool(IReadOnlyList<ModelUnit> units) => FramePooling.Pool(units, Profile.Pooling);

    /// <summary>Runs one whole track through the model (no segments) and returns the pooled, not normalised vector.</summary>
    public float[] EmbedTrack(float[] mono)
    {
        var units = Prepare(mono, Array.Empty<(int, int)>());
        for (int i = 0; i < units.Count; i += BatchSize) Run(units.GetRange(i, Math.Min(BatchSize, units.Count - i)), CancellationToken.None);
        return Pool(units);
    }

    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
    }
}
