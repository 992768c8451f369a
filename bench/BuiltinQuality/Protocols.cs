// The generalisation protocols of issue 21 for the built-in model and a fitted candidate, side by side, each figure
// with its 95 % bootstrap interval (Core's Evaluation.Bootstrap, seed 42, 1000 resamples) and the paired difference
// with its interval and sign-flip permutation p-value (9999 permutations), as Invoke-MessEvaluation -Compare reports.
//
//   dotnet run -c Release --project bench/BuiltinQuality -- --protocols CACHE_DIR NAME=ROOT [NAME=ROOT ...]
//
// NAME is <set>-<soundfont> (e.g. mutopia-fluidr3, cd-timgm6mb); ROOT holds tracks_metadata.csv and the audio
// (ROOT,CSV: another metadata file with the same audio_path values, e.g. the other soundfont's render's).
// Raw features are extracted once per set into CACHE_DIR/<NAME>.f32 (delete to recompute).
using System.Globalization;
using CsvHelper;
using MessTools;
using MessTools.Core.Analysis;
using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Embedding.Builtin;
using MessTools.Core.Evaluation;

static class Protocols
{
    private sealed record Set(string Name, string[] Ids, string[] Composers, string[] Albums, float[][] Raw, float[][] Raw2)
    {
        public string Collection => Name[..Name.LastIndexOf('-')];
        public string Soundfont => Name[(Name.LastIndexOf('-') + 1)..];
    }

    /// <summary>A model: fitted on some tracks (with their composers), then embeds a set's track from its raw features.</summary>
    private interface IModel
    {
        string Name { get; }
        IModel Fit(Set set, int[] rows);
        float[] Embed(Set set, int row);
    }

    private static readonly BuiltinEmbedder Builtin = new();
    private static readonly Builtin2Embedder Builtin2 = new();

    /// <summary>builtin-2 with its label-free standardisation refitted on the training tracks of each protocol
    /// (what a user who refits it on their own collection gets); <c>shipped</c>: the compiled-in constants, unchanged.</summary>
    private sealed class Builtin2Model(bool refit, float[]? mean = null, float[]? scale = null) : IModel
    {
        public string Name => refit ? "builtin-2 (standardisation refitted per protocol)" : $"builtin-2 ({Builtin2.Version}, shipped constants)";
        public IModel Fit(Set set, int[] rows)
        {
            if (!refit) return this;
            var (m, sd) = MeanStd(rows.Select(r => set.Raw2[r]).ToList());
            return new Builtin2Model(true, m, Builtin2Embedder.Scales(sd));
        }
        public float[] Embed(Set set, int row) => mean is null ? Builtin2.EmbedFeatures(set.Raw2[row]) : Builtin2Embedder.EmbedFeatures(set.Raw2[row], mean, scale!);
    }

    /// <summary>Per-dimension mean and population standard deviation (double accumulation).</summary>
    public static (float[] Mean, float[] Std) MeanStd(IReadOnlyList<float[]> rows)
    {
        int d = rows[0].Length, n = rows.Count;
        var mean = new float[d]; var std = new float[d];
        for (int j = 0; j < d; j++)
        {
            double s = 0, s2 = 0;
            foreach (var r in rows) { s += r[j]; s2 += (double)r[j] * r[j]; }
            double mu = s / n;
            mean[j] = (float)mu; std[j] = (float)Math.Sqrt(Math.Max(0, s2 / n - mu * mu));
        }
        return (mean, std);
    }

    /// <summary>The shipped model: constants fitted (label-free) on composer-dev FluidR3; fitting does nothing.</summary>
    private sealed class OldModel : IModel
    {
        public string Name => "builtin-1";
        public IModel Fit(Set set, int[] rows) => this;
        public float[] Embed(Set set, int row) => Builtin.EmbedFeatures(set.Raw[row]);
    }

