namespace MessTools.Server.Api;

/// <summary>The <c>error_id</c>s the server itself answers with (besides the engine's, <see cref="MessTools.Core.Common.MessErrorIds"/>):
/// docs/server.md lists them; each constant is its own name.</summary>
public static class ProblemIds
{
    public const string ApiKeyRequired = nameof(ApiKeyRequired);
    public const string BatchTooLarge = nameof(BatchTooLarge);
    public const string EvaluationMissing = nameof(EvaluationMissing);
    public const string InternalError = nameof(InternalError);
    public const string InvalidParameter = nameof(InvalidParameter);
    public const string KOutOfRange = nameof(KOutOfRange);
    public const string MalformedRequest = nameof(MalformedRequest);
    public const string MethodNotAllowed = nameof(MethodNotAllowed);
    public const string ModelRequired = nameof(ModelRequired);
    public const string NotReady = nameof(NotReady);
    public const string RateLimited = nameof(RateLimited);
    public const string RouteNotFound = nameof(RouteNotFound);
    public const string UnknownModel = nameof(UnknownModel);
    public const string UnsupportedMediaType = nameof(UnsupportedMediaType);
}
