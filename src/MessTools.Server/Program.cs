using MessTools.Server;

// MessTools.Server: dotnet MessTools.Server.dll --artifact-path <folder | s3://bucket/prefix> [--urls ...]
// (or --probe URL, the container's health check). See docs/server.md.

if (args.Length == 2 && args[0] == "--probe") return await ServerApp.ProbeAsync(args[1]);
// Build errors (bad settings, artifacts that fail their checks) surface as they always did: WebApplicationFactory reads
// them from the entry point. What fails once the host runs (the port in use) is one line, not a logged stack trace twice.
var app = ServerApp.Build(args);
try
{
    app.Run();
    return Environment.ExitCode; // 1 when the start-up import failed (ArtifactReloader stopped the host)
}
catch (Exception ex) when (ServerApp.StartError(ex) is { } message)
{
    Console.Error.WriteLine($"MessTools.Server could not start: {message}");
    return 1;
}

/// <summary>The entry point's class, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