    public static int Run(string[] args)
    {
        string cache = args[1];
        Directory.CreateDirectory(cache);
        var sets = args.Skip(2).Where(a => !a.StartsWith("--")).Select(a => a.Split('=', 2)).ToDictionary(a => a[0], a => Load(a[0], a[1], cache));
        IModel candidate = args.Contains("--lda") ? new LdaModel(Candidate.P, Candidate.Shrink, Candidate.Weight)
            : new Builtin2Model(refit: !args.Contains("--shipped"));
        var models = new IModel[] { new OldModel(), candidate };
        Console.WriteLine($"old: {models[0].Name} ({Builtin.Version}); new: {models[1].Name}");
        Console.WriteLine("Composer Retrieval P@5 (K 5, cosine); [95 % percentile bootstrap over queries, seed 42, 1000 resamples];");
        Console.WriteLine("diff = new - old per query, its bootstrap interval and the paired sign-flip permutation p (9999).");
        Console.WriteLine();
        Console.WriteLine($"{"protocol",-44} {"album",-8} {"n",4} {"old P@5",-22} {"new P@5",-22} {"diff",-24} {"p",6}");
        var protocols = new List<(string Name, Set Scored, Func<IModel, (double[] P, double[] PA)> Run)>();
        foreach (var s in sets.Values)
            protocols.Add(($"loco {s.Name}", s, m => Loco(m, s, s)));
        foreach (var s in sets.Values)
            foreach (var t in sets.Values.Where(t => t.Collection == s.Collection && t.Soundfont != s.Soundfont))
                protocols.Add(($"soundfont: loco fit {s.Name} -> {t.Soundfont}", t, m => Loco(m, s, t)));
        foreach (var s in sets.Values)
            foreach (var t in sets.Values.Where(t => t.Collection != s.Collection))
                protocols.Add(($"cross-set: fit {s.Name} -> {t.Name}", t, m => Cross(m, s, t)));
        var wins = new List<bool>();
        foreach (var (name, scored, run) in protocols)
        {
            var old = run(models[0]);
            var @new = run(models[1]);
            for (int mode = 0; mode < 2; mode++)
            {
                var a = mode == 0 ? old.P : old.PA;
                var b = mode == 0 ? @new.P : @new.PA;
                var d = b.Select((x, i) => x - a[i]).ToArray();
                var ci = Bootstrap.Intervals(new[] { a, b, d }, 1000, 0.95, SplitMix64.ForStream(42, 0));
                double p = Bootstrap.SignFlipPValue(d, 9999, SplitMix64.ForStream(42, Bootstrap.PermutationStream));
                wins.Add(d.Average() > 0);
                Console.WriteLine($"{name,-44} {(mode == 0 ? "incl." : "excl."),-8} {a.Length,4} {Fig(a.Average(), ci[0]),-22} {Fig(b.Average(), ci[1]),-22} " +
                                  $"{d.Average().ToString("+0.000;-0.000;0.000", CultureInfo.InvariantCulture)} {Ci(ci[2]),-17} {p.ToString("0.0000", CultureInfo.InvariantCulture),6}");
            }
        }
        Console.WriteLine();
        Console.WriteLine($"new above old in {wins.Count(w => w)} of {wins.Count} rows");
        return 0;
    }

    private static string Fig(double x, ConfidenceInterval ci) => x.ToString("0.000", CultureInfo.InvariantCulture) + " " + Ci(ci);
    private static string Ci(ConfidenceInterval ci) =>
        FormattableString.Invariant($"[{ci.Low:+0.000;-0.000;0.000}, {ci.High:+0.000;-0.000;0.000}]").Replace("+", "");

    /// <summary>Leave one composer out: for each composer c of the scored set, fit on the training set's tracks of the
    /// other composers, embed the scored set, and keep the figures of c's queries.</summary>
    private static (double[] P, double[] PA) Loco(IModel model, Set train, Set scored)
    {
        int n = scored.Ids.Length;
        var p = new double[n]; var pa = new double[n];
        foreach (var c in scored.Composers.Distinct().Order(StringComparer.Ordinal))
        {
            var rows = Enumerable.Range(0, train.Ids.Length).Where(i => train.Composers[i] != c).ToArray();
            var fitted = model.Fit(train, rows);
            var (fp, fpa) = Score(fitted, scored);
            for (int i = 0; i < n; i++) if (scored.Composers[i] == c) { p[i] = fp[i]; pa[i] = fpa[i]; }
        }
        return (p, pa);
    }

    private static (double[] P, double[] PA) Cross(IModel model, Set train, Set scored) =>
        Score(model.Fit(train, Enumerable.Range(0, train.Ids.Length).ToArray()), scored);

