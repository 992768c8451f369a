using System.Buffers.Binary;
using System.Text.Json;
using MessTools.Tests.Module.Infrastructure;

namespace MessTools.Tests.Module.Embedding;

public class ConvertToMessEmbeddingTests
{
    private const string TinyProfile = """
    {
      "name": "tiny-lastlayer",
      "input": { "name": "input_values", "kind": "waveform", "sample_rate": 24000, "layout": "[batch, samples]" },
      "output": { "name": "last_hidden_state", "layout": "[batch, frames, dim]" },
      "chunking": { "window_seconds": 1.0 },
      "pooling": "mean_std",
      "batch_size": 4
    }
    """;

    private static string Model(string file) => Path.Combine(RepoPaths.SharedModels, file);

    /// <summary>A 16-bit PCM mono WAV.</summary>
    internal static void WriteWav(string path, float[] x, int rate)
    {
        var b = new byte[44 + x.Length * 2];
        "RIFF"u8.CopyTo(b); BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), 36 + x.Length * 2);
        "WAVEfmt "u8.CopyTo(b.AsSpan(8)); BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16), 16);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(20), 1); BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(22), 1);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(24), rate); BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(28), rate * 2);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(32), 2); BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(34), 16);
        "data"u8.CopyTo(b.AsSpan(36)); BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(40), x.Length * 2);
        for (int i = 0; i < x.Length; i++) BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(44 + 2 * i), (short)Math.Round(Math.Clamp(x[i], -1f, 1f) * 32767));
        File.WriteAllBytes(path, b);
    }

    private static string Tone(TempDir dir, string id, double freq, double seconds = 2.5)
    {
        const int sr = 24000;
        var x = Enumerable.Range(0, (int)(seconds * sr)).Select(i => (float)(0.3 * Math.Sin(2 * Math.PI * freq * i / sr) + 0.1 * Math.Sin(2 * Math.PI * 3.1 * freq * i / sr))).ToArray();
        string p = dir[id + ".wav"];
        WriteWav(p, x, sr);
        return p;
    }

    private static float[] ReadF32(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var v = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, v, 0, bytes.Length);
        return v;
    }

    private static Dictionary<string, object?> LatestRunCounts(string artifactDir)
    {
        var file = Directory.GetFiles(Path.Combine(artifactDir, "runs"), "*ConvertTo-MessEmbedding*.json").OrderBy(f => f).Last();
        using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
        return doc.RootElement.GetProperty("counts").EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.GetInt64());
    }

    [SharedDataFact("models/tiny-lastlayer.onnx")]
    public void Embeds_InInputOrder_ReadsBack_AndIsIncremental()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["tiny.json"], TinyProfile);
        foreach (var (id, f) in new[] { ("c", 300.0), ("a", 200.0), ("b", 250.0) }) Tone(tmp, id, f);
        using var ps = new ModuleRunspace(tmp.Path);
        const string script = """
            $tracks = @('c', 'a', 'b') | ForEach-Object { [pscustomobject]@{ track_id = $_; album_id = 'x'; composer = 'y'; wav_path = (Join-PathNet $_) } }
            $tracks | ConvertTo-MessEmbedding -Model $model -ModelProfile tiny.json -Format npy
            """;
        string prelude = "function Join-PathNet($id) { [System.IO.Path]::Combine($PWD.ProviderPath, \"$id.wav\") }\n";
        var out1 = ps.InvokeClean(prelude + script, ("model", Model("tiny-lastlayer.onnx")));
        Assert.Equal(new[] { "c", "a", "b" }, out1.Select(o => o.Properties["TrackId"].Value.ToString()));
        Assert.All(out1, o => Assert.Equal("Embedded", o.Properties["Status"].Value.ToString()));

        string art = tmp["artifacts/v1_model_tiny-lastlayer"]; // the model's own default folder
        string emb = Path.Combine(art, "embeddings");
        var ids = JsonSerializer.Deserialize<string[]>(File.ReadAllText(Path.Combine(emb, "track_ids.json")))!;
        Assert.Equal(new[] { "a", "b", "c" }, ids); // rows in track-id order, whatever the input order
        var data = ReadF32(Path.Combine(emb, "embeddings.f32"));
        using var meta = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(emb, "embeddings_meta.json")));
        int dim = meta.RootElement.GetProperty("dim").GetInt32();
        Assert.Equal(32, dim);
        Assert.Equal(3 * dim, data.Length);
        Assert.Equal(3, meta.RootElement.GetProperty("count").GetInt32());
        Assert.Equal("tiny-lastlayer", meta.RootElement.GetProperty("model").GetString());
        for (int r = 0; r < 3; r++) Assert.Equal(1.0, Math.Sqrt(data.Skip(r * dim).Take(dim).Sum(v => (double)v * v)), 4);
        Assert.True(File.Exists(Path.Combine(emb, "embeddings.npy")));

        // row order: row i of the matrix is track_ids[i], checked against 'a' embedded alone in another folder
        var alone = ps.InvokeClean(prelude + "[pscustomobject]@{ track_id = 'a'; wav_path = (Join-PathNet 'a') } | ConvertTo-MessEmbedding -Model $model -ModelProfile tiny.json -ArtifactPath alone",
            ("model", Model("tiny-lastlayer.onnx")));
        Assert.Single(alone);
        var a = ReadF32(tmp["alone/embeddings/embeddings.f32"]);
        int row = Array.IndexOf(ids, "a");
        for (int d = 0; d < dim; d++) Assert.Equal(a[d], data[row * dim + d], 5);

        // second run: nothing recomputed (counted in the run record); a new track is appended
        var out2 = ps.InvokeClean(prelude + script, ("model", Model("tiny-lastlayer.onnx")));
        Assert.All(out2, o => Assert.Contains("unchanged", o.Properties["StatusMessage"].Value?.ToString()));
        var counts = LatestRunCounts(art);
        Assert.Equal(3L, counts["reused"]);
        Assert.Equal(0L, counts["computed"]);
        Tone(tmp, "d", 400);
        ps.InvokeClean(prelude + "[pscustomobject]@{ track_id = 'd'; wav_path = (Join-PathNet 'd') } | ConvertTo-MessEmbedding -Model $model -ModelProfile tiny.json",
            ("model", Model("tiny-lastlayer.onnx")));
        Assert.Equal(new[] { "a", "b", "c", "d" }, JsonSerializer.Deserialize<string[]>(File.ReadAllText(Path.Combine(emb, "track_ids.json"))));
        Assert.Equal(4 * dim, ReadF32(Path.Combine(emb, "embeddings.f32")).Length);
    }

    [SharedDataFact("models/msd-musicnn-1.onnx", "models/reference/signal_16000.f32", "models/reference/expected.json")]
    public void MusiCnn_InTheModule_MatchesTheReferenceEmbedding()
    {
        using var tmp = new TempDir();
        var signal = ReadF32(Path.Combine(RepoPaths.SharedModels, "reference", "signal_16000.f32"));
        // float32 WAV so the samples are bit-exact
        var b = new byte[44 + signal.Length * 4];
        "RIFF"u8.CopyTo(b); BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), 36 + signal.Length * 4);
        "WAVEfmt "u8.CopyTo(b.AsSpan(8)); BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16), 16);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(20), 3); BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(22), 1);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(24), 16000); BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(28), 64000);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(32), 4); BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(34), 32);
        "data"u8.CopyTo(b.AsSpan(36)); BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(40), signal.Length * 4);
        Buffer.BlockCopy(signal, 0, b, 44, signal.Length * 4);
        File.WriteAllBytes(tmp["sig.wav"], b);
        File.WriteAllText(tmp["musicnn.json"], File.ReadAllText(Path.Combine(RepoPaths.Root, "examples", "profiles", "msd-musicnn-1.onnx.json")));
        using var ps = new ModuleRunspace(tmp.Path);
        ps.InvokeClean("[pscustomobject]@{ track_id = 'sig'; wav_path = $w } | ConvertTo-MessEmbedding -Model $m -ModelProfile musicnn.json -ArtifactPath out | Out-Null",
            ("w", tmp["sig.wav"]), ("m", Model("msd-musicnn-1.onnx")));
        var v = ReadF32(tmp["out/embeddings/embeddings.f32"]);
        using var exp = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(RepoPaths.SharedModels, "reference", "expected.json")));
        var e = exp.RootElement.GetProperty("musicnn").GetProperty("embedding_mean_over_patches").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        double norm = Math.Sqrt(e.Sum(x => x * x));
        Assert.Equal(200, v.Length);
        for (int d = 0; d < 200; d++) Assert.True(Math.Abs(v[d] - e[d] / norm) < 1e-5, $"dim {d}: {v[d]} vs {e[d] / norm}");
    }

    [SharedDataFact("models/tiny-lastlayer.onnx")]
    public void Segments_BadProfile_AndMissingAudio_AreReported()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["tiny.json"], TinyProfile);
        string wav = Tone(tmp, "s", 220, seconds: 2.4);
        using var ps = new ModuleRunspace(tmp.Path);
        var outp = ps.InvokeClean("[pscustomobject]@{ track_id = 's'; wav_path = $w } | ConvertTo-MessEmbedding -Model $m -ModelProfile tiny.json -SegmentSeconds 1 -ArtifactPath seg",
            ("w", wav), ("m", Model("tiny-lastlayer.onnx")));
        Assert.Single(outp);
        using (var seg = JsonDocument.Parse(File.ReadAllBytes(tmp["seg/embeddings/segments.json"])))
        {
            var rows = seg.RootElement.EnumerateArray().ToArray();
            Assert.Equal(2, rows.Length); // 0-1, 1-2.4 (the 0.4 s tail joins the segment before)
            Assert.Equal("s", rows[0].GetProperty("track_id").GetString());
            Assert.Equal(1.0, rows[1].GetProperty("start").GetDouble());
            Assert.Equal(2.4, rows[1].GetProperty("end").GetDouble());
        }
        Assert.Equal(2 * 32 * 4, new FileInfo(tmp["seg/embeddings/segments.f32"]).Length);

        // a profile naming an input the model does not have: terminating, says what and where
        File.WriteAllText(tmp["bad.json"], TinyProfile.Replace("\"input_values\"", "\"audio\""));
        int e0 = ps.Errors.Count;
        var none = ps.Invoke("[pscustomobject]@{ track_id = 's'; wav_path = $w } | ConvertTo-MessEmbedding -Model $m -ModelProfile bad.json -ArtifactPath bad", ("w", wav), ("m", Model("tiny-lastlayer.onnx")));
        Assert.Empty(none);
        var perr = Assert.Single(ps.Errors.Skip(e0));
        Assert.StartsWith("ModelProfileMismatch", perr.FullyQualifiedErrorId);
        Assert.Contains("'audio'", perr.Exception.Message);
        Assert.Contains("bad.json", perr.Exception.Message);
        Assert.False(File.Exists(tmp["bad/embeddings/embeddings.f32"]));

        // a missing file is a non-terminating error; the other track still goes through
        int before = ps.Errors.Count;
        var res = ps.Invoke("@([pscustomobject]@{ track_id = 'gone'; wav_path = 'nope.wav' }, [pscustomobject]@{ track_id = 's'; wav_path = $w }) | ConvertTo-MessEmbedding -Model $m -ModelProfile tiny.json -ArtifactPath mixed",
            ("w", wav), ("m", Model("tiny-lastlayer.onnx")));
        Assert.Equal(new[] { "s" }, res.Select(o => o.Properties["TrackId"].Value.ToString()));
        var err = Assert.Single(ps.Errors.Skip(before));
        Assert.StartsWith("AudioFileNotFound", err.FullyQualifiedErrorId);
    }

    [SharedDataFact("models/tiny-lastlayer.onnx")]
    public void WhatIf_WritesNothing()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["tiny.json"], TinyProfile);
        string wav = Tone(tmp, "w", 220);
        using var ps = new ModuleRunspace(tmp.Path);
        var outp = ps.InvokeClean("[pscustomobject]@{ track_id = 'w'; wav_path = $w } | ConvertTo-MessEmbedding -Model $m -ModelProfile tiny.json -ArtifactPath wi -WhatIf",
            ("w", wav), ("m", Model("tiny-lastlayer.onnx")));
        Assert.Empty(outp);
        Assert.False(Directory.Exists(tmp["wi/embeddings"]));
    }

    [Fact]
    public void ModelCompleter_OffersBuiltinAndOnnxFiles()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp["models"]);
        File.WriteAllBytes(tmp["models/my-model.onnx"], new byte[] { 1 });
        using var ps = new ModuleRunspace(tmp.Path);
        var b = ps.InvokeClean("$l = 'ConvertTo-MessEmbedding -Model bu'; [System.Management.Automation.CommandCompletion]::CompleteInput($l, $l.Length, $null).CompletionMatches | ForEach-Object CompletionText");
        Assert.Equal(new[] { "builtin", "builtin-2" }, b.Select(x => x.ToString()));
        var b2 = ps.InvokeClean("$l = 'ConvertTo-MessEmbedding -Model builtin-'; [System.Management.Automation.CommandCompletion]::CompleteInput($l, $l.Length, $null).CompletionMatches | ForEach-Object CompletionText");
        Assert.Equal("builtin-2", Assert.Single(b2).ToString());
        var f = ps.InvokeClean("$l = 'ConvertTo-MessEmbedding -Model ./mo'; [System.Management.Automation.CommandCompletion]::CompleteInput($l, $l.Length, $null).CompletionMatches | ForEach-Object CompletionText");
        Assert.Equal("./models/my-model.onnx", Assert.Single(f).ToString());
    }

    [Fact]
    public void Help_HasSynopsisAndExamples()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        var synopsis = ps.InvokeClean("(Get-Help ConvertTo-MessEmbedding).Synopsis").Single().ToString();
        Assert.Contains("L2-normalised", synopsis);
        var examples = ps.InvokeClean("@((Get-Help ConvertTo-MessEmbedding).Examples.Example).Count").Single();
        Assert.True((int)examples.BaseObject >= 2);
    }
}

