using System.Diagnostics;
using System.Net.Sockets;

namespace MessTools.Tests.Infrastructure;

/// <summary>
/// A real PostgreSQL with the real pgvector 0.8.7 on loopback: PGlite (PostgreSQL compiled to WebAssembly) behind
/// its Postgres wire-protocol server, from npm at the exact versions the socket server pins. The packages are installed
/// once into .cache/pglite/ of the repository (ignored by git); the server runs in memory on a free port, is waited
/// for until it listens, and is stopped on dispose. Start-up takes 15-30 s, so the test classes of an assembly share one
/// (a collection fixture). After a FATAL error PGlite must be restarted: <see cref="Restart"/>.
/// When node/npm are missing this throws: the tests fail loudly (.ci/run installs them), they never skip.
/// </summary>
public sealed class PgliteServer : IDisposable
{
    public static readonly string[] Packages =
        { "@electric-sql/pglite@0.5.14", "@electric-sql/pglite-socket@0.2.17", "@electric-sql/pglite-pgvector@0.0.15" };

    private Process? _process;
    private readonly int _maxConnections;

    public int Port { get; private set; }
    /// <summary>PGlite accepts any password for the user postgres.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Database=postgres;Username=postgres;Password=pglite;Timeout=60;Command Timeout=600;Include Error Detail=true";
    public static string InstallDir => Path.Combine(RepoPaths.Root, ".cache", "pglite");

    public PgliteServer() : this(4) { }

    /// <param name="maxConnections">More than PGlite's default of one, so a test can watch a table while a publish writes it.</param>
    internal PgliteServer(int maxConnections)
    {
        _maxConnections = maxConnections;
        Install();
        Start();
    }

    /// <summary>npm install of the three packages into <see cref="InstallDir"/>, once (a lock file keeps parallel test processes apart).</summary>
    public static void Install()
    {
        Directory.CreateDirectory(InstallDir);
        string marker = Path.Combine(InstallDir, "installed-" + string.Join("_", Packages.Select(p => p.Replace("/", "-").Replace("@", ""))));
        if (File.Exists(marker)) return;
        using var lockFile = AcquireLock(Path.Combine(InstallDir, ".install.lock"));
        if (File.Exists(marker)) return;
        string npm = ExecutablePath.Find("npm") ?? throw new InvalidOperationException(
            "npm is not installed: the pgvector tests need PGlite from npm (apt-get install nodejs npm; .ci/run does it). They do not skip.");
        if (!File.Exists(Path.Combine(InstallDir, "package.json"))) File.WriteAllText(Path.Combine(InstallDir, "package.json"), "{ \"private\": true }\n");
        var (code, output) = RunToEnd(npm, new[] { "install", "--no-audit", "--no-fund", "--save-exact" }.Concat(Packages), InstallDir, TimeSpan.FromMinutes(5));
        if (code != 0) throw new InvalidOperationException($"npm install {string.Join(' ', Packages)} failed ({code}): {output}");
        File.WriteAllText(marker, DateTime.UtcNow.ToString("O"));
    }

    /// <summary>Starts the server on a free port (a fresh, empty in-memory database) and waits until it listens.</summary>
    public void Start()
    {
        if (_process is { HasExited: false }) return;
        string npx = ExecutablePath.Find("npx") ?? throw new InvalidOperationException("npx is not installed (apt-get install nodejs npm).");
        Port = LoopbackPort.Free();
        var psi = new ProcessStartInfo(npx)
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = InstallDir,
        };
        foreach (var a in new[] { "--no-install", "pglite-server", "-d", "memory://", "-h", "127.0.0.1", "-p", Port.ToString(),
                     "-m", _maxConnections.ToString(), "-e", "@electric-sql/pglite-pgvector:vector" })
            psi.ArgumentList.Add(a);
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new System.Text.StringBuilder();
        _process = Process.Start(psi) ?? throw new InvalidOperationException("pglite-server did not start.");
        void OnLine(string? line)
        {
            if (line is null) return;
            lock (log) if (log.Length < 20_000) log.AppendLine(line);
            if (line.Contains("listening", StringComparison.OrdinalIgnoreCase)) listening.TrySetResult();
        }
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(120))
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"pglite-server exited with code {_process.ExitCode} on port {Port}: {log}");
            if (listening.Task.IsCompleted && CanConnect()) return;
            Thread.Sleep(200);
        }
        Stop();
        throw new InvalidOperationException($"pglite-server did not listen on 127.0.0.1:{Port} within 120 s: {log}");
    }

    /// <summary>A new server (PGlite must be restarted after a FATAL error); every table is gone.</summary>
    public void Restart()
    {
        Stop();
        Start();
    }

    /// <summary>Restarts the server if it has died.</summary>
    public void EnsureRunning()
    {
        if (_process is null || _process.HasExited || !CanConnect()) Restart();
    }

    private bool CanConnect()
    {
        try
        {
            using var client = new TcpClient();
            return client.ConnectAsync("127.0.0.1", Port).Wait(1000) && client.Connected;
        }
        catch (Exception ex) when (ex is SocketException or AggregateException) { return false; }
    }

    public void Stop()
    {
        if (_process is null) return;
        try { if (!_process.HasExited) { _process.Kill(entireProcessTree: true); _process.WaitForExit(10_000); } }
        catch (InvalidOperationException) { }
        _process.Dispose();
        _process = null;
    }

    public void Dispose() => Stop();

    /// <summary>One value of a query on its own, unpooled connection (what the tests read back from the tables).</summary>
    public T Scalar<T>(string sql)
    {
        using var c = new Npgsql.NpgsqlConnection(ConnectionString + ";Pooling=false");
        c.Open();
        using var cmd = new Npgsql.NpgsqlCommand(sql, c);
        return (T)cmd.ExecuteScalar()!;
    }

    private static FileStream AcquireLock(string path)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (sw.Elapsed < TimeSpan.FromMinutes(5)) { Thread.Sleep(250); }
        }
    }

    private static (int Code, string Output) RunToEnd(string file, IEnumerable<string> args, string dir, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(true); return (-1, "timed out"); }
        return (p.ExitCode, o.Result + e.Result);
    }
}
