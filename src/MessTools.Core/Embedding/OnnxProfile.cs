using System.Text.Json;
using System.Text.Json.Serialization;
using MessTools.Core.Common;
using MessTools.Core.Dsp;

namespace MessTools.Core.Embedding;

/// <summary>
/// The JSON profile that describes an ONNX audio model (model.onnx.json beside the model, or -ModelProfile):
/// what the input is (a waveform or log-mel patches), which output holds the embedding and in which layout,
/// how long tracks are chunked and how frames are pooled. docs/embedding.md documents every field.
/// Field names are snake_case; an unknown field is an error (a typo must not silently fall back to a default).
/// </summary>
public sealed class OnnxProfile
{
    public string? Name { get; set; }
    public string? Description { get; set; }
    public ProfileInput? Input { get; set; }
    public ProfileOutput? Output { get; set; }
    public ProfileChunking? Chunking { get; set; }
    /// <summary>mean (default), max, std or mean_std.</summary>
    public string? Pooling { get; set; }
    public int? BatchSize { get; set; }
    public int? Threads { get; set; }

    public sealed class ProfileInput
    {
        /// <summary>The model's input name.</summary>
        public string? Name { get; set; }
        /// <summary>waveform or log_mel.</summary>
        public string? Kind { get; set; }
        public int? SampleRate { get; set; }
        /// <summary>waveform: "[batch, samples]" or "[batch, samples, 1]"; log_mel: "[batch, frames, bands]", "[batch, bands, frames]" or "[batch, 1, frames, bands]".</summary>
        public string? Layout { get; set; }
        /// <summary>waveform: the fixed window the model takes (null: free length, set by chunking.window_seconds).</summary>
        public int? WindowSamples { get; set; }
        /// <summary>waveform: zero-mean unit-variance normalisation of every window before the model.</summary>
        public bool? Normalize { get; set; }
        public ProfileMel? Mel { get; set; }
        /// <summary>log_mel: frames per patch and hop between patches.</summary>
        public int? PatchFrames { get; set; }
        public int? PatchHop { get; set; }
    }

    public sealed class ProfileMel
    {
        public int? FrameLength { get; set; }
        public int? Hop { get; set; }
        public int? FftSize { get; set; }
        /// <summary>hann_symmetric (= hann), hann_periodic, hamming_symmetric, hamming_periodic, rectangular.</summary>
        public string? Window { get; set; }
        /// <summary>true: frame k centred on sample k*hop with zero padding; false: frame k starts there.</summary>
        public bool? Centered { get; set; }
        public int? Bands { get; set; }
        public double? FMin { get; set; }
        public double? FMax { get; set; }
        /// <summary>slaney or htk.</summary>
        public string? Scale { get; set; }
        /// <summary>slaney (area) or none.</summary>
        public string? Normalization { get; set; }
        /// <summary>log10_1p (log10(1 + log_parameter * x)), log (ln(x + log_parameter)), db (10 log10(max(x, log_parameter))) or none.</summary>
        public string? Log { get; set; }
        public double? LogParameter { get; set; }
    }

    public sealed class ProfileOutput
    {
        public string? Name { get; set; }
        /// <summary>"[batch, dim]", "[batch, frames, dim]" or "[layers, batch, frames, dim]".</summary>
        public string? Layout { get; set; }
        /// <summary>For stacked layers: "all" (default), an index (negative counts from the last) or a list of indices.</summary>
        public JsonElement? Layers { get; set; }
        /// <summary>How several selected layers are combined: mean (default) or concat.</summary>
        public string? LayerCombine { get; set; }
    }

