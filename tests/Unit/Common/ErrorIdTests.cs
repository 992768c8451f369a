using System.Reflection;
using System.Text.RegularExpressions;
using MessTools.Core.Common;
using MessTools.Tests.Infrastructure;

namespace MessTools.Tests.Unit.Common;

/// <summary>The error ids are a contract (scripts match <c>FullyQualifiedErrorId</c>, API clients <c>error_id</c>), so
/// they live in <see cref="MessErrorIds"/>: no engine or server source names one as a string literal, and every
/// constant listed is raised somewhere.</summary>
public class ErrorIdTests
{
    private static readonly Regex LiteralId = new(@"(MessException\(\s*""|""[A-Z][A-Za-z0-9]+""\s*,\s*(Common\.)?MessErrorKind\.)", RegexOptions.Compiled);

    private static IEnumerable<string> Sources() =>
        Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") &&
                        !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"));

    [Fact]
    public void No_source_names_an_error_id_as_a_string_literal()
    {
        var found = Sources()
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, i, line)))
            .Where(x => LiteralId.IsMatch(x.line))
            .Select(x => $"{Path.GetRelativePath(RepoPaths.Root, x.f)}:{x.i + 1}: {x.line.Trim()}")
            .ToList();
        Assert.True(found.Count == 0, "Name these ids by a MessErrorIds constant:\n" + string.Join("\n", found));
    }

    [Fact]
    public void Every_listed_id_is_its_own_name_and_is_raised_somewhere()
    {
        var ids = typeof(MessErrorIds).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (Name: f.Name, Value: (string)f.GetRawConstantValue()!)).ToList();
        Assert.True(ids.Count > 150, $"{ids.Count} ids");
        Assert.All(ids, id => Assert.Equal(id.Name, id.Value));
        string code = string.Concat(Sources().Where(f => !f.EndsWith("MessErrorIds.cs", StringComparison.Ordinal)).Select(File.ReadAllText));
        var unused = ids.Where(id => !code.Contains("MessErrorIds." + id.Name, StringComparison.Ordinal)).Select(id => id.Name).ToList();
        Assert.True(unused.Count == 0, "Listed but never raised: " + string.Join(", ", unused));
    }
}
