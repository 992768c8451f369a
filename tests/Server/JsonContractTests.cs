using System.Net.Http.Json;
using System.Text.Json;
using MessTools.Server.Api;
using MessTools.Tests.Server.Infrastructure;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MessTools.Tests.Server;

/// <summary>
/// The busy routes' responses are written by source-generated JSON metadata (ServerJsonContext, first in the resolver
/// chain); their bytes must be the ones the reflection serializer wrote before: each body read back into its type and
/// written again by reflection-only options of the same policy gives the same text.
/// </summary>
[Collection("artifacts")]
public sealed class JsonContractTests(ArtifactsFixture art)
{
    private static readonly JsonSerializerOptions Reflection = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
    };

    private static async Task Same<T>(HttpResponseMessage r)
    {
        string body = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, body);
        var value = JsonSerializer.Deserialize<T>(body, Reflection);
        Assert.Equal(JsonSerializer.Serialize(value, Reflection), body);
    }

    [Fact]
    public async Task The_source_generated_responses_are_byte_for_byte_the_reflection_serializers()
    {
        await using var f = ServerFactory.For(art.Builtin.Root);
        var c = await f.ReadyClientAsync();
        var options = f.Services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        // Ahead of the reflection resolver (the OpenAPI package puts its own context, for its own types, before it).
        Assert.Contains(options.TypeInfoResolverChain, r => r is ServerJsonContext);
        Assert.IsNotType<System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver>(options.TypeInfoResolverChain[0]);

        await Same<NearestResponse>(await c.GetAsync("/tracks/trk-001/nearest?k=5"));
        await Same<NearestResponse>(await c.GetAsync("/tracks/trk-002/nearest?k=3&exact=true&excludeSameAlbum=true"));
        await Same<SearchResponse>(await c.PostAsJsonAsync("/search", new { track_ids = new[] { "trk-001", "trk-003" }, k = 4 }));
        await Same<TrackPage>(await c.GetAsync("/tracks?limit=3&offset=2"));
        await Same<ComposerEvalResponse>(await c.GetAsync("/tracks/trk-001/composer-eval?k=5"));
        await Same<ReadyResponse>(await c.GetAsync("/readyz"));
        await Same<LiveResponse>(await c.GetAsync("/livez"));
    }
}
