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
/// </summary>
public class MessException : Exception
{
    public string ErrorId { get; }
    public MessErrorKind Kind { get; }
    public object? Target { get; }

    public MessException(string errorId, MessErrorKind kind, string message, object? target = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
        Target = target;
    }
}
