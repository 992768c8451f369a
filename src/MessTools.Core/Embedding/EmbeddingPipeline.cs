using System.Collections.Concurrent;
using System.Numerics.Tensors;
using System.Security.Cryptography;
using MessTools.Core.Audio;
using MessTools.Core.Common;
using MessTools.Core.Dsp;

namespace MessTools.Core.Embedding;

public sealed class EmbeddingPipelineOptions
{
    /// <summary>Also embed segments of this many seconds (null: none).</summary>
    public double? SegmentSeconds { get; init; }
    /// <summary>Recompute even tracks whose audio is unchanged.</summary>
    public bool Force { get; init; }
    /// <summary>For audio that is not WAV (null: only WAV files can be read).</summary>
    public IAudioDecoder? Decoder { get; init; }
    /// <summary>What is already embedded: track id to (audio SHA-256, audio bytes, has segments). Read from the decoding thread.</summary>
    public IReadOnlyDictionary<string, (string Sha256, long Bytes, bool HasSegments)>? Existing { get; init; }
    /// <summary>Decoded tracks waiting for the front end, and prepared tracks waiting for the model (bounds memory).</summary>
    public int QueueTracks { get; init; } = 2;
}

/// <summary>What the pipeline made of one track.</summary>
public sealed class EmbeddingResult
{
    public required MessTrack Track { get; init; }
    public required string AudioFile { get; init; }
    /// <summary>The new row (null when reused or failed).</summary>
    public EmbeddedTrack? Embedded { get; set; }
    /// <summary>The track's audio bytes and model are unchanged: its row was kept.</summary>
    public bool Reused { get; set; }
    public MessException? Error { get; set; }
    public double AudioSeconds { get; set; }
}

/// <summary>
/// Producer/consumer embedding: one thread reads, hashes and decodes audio (and resamples it to the model's
/// rate), one runs the model's front end, one cuts batches that span tracks and <see cref="IEmbeddingModel.InferenceWorkers"/>
/// threads run the model on them concurrently; the queues between them are bounded, so memory does not grow with the number of tracks. Results come out in input order.
/// Every output is checked (NaN/infinity anywhere, zero vector); the track vectors are L2-normalised.
/// </summary>
public sealed class EmbeddingPipeline : IDisposable
{
    private sealed class Job
    {
        public required EmbeddingResult Result;
        public float[]? Audio;
        public List<(int Start, int End)> Segments = new();
        public List<ModelUnit>? Units;
        public int Remaining;
        public string Sha = "";
        public long Bytes;
        /// <summary>Streaming: the audio is read chunk by chunk by the front end stage (never whole).</summary>
        public WavChunkReader? Reader;
        public IUnitStream? Stream;
        /// <summary>Every unit has been handed to the inference stage.</summary>
        public volatile bool FrontEndDone;
        public bool Queued;
    }

    /// <summary>Units of one job for the inference stage; the last piece of a job says its front end is done.</summary>
    private readonly record struct Piece(Job Job, List<ModelUnit> Units, bool Last);

    /// <summary>Mono samples read per chunk when a track streams (about 3 s at 22 kHz).</summary>
    public const int StreamChunkSamples = 1 << 16;

    private readonly IEmbeddingModel _model;
    private readonly EmbeddingPipelineOptions _options;
    private readonly CancellationTokenSource _cts;
    private readonly BlockingCollection<Job> _input = new();
    private readonly BlockingCollection<Job> _decoded;
    private readonly BlockingCollection<Piece> _prepared;
    private readonly BlockingCollection<EmbeddingResult> _results = new();
    private readonly Task[] _tasks;
    private readonly ConcurrentDictionary<int, Resampler> _resamplers = new();
    private Exception? _fatal;