    public sealed class ProfileChunking
    {
        /// <summary>Waveform models: seconds per model call (null: the whole track in one call, or the fixed window).</summary>
        public double? WindowSeconds { get; set; }
        /// <summary>Seconds shared by consecutive windows (0 default).</summary>
        public double? OverlapSeconds { get; set; }
    }

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };

    /// <summary>Reads and validates a profile file.</summary>
    public static ResolvedOnnxProfile Load(string path)
    {
        if (!File.Exists(path))
            throw new MessException(MessErrorIds.ModelProfileNotFound, MessErrorKind.ObjectNotFound,
                $"The model profile '{path}' does not exist. Put a profile beside the model (model.onnx.json) or name one with -ModelProfile; docs/embedding.md describes the format.", path);
        byte[] bytes = File.ReadAllBytes(path);
        return Parse(bytes, path);
    }

    public static ResolvedOnnxProfile Parse(ReadOnlySpan<byte> json, string where)
    {
        OnnxProfile? p;
        try { p = JsonSerializer.Deserialize<OnnxProfile>(json, JsonOptions); }
        catch (JsonException ex)
        {
            string at = ex.Path is null ? "" : $" at {ex.Path}" + (ex.LineNumber is { } l ? $" (line {l + 1})" : "");
            throw new MessException(MessErrorIds.ModelProfileMalformed, MessErrorKind.InvalidData,
                $"The model profile '{where}' is not valid{at}: {ex.Message}", where, ex);
        }
        if (p is null) throw new MessException(MessErrorIds.ModelProfileMalformed, MessErrorKind.InvalidData, $"The model profile '{where}' holds null.", where);
        return ResolvedOnnxProfile.From(p, where, JsonDocument.Parse(json.ToArray()).RootElement.Clone());
    }
}

public enum ModelInputKind { Waveform, LogMel }
public enum InputLayout { BatchSamples, BatchSamplesChannel, BatchFramesBands, BatchBandsFrames, BatchChannelFramesBands }
public enum OutputLayout { BatchDim, BatchFramesDim, LayersBatchFramesDim }
public enum TimePooling { Mean, Max, Std, MeanStd }

/// <summary>A validated profile with every default filled in.</summary>
public sealed class ResolvedOnnxProfile
{
    public string Source { get; private init; } = "";
    public JsonElement Json { get; private init; }
    public string? Name { get; private init; }
    public string InputName { get; private init; } = "";
    public ModelInputKind Kind { get; private init; }
    public int SampleRate { get; private init; }
    public InputLayout InputLayout { get; private init; }
    public int? WindowSamples { get; internal set; }
    public bool Normalize { get; private init; }
    public LogMelSettings? Mel { get; private init; }
    public int PatchFrames { get; private init; }
    public int PatchHop { get; private init; }
    public string OutputName { get; private init; } = "";
    public OutputLayout OutputLayout { get; private init; }
    /// <summary>null: all layers.</summary>
    public int[]? Layers { get; private init; }
    public bool LayerConcat { get; private init; }
    public double? WindowSeconds { get; private init; }
    public double OverlapSeconds { get; private init; }
    public TimePooling Pooling { get; private init; }
    public int BatchSize { get; private init; }
    public int? Threads { get; private init; }

    public static string PoolingName(TimePooling p) => p switch { TimePooling.Max => "max", TimePooling.Std => "std", TimePooling.MeanStd => "mean_std", _ => "mean" };

