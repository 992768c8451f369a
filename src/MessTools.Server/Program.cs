using MessTools.Server;

// MessTools.Server: dotnet MessTools.Server.dll --artifact-path <folder | s3://bucket/prefix> [--urls ...]
// (or --probe URL, the container's health check). See docs/server.md.

if (args.Length == 2 && args[0] == "--probe") return await ServerApp.ProbeAsync(args[1]);
try
{
    var app = ServerApp.Build(args);
    app.Run();
    return 0;
}
catch (Exception ex) when (ServerApp.StartError(ex) is { } message)
{
    // A start that cannot go on (port in use, a bad setting, artifacts that fail their checks): one line, no stack trace.
    Console.Error.WriteLine($"MessTools.Server could not start: {message}");
    return 1;
}

/// <summary>The entry point's class, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
