using MessTools.Server;

// MessTools.Server: dotnet MessTools.Server.dll --artifact-path <folder | s3://bucket/prefix> [--urls ...]
// (or --probe URL, the container's health check). See docs/server.md.

if (args.Length == 2 && args[0] == "--probe") return await ServerApp.ProbeAsync(args[1]);
var app = ServerApp.Build(args);
app.Run();
return 0;

/// <summary>The entry point's class, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
