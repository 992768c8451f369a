using System.Text.Json;
using System.Text.Json.Serialization;

namespace MessTools.Core.Artifacts;

/// <summary>The one JSON style of every artifact: snake_case, indented, UTF-8 without BOM, written atomically.</summary>
public static class ArtifactJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static void Write<T>(string path, T value) =>
        AtomicFile.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(value, Options));

    /// <summary>Reads <paramref name="path"/>, with an error that names the file when it is missing or malformed.</summary>
    public static T Read<T>(string path)
    {
        if (!File.Exists(path))
            throw new Common.MessException(Common.MessErrorIds.ArtifactMissing, Common.MessErrorKind.ObjectNotFound,
                $"The artifact '{path}' does not exist.", path);
        try
        {
            using var s = File.OpenRead(path);
            return JsonSerializer.Deserialize<T>(s, Options)
                   ?? throw new JsonException("the file holds null");
        }
        catch (JsonException ex)
        {
            throw new Common.MessException(Common.MessErrorIds.ArtifactMalformed, Common.MessErrorKind.InvalidData,
                $"The artifact '{path}' is not valid JSON of the expected shape: {ex.Message}", path, ex);
        }
    }
}
