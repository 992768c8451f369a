using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace MessTools.Tests.Infrastructure;

/// <summary>
/// A real S3 API on loopback: the moto_server program (Python moto 5.2) started on a free port, waited for until it
/// answers, and stopped on dispose. When moto_server is missing this throws: S3 tests fail loudly, they never skip.
/// No AWSSDK dependency, so both test projects link it (tests/Shared); objects can be created with plain, unsigned HTTP
/// requests, which moto accepts.
/// </summary>
public sealed class MotoServer : IDisposable
{
    private Process? _process;
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public int Port { get; private set; }
    public string Endpoint => $"http://127.0.0.1:{Port}";

    public MotoServer() => Start();

    /// <summary>The server's process id (0 when stopped).</summary>
    public int ProcessId => _process?.Id ?? 0;

    /// <summary>The CPU time moto_server has used so far (benchmarks attribute the server's work to each client's phase).</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            if (_process is null) return TimeSpan.Zero;
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>Starts (or restarts) moto_server; a restarted server has lost every bucket.</summary>
    public void Start(int? port = null)
    {
        if (_process is { HasExited: false }) return;
        string exe = ExecutablePath.Find("moto_server")
            ?? throw new InvalidOperationException("moto_server is not installed (Python moto 5.2 is part of this project's machine image; " +
                                                   "install it with 'pip install \"moto[server]\"'). The S3 tests need a real S3 API and do not skip.");
        Port = port ?? LoopbackPort.Free();
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-H", "127.0.0.1", "-p", Port.ToString() }) psi.ArgumentList.Add(a);
        _process = Process.Start(psi) ?? throw new InvalidOperationException("moto_server did not start.");
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) _log.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _log.Enqueue(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (_process.HasExited) throw new InvalidOperationException($"moto_server exited with code {_process.ExitCode} on port {Port}.");
            try
            {
                using var r = Http.GetAsync(Endpoint + "/").GetAwaiter().GetResult();
                return;
            }
            catch (HttpRequestException) { Thread.Sleep(100); }
        }
        Stop();
        throw new InvalidOperationException($"moto_server did not answer on {Endpoint} within 30 s.");
    }

    /// <summary>Kills the server (the tests' "network went away").</summary>
    public void Stop()
    {
        if (_process is null) return;
        try { if (!_process.HasExited) { _process.Kill(entireProcessTree: true); _process.WaitForExit(10_000); } }
        catch (InvalidOperationException) { }
        _process.Dispose();
        _process = null;
    }

    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();

    /// <summary>
    /// The server's request log (werkzeug's access log on its output): one (method, path with query) per request answered so far,
    /// in order. Tests count object uploads from it.
    /// </summary>
    public IReadOnlyList<(string Method, string Path)> RequestLog()
    {
        var list = new List<(string, string)>();
        foreach (var line in _log)
        {
            // 127.0.0.1 - - [25/Nov/2026 16:01:08] "PUT /bkt/a/b.txt HTTP/1.1" 200 -
            int q = line.IndexOf('"');
            int e = q < 0 ? -1 : line.IndexOf('"', q + 1);
            if (e < 0) continue;
            var parts = line[(q + 1)..e].Split(' ');
            if (parts.Length >= 2) list.Add((parts[0], Uri.UnescapeDataString(parts[1])));
        }
        return list;
    }

    /// <summary>How many requests the server has logged so far (werkzeug writes the line after answering): a mark for RequestLog().Skip.</summary>
    public int RequestCount => RequestLog().Count;

    public void CreateBucket(string bucket) => Send(HttpMethod.Put, $"/{bucket}", null);

    /// <summary>Puts an object; returns its ETag (unquoted).</summary>
    public string PutObject(string bucket, string key, byte[] body) =>
        Send(HttpMethod.Put, $"/{bucket}/{Escape(key)}", body).Headers.ETag?.Tag.Trim('"') ?? "";

    public void PutBucketPolicy(string bucket, string policyJson) =>
        Send(HttpMethod.Put, $"/{bucket}?policy", System.Text.Encoding.UTF8.GetBytes(policyJson));

    /// <summary>A policy that denies s3:GetObject on keys under <paramref name="prefix"/> to everyone.</summary>
    public static string DenyGetPolicy(string bucket, string prefix) => DenyPolicy(bucket, "s3:GetObject", prefix);

    /// <summary>A policy that denies <paramref name="action"/> (e.g. s3:PutObject) on keys under <paramref name="prefix"/> to everyone.</summary>
    public static string DenyPolicy(string bucket, string action, string prefix) =>
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"" + action + "\"," +
        $"\"Resource\":\"arn:aws:s3:::{bucket}/{prefix}*\"}}]}}";

    private HttpResponseMessage Send(HttpMethod method, string path, byte[]? body)
    {
        using var req = new HttpRequestMessage(method, Endpoint + path) { Content = new ByteArrayContent(body ?? Array.Empty<byte>()) };
        var resp = Http.Send(req);
        if (!resp.IsSuccessStatusCode)
            throw new InvalidOperationException($"moto: {method} {path} -> {(int)resp.StatusCode} {resp.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
        return resp;
    }

    private static string Escape(string key) => string.Join('/', key.Split('/').Select(Uri.EscapeDataString));

    public void Dispose() => Stop();
}