    public EmbeddingPipeline(IEmbeddingModel model, EmbeddingPipelineOptions options, CancellationToken cancellationToken)
    {
        _model = model;
        _options = options;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _decoded = new BlockingCollection<Job>(Math.Max(1, options.QueueTracks));
        _prepared = new BlockingCollection<Piece>(Math.Max(1, options.QueueTracks));
        _tasks = new[]
        {
            Task.Factory.StartNew(DecodeLoop, TaskCreationOptions.LongRunning),
            Task.Factory.StartNew(FrontEndLoop, TaskCreationOptions.LongRunning),
            Task.Factory.StartNew(InferenceLoop, TaskCreationOptions.LongRunning),
        };
    }

    /// <summary>Queues a track whose audio is at <paramref name="audioFile"/>.</summary>
    public void Post(MessTrack track, string audioFile) =>
        _input.Add(new Job { Result = new EmbeddingResult { Track = track, AudioFile = audioFile } });

    /// <summary>No more tracks.</summary>
    public void Complete() => _input.CompleteAdding();

    /// <summary>The next result if one is ready within <paramref name="timeoutMs"/>; false also at the end (see <see cref="IsFinished"/>).</summary>
    public bool TryTake(out EmbeddingResult? result, int timeoutMs)
    {
        try
        {
            if (_results.TryTake(out result, timeoutMs, _cts.Token)) return true;
        }
        catch (OperationCanceledException) { result = null; }
        ThrowIfFatal();
        return false;
    }

    public bool IsFinished => _results.IsCompleted;

    /// <summary>All remaining results, blocking until the pipeline has drained.</summary>
    public IEnumerable<EmbeddingResult> Drain()
    {
        while (!_results.IsCompleted)
        {
            if (TryTake(out var r, 200)) yield return r!;
            _cts.Token.ThrowIfCancellationRequested();
        }
        ThrowIfFatal();
    }

    private void ThrowIfFatal()
    {
        if (_fatal is MessException me) throw new MessException(me.ErrorId, me.Kind, me.Message, me.Target, me);
        if (_fatal is not null and not OperationCanceledException) throw new InvalidOperationException("The embedding pipeline failed: " + _fatal.Message, _fatal);
    }

    private void Fail(Exception ex)
    {
        _fatal ??= ex;
        _cts.Cancel();
    }

    private void DecodeLoop()
    {
        try
        {
            foreach (var job in _input.GetConsumingEnumerable(_cts.Token))
            {
                try { Decode(job); }
                catch (MessException ex) { job.Result.Error = ex; job.Audio = null; CloseStream(job); }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    job.Result.Error = ReadFailed(job, ex);
                    CloseStream(job);
                }
                _decoded.Add(job, _cts.Token);
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception ex) { Fail(ex); }
        finally { _decoded.CompleteAdding(); }
    }

    private static MessException ReadFailed(Job job, Exception ex) =>
        new(MessErrorIds.AudioReadFailed, MessErrorKind.ReadError,
            $"Reading the audio of track '{job.Result.Track.TrackId}' from '{job.Result.AudioFile}' failed: {ex.Message}", job.Result.Track.TrackId, ex);

    private static void CloseStream(Job job)
    {
        job.Reader?.Dispose();
        job.Reader = null;
        job.Stream = null;
    }