    /// <summary>Per-query P@5 (album included, excluded) in the set's row order, through Core's Evaluator.</summary>
    private static (double[] P, double[] PA) Score(IModel model, Set s)
    {
        int n = s.Ids.Length;
        var emb = new float[n][];
        Parallel.For(0, n, i => emb[i] = model.Embed(s, i));
        int dim = emb[0].Length;
        var meta = Enumerable.Range(0, n).ToDictionary(i => s.Ids[i], i => new MessTrack { TrackId = s.Ids[i], Composer = s.Composers[i], AlbumId = s.Albums[i] });
        var data = EvaluationData.Create(s.Ids, emb.SelectMany(v => v).ToArray(), dim, meta);
        var o = Evaluator.Evaluate(data, new EvaluationOptions { Ks = new[] { 5 }, SampleCount = 0, BootstrapResamples = 0 });
        var rowOf = data.TrackIds.Select((id, r) => (id, r)).ToDictionary(t => t.id, t => t.r, StringComparer.Ordinal);
        int incl = o.Results.ToList().FindIndex(r => !r.ExcludeSameAlbum), excl = o.Results.ToList().FindIndex(r => r.ExcludeSameAlbum);
        return (s.Ids.Select(id => o.PerQuery[incl].Precision[rowOf[id]]).ToArray(), s.Ids.Select(id => o.PerQuery[excl].Precision[rowOf[id]]).ToArray());
    }

    private static Set Load(string name, string rootAndCsv, string cache)
    {
        string root = rootAndCsv.Split(',')[0];
        string metadata = rootAndCsv.Contains(',') ? rootAndCsv.Split(',', 2)[1] : Path.Combine(root, "tracks_metadata.csv");
        var ids = new List<string>(); var composers = new List<string>(); var albums = new List<string>(); var paths = new List<string>();
        using (var reader = new StreamReader(metadata))
        using (var csv = new CsvReader(reader, CultureInfo.InvariantCulture))
        {
            csv.Read(); csv.ReadHeader();
            while (csv.Read())
            {
                ids.Add(csv.GetField("track_id")!); albums.Add(csv.GetField("album_id")!);
                composers.Add(csv.GetField("composer")!); paths.Add(csv.GetField("audio_path")!);
            }
        }
        // raw features of both models, extracted once per set (WAV read + half-band 2:1, as the constants were fitted)
        string file = Path.Combine(cache, name + ".f32"), file2 = Path.Combine(cache, name + ".builtin2.f32");
        int n = ids.Count;
        var raw = ReadCache(file, n, Builtin.Dimension);
        var raw2 = ReadCache(file2, n, Builtin2.Dimension);
        if (raw is null || raw2 is null)
        {
            var r1 = new float[n][]; var r2 = new float[n][];
            Parallel.For(0, n, i =>
            {
                var audio = WavFile.Read(Path.Combine(root, paths[i])).ToMono();
                var mono = audio.SampleRate == 44100 ? HalfBandDecimator.Instance.Process(audio.Samples) : audio.Samples;
                if (raw is null) r1[i] = Builtin.ExtractFeatures(mono);
                if (raw2 is null) r2[i] = Builtin2.ExtractFeatures(mono);
            });
            if (raw is null) WriteCache(file, raw = r1);
            if (raw2 is null) WriteCache(file2, raw2 = r2);
        }
        Console.WriteLine($"{name}: {n} tracks, {composers.Distinct().Count()} composers, {albums.Distinct().Count()} albums from {root}");
        return new Set(name, ids.ToArray(), composers.ToArray(), albums.ToArray(), raw, raw2);
    }

    private static float[][]? ReadCache(string file, int n, int d)
    {
        if (!File.Exists(file) || new FileInfo(file).Length != (long)n * d * 4) return null;
        var bytes = File.ReadAllBytes(file);
        var raw = new float[n][];
        for (int i = 0; i < n; i++) { raw[i] = new float[d]; Buffer.BlockCopy(bytes, i * d * 4, raw[i], 0, d * 4); }
        return raw;
    }

    private static void WriteCache(string file, float[][] raw)
    {
        int d = raw[0].Length;
        var bytes = new byte[(long)raw.Length * d * 4];
        for (int i = 0; i < raw.Length; i++) Buffer.BlockCopy(raw[i], 0, bytes, i * d * 4, d * 4);
        AtomicFile.WriteAllBytes(file, bytes);
    }

    /// <summary>The candidate's settings, chosen on mutopia-keyboard (leave-one-composer-out) before composer-dev was scored.</summary>
    private static class Candidate
    {
        public const int P = 32;
        public const double Shrink = 0.3;
        public const double Weight = 1.0;
    }

    /// <summary>
    /// Candidate: the built-in feature blocks with standardisation constants refitted on the training tracks, plus a
    /// shrinkage-LDA projection learned on the training composers (PCA-whitened to P dims, within-composer scatter
    /// shrunk towards its mean eigenvalue, between-composer scatter of the composer means), appended with weight W.
    /// </summary>
    private sealed class LdaModel : IModel
    {
        private readonly int _p; private readonly double _shrink, _w;
        private float[] _mean = Array.Empty<float>(), _std = Array.Empty<float>();
        private double[] _mu = Array.Empty<double>();
        private double[][] _proj = Array.Empty<double[]>(); // 620 x m: (v - mu) -> discriminant coordinates

