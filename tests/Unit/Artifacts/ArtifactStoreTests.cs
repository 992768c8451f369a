using MessTools.Core.Artifacts;

namespace MessTools.Tests.Unit.Artifacts;

public class ArtifactStoreTests
{
    [Theory]
    [InlineData("/w/sub", "builtin", "/w/sub")]                                          // a folder the user named keeps every model
    [InlineData("/w/artifacts/v1_model_builtin", "builtin", "/w/artifacts/v1_model_builtin")]
    [InlineData("/w/artifacts/v1_model_builtin", "msd-musicnn-1", "/w/artifacts/v1_model_msd-musicnn-1")] // another model's default folder: its own sibling
    [InlineData("/w/artifacts/v1_model_builtin/", "my model", "/w/artifacts/v1_model_my-model")]
    public void The_folder_of_piped_tracks_is_kept_unless_it_is_another_models_default(string tracks, string model, string expected) =>
        Assert.Equal(expected, ArtifactStore.FolderForModel(tracks, model));
}
