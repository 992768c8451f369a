using System.Net;
using System.Text.Json;

namespace MessTools.Tests.Server.Infrastructure;

public static class Json
{
    public static async Task<JsonElement> ReadAsync(HttpResponseMessage r)
    {
        string text = await r.Content.ReadAsStringAsync();
        try { return JsonDocument.Parse(text).RootElement.Clone(); }
        catch (JsonException) { throw new Xunit.Sdk.XunitException($"HTTP {(int)r.StatusCode}: not JSON: {text}"); }
    }

    /// <summary>Asserts an application/problem+json answer with this status and error id; returns it.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage r, HttpStatusCode status, string errorId)
    {
        var body = await ReadAsync(r);
        Assert.True(status == r.StatusCode, $"expected {(int)status}, got {(int)r.StatusCode}: {body}");
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        Assert.Equal(errorId, body.GetProperty("error_id").GetString());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("detail").GetString()));
        return body;
    }
}
