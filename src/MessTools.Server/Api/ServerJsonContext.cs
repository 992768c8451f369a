using System.Text.Json.Serialization;

namespace MessTools.Server.Api;

/// <summary>
/// Source-generated JSON metadata for the responses of the busy routes (the neighbour routes, the probes, the track
/// list): no reflection-built serializers at the first request and less work per response. It is first in the
/// resolver chain of the server's JSON options (snake_case, dictionary keys as they are), so names and values are the
/// ones the reflection serializer wrote; every other type still goes through the reflection resolver after it.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(NearestResponse))]
[JsonSerializable(typeof(SearchResponse))]
[JsonSerializable(typeof(ReadyResponse))]
[JsonSerializable(typeof(LiveResponse))]
[JsonSerializable(typeof(TrackPage))]
[JsonSerializable(typeof(ComposerEvalResponse))]
internal sealed partial class ServerJsonContext : JsonSerializerContext;
