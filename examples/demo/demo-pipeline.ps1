<#
.SYNOPSIS
    The whole MessTools pipeline on one catalogue: export, fetch and standardise, embed, index, evaluate, query.
.DESCRIPTION
    What examples/demo/run-demo.sh runs on the demo catalogue; point it at your own catalogue the same way.
    Written with Microsoft.PowerShell.Core cmdlets and .NET calls only, so it also runs in tools/MessHost.
    Re-running it is cheap: cached audio, standardised WAVs and embeddings of unchanged tracks are reused.
.EXAMPLE
    ./examples/demo/demo-pipeline.ps1 -Catalog ./catalog.sqlite -AudioRoot ./audio -ArtifactPath ./artifacts/v1_model_builtin
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $Catalog,
    [string] $Table = 'tracks',
    [string] $AudioRoot = '.',
    [string] $ArtifactPath = './artifacts/v1_model_builtin',
    [string] $ModulePath = 'MessTools',
    [string] $QueryTrackId
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath

$clock = [System.Diagnostics.Stopwatch]::StartNew()
function Step([string] $text) { '[{0,6:N1} s] {1}' -f $clock.Elapsed.TotalSeconds, $text | Out-Host }

Step "1-4. Export-MessMetadata | Get-MessAudio | ConvertTo-MessEmbedding | New-MessIndex"
$index = Export-MessMetadata -Path $Catalog -Table $Table -ArtifactPath $ArtifactPath |
    Get-MessAudio -AudioRoot $AudioRoot -ArtifactPath $ArtifactPath |
    ConvertTo-MessEmbedding -ArtifactPath $ArtifactPath |
    New-MessIndex -ArtifactPath $ArtifactPath
$index | Out-Host

Step "5. Invoke-MessEvaluation: Composer Retrieval, K = 5 (and with same-album neighbours excluded)"
$evaluation = Invoke-MessEvaluation -ArtifactPath $ArtifactPath -K 5
$evaluation | Out-Host
foreach ($e in $evaluation) {
    $mode = if ($e.ExcludeSameAlbum) { 'excluded' } else { 'included' }
    "Per composer, same-album neighbours $($mode):" | Out-Host
    $e.PerComposer | Out-Host
}
Step "   report: $([IO.Path]::Combine($ArtifactPath, 'eval', 'report.html'))"

if (-not $QueryTrackId) {
    $ids = [System.Text.Json.JsonSerializer]::Deserialize[string[]]([IO.File]::ReadAllText([IO.Path]::Combine($ArtifactPath, 'embeddings', 'track_ids.json')))
    $QueryTrackId = @($ids | Where-Object { $_ -like '*chopin*' })[0]
    if (-not $QueryTrackId) { $QueryTrackId = $ids[0] }
}
Step "6. Find-MessNeighbor -TrackId $QueryTrackId -K 5"
Find-MessNeighbor -TrackId $QueryTrackId -K 5 -ArtifactPath $ArtifactPath | Out-Host

Step "7. Measure-MessEmbedding: dimensionality, hubness, composer geometry, clusters (K = 5)"
$analysis = Measure-MessEmbedding -ArtifactPath $ArtifactPath -K 5
$analysis | Out-Host
$analysis.TopHubs | Select-Object -First 3 | Out-Host
Step "   report: $([IO.Path]::Combine($ArtifactPath, 'analysis', 'analysis.html'))"
Step "done"
