using MessTools.Server;

// MessTools.Server: dotnet MessTools.Server.dll --artifact-path <folder | s3://bucket/prefix> [--urls ...]
// (or --probe URL, the container's health check). See docs/server.md.

if (args.Length == 2 && args[0] == "--probe") return await ServerApp.ProbeAsync(args[1]);
WebApplication app;
try { app = ServerApp.Build(args); }
catch (MessTools.Core.Common.MessException ex)
{
    // A start that cannot serve (no artifacts, a database without pgvector, a wrong password): one line, no stack trace.
    Console.Error.WriteLine($"MessTools.Server cannot start ({ex.ErrorId}): {MessTools.Core.Common.SecretRedactor.Redact(ex.Message)}");
    return 1;
}
app.Run();
return 0;

/// <summary>The entry point's class, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
