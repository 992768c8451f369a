using MessTools.Core.Artifacts;
using MessTools.Core.Catalog;
using MessTools.Core.Common;

namespace MessTools.Tests.Unit.Common;

/// <summary>Redaction by what a value is (issue 10, items 8 and 9), and errors that pass through it.</summary>
public class SecretRedactorTests
{
    public const string AwsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    public const string AwsKeyId = "AKIAIOSFODNN7EXAMPLE";

    public static TheoryData<string, string> Secrets => new()
    {
        // AWS keys, by what they look like, wherever they are.
        { $"$env:AWS_SECRET_ACCESS_KEY = '{AwsSecret}'; Get-MessAudio -Bucket b", AwsSecret },
        { "$env:AWS_SECRET_ACCESS_KEY = 'short-but-named-1'; Get-MessAudio", "short-but-named-1" },
        { "$env:AWS_SESSION_TOKEN=\"FwoGZXIvYXdzEBYaDH-token-value\"", "FwoGZXIvYXdzEBYaDH-token-value" },
        { $"$env:AWS_ACCESS_KEY_ID = '{AwsKeyId}'", AwsKeyId },
        { $"export AWS_SECRET_ACCESS_KEY={AwsSecret}", AwsSecret },
        { $"[Environment]::SetEnvironmentVariable('X', '{AwsSecret}')", AwsSecret },
        { "key ASIAZZZZZZZZZZZZZZZZ here", "ASIAZZZZZZZZZZZZZZZZ" },
        // -AsPlainText, wherever the plain text stands.
        { "$c = [pscredential]::new('u', (ConvertTo-SecureString 'plain-Pa55' -AsPlainText -Force)); Export-MessMetadata -Credential $c", "plain-Pa55" },
        { "ConvertTo-SecureString -String \"dq plain\" -AsPlainText -Force | Set-Variable s", "dq plain" },
        { "$s = ConvertTo-SecureString -AsPlainText -Force -String bareword123", "bareword123" },
        { "Get-Secret -Name db -AsPlainText 'x'; ConvertTo-SecureString 'it''s-quoted' -AsPlainText", "it''s-quoted" },
        // URL signatures and tokens.
        { "https://b.s3.amazonaws.com/k.wav?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abcdef0123456789deadbeef&X-Amz-Date=1", "abcdef0123456789deadbeef" },
        { "https://b.s3.amazonaws.com/k.wav?X-Amz-Security-Token=IQoJb3JpZ2luX2VjE%2Fsecret&X-Amz-Expires=60", "IQoJb3JpZ2luX2VjE%2Fsecret" },
        { "https://acct.blob.core.windows.net/c/a.wav?sv=2020&sig=Zm9vYmFyc2ln%3D&se=1", "Zm9vYmFyc2ln%3D" },
        { "https://host/a.wav?token=tok-12345", "tok-12345" },
        // Connection strings in every form, including an unterminated quote.
        { "Host=db;Username=u;Password=hunter2;Database=x", "hunter2" },
        { "Host=db;Password='Secret;Database=music", "Secret" },
        { "Host=db;Password='Secret;Database=music", "music" },
        { "Host=db;Password=\"unterminated dq", "unterminated dq" },
        { "Server=x;User ID=u;PWD='a;b''c';Database=d", "b''c" },
        { "Host=db; password = spaced-out ;Database=d", "spaced-out" },
        { "postgres://user:hunter2@host:5432/db", "hunter2" },
        { "postgresql://u:p%40ss@h/db?password=qpass", "qpass" },
        // Bearer and secret-named parameters.
        { "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9" },
        { "-SecretKey s3cr3tvalue -Region eu", "s3cr3tvalue" },
        { "-Password 'p w d'", "p w d" },
    };

    [Theory]
    [MemberData(nameof(Secrets))]
    public void Secrets_are_masked_by_what_they_are(string text, string secret)
    {
        string redacted = SecretRedactor.Redact(text);
        Assert.DoesNotContain(secret, redacted);
        Assert.Contains(SecretRedactor.Mask, redacted);
    }

