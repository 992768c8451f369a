namespace MessTools.Core.Common;

/// <summary>Broad kinds of failure, mapped one to one onto PowerShell's ErrorCategory by the cmdlets.</summary>
public enum MessErrorKind
{
    InvalidData,
    InvalidArgument,
    ObjectNotFound,
    PermissionDenied,
    ResourceUnavailable,
    NotInstalled,
    InvalidOperation,
    WriteError,
    ReadError,
    ConnectionError,
    OperationStopped,
}

/// <summary>
/// An error the engine can explain: a stable <see cref="ErrorId"/> (what scripts match on), a kind, and
/// the item it is about (a track id, a file, a column). Messages say what and where.
/// The message and a text target pass through <see cref="SecretRedactor"/> here, once for every caller, so no error record
/// or run record made from a MessException can show a secret; an inner exception whose text held a secret is replaced by
/// a <see cref="RedactedException"/> with the redacted text.
/// </summary>
public class MessException : Exception
{
    public string ErrorId { get; }
    public MessErrorKind Kind { get; }
    public object? Target { get; }

    public MessException(string errorId, MessErrorKind kind, string message, object? target = null, Exception? inner = null)
        : base(SecretRedactor.Redact(message), RedactedException.Wrap(inner))
    {
        ErrorId = errorId;
        Kind = kind;
        Target = SecretRedactor.RedactObject(target);
    }
}

/// <summary>Stands in for an exception whose message or inner exceptions held a secret: same type name, redacted text.</summary>
public sealed class RedactedException : Exception
{
    public string OriginalType { get; }

    private RedactedException(string originalType, string message) : base(message) => OriginalType = originalType;

    /// <summary>The exception itself when its full text holds no secret, otherwise a redacted stand-in (no stack, no inner).</summary>
    public static Exception? Wrap(Exception? inner)
    {
        if (inner is null or MessException or RedactedException) return inner;
        string all = inner.ToString();
        if (SecretRedactor.Redact(all) == all) return inner;
        return new RedactedException(inner.GetType().FullName ?? "Exception", $"{inner.GetType().Name}: {SecretRedactor.Redact(inner.Message)}");
    }
}
