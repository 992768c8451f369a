using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.Runtime.Credentials;
using Amazon.S3;
using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Core.Aws;

/// <summary>
/// How every MessTools S3 client connects (Get-MessAudio, Publish-/Import-MessArtifact, the server's s3:// artifact path):
/// the SDK's default credential chain or a named profile, a region, or an S3-compatible endpoint (MinIO, Ceph, moto) with
/// path-style addressing. The SDK's own retries are off: callers retry with <see cref="RetryBackoff"/>.
/// </summary>
public sealed class S3Connection
{
    /// <summary>A profile of the shared AWS credentials/config files instead of the SDK's default chain.</summary>
    public string? ProfileName { get; init; }
    public string? Region { get; init; }
    /// <summary>
    /// An S3-compatible endpoint (MinIO, Ceph, LocalStack, moto): path-style addressing is used. White space around it
    /// (a trailing newline from a file or a secret store) is trimmed; white space or control characters inside are refused.
    /// </summary>
    public string? EndpointUrl { get => _endpointUrl; init => _endpointUrl = value?.Trim(); }
    private readonly string? _endpointUrl;

    /// <summary>Checks what needs no network; throws MessException (InvalidEndpointUrl, InvalidRegion).</summary>
    public void Validate()
    {
        if (EndpointUrl is not null && EndpointUrl.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new MessException(MessErrorIds.InvalidEndpointUrl, MessErrorKind.InvalidArgument,
                $"-EndpointUrl '{SafePath.Printable(EndpointUrl)}' contains white space or a control character inside it; give the bare URL, for example https://s3.example.com:9000.", "EndpointUrl");
        if (EndpointUrl is not null &&
            (!Uri.TryCreate(EndpointUrl, UriKind.Absolute, out var u) || (u.Scheme != Uri.UriSchemeHttp && u.Scheme != Uri.UriSchemeHttps)))
            throw new MessException(MessErrorIds.InvalidEndpointUrl, MessErrorKind.InvalidArgument, $"-EndpointUrl '{SecretRedactor.Redact(EndpointUrl)}' is not an http:// or https:// URL.", "EndpointUrl");
        if (Region is not null && !System.Text.RegularExpressions.Regex.IsMatch(Region, "^[a-z]{2,}(-[a-z0-9]+)+$"))
            throw new MessException(MessErrorIds.InvalidRegion, MessErrorKind.InvalidArgument, $"-Region '{Region}' is not an AWS region name such as eu-west-1.", "Region");
    }

    /// <summary>
    /// A client for this connection. Throws <see cref="AwsSetupException"/> (AwsProfileNotFound, AwsCredentialsNotFound,
    /// AwsRegionMissing) when it cannot be configured.
    /// </summary>
    public IAmazonS3 CreateClient(int maxConnections = 64)
    {
        Validate();
        var config = new AmazonS3Config { MaxErrorRetry = 0, Timeout = TimeSpan.FromMinutes(2), MaxConnectionsPerServer = maxConnections };
        string? region = Region;
        AWSCredentials? credentials = null;
        if (ProfileName is not null)
        {
            // The SDK reads AWS_SHARED_CREDENTIALS_FILE once per process; read it on every run so a runbook can change it.
            string? file = Environment.GetEnvironmentVariable("AWS_SHARED_CREDENTIALS_FILE");
            var chain = string.IsNullOrWhiteSpace(file) ? new CredentialProfileStoreChain() : new CredentialProfileStoreChain(file);
            if (!chain.TryGetProfile(ProfileName, out var profile) || !chain.TryGetAWSCredentials(ProfileName, out credentials))
                throw new AwsSetupException(MessErrorIds.AwsProfileNotFound, MessErrorKind.ObjectNotFound,
                    $"The AWS profile '{ProfileName}' was not found in the shared credentials or config file ({file ?? "~/.aws/credentials"}).");
            region ??= profile.Region?.SystemName;
        }
        if (EndpointUrl is not null)
        {
            config.ServiceURL = EndpointUrl;
            config.ForcePathStyle = true;
            config.AuthenticationRegion = region ?? "us-east-1";
        }
        else if (region is not null)
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        try
        {
            credentials ??= DefaultAWSCredentialsIdentityResolver.GetCredentials(config);
        }
        catch (Exception ex) when (ex is AmazonClientException or InvalidOperationException)
        {
            throw AwsSetupException.NoCredentials(ex);
        }
        try
        {
            return new AmazonS3Client(credentials, config);
        }
        catch (AmazonClientException ex)
        {
            throw new AwsSetupException(MessErrorIds.AwsRegionMissing, MessErrorKind.InvalidArgument,
                $"The S3 client cannot be configured: {ex.Message} Pass -Region (for example eu-west-1), set AWS_REGION, or give -EndpointUrl.", ex);
        }
    }
}

/// <summary>A failure that stops the whole run (no credentials, unknown profile): every S3 request would fail the same way.</summary>
public sealed class AwsSetupException(string errorId, MessErrorKind kind, string message, Exception? inner = null)
    : MessException(errorId, kind, message, null, inner)
{
    public static AwsSetupException NoCredentials(Exception inner) => new(MessErrorIds.AwsCredentialsNotFound, MessErrorKind.PermissionDenied,
        "No AWS credentials were found (environment variables, shared credentials file, container or instance role). Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, run 'aws configure', or pass -ProfileName.", inner);
}

/// <summary>How S3 failures are classified: which are worth a retry, which mean "no credentials".</summary>
public static class S3Errors
{
    /// <summary>Throttling, 5xx, timeouts, dropped connections and corrupted transfers; never 403/404 or credential problems.</summary>
    public static bool IsTransient(Exception ex)
    {
        switch (ex)
        {
            case AmazonServiceException se when se.StatusCode != 0:
                int code = (int)se.StatusCode;
                return code is 408 or 429 or >= 500
                       || se.ErrorCode is "SlowDown" or "Throttling" or "ThrottlingException" or "RequestTimeout" or "RequestTimeTooSkewed" or "InternalError" or "ServiceUnavailable";
            case TimeoutException or IOException or System.Net.Sockets.SocketException or HttpRequestException:
                return !IsCredentialProblem(ex);
            case OperationCanceledException:
                return true; // an HTTP timeout: our own cancellation never reaches the classifier
        }
        if (IsCredentialProblem(ex)) return false;
        // AWSSDK's MD5Stream / checksum validation: "Expected hash not equal to calculated hash" - a corrupted transfer.
        if (ex is AmazonClientException && ex.Message.Contains("hash", StringComparison.OrdinalIgnoreCase)) return true;
        return ex.InnerException is not null && IsTransient(ex.InnerException);
    }

    /// <summary>True when the SDK found no credentials (anywhere in the chain of inner exceptions).</summary>
    public static bool IsCredentialProblem(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
            if (e is AmazonClientException && e is not AmazonServiceException && e.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>The messages of an exception and its first inner ones, for error text.</summary>
    public static string Describe(Exception ex)
    {
        var parts = new List<string>();
        for (var e = ex; e is not null && parts.Count < 3; e = e.InnerException)
            if (!string.IsNullOrWhiteSpace(e.Message) && !parts.Contains(e.Message)) parts.Add(e.Message.TrimEnd('.'));
        return SecretRedactor.Redact(string.Join(": ", parts));
    }
}
