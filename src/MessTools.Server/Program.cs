using MessTools.Server;

// MessTools.Server: dotnet MessTools.Server.dll --artifact-path <folder | s3://bucket/prefix> [--urls ...]
// (or --probe URL, the container's health check). See docs/server.md.

if (args.Length == 2 && args[0] == "--probe") return await ServerApp.ProbeAsync(args[1]);
// A start that fails (a bad setting, a missing artifact folder, the port in use) is one line, not a stack trace (twice);
// WebApplicationFactory still sees Build's exceptions, which StartError leaves alone only when they are defects.
try
{
    var app = ServerApp.Build(args);
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
