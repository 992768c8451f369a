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

    [Theory]
    [InlineData("Clara\u00A0Schumann")]            // no-break space (Zs)
    [InlineData("Clara \u2003 Schumann")]          // em space between spaces
    [InlineData("Clara\u2028Schumann\u0085")]      // line separator (Zl), NEL
    [InlineData("\u3000Clara\vSchumann\f")]       // ideographic space, vertical tab, form feed
    [InlineData("Clara  Schumann")]
    [InlineData("Clara \tSchumann")]
    [InlineData(" x ")]
    [InlineData("x")]
    [InlineData("Cl\u0061\u0301ra Schumann")]      // decomposed, single spaces
    [InlineData("Cl\u00E1ra\u200BSchumann")]       // zero-width space is not white space (Cf)
    public void White_space_and_NFC_are_the_rules_of_the_regex_they_replaced(string raw)
    {
        // The per-row fast path (no regex, no normalisation of ASCII or NFC text) gives what the \s+ regex over the NFC
        // form gave, for every kind of Unicode white space.
        string reference = System.Text.RegularExpressions.Regex.Replace(raw.Normalize(System.Text.NormalizationForm.FormC), @"\s+", " ").Trim();
        Assert.Equal(reference, new ComposerNormalizer().Normalize(raw));
    }

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
