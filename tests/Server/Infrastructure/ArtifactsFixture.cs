using MessTools.Core.Artifacts;

namespace MessTools.Tests.Server.Infrastructure;

/// <summary>Two model folders under one root (builtin: 62 tracks x 24 dims, evaluated; other: 30 x 8, not evaluated).</summary>
public sealed class ArtifactsFixture : IDisposable
{
    private readonly TempDir _tmp = new();
    public string Root => _tmp.Path;
    public ArtifactStore Builtin { get; }
    public ArtifactStore Other { get; }

    public ArtifactsFixture()
    {
        Builtin = ServerArtifacts.Write(Root, "builtin");
        Other = ServerArtifacts.Write(Root, "other", n: 30, dim: 8, seed: 3, evaluate: false);
    }

    public void Dispose() => _tmp.Dispose();
}

[CollectionDefinition("artifacts")]
public sealed class ArtifactsCollection : ICollectionFixture<ArtifactsFixture>;
