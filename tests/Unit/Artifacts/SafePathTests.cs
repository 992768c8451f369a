using MessTools.Core.Artifacts;
using MessTools.Core.Common;

namespace MessTools.Tests.Unit.Artifacts;

public class SafePathTests
{
    [Theory]
    [InlineData("../../etc/passwd", "path separator")]
    [InlineData("..", "relative folder")]
    [InlineData(".", "relative folder")]
    [InlineData("/etc/passwd", "path separator")]
    [InlineData("C:\\Windows", "not allowed")]
    [InlineData("C:", "not allowed")]
    [InlineData("a\\b", "path separator")]
    [InlineData("CON", "reserved device name")]
    [InlineData("nul.wav", "reserved device name")]
    [InlineData("com1", "reserved device name")]
    [InlineData("tab\there", "control character")]
    [InlineData("bell\u0007", "control character")]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData(" lead", "white space")]
    [InlineData("trail.", "ends with a dot")]
    [InlineData("a|b", "not allowed")]
    public void Unsafe_names_are_refused_with_the_reason(string value, string reason)
    {
        var problem = SafePath.Problem(value);
        Assert.NotNull(problem);
        Assert.Contains(reason, problem);
        var ex = Assert.Throws<MessException>(() => SafePath.RequireSegment(value, "Track id"));
        Assert.Equal("UnsafeName", ex.ErrorId);
        Assert.Contains("Track id", ex.Message);
    }

    [Theory]
    [InlineData("chopin-op28-4")]
    [InlineData("pmd-beethoven-beethoven-opus22-1")]
    [InlineData("Étude Op.10 No.3")]
    [InlineData("track_0001")]
    [InlineData("con-brio")]
    public void Ordinary_ids_are_accepted(string value) => Assert.Null(SafePath.Problem(value));

    [Fact]
    public void Combine_never_leaves_the_root()
    {
        using var tmp = new TempDir();
        Assert.Equal(Path.Combine(tmp.Path, "a", "b.wav"), SafePath.Combine(tmp.Path, "a", "b.wav"));
        Assert.Throws<MessException>(() => SafePath.Combine(tmp.Path, ".."));
        Assert.Throws<MessException>(() => SafePath.Combine(tmp.Path, "../x"));
    }

    [Fact]
    public void Artifact_store_paths_refuse_ids_that_escape()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp.Path);
        Assert.StartsWith(store.AudioCacheDir, store.AudioCachePath("album-1", "t1", ".MP3"));
        Assert.EndsWith("t1.mp3", store.AudioCachePath("album-1", "t1", "MP3"));
        var ex = Assert.Throws<MessException>(() => store.AudioCachePath("..", "t1", ".wav"));
        Assert.Contains("Album id", ex.Message);
        Assert.Throws<MessException>(() => store.WavPath("../../etc/passwd"));
        Assert.Throws<MessException>(() => store.AudioCachePath("a", "t1", "../x"));
    }

    [Theory]
    [InlineData("builtin", "v1_model_builtin")]
    [InlineData("msd-musicnn-1", "v1_model_msd-musicnn-1")]
    [InlineData("../evil model", "v1_model_evil-model")]
    [InlineData("", "v1_model_model")]
    public void Model_folder_names_are_safe(string model, string expected) =>
        Assert.Equal(expected, SafePath.ModelFolderName(model));

    [Fact]
    public void Default_artifact_path_is_env_then_model_folder()
    {
        using var tmp = new TempDir();
        string? old = Environment.GetEnvironmentVariable(ArtifactStore.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(ArtifactStore.EnvironmentVariable, null);
            Assert.Equal(Path.Combine(tmp.Path, "artifacts", "v1_model_builtin"), ArtifactStore.Resolve(null, tmp.Path).Root);
            Assert.Equal(Path.Combine(tmp.Path, "artifacts", "v1_model_tiny"), ArtifactStore.Resolve(null, tmp.Path, "tiny").Root);
            Environment.SetEnvironmentVariable(ArtifactStore.EnvironmentVariable, "from-env");
            Assert.Equal(Path.Combine(tmp.Path, "from-env"), ArtifactStore.Resolve(null, tmp.Path).Root);
            Assert.Equal(Path.Combine(tmp.Path, "explicit"), ArtifactStore.Resolve("explicit", tmp.Path).Root);
        }
        finally { Environment.SetEnvironmentVariable(ArtifactStore.EnvironmentVariable, old); }
    }
}
