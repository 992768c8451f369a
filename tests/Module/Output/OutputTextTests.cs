using System.Management.Automation;
using System.Text.RegularExpressions;
using MessTools.Tests.Module.Audio;
using MessTools.Tests.Module.Evaluation;
using MessTools.Tests.Module.Infrastructure;
using MessTools.Tests.Module.Sharding;

namespace MessTools.Tests.Module.Output;

/// <summary>
/// Issue 20 item 1 in a hosted runspace: every output type of every cmdlet, made from the suites' small real fixtures,
/// printed through Out-String -Width 80 alone, in Format-List, and several types in one script's output (after the first
/// type's table PowerShell prints the others as lists): never a .NET type name, never a line over 80 columns.
/// </summary>
[Collection("moto-module")]
public class OutputTextTests : IClassFixture<GetMessAudioTests.Moto>
{
    private static readonly Regex TypeName = new(@"(System|MessTools|Microsoft)\.[A-Z][A-Za-z0-9]*|`\d", RegexOptions.CultureInvariant);
    private readonly GetMessAudioTests.Moto _moto;
    public OutputTextTests(GetMessAudioTests.Moto moto) => _moto = moto;

    private static void AssertReadable(string text, string what)
    {
        var m = TypeName.Match(text);
        Assert.False(m.Success, $"{what} prints the type name '{m.Value}':\n{text}");
        foreach (var line in text.Split('\n'))
            Assert.True(line.TrimEnd('\r').Length <= 80, $"{what} prints a line of {line.TrimEnd('\r').Length} columns: '{line}'\n{text}");
    }

    [Fact]
    public void EveryOutputType_PrintsReadably_AloneMixedAndInFormatList()
    {
        using var tmp = new TempDir();
        using var ps = new ModuleRunspace(tmp.Path);
        InvokeMessEvaluationTests.MakeArtifacts(ps, tmp["art"]);
        InvokeMessEvaluationTests.MakeArtifacts(ps, tmp["other"], dim: 12, seed: 4);
        string tones = MergeMessEmbeddingTests.Tracks(tmp);
        string bucket = "output-" + Guid.NewGuid().ToString("N")[..8];
        _moto.Server.CreateBucket(bucket);

        // Each sample in a global variable, by its type's name; a script prints them below.
        ps.InvokeClean($@"
            $global:samples = [ordered]@{{}}
            $global:samples['MessTools.MessTrack'] = @(Export-MessMetadata -Path art.csv -ArtifactPath art | Select-Object -First 3)
            $global:samples['MessTools.MessIndexInfo'] = @(New-MessIndex -ArtifactPath art -Type Flat)
            $global:samples['MessTools.NeighborResult'] = @(Find-MessNeighbor -ArtifactPath art -TrackId c0a0t0 -K 3)
            $global:samples['System.String'] = @(Find-MessNeighbor -ArtifactPath art -TrackId c0a0t0 -K 2 -AsJson)
            $global:samples['MessTools.EvaluationResult'] = @(Invoke-MessEvaluation -ArtifactPath art -K 5 -SampleCount 0)
            $global:samples['MessTools.ComposerEvaluation'] = @($global:samples['MessTools.EvaluationResult'][0].PerComposer)
            $global:samples['MessTools.EvaluationComparison'] = @(Invoke-MessEvaluation -ArtifactPath art -Compare other -K 5 -SampleCount 0 -BootstrapCount 50 -PermutationCount 49 |
                Where-Object {{ $_.GetType().Name -eq 'EvaluationComparison' }})
            $global:samples['MessTools.EmbeddingAnalysis'] = @(Measure-MessEmbedding -ArtifactPath art -Compare other -K 5 -Clusters 8)
            foreach ($i in 0, 1) {{ $null = {tones} | ConvertTo-MessEmbedding -ArtifactPath sharded -ShardIndex $i -ShardCount 2 }}
            $global:samples['MessTools.ShardMergeResult'] = @(Merge-MessEmbedding -Path sharded/shards -ArtifactPath merged -WarningAction SilentlyContinue)
            $global:samples['MessTools.Core.Publishing.PublishResult'] = @(Publish-MessArtifact -ArtifactPath art -Bucket {bucket} -EndpointUrl $ep -Model builtin)
            $global:samples['MessTools.Core.Publishing.ArtifactVersionInfo'] = @(Get-MessArtifactVersion -Bucket {bucket} -EndpointUrl $ep)
            $global:samples['MessTools.Core.Publishing.ImportResult'] = @(Import-MessArtifact -Bucket {bucket} -EndpointUrl $ep -Model builtin -ArtifactPath imported)",
            ("ep", _moto.Server.Endpoint));

        // Every declared output type is sampled (VectorPublishResult needs pgvector: the Pester file prints one).
        var declared = ps.InvokeClean("Get-Command -Module MessTools -CommandType Cmdlet | ForEach-Object { $_.OutputType.Type.FullName } | Sort-Object -Unique")
            .Select(o => o.BaseObject.ToString()!).ToList();
        var sampled = ps.InvokeClean("$global:samples.Keys").Select(o => o.BaseObject.ToString()!).ToList();
        foreach (var t in declared.Where(t => t is not "System.IO.FileSystemInfo" and not "MessTools.VectorPublishResult"))
            Assert.Contains(t, sampled);

        foreach (var t in sampled)
        {
            AssertReadable(Text(ps, "$global:samples[$t] | Out-String -Width 80", t), t + " alone");
            AssertReadable(Text(ps, "$global:samples[$t] | Format-List | Out-String -Width 80", t), t + " | Format-List");
            // the script's output: this type first (its table), then every type (after that table, as lists)
            AssertReadable(Text(ps, "& { $global:samples[$t]; $global:samples.Values | ForEach-Object { $_ } } | Out-String -Width 80", t),
                "a script's mixed output starting with " + t);
        }

        // The figures a reader wants, nested ones as text; arrays left to Select-Object *.
        string evaluation = Text(ps, "& { $global:samples['MessTools.MessIndexInfo']; $global:samples['MessTools.EvaluationResult'] } | Out-String -Width 80", "");
        Assert.Matches(@"ConfusionTop1\s+: \{\[Composer 0, Composer 0 \d+", evaluation);
        Assert.Matches(@"PerComposer\s+: \{Composer 0: P@K=", evaluation);
        string analysis = Text(ps, "& { $global:samples['MessTools.MessIndexInfo']; $global:samples['MessTools.EmbeddingAnalysis'] } | Out-String -Width 80", "");
        Assert.Matches(@"PerComposer\s+: \{Composer 0: 12 tracks, within", analysis);
        Assert.DoesNotContain("ScatterXY", analysis);
        Assert.DoesNotContain("ClusterOfTrack", analysis);
        string neighbours = Text(ps, "& { $global:samples['MessTools.MessIndexInfo']; $global:samples['MessTools.NeighborResult'] } | Out-String -Width 80", "");
        Assert.Equal(3, Regex.Matches(neighbours, @"^Neighbor : #\d c\da\dt\d \(Composer \d\) \d\.\d{4}\r?$", RegexOptions.Multiline).Count);
    }

    private static string Text(ModuleRunspace ps, string script, string type) =>
        string.Concat(ps.InvokeClean(script, ("t", type)).Select(o => o.BaseObject.ToString()));
}