    internal static ResolvedOnnxProfile From(OnnxProfile p, string where, JsonElement json)
    {
        MessException Bad(string field, string why) =>
            new(MessErrorIds.ModelProfileInvalid, MessErrorKind.InvalidData, $"The model profile '{where}': {field} {why}.", where);
        static string Norm(string s) => new string(s.Where(c => !char.IsWhiteSpace(c)).ToArray()).ToLowerInvariant();

        var inp = p.Input ?? throw Bad("input", "is missing (an object with name, kind, sample_rate, layout ...)");
        if (string.IsNullOrWhiteSpace(inp.Name)) throw Bad("input.name", "is missing (the model's input name, e.g. \"input_values\")");
        var kind = Norm(inp.Kind ?? "") switch
        {
            "waveform" => ModelInputKind.Waveform,
            "log_mel" or "logmel" => ModelInputKind.LogMel,
            _ => throw Bad("input.kind", $"is '{inp.Kind}'; use \"waveform\" or \"log_mel\""),
        };
        if (inp.SampleRate is not { } sr || sr < 1000 || sr > 384000) throw Bad("input.sample_rate", $"is {inp.SampleRate?.ToString() ?? "missing"}; give the model's rate in Hz (1000..384000)");
        string layoutText = Norm(inp.Layout ?? (kind == ModelInputKind.Waveform ? "[batch,samples]" : "[batch,frames,bands]"));
        InputLayout layout = layoutText switch
        {
            "[batch,samples]" => InputLayout.BatchSamples,
            "[batch,samples,1]" => InputLayout.BatchSamplesChannel,
            "[batch,frames,bands]" => InputLayout.BatchFramesBands,
            "[batch,bands,frames]" => InputLayout.BatchBandsFrames,
            "[batch,1,frames,bands]" => InputLayout.BatchChannelFramesBands,
            _ => throw Bad("input.layout", $"is '{inp.Layout}'; use \"[batch, samples]\" or \"[batch, samples, 1]\" (waveform), \"[batch, frames, bands]\", \"[batch, bands, frames]\" or \"[batch, 1, frames, bands]\" (log_mel)"),
        };
        bool waveLayout = layout is InputLayout.BatchSamples or InputLayout.BatchSamplesChannel;
        if (waveLayout != (kind == ModelInputKind.Waveform))
            throw Bad("input.layout", $"'{inp.Layout}' does not fit input.kind '{inp.Kind}'");

        LogMelSettings? mel = null;
        int patchFrames = 0, patchHop = 0;
        if (kind == ModelInputKind.LogMel)
        {
            var m = inp.Mel ?? throw Bad("input.mel", "is missing (frame_length, hop, window, bands, scale, normalization, log ...)");
            int frame = m.FrameLength ?? throw Bad("input.mel.frame_length", "is missing");
            if (frame < 16 || frame > 65536) throw Bad("input.mel.frame_length", $"is {frame}; use 16..65536 samples");
            int hop = m.Hop ?? throw Bad("input.mel.hop", "is missing");
            if (hop < 1 || hop > 65536) throw Bad("input.mel.hop", $"is {hop}; use 1..65536 samples");
            int fft = m.FftSize ?? frame;
            if (fft < frame || (fft & (fft - 1)) != 0) throw Bad("input.mel.fft_size", $"is {fft}; it must be a power of two at least frame_length ({frame})");
            if (!Window.TryParse(m.Window ?? "hann_symmetric", out var win)) throw Bad("input.mel.window", $"is '{m.Window}'; use hann_symmetric, hann_periodic, hamming_symmetric, hamming_periodic or rectangular");
            int bands = m.Bands ?? throw Bad("input.mel.bands", "is missing");
            if (bands < 1 || bands > 1024) throw Bad("input.mel.bands", $"is {bands}; use 1..1024");
            double fmin = m.FMin ?? 0, fmax = m.FMax ?? sr / 2.0;
            if (fmin < 0 || fmax <= fmin || fmax > sr / 2.0) throw Bad("input.mel.f_min/f_max", $"are {fmin}..{fmax} Hz; they must satisfy 0 <= f_min < f_max <= sample_rate/2 ({sr / 2.0})");
            var scale = Norm(m.Scale ?? "slaney") switch { "slaney" => MelScale.Slaney, "htk" => MelScale.Htk, _ => throw Bad("input.mel.scale", $"is '{m.Scale}'; use slaney or htk") };
            var mnorm = Norm(m.Normalization ?? "slaney") switch { "slaney" => MelNormalization.Slaney, "none" => MelNormalization.None, _ => throw Bad("input.mel.normalization", $"is '{m.Normalization}'; use slaney or none") };
            if (!LogCompressor.TryParse(m.Log ?? "log10_1p", out var log)) throw Bad("input.mel.log", $"is '{m.Log}'; use log10_1p, log, db or none");
            double logp = m.LogParameter ?? log switch { LogCompression.Log10OnePlus => 10000, LogCompression.LogOffset => 1e-6, LogCompression.Decibel => 1e-10, _ => 0 };
            if (log != LogCompression.None && !(logp > 0)) throw Bad("input.mel.log_parameter", $"is {logp}; it must be positive");
            mel = new LogMelSettings
            {
                SampleRate = sr, FrameLength = frame, Hop = hop, FftSize = fft, Window = win,
                Placement = (m.Centered ?? true) ? FramePlacement.Centered : FramePlacement.Start,
                Bands = bands, FMin = fmin, FMax = fmax, Scale = scale, Normalization = mnorm, Log = log, LogParameter = (float)logp,
            };
            patchFrames = inp.PatchFrames ?? throw Bad("input.patch_frames", "is missing (frames per model input)");
            if (patchFrames < 1 || patchFrames > 100000) throw Bad("input.patch_frames", $"is {patchFrames}; use 1..100000");
            patchHop = inp.PatchHop ?? patchFrames;
            if (patchHop < 1) throw Bad("input.patch_hop", $"is {patchHop}; it must be at least 1");
            if (inp.WindowSamples is not null) throw Bad("input.window_samples", "applies to waveform inputs only");
        }
        else
        {
            if (inp.Mel is not null || inp.PatchFrames is not null || inp.PatchHop is not null) throw Bad("input.mel/patch_frames/patch_hop", "apply to log_mel inputs only");
            if (inp.WindowSamples is { } ws && (ws < 1 || ws > sr * 600)) throw Bad("input.window_samples", $"is {ws}; use 1..{sr * 600}");
        }

        var outp = p.Output ?? throw Bad("output", "is missing (an object with name and layout)");
        if (string.IsNullOrWhiteSpace(outp.Name)) throw Bad("output.name", "is missing (the model's output name, e.g. \"hidden_states\")");
        var olayout = Norm(outp.Layout ?? "") switch
        {
            "[batch,dim]" => OutputLayout.BatchDim,
            "[batch,frames,dim]" => OutputLayout.BatchFramesDim,
            "[layers,batch,frames,dim]" => OutputLayout.LayersBatchFramesDim,
            _ => throw Bad("output.layout", $"is '{outp.Layout}'; use \"[batch, dim]\", \"[batch, frames, dim]\" or \"[layers, batch, frames, dim]\""),
        };
        int[]? layers = null;
        if (outp.Layers is { } le && le.ValueKind != JsonValueKind.Null)
        {
            if (olayout != OutputLayout.LayersBatchFramesDim) throw Bad("output.layers", "applies only to the \"[layers, batch, frames, dim]\" layout");
            layers = le.ValueKind switch
            {
                JsonValueKind.String when Norm(le.GetString()!) == "all" => null,
                JsonValueKind.Number when le.TryGetInt32(out int i) => new[] { i },
                JsonValueKind.Array => le.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int i) ? i : throw Bad("output.layers", $"holds '{e}'; list whole layer indices")).ToArray(),
                _ => throw Bad("output.layers", $"is '{le}'; use \"all\", an index (-1 = last) or a list of indices"),
            };
            if (layers is { Length: 0 }) throw Bad("output.layers", "is an empty list");
        }
        bool concat = Norm(outp.LayerCombine ?? "mean") switch { "mean" => false, "concat" => true, _ => throw Bad("output.layer_combine", $"is '{outp.LayerCombine}'; use mean or concat") };

        double? winSec = p.Chunking?.WindowSeconds;
        double overlap = p.Chunking?.OverlapSeconds ?? 0;
        if (winSec is { } w && (!(w > 0) || w > 3600)) throw Bad("chunking.window_seconds", $"is {w}; use a positive number of seconds up to 3600");
        if (overlap < 0) throw Bad("chunking.overlap_seconds", $"is {overlap}; it cannot be negative");
        double effWindow = winSec ?? (inp.WindowSamples is { } fw ? (double)fw / sr : double.PositiveInfinity);
        if (overlap > 0 && overlap >= effWindow) throw Bad("chunking.overlap_seconds", $"is {overlap}; it must be shorter than the window ({effWindow} s)");
        if (kind == ModelInputKind.LogMel && p.Chunking is not null) throw Bad("chunking", "applies to waveform inputs only (log_mel inputs are cut by patch_frames and patch_hop)");
        if (kind == ModelInputKind.Waveform && inp.WindowSamples is not null && winSec is not null) throw Bad("chunking.window_seconds", "cannot be set with input.window_samples (the model's fixed window)");

        var pooling = Norm(p.Pooling ?? "mean") switch
        {
            "mean" => TimePooling.Mean, "max" => TimePooling.Max, "std" => TimePooling.Std, "mean_std" or "mean+std" => TimePooling.MeanStd,
            _ => throw Bad("pooling", $"is '{p.Pooling}'; use mean, max, std or mean_std"),
        };
        int batch = p.BatchSize ?? 16;
        if (batch < 1 || batch > 4096) throw Bad("batch_size", $"is {batch}; use 1..4096");
        if (p.Threads is { } t && (t < 1 || t > 1024)) throw Bad("threads", $"is {t}; use 1..1024");
        return new ResolvedOnnxProfile
        {
            Source = where, Json = json, Name = string.IsNullOrWhiteSpace(p.Name) ? null : p.Name.Trim(),
            InputName = inp.Name!, Kind = kind, SampleRate = sr, InputLayout = layout, WindowSamples = inp.WindowSamples,
            Normalize = inp.Normalize ?? false, Mel = mel, PatchFrames = patchFrames, PatchHop = patchHop,
            OutputName = outp.Name!, OutputLayout = olayout, Layers = layers, LayerConcat = concat,
            WindowSeconds = winSec, OverlapSeconds = overlap, Pooling = pooling, BatchSize = batch, Threads = p.Threads,
        };
    }
}
