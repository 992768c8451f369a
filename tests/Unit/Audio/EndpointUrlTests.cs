using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Aws;
using MessTools.Core.Common;

namespace MessTools.Tests.Unit.Audio;

/// <summary>Issue 10, item 10: an endpoint read from a file or a secret store often ends with a newline.</summary>
[Collection("moto")]
public class EndpointUrlTests : IClassFixture<MotoFixture>
{
    private readonly MotoFixture _moto;
    public EndpointUrlTests(MotoFixture moto) => _moto = moto;

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData(" \t")]
    public async Task A_trailing_newline_in_the_endpoint_is_trimmed_and_the_fetch_works(string tail)
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        string bucket = "trim" + tail.Length + (tail[0] == ' ' ? "s" : "n");
        await S3Tests.Seed(_moto.Client, bucket, new[] { ("a/t1.mp3", S3Tests.Bytes(5000, 1)) });
        var options = new AudioFetchOptions { EndpointUrl = _moto.Server.Endpoint + tail, Retry = new RetryBackoff { MaxRetries = 0 } };
        Assert.Equal(_moto.Server.Endpoint, options.Connection.EndpointUrl); // trimmed where every S3 client is made
        options.Validate();
        using var fetcher = new AudioFetcher(store, options);
        var result = Assert.Single(S3Tests.Run(fetcher, new[] { S3Tests.Track("t1", $"s3://{bucket}/a/t1.mp3") }));
        Assert.Null(result.Error);
    }

    [Theory]
    [InlineData("http://127.0.0.1:9000\n/extra")]
    [InlineData("http://127.0.0.1 :9000")]
    [InlineData("http://127.0.0.1:9000/\u0000")]
    public void White_space_inside_the_endpoint_is_refused_clearly(string endpoint)
    {
        var ex = Assert.Throws<MessException>(() => new AudioFetchOptions { EndpointUrl = endpoint }.Validate());
        Assert.Equal("InvalidEndpointUrl", ex.ErrorId);
        Assert.Contains("white space or a control character", ex.Message);
    }
}
