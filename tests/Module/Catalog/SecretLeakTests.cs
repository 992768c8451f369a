using System.Management.Automation;
using MessTools.Tests.Module.Infrastructure;

namespace MessTools.Tests.Module.Catalog;

/// <summary>
/// Issue 10, items 8 and 9: secrets typed on the cmdlet's own line (as pwsh -Command one-liners in runbooks do) reach
/// no output stream, error record, file under the artifact folder or run record. Runs alone: it sets process
/// environment variables (and removes them).
/// </summary>
[Collection(ProcessEnvironmentCollection.Name)]
public class SecretLeakTests
{
    private static readonly string[] Secrets =
    {
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", // AWS secret access key
        "AKIAIOSFODNN7EXAMPLE",                     // AWS access key id
        "Plain-Pa55word",                           // ConvertTo-SecureString ... -AsPlainText
        "Unterminated-S3cret",                      // Password='... never closed
        "SigSecret0123456789",                      // X-Amz-Signature
        "TokSecret0123456789",                      // X-Amz-Security-Token
        "UriPa55-x",                                // postgres://user:password@ with a bad port
    };

    // One line, as a runbook's pwsh -Command would give it: every cmdlet's MyInvocation.Line is this whole line.
    private const string OneLiner =
        "$env:AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'; $env:AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE'; " +
        "$pw = ConvertTo-SecureString 'Plain-Pa55word' -AsPlainText -Force; " +
        "Export-MessMetadata -ConnectionString \"Host=127.0.0.1;Port=1;Username=u;Timeout=2;Password='Unterminated-S3cret;Database=music\" -Table tracks -ArtifactPath art -Verbose; " +
        "Export-MessMetadata -ConnectionString 'postgres://reader:UriPa55-x@127.0.0.1:54x32/music' -Table tracks -ArtifactPath art -Verbose; " +
        "[pscustomobject]@{ track_id = 't1'; album_id = 'a'; audio_s3_key = 'http://127.0.0.1:1/k.wav?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=SigSecret0123456789&X-Amz-Security-Token=TokSecret0123456789' } | " +
        "Get-MessAudio -ArtifactPath art -RetryCount 0 -Verbose";

    [Fact]
    public void Secrets_on_the_command_line_reach_no_stream_error_file_or_run_record()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        var output = new List<PSObject>();
        try
        {
            // ConvertTo-SecureString is not in the hosted engine's core set: a function stands in with its parameters.
            ps.Invoke("function ConvertTo-SecureString { param([Parameter(Position = 0)][string] $String, [switch] $AsPlainText, [switch] $Force) [securestring]::new() }");
            output.AddRange(ps.Invoke(OneLiner));
        }
        finally
        {
            ps.Invoke("$env:AWS_SECRET_ACCESS_KEY = $null; $env:AWS_ACCESS_KEY_ID = $null");
        }

        // The runs happened and failed where expected, with the errors the issue names.
        string errors = string.Join("\n", ps.Errors.Select(e => e.FullyQualifiedErrorId + ": " + e.Exception.Message));
        Assert.True(ps.Errors.Count == 3, errors);
        Assert.StartsWith("InvalidConnectionString", ps.Errors[0].FullyQualifiedErrorId);  // the quote is never closed
        Assert.StartsWith("InvalidConnectionString", ps.Errors[1].FullyQualifiedErrorId);
        Assert.Contains("port '54x32'", ps.Errors[1].Exception.Message);
        Assert.Contains("127.0.0.1:1/k.wav", ps.Errors[2].Exception.Message);
        var runs = Directory.GetFiles(tmp["art/runs"], "*.json");
        Assert.Equal(3, runs.Length);

        var seen = new List<(string Where, string Text)>();
        foreach (var o in output) seen.Add(("output", o.ToString() + " " + string.Join(" ", o.Properties.Select(p => p.Name + "=" + p.Value))));
        foreach (var e in ps.Errors)
        {
            seen.Add(("error", e.ToString()));
            seen.Add(("error exception", e.Exception.ToString()));
            seen.Add(("error target", e.TargetObject?.ToString() ?? ""));
            seen.Add(("error category", e.CategoryInfo.ToString()));
            seen.Add(("error details", e.ErrorDetails?.ToString() ?? ""));
        }
        foreach (var w in ps.Warnings) seen.Add(("warning", w.Message));
        foreach (var v in ps.Verbose) seen.Add(("verbose", v.Message));
        foreach (var p in ps.Progress) seen.Add(("progress", p.Activity + " " + p.StatusDescription + " " + p.CurrentOperation));
        foreach (var f in Directory.GetFiles(tmp["art"], "*", SearchOption.AllDirectories)) seen.Add((f, File.ReadAllText(f)));

        foreach (var secret in Secrets)
            foreach (var (where, text) in seen)
                Assert.False(text.Contains(secret, StringComparison.Ordinal), $"'{secret}' leaked into {where}: {text}");
        // The records still say what ran.
        Assert.Contains(runs, r => File.ReadAllText(r).Contains("Get-MessAudio"));
    }
}