        public LdaModel(int p, double shrink, double w) { _p = p; _shrink = shrink; _w = w; }
        public string Name => FormattableString.Invariant($"builtin-1 features + LDA(pca {_p}, shrink {_shrink}, weight {_w})");

        public IModel Fit(Set set, int[] rows)
        {
            var m = new LdaModel(_p, _shrink, _w);
            int d = Builtin.Dimension, n = rows.Length;
            (m._mean, m._std) = MeanStd(rows.Select(r => set.Raw[r]).ToList());
            var v = rows.Select(r => m.Standardise(set.Raw[r])).ToArray();
            m._mu = new double[d];
            foreach (var x in v) for (int j = 0; j < d; j++) m._mu[j] += x[j] / n;
            var c = v.Select(x => x.Select((t, j) => t - m._mu[j]).ToArray()).ToArray();
            // PCA through the n x n Gram matrix
            var gram = new double[n][];
            for (int i = 0; i < n; i++) { gram[i] = new double[n]; for (int k = 0; k <= i; k++) gram[i][k] = Dot(c[i], c[k]); }
            for (int i = 0; i < n; i++) for (int k = i + 1; k < n; k++) gram[i][k] = gram[k][i];
            var (gv, gu) = SymmetricEigen.Decompose(gram);
            int p = Math.Min(_p, n - 1);
            var pca = new double[d][]; // d x p, whitening
            for (int j = 0; j < d; j++) pca[j] = new double[p];
            for (int k = 0; k < p; k++)
            {
                double lam = Math.Max(gv[k], 1e-12), scale = Math.Sqrt(n) / lam; // d_k = Vc^T u_k / sqrt(lam); whiten by sqrt(n)/sqrt(lam)
                for (int j = 0; j < d; j++)
                {
                    double s = 0;
                    for (int i = 0; i < n; i++) s += c[i][j] * gu[i][k];
                    pca[j][k] = s * scale;
                }
            }
            var y = c.Select(x => MulVec(x, pca, p)).ToArray();
            var labels = rows.Select(r => set.Composers[r]).ToArray();
            var classes = labels.Distinct().Order(StringComparer.Ordinal).ToArray();
            var sw = Square(p); var means = new List<double[]>();
            foreach (var cl in classes)
            {
                var members = Enumerable.Range(0, n).Where(i => labels[i] == cl).ToArray();
                var mc = new double[p];
                foreach (int i in members) for (int a = 0; a < p; a++) mc[a] += y[i][a] / members.Length;
                means.Add(mc);
                foreach (int i in members)
                    for (int a = 0; a < p; a++) for (int b = 0; b < p; b++) sw[a][b] += (y[i][a] - mc[a]) * (y[i][b] - mc[b]) / n;
            }
            double tr = Enumerable.Range(0, p).Sum(a => sw[a][a]) / p;
            for (int a = 0; a < p; a++) for (int b = 0; b < p; b++) sw[a][b] = (1 - _shrink) * sw[a][b] + (a == b ? _shrink * tr : 0);
            var grand = new double[p];
            foreach (var mc in means) for (int a = 0; a < p; a++) grand[a] += mc[a] / means.Count;
            var sb = Square(p);
            foreach (var mc in means) for (int a = 0; a < p; a++) for (int b = 0; b < p; b++) sb[a][b] += (mc[a] - grand[a]) * (mc[b] - grand[b]) / means.Count;
            var (ew, ev) = SymmetricEigen.Decompose(sw);
            var wh = Square(p);
            for (int a = 0; a < p; a++) for (int k = 0; k < p; k++) wh[a][k] = ev[a][k] / Math.Sqrt(Math.Max(ew[k], 1e-12));
            var bw = Mul(Mul(Transpose(wh), sb), wh);
            var (_, vb) = SymmetricEigen.Decompose(bw);
            int out_ = Math.Min(classes.Length - 1, p);
            var w = Mul(wh, vb); // p x p, first out_ columns used
            m._proj = new double[d][];
            for (int j = 0; j < d; j++)
            {
                m._proj[j] = new double[out_];
                for (int k = 0; k < out_; k++) { double s = 0; for (int a = 0; a < p; a++) s += pca[j][a] * w[a][k]; m._proj[j][k] = s; }
            }
            return m;
        }

