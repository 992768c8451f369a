using System.Diagnostics;
using Npgsql;

namespace MessTools.Tests.Infrastructure;

/// <summary>
/// A real PostgreSQL server for the tests: initdb into a temporary folder, pg_ctl start on a free loopback port
/// with password (SCRAM) authentication, stopped and deleted on dispose. As root it runs as the postgres user.
/// When PostgreSQL is not installed the tests fail with the install command (.ci/run installs it).
/// </summary>
public sealed class PostgresServer : IDisposable
{
    public const string User = "mess";
    public const string Password = "s3cret-Pg-pass";
    private readonly string _dir;
    private readonly string _binDir;
    private readonly bool _asPostgresUser;

    public int Port { get; }
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Database=postgres;Username={User};Password={Password};Timeout=15";
    public string ConnectionStringWithoutPassword => $"Host=127.0.0.1;Port={Port};Database=postgres;Username={User};Timeout=15";

    public PostgresServer()
    {
        _binDir = FindBinDir() ?? throw new InvalidOperationException(
            "PostgreSQL is not installed (initdb not found): apt-get install -y postgresql. .ci/run installs it.");
        _asPostgresUser = Environment.UserName == "root";
        _dir = Path.Combine(Path.GetTempPath(), "messpg-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "pw"), Password);
        if (_asPostgresUser) Run("chown", $"-R postgres:postgres {_dir}", asPostgres: false);
        Port = LoopbackPort.Free();
        string data = Path.Combine(_dir, "data");
        Run(Path.Combine(_binDir, "initdb"), $"-D {data} -U {User} --auth=scram-sha-256 --pwfile={Path.Combine(_dir, "pw")} --no-sync -E UTF8 --locale=C.UTF-8");
        Run(Path.Combine(_binDir, "pg_ctl"), $"-D {data} -l {Path.Combine(_dir, "log")} -w -t 60 -o \"-p {Port} -k {_dir} -c listen_addresses=127.0.0.1 -c fsync=off\" start");
    }

    public void Execute(string sql)
    {
        using var c = new NpgsqlConnection(ConnectionString);
        c.Open();
        using var cmd = new NpgsqlCommand(sql, c);
        cmd.ExecuteNonQuery();
    }

    private static string? FindBinDir()
    {
        foreach (var dir in Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => d) : Enumerable.Empty<string>())
            if (File.Exists(Path.Combine(dir, "bin", "initdb"))) return Path.Combine(dir, "bin");
        foreach (var p in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
            if (p.Length > 0 && File.Exists(Path.Combine(p, "initdb"))) return p;
        return null;
    }


    private void Run(string file, string args, bool? asPostgres = null)
    {
        bool su = asPostgres ?? _asPostgresUser;
        var psi = su
            ? new ProcessStartInfo("runuser", $"-u postgres -- {file} {args}")
            : new ProcessStartInfo(file, args);
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        psi.WorkingDirectory = Path.GetTempPath();
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException($"{file} {args} timed out"); }
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {args} failed ({p.ExitCode}): {stderr.Result} {stdout.Result}");
    }

    public void Dispose()
    {
        try { Run(Path.Combine(_binDir, "pg_ctl"), $"-D {Path.Combine(_dir, "data")} -m immediate -w stop"); } catch (Exception) { }
        try { Directory.Delete(_dir, recursive: true); } catch (Exception) { }
    }
}