public class ConvertToMessEmbeddingBuiltinTests
{
    [Theory]
    [InlineData("", "builtin")]
    [InlineData(" -Model builtin-2", "builtin-2")] // issue 21: selectable, in its own folder; the default stays builtin-1
    public void DefaultModel_IsTheBuiltinEmbedder_InItsOwnFolder(string modelArgument, string model)
    {
        using var tmp = new TempDir();
        const int sr = 22050;
        foreach (var (id, f) in new[] { ("p1", 220.0), ("p2", 330.0) })
            ConvertToMessEmbeddingTests.WriteWav(tmp[id + ".wav"], Enumerable.Range(0, 3 * sr).Select(i => (float)(0.3 * Math.Sin(2 * Math.PI * f * i / sr) * (1 + Math.Sin(2 * Math.PI * 2 * i / sr)))).ToArray(), sr);
        using var ps = new ModuleRunspace(tmp.Path);
        var outp = ps.InvokeClean("@('p1', 'p2') | ForEach-Object { [pscustomobject]@{ track_id = $_; wav_path = [System.IO.Path]::Combine($PWD.ProviderPath, \"$_.wav\") } } | ConvertTo-MessEmbedding" + modelArgument);
        Assert.Equal(2, outp.Count);
        Assert.False(model == "builtin" && Directory.Exists(tmp["artifacts/v1_model_builtin-2"]));
        string emb = tmp[$"artifacts/v1_model_{model}/embeddings"];
        Assert.Equal(new[] { "p1", "p2" }, System.Text.Json.JsonSerializer.Deserialize<string[]>(File.ReadAllText(Path.Combine(emb, "track_ids.json"))));
        using var meta = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(emb, "embeddings_meta.json")));
        Assert.Equal(model, meta.RootElement.GetProperty("model").GetString());
        int dim = meta.RootElement.GetProperty("dim").GetInt32();
        Assert.Equal(2L * dim * 4, new FileInfo(Path.Combine(emb, "embeddings.f32")).Length);
    }
}
