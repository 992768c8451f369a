using MessTools.Core.Common;

namespace MessTools.Tests.Unit.Common;

/// <summary>PowerShell wildcard semantics without PowerShell (Find-MessNeighbor -Composer and the server's composer filter).</summary>
public class WildcardTests
{
    [Theory]
    [InlineData("Ch*", "Chopin", true)]
    [InlineData("ch*", "Chopin", true)]
    [InlineData("*in", "Chopin", true)]
    [InlineData("Ch?pin", "Chopin", true)]
    [InlineData("Ch?pin", "Choopin", false)]
    [InlineData("R[a-c]*", "Rachmaninoff", true)]
    [InlineData("R[b-z]*", "Rachmaninoff", false)]
    [InlineData("Chopin", "Chopin Jr", false)]
    [InlineData("a.b", "axb", false)]
    [InlineData("a+(b)", "a+(b)", true)]
    [InlineData("`*star", "*star", true)]
    [InlineData("`*star", "xstar", false)]
    [InlineData("[", "[", true)]
    [InlineData("*", "", true)]
    public void Matches_like_PowerShell(string pattern, string value, bool expected) =>
        Assert.Equal(expected, new Wildcard(pattern).IsMatch(value));

    [Fact]
    public void Expand_returns_the_matching_names_and_the_patterns_that_matched_none()
    {
        var unmatched = new List<string>();
        var chosen = Wildcard.Expand(new[] { "Chopin", "Liszt", "Ravel", "Rachmaninoff" }, new[] { "ra*", "liszt", "Bach*" }, unmatched);
        Assert.Equal(new[] { "Liszt", "Rachmaninoff", "Ravel" }, chosen.Order().ToArray());
        Assert.Equal(new[] { "Bach*" }, unmatched);
        Assert.Contains("RAVEL", chosen); // case-insensitive set
    }

    [Theory]
    [InlineData("[z-a]")]
    [InlineData("Bach[9-0]*")]
    public void A_pattern_the_regex_engine_refuses_is_an_invalid_argument_naming_it(string pattern)
    {
        var ex = Assert.Throws<MessTools.Core.Common.MessException>(() => new Wildcard(pattern));
        Assert.Equal("InvalidWildcardPattern", ex.ErrorId);
        Assert.Equal(MessTools.Core.Common.MessErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains(pattern, ex.Message);
    }
}