    [Theory]
    [InlineData("Export-MessMetadata -Path ./catalog.sqlite -Table tracks -ArtifactPath ./artifacts/v1_model_builtin")]
    [InlineData("Host=db.example.com;Port=5432;Database=music;Username=reader")]
    [InlineData("s3://my-bucket/albums/op28/chopin-op28-4.wav")]
    [InlineData("sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08, sha1 a94a8fe5ccb19ba61c4c0873d391e987982fbbd3")]
    [InlineData("row 3 (track 'chopin-op28-4'): composer is empty")]
    public void Ordinary_text_is_left_alone(string text) => Assert.Equal(text, SecretRedactor.Redact(text));

    [Fact]
    public void A_mess_exception_redacts_its_message_target_and_inner_exception()
    {
        var inner = new ArgumentException("bad value near Password='Sekr3t;Database=music");
        var ex = new MessException("X", MessErrorKind.InvalidArgument, "failed for Password='Sekr3t;Database=music", "Host=h;Password='Sekr3t;Database=music", inner);
        Assert.DoesNotContain("Sekr3t", ex.ToString());
        Assert.DoesNotContain("Sekr3t", (string)ex.Target!);
        Assert.IsType<RedactedException>(ex.InnerException);
        Assert.Contains("ArgumentException", ex.InnerException!.Message);
        var clean = new InvalidOperationException("nothing secret");
        Assert.Same(clean, new MessException("X", MessErrorKind.InvalidData, "m", null, clean).InnerException);
    }

    [Fact]
    public void A_run_record_error_keeps_no_secret_of_an_unterminated_password()
    {
        using var tmp = new TempDir();
        var run = new RunRecord { Command = "Export-MessMetadata" };
        var ex = Assert.Throws<MessException>(() =>
            CatalogSourceFactory.OpenConnection("Host=127.0.0.1;Port=1;Password='Sekr3t;Database=music", "tracks", null));
        run.AddError(ex.ErrorId, ex.Message, ex.Target?.ToString());
        string json = File.ReadAllText(run.Save(new ArtifactStore(tmp.Path), "failed"));
        Assert.DoesNotContain("Sekr3t", json);
        Assert.DoesNotContain("Sekr3t", ex.ToString());
    }

    [Theory]
    [InlineData("postgres://u:TopPw-9@127.0.0.1:5x432/db", "5x432")]
    [InlineData("postgres://u:TopPw-9@127.0.0.1:99999/db", "99999")]
    [InlineData("postgres://u:TopPw-9@127.0.0.1:/db", "")]
    public void A_postgres_uri_with_a_bad_port_is_refused(string uri, string port)
    {
        var ex = Assert.Throws<MessException>(() => CatalogSourceFactory.OpenConnection(uri, "tracks", null));
        Assert.Equal("InvalidConnectionString", ex.ErrorId);
        Assert.Contains($"port '{port}'", ex.Message);
        Assert.DoesNotContain("TopPw-9", ex.ToString());
        Assert.DoesNotContain("TopPw-9", ex.Target?.ToString() ?? "");
    }

    [Fact]
    public void A_postgres_uri_keeps_its_port_and_options()
    {
        string cs = MessTools.Core.Database.PostgresConnection.ToNpgsql("postgres://u:p@db.example.com:6543/music?sslmode=require");
        var b = new Npgsql.NpgsqlConnectionStringBuilder(cs);
        Assert.Equal(6543, b.Port);
        Assert.Equal("music", b.Database);
        Assert.Equal(Npgsql.SslMode.Require, b.SslMode);
        Assert.Equal("InvalidConnectionString", Assert.Throws<MessException>(() => MessTools.Core.Database.PostgresConnection.ToNpgsql("postgres://h:5432/db?no_such_option=1")).ErrorId);
    }
}