    private void Decode(Job job)
    {
        var r = job.Result;
        string path = r.AudioFile;
        if (!File.Exists(path))
            throw new MessException(MessErrorIds.AudioFileNotFound, MessErrorKind.ObjectNotFound, $"The audio file '{path}' of track '{r.Track.TrackId}' does not exist.", r.Track.TrackId);
        // The hash streams through the file: a long track is never read into memory whole.
        using (var hashed = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
        {
            job.Sha = Convert.ToHexString(SHA256.HashData(hashed)).ToLowerInvariant();
            job.Bytes = hashed.Length;
        }
        if (!_options.Force && _options.Existing is { } ex && ex.TryGetValue(r.Track.TrackId, out var prev)
            && prev.Sha256 == job.Sha && prev.Bytes == job.Bytes && (_options.SegmentSeconds is null || prev.HasSegments))
        {
            r.Reused = true;
            return;
        }
        // A WAV at the model's rate (what Get-MessAudio writes) streams through the model's front end when it has a streaming one.
        if (WavChunkReader.TryOpen(path, StreamChunkSamples) is { } reader)
        {
            if (reader.SampleRate == _model.SampleRate && reader.Frames > 0 && reader.Frames <= int.MaxValue)
            {
                var segments = _options.SegmentSeconds is { } sec ? Segment((int)reader.Frames, (int)Math.Round(sec * _model.SampleRate)) : new List<(int, int)>();
                IUnitStream? stream;
                try { stream = _model.OpenStream(reader.Frames, segments); }
                catch (MessException failed) { reader.Dispose(); throw ForTrack(job, failed); }
                catch { reader.Dispose(); throw; }
                if (stream is not null)
                {
                    job.Reader = reader;
                    job.Stream = stream;
                    job.Segments = segments;
                    r.AudioSeconds = (double)reader.Frames / _model.SampleRate;
                    return;
                }
            }
            reader.Dispose();
        }
        byte[] bytes = File.ReadAllBytes(path);
        float[] mono;
        bool isWav = bytes.Length >= 12 && bytes.AsSpan(0, 4).SequenceEqual("RIFF"u8) && bytes.AsSpan(8, 4).SequenceEqual("WAVE"u8);
        if (isWav)
        {
            var audio = WavFile.Parse(bytes, path).ToMono();
            bytes = null!;
            mono = ToModelRate(audio.Samples, audio.SampleRate);
        }
        else if (_options.Decoder is { } dec)
        {
            bytes = null!;
            var audio = dec.DecodeAsync(path, _model.SampleRate, _cts.Token).GetAwaiter().GetResult().ToMono();
            mono = ToModelRate(audio.Samples, audio.SampleRate);
        }
        else
            throw new MessException(MessErrorIds.AudioDecoderUnavailable, MessErrorKind.NotInstalled,
                $"'{path}' (track '{r.Track.TrackId}') is not a WAV file and no decoder (ffmpeg) is available.", r.Track.TrackId);
        if (mono.Length == 0)
            throw new MessException(MessErrorIds.AudioEmpty, MessErrorKind.InvalidData, $"'{path}' (track '{r.Track.TrackId}') holds no audio samples.", r.Track.TrackId);
        foreach (float v in mono)
            if (!float.IsFinite(v))
                throw new MessException(MessErrorIds.AudioNotFinite, MessErrorKind.InvalidData, $"'{path}' (track '{r.Track.TrackId}') holds NaN or infinite samples.", r.Track.TrackId);
        r.AudioSeconds = (double)mono.Length / _model.SampleRate;
        job.Audio = mono;
        if (_options.SegmentSeconds is { } segSec) job.Segments = Segment(mono.Length, (int)Math.Round(segSec * _model.SampleRate));
    }

    /// <summary>Audio at the model's rate: exact 2:1 (44.1 to 22.05 kHz, 48 to 24 kHz) through the half-band decimator, anything else through the polyphase resampler.</summary>
    private float[] ToModelRate(float[] x, int rate)
    {
        if (rate == _model.SampleRate) return x;
        if (rate == 2 * _model.SampleRate) return Builtin.HalfBandDecimator.Instance.Process(x);
        return _resamplers.GetOrAdd(rate, r => new Resampler(r, _model.SampleRate)).Process(x);
    }

    /// <summary>Segments of <paramref name="length"/> samples; a last segment shorter than half joins the one before.</summary>
    public static List<(int Start, int End)> Segment(int samples, int length)
    {
        var list = new List<(int, int)>();
        if (length <= 0 || samples <= 0) return list;
        for (int s = 0; s < samples; s += length) list.Add((s, Math.Min(samples, s + length)));
        if (list.Count >= 2 && list[^1].Item2 - list[^1].Item1 < length / 2)
        {
            var last = list[^1]; list.RemoveAt(list.Count - 1);
            list[^1] = (list[^1].Item1, last.Item2);
        }
        return list;
    }

    private void FrontEndLoop()
    {
        try
        {
            foreach (var job in _decoded.GetConsumingEnumerable(_cts.Token))
            {
                job.Units = new List<ModelUnit>();
                if (job.Stream is not null && job.Result.Error is null)
                {
                    try { StreamFrontEnd(job); }
                    finally { CloseStream(job); }
                    continue;
                }
                var units = new List<ModelUnit>();
                if (job.Audio is not null && job.Result.Error is null)
                {
                    try { units = _model.Prepare(job.Audio, job.Segments); }
                    catch (MessException ex) { job.Result.Error = ex; }
                    catch (ArgumentException ex) { job.Result.Error = FrontEndFailed(job, ex); }
                    job.Audio = null;
                }
                PostPiece(job, job.Result.Error is null ? units : new List<ModelUnit>(), last: true);
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception ex) { Fail(ex); }
        finally { _prepared.CompleteAdding(); }
    }

    private static MessException FrontEndFailed(Job job, Exception ex) =>
        new(MessErrorIds.FrontEndFailed, MessErrorKind.InvalidData, $"The model's front end failed on track '{job.Result.Track.TrackId}': {ex.Message}", job.Result.Track.TrackId, ex);

    /// <summary>
    /// Reads a streaming job's audio chunk by chunk into the model's front end and hands its units on as they are
    /// ready, a batch at a time: the bounded queue to the inference stage keeps memory flat in track length.
    /// </summary>
    private void StreamFrontEnd(Job job)
    {
        var reader = job.Reader!;
        var stream = job.Stream!;
        var chunk = new float[StreamChunkSamples];
        var ready = new List<ModelUnit>();
        int batch = Math.Max(1, _model.BatchSize);
        try
        {
            int n;
            while ((n = reader.Read(chunk)) > 0)
            {
                _cts.Token.ThrowIfCancellationRequested();
                if (job.Result.Error is not null) break; // a batch of this track failed: stop reading it
                if (!AllFinite(chunk.AsSpan(0, n)))
                    throw new MessException(MessErrorIds.AudioNotFinite, MessErrorKind.InvalidData,
                        $"'{job.Result.AudioFile}' (track '{job.Result.Track.TrackId}') holds NaN or infinite samples.", job.Result.Track.TrackId);
                try { stream.Push(chunk.AsSpan(0, n), ready); }
                catch (MessException ex) { throw ForTrack(job, ex); }
                if (ready.Count >= batch) { PostPiece(job, ready, last: false); ready = new List<ModelUnit>(); }
            }
            if (job.Result.Error is null)
            {
                try { stream.Finish(ready); }
                catch (MessException ex) { throw ForTrack(job, ex); }
            }
        }
        catch (MessException ex) { SetError(job, ex); }
        catch (ArgumentException ex) { SetError(job, FrontEndFailed(job, ex)); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { SetError(job, ReadFailed(job, ex)); }
        PostPiece(job, job.Result.Error is null ? ready : new List<ModelUnit>(), last: true);
    }

    /// <summary>A model's error about one track, named as the non-streaming path names it.</summary>
    private static MessException ForTrack(Job job, MessException ex) =>
        new(ex.ErrorId, ex.Kind, $"Track '{job.Result.Track.TrackId}': {ex.Message}", job.Result.Track.TrackId, ex);

    private static void SetError(Job job, MessException ex)
    {
        lock (job) job.Result.Error ??= ex;
    }

    /// <summary>Counts the units into their job and queues them for the inference stage.</summary>
    private void PostPiece(Job job, List<ModelUnit> units, bool last)
    {
        foreach (var u in units) u.Owner = job;
        lock (job)
        {
            if (job.Units is null) units = new List<ModelUnit>(); // the job was already emitted (it failed)
            else job.Units.AddRange(units);
            Interlocked.Add(ref job.Remaining, units.Count);
            if (last) job.FrontEndDone = true;
        }
        _prepared.Add(new Piece(job, units, last), _cts.Token);
    }

    /// <summary>
    /// Collects the prepared tracks' units into batches (spanning tracks) and hands them to the model's
    /// inference workers through a bounded queue; results are emitted in input order as tracks complete.
    /// </summary>
    private void InferenceLoop()
    {
        var pending = new Queue<Job>();
        var waiting = new Queue<ModelUnit>();
        int batch = Math.Max(1, _model.BatchSize);
        int workers = Math.Max(1, _model.InferenceWorkers);
        // at most 'workers' batches queued beside the ones running: memory does not grow with the number of tracks;
        // one worker (the built-in model, which is parallel inside Run) runs each batch on this thread, queueing nothing
        using var batches = workers > 1 ? new BlockingCollection<List<ModelUnit>>(workers) : null;
        var workerTasks = new Task[workers > 1 ? workers : 0];
        for (int w = 0; w < workerTasks.Length; w++)
            workerTasks[w] = Task.Factory.StartNew(() => WorkerLoop(batches!, pending), TaskCreationOptions.LongRunning);
        try
        {
            foreach (var piece in _prepared.GetConsumingEnumerable(_cts.Token))
            {
                var job = piece.Job;
                if (!job.Queued)
                {
                    job.Queued = true;
                    lock (pending) pending.Enqueue(job);
                }
                if (piece.Units.Count > 0 && job.Result.Error is null)
                    foreach (var u in piece.Units) waiting.Enqueue(u);
                while (waiting.Count >= batch) Dispatch(batches, waiting, batch, pending);
                Emit(pending);
            }
            while (waiting.Count > 0) Dispatch(batches, waiting, batch, pending);
        }
        catch (OperationCanceledException) { }
        catch (Exception ex) { Fail(ex); }
        finally
        {
            batches?.CompleteAdding();
            try { Task.WaitAll(workerTasks); } catch (AggregateException ex) { Fail(ex.InnerException ?? ex); }
            try { if (!_cts.IsCancellationRequested) Emit(pending); }
            catch (Exception ex) { Fail(ex); }
            _results.CompleteAdding();
        }
    }

    /// <summary>Queues the next batch; units of tracks that already failed are dropped.</summary>
    private void Dispatch(BlockingCollection<List<ModelUnit>>? batches, Queue<ModelUnit> waiting, int batch, Queue<Job> pending)
    {
        var units = new List<ModelUnit>(batch);
        while (units.Count < batch && waiting.Count > 0)
        {
            var u = waiting.Dequeue();
            if (((Job)u.Owner!).Result.Error is null) units.Add(u);
        }
        if (units.Count == 0) return;
        if (batches is not null) { batches.Add(units, _cts.Token); return; }
        RunBatch(units);
        Emit(pending);
    }

    private void WorkerLoop(BlockingCollection<List<ModelUnit>> batches, Queue<Job> pending)
    {
        try
        {
            foreach (var units in batches.GetConsumingEnumerable(_cts.Token))
            {
                RunBatch(units);
                Emit(pending);
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception ex) { Fail(ex); }
    }

    private void RunBatch(List<ModelUnit> units)
    {
        try
        {
            _model.Run(units, _cts.Token);
            foreach (var u in units) Interlocked.Decrement(ref ((Job)u.Owner!).Remaining);
        }
        catch (MessException ex)
        {
            // every track with a unit in the failed batch fails; its other units are dropped (Dispatch skips them)
            foreach (var j in units.Select(u => (Job)u.Owner!).Distinct())
            {
                lock (j)
                {
                    if (j.Result.Error is not null) continue;
                    j.Result.Error = new MessException(ex.ErrorId, ex.Kind, $"Track '{j.Result.Track.TrackId}': {ex.Message}", j.Result.Track.TrackId, ex);
                }
            }
        }
    }

    /// <summary>Emits the finished tracks at the head of <paramref name="pending"/>, in input order (any thread).</summary>
    private void Emit(Queue<Job> pending)
    {
        lock (pending)
        {
            while (pending.Count > 0 && ((pending.Peek().FrontEndDone && Volatile.Read(ref pending.Peek().Remaining) <= 0) || pending.Peek().Result.Error is not null))
            {
                var job = pending.Dequeue();
                if (job.Result.Error is null && !job.Result.Reused)
                {
                    try { job.Result.Embedded = Finish(job); }
                    catch (MessException ex) { job.Result.Error = ex; }
                }
                lock (job) job.Units = null;
                _results.Add(job.Result);
            }
        }
    }

    private EmbeddedTrack Finish(Job job)
    {
        string id = job.Result.Track.TrackId;
        var units = job.Units!;
        if (units.FirstOrDefault(u => u.Error is not null && u.ForTrack) is { } failed)
            throw new MessException(failed.Error!.ErrorId, failed.Error.Kind, $"Track '{id}': {failed.Error.Message}", id, failed.Error);
        units = units.Where(u => u.Error is null).ToList();
        foreach (var u in units)
        {
            if (u.Frames is null) throw new MessException(MessErrorIds.ModelOutputMissing, MessErrorKind.InvalidData, $"The model returned nothing for part of track '{id}'.", id);
            if (!AllFinite(u.Frames))
                throw new MessException(MessErrorIds.EmbeddingNotFinite, MessErrorKind.InvalidData,
                    $"The model's output for track '{id}' ({u.StartSec:0.##}-{u.EndSec:0.##} s) holds NaN or infinity; nothing was written for the track.", id);
        }
        var trackUnits = units.Where(u => u.ForTrack).ToList();
        var vector = Normalised(_model.Pool(trackUnits), id, "");
        var info = new EmbeddingRowInfo { TrackId = id, AudioSha256 = job.Sha, AudioBytes = job.Bytes, DurationSec = Math.Round(job.Result.AudioSeconds, 3) };
        var result = new EmbeddedTrack { Info = info, Vector = vector };
        for (int s = 0; s < job.Segments.Count; s++)
        {
            var su = units.Where(u => u.Segments.Contains(s)).ToList();
            if (su.Count == 0) continue;
            var (a, b) = job.Segments[s];
            string where = $" (segment {a / (double)_model.SampleRate:0.##}-{b / (double)_model.SampleRate:0.##} s)";
            var v = Normalised(_model.Pool(su), id, where);
            result.Segments.Add((new SegmentRow { TrackId = id, Start = Math.Round(a / (double)_model.SampleRate, 3), End = Math.Round(b / (double)_model.SampleRate, 3) }, v));
        }
        return result;
    }

    /// <summary>Checks a pooled vector (finite, not zero) and L2-normalises it.</summary>
    public static float[] Normalised(float[] v, string trackId, string where)
    {
        if (!AllFinite(v))
            throw new MessException(MessErrorIds.EmbeddingNotFinite, MessErrorKind.InvalidData, $"The embedding of track '{trackId}'{where} holds NaN or infinity; nothing was written for the track.", trackId);
        double norm = Math.Sqrt(TensorPrimitives.Dot(v, v));
        if (!(norm > 1e-20) || !double.IsFinite(norm))
            throw new MessException(MessErrorIds.EmbeddingZeroVector, MessErrorKind.InvalidData, $"The embedding of track '{trackId}'{where} is a zero vector (silent audio?); nothing was written for the track.", trackId);
        var r = new float[v.Length];
        TensorPrimitives.Multiply(v, (float)(1.0 / norm), r);
        return r;
    }

    /// <summary>True when no value is NaN or infinite (x - x is 0 exactly for finite x).</summary>
    public static bool AllFinite(ReadOnlySpan<float> x)
    {
        int i = 0, w = System.Numerics.Vector<float>.Count;
        for (; i + w <= x.Length; i += w)
        {
            var v = new System.Numerics.Vector<float>(x.Slice(i, w));
            if (!System.Numerics.Vector.EqualsAll(v - v, System.Numerics.Vector<float>.Zero)) return false;
        }
        for (; i < x.Length; i++) if (!float.IsFinite(x[i])) return false;
        return true;
    }

    public void Dispose()
    {
        _input.CompleteAdding();
        _cts.Cancel();
        try { Task.WaitAll(_tasks, TimeSpan.FromSeconds(30)); } catch (AggregateException) { }
        _cts.Dispose();
    }
}
