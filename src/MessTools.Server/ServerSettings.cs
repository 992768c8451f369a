namespace MessTools.Server;

/// <summary>
/// The server's settings, from the command line (<c>--artifact-path</c>, <c>--api-key</c> ...), the environment
/// (<c>MESS_ARTIFACT_PATH</c>, <c>MESS_API_KEY</c>, <c>MESS_CORS_ORIGINS</c>, <c>MESS_VECTOR_CONNECTION</c>) or any other
/// configuration source.
/// </summary>
public sealed class ServerSettings
{
    /// <summary>One v1_model_&lt;MODEL&gt; folder, a root holding several, or s3://bucket/prefix (downloaded at start).</summary>
    public string ArtifactPath { get; set; } = "";
    /// <summary>When set, every route except /livez needs it in X-Api-Key.</summary>
    public string? ApiKey { get; set; }
    /// <summary>Origins allowed to call the API from a browser (CORS); empty: none (same origin only).</summary>
    public string[] CorsOrigins { get; set; } = Array.Empty<string>();
    /// <summary>Requests per second per client address before 429 (0: no limit).</summary>
    public int RateLimit { get; set; } = 1000;
    /// <summary>How often the artifact files are checked for a new version.</summary>
    public TimeSpan ReloadInterval { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>Where an s3:// artifact set is downloaded to.</summary>
    public string DownloadPath { get; set; } = Path.Combine(Path.GetTempPath(), "messtools-artifacts");
    /// <summary>
    /// --lock-timeout (seconds): how long an s3:// import waits for the download folder's writer lock when another import
    /// (a second server, Import-MessArtifact) holds it. Default 300.
    /// </summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(300);
    /// <summary>With an s3:// artifact path: the region (default: AWS_REGION) and an S3-compatible endpoint (default: AWS_ENDPOINT_URL_S3).</summary>
    public string? S3Region { get; set; }
    public string? S3EndpointUrl { get; set; }
    /// <summary>Also serve /_bench/constant: a constant nearest-list response, the peer of the HTTP benchmark.</summary>
    public bool BenchConstantRoute { get; set; }
    /// <summary>Largest POST /search batch.</summary>
    public int MaxBatch { get; set; } = 100;
    /// <summary>
    /// --vector-store (or MESS_VECTOR_CONNECTION): a PostgreSQL connection string (key=value or postgres:// URI) whose
    /// pgvector table answers the neighbour routes; the artifact folder still gives metadata and evaluation. A secret:
    /// never logged, never in a response.
    /// </summary>
    public string? VectorStore { get; set; }
    /// <summary>
    /// --known-proxies / --known-networks (comma-separated addresses / CIDR networks): the load balancers whose
    /// X-Forwarded-For the server believes, so the rate limiter and the logs see the real client. Default: loopback only.
    /// Behind an ALB in a VPC, the VPC's CIDR (for example 10.0.0.0/16; deploy/ecs sets it).
    /// </summary>
    public string[] KnownProxies { get; set; } = Array.Empty<string>();
    public string[] KnownNetworks { get; set; } = Array.Empty<string>();
    /// <summary>--vector-table: the table Publish-MessVector filled (default mess_tracks).</summary>
    public string VectorTable { get; set; } = MessTools.Core.VectorStore.VectorTable.DefaultTable;

    /// <summary>
    /// The command-line and environment spellings (--artifact-path, MESS_API_KEY ...) over what BindConfiguration bound
    /// from the property names. A value that does not parse is recorded, not thrown: <see cref="ServerSettingsValidator"/>
    /// reports every problem in one line when the host starts.
    /// </summary>
    public void ApplyAliases(IConfiguration config)
    {
        if (First(config["artifact-path"], config["MESS_ARTIFACT_PATH"]) is { } ap) ArtifactPath = ap;
        if (First(config["api-key"], config["MESS_API_KEY"]) is { } key) ApiKey = key;
        if (First(config["cors-origins"], config["CorsOrigins"], config["MESS_CORS_ORIGINS"]) is { } cors) CorsOrigins = List(cors);
        if (First(config["known-proxies"], config["KnownProxies"], config["MESS_KNOWN_PROXIES"]) is { } kp) KnownProxies = List(kp);
        if (First(config["known-networks"], config["KnownNetworks"], config["MESS_KNOWN_NETWORKS"]) is { } kn) KnownNetworks = List(kn);
        if (First(config["rate-limit"], config["RateLimit"]) is { } rl) RateLimit = ParseInt(rl, "rate-limit", 0) ?? RateLimit;
        if (First(config["reload-interval"], config["ReloadInterval"]) is { } ri && ParseInt(ri, "reload-interval (milliseconds)", 50) is { } ms)
            ReloadInterval = TimeSpan.FromMilliseconds(ms);
        if (First(config["download-path"], config["MESS_DOWNLOAD_PATH"]) is { } dp) DownloadPath = dp;
        if (First(config["lock-timeout"], config["LockTimeout"]) is { } lt && ParseInt(lt, "lock-timeout (seconds)", 0) is { } sec) LockTimeout = TimeSpan.FromSeconds(sec);
        if (First(config["s3-region"]) is { } region) S3Region = region;
        if (First(config["s3-endpoint-url"]) is { } endpoint) S3EndpointUrl = endpoint;
        if (First(config["max-batch"], config["MaxBatch"]) is { } mb) MaxBatch = ParseInt(mb, "max-batch", 1) ?? MaxBatch;
        if (First(config["bench-constant-route"], config["BenchConstantRoute"]) is { } bench) BenchConstantRoute = string.Equals(bench, "true", StringComparison.OrdinalIgnoreCase);
        if (First(config["vector-store"], config[MessTools.Core.VectorStore.VectorTable.ConnectionEnvironmentVariable]) is { } vs) VectorStore = vs;
        if (First(config["vector-table"]) is { } vt) VectorTable = vt.Trim();
    }

    /// <summary>Values that did not parse, found by <see cref="ApplyAliases"/>.</summary>
    internal List<string> Problems { get; } = new();

    private static string[] List(string? value) =>
        value is null ? Array.Empty<string>() : value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string? First(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));

