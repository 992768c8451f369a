using MessTools.Core.Catalog;
using MessTools.Core.Common;

namespace MessTools.Tests.Unit.Catalog;

public class ComposerNormalizerTests
{
    [Theory]
    [InlineData("  Frédéric   Chopin ", "Frédéric Chopin")]
    [InlineData("Chopin, Frédéric", "Frédéric Chopin")]
    [InlineData("Bach, J. S.", "J. S. Bach")]
    [InlineData("Fre\u0301de\u0301ric Chopin", "Frédéric Chopin")] // decomposed accents become NFC
    [InlineData("Mozart", "Mozart")]
    [InlineData("a, b, c", "a, b, c")] // two commas: not a 'Last, First' name
    [InlineData("\tLiszt\n", "Liszt")]
    [InlineData(null, "")]
    [InlineData("   ", "")]
    public void Standardises_spelling(string? raw, string expected) =>
        Assert.Equal(expected, new ComposerNormalizer().Normalize(raw));

    [Fact]
    public void Decomposed_input_is_NFC_afterwards()
    {
        string result = new ComposerNormalizer().Normalize("Dvor\u030ca\u0301k");
        Assert.True(result.IsNormalized(System.Text.NormalizationForm.FormC));
        Assert.Equal("Dvořák", result);
    }

    [Fact]
    public void Alias_map_applies_after_the_other_rules()
    {
        var n = new ComposerNormalizer(new Dictionary<string, string> { ["Rachmaninov"] = "Rachmaninoff", ["Sergei Rachmaninov"] = "Rachmaninoff" });
        Assert.Equal("Rachmaninoff", n.Normalize("rachmaninov"));
        Assert.Equal("Rachmaninoff", n.Normalize("Rachmaninov, Sergei"));
        Assert.Equal("Rachmaninoff", n.Normalize("  Sergei  Rachmaninov"));
    }

    [Fact]
    public void Alias_with_an_empty_side_is_refused() =>
        Assert.Equal("EmptyComposerAlias",
            Assert.Throws<MessException>(() => new ComposerNormalizer(new Dictionary<string, string> { ["x"] = " " })).ErrorId);
}