        public float[] Embed(Set set, int row)
        {
            var v = Standardise(set.Raw[row]);
            int d = v.Length, k = _proj[0].Length;
            var z = new double[k];
            for (int j = 0; j < d; j++) { double x = v[j] - _mu[j]; for (int a = 0; a < k; a++) z[a] += x * _proj[j][a]; }
            double nz = Math.Sqrt(z.Sum(t => t * t));
            var e = new float[d + k];
            for (int j = 0; j < d; j++) e[j] = (float)v[j];
            for (int a = 0; a < k; a++) e[d + a] = (float)(_w * z[a] / Math.Max(nz, 1e-12));
            return e;
        }

        /// <summary>As builtin-1: z-score clamped to +-8, each block L2-normalised, then the whole vector.</summary>
        private double[] Standardise(float[] raw)
        {
            var z = new double[raw.Length];
            for (int j = 0; j < z.Length; j++) z[j] = Math.Clamp((raw[j] - _mean[j]) / (_std[j] + 1e-6), -8, 8);
            foreach (var b in BuiltinEmbedder.Blocks)
            {
                double s = 0;
                for (int j = b.Offset; j < b.Offset + b.Length; j++) s += z[j] * z[j];
                s = Math.Sqrt(s);
                for (int j = b.Offset; j < b.Offset + b.Length; j++) z[j] = s > 1e-12 ? z[j] / s : 0;
            }
            double t = Math.Sqrt(z.Sum(x => x * x));
            for (int j = 0; j < z.Length; j++) z[j] /= t;
            return z;
        }

        private static double Dot(double[] a, double[] b) { double s = 0; for (int i = 0; i < a.Length; i++) s += a[i] * b[i]; return s; }
        private static double[] MulVec(double[] x, double[][] m, int p)
        {
            var r = new double[p];
            for (int j = 0; j < x.Length; j++) for (int a = 0; a < p; a++) r[a] += x[j] * m[j][a];
            return r;
        }
        private static double[][] Square(int p) => Enumerable.Range(0, p).Select(_ => new double[p]).ToArray();
        private static double[][] Transpose(double[][] a) => Enumerable.Range(0, a[0].Length).Select(j => a.Select(r => r[j]).ToArray()).ToArray();
        private static double[][] Mul(double[][] a, double[][] b)
        {
            var r = Enumerable.Range(0, a.Length).Select(_ => new double[b[0].Length]).ToArray();
            for (int i = 0; i < a.Length; i++) for (int k = 0; k < b.Length; k++) { double x = a[i][k]; for (int j = 0; j < b[0].Length; j++) r[i][j] += x * b[k][j]; }
            return r;
        }
    }
}

/// <summary>
/// CPU cost of Spotify's Basic Pitch (../shared/models/basic-pitch.onnx) on ONNX Runtime, one thread, per second of
/// audio: the deciding figure for a transcription front end under the 500x real-time goal on 2 cores.
///   dotnet run -c Release --project bench/BuiltinQuality -- --basic-pitch-cost [MODEL] [WINDOWS]
/// </summary>
static class BasicPitchCost
{
    public static void Run(string[] args)
    {
        string model = args.Length > 1 ? args[1] : "/work/shared/models/basic-pitch.onnx";
        int windows = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
        if (!File.Exists(model)) { Console.WriteLine($"skipped: {model} is absent"); return; }
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(model, options);
        const int window = 43844;
        var rng = new Random(1);
        var input = new float[window];
        for (int i = 0; i < window; i++) input[i] = (float)(0.1 * Math.Sin(2 * Math.PI * 440 * i / 22050.0) + 0.01 * (rng.NextDouble() - 0.5));
        string name = session.InputMetadata.Keys.First();
        var tensor = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(input, new[] { 1, window, 1 });
        using (session.Run(new[] { Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor(name, tensor) })) { } // warm-up
        var cpu0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (int w = 0; w < windows; w++)
            using (session.Run(new[] { Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor(name, tensor) })) { }
        double cpu = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        // Basic Pitch's windows overlap by 30 frames of 172 in its reference code: 1.99 s of input advance ~1.65 s
        double audio = windows * (window - 30 * 256) / 22050.0;
        Console.WriteLine($"basic-pitch: {windows} windows, wall {sw.Elapsed.TotalSeconds:F2} s, CPU {cpu:F2} s for {audio:F1} s of audio " +
                          $"= {audio / cpu:F1}x real time per core (one thread); 500x on 2 cores needs 250x per core");
    }
}