    private int? ParseInt(string value, string name, int min)
    {
        if (int.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int v) && v >= min) return v;
        Problems.Add($"--{name} must be a whole number of at least {min}; got '{value}'.");
        return null;
    }
}

/// <summary>Every rule of the settings, checked when the host starts (ValidateOnStart): all problems in one line.</summary>
public sealed class ServerSettingsValidator : Microsoft.Extensions.Options.IValidateOptions<ServerSettings>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, ServerSettings s)
    {
        var problems = new List<string>(s.Problems);
        if (string.IsNullOrWhiteSpace(s.ArtifactPath))
            problems.Add("No artifact path: pass --artifact-path <folder or s3://bucket/prefix> or set MESS_ARTIFACT_PATH.");
        foreach (string p in s.KnownProxies)
            if (!System.Net.IPAddress.TryParse(p, out _)) problems.Add($"--known-proxies: '{p}' is not an IP address.");
        foreach (string n in s.KnownNetworks)
            if (!System.Net.IPNetwork.TryParse(n, out _)) problems.Add($"--known-networks: '{n}' is not a network in CIDR form (such as 10.0.0.0/16).");
        if (s.RateLimit < 0) problems.Add($"--rate-limit must be 0 (no limit) or more; got {s.RateLimit}.");
        if (s.MaxBatch < 1) problems.Add($"--max-batch must be at least 1; got {s.MaxBatch}.");
        if (s.ReloadInterval < TimeSpan.FromMilliseconds(50)) problems.Add("--reload-interval must be at least 50 milliseconds.");
        if (s.LockTimeout < TimeSpan.Zero) problems.Add("--lock-timeout must not be negative.");
        return problems.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(problems);
    }
}
