#Requires -Version 7.4
<#
.SYNOPSIS
    The whole MessTools pipeline on one catalogue: export, fetch and standardise, embed, index, evaluate, query.
.DESCRIPTION
    What examples/demo/run-demo.sh runs in pwsh on the demo catalogue; point it at your own catalogue the same way.
    Prints a line as each stage moves on (Write-Progress is not shown when pwsh runs non-interactively).
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
Set-StrictMode -Version Latest
# Plain text when the output goes to a log (a runbook, CI), not colour escape codes.
if ([Console]::IsOutputRedirected) { $PSStyle.OutputRendering = 'PlainText' }
Import-Module $ModulePath

$clock = [System.Diagnostics.Stopwatch]::StartNew()
function Step([string] $text) { '[{0,6:N1} s] {1}' -f $clock.Elapsed.TotalSeconds, $text | Out-Host }
# Passes tracks on unchanged and says every $Every of them how far a stage has come.
function Show-Count([string] $What, [int] $Every = 10) {
    begin { $n = 0 }
    process { $n++; if ($n % $Every -eq 0) { Step "   $n tracks $What" }; $_ }
    end { Step "   $n tracks $What" }
}

Step "1-4. Export-MessMetadata | Get-MessAudio | ConvertTo-MessEmbedding | New-MessIndex"
$index = Export-MessMetadata -Path $Catalog -Table $Table -ArtifactPath $ArtifactPath |
    Get-MessAudio -AudioRoot $AudioRoot -ArtifactPath $ArtifactPath |
    Show-Count 'fetched and standardised' |
    ConvertTo-MessEmbedding -ArtifactPath $ArtifactPath |
    Show-Count 'embedded' |
    New-MessIndex -ArtifactPath $ArtifactPath
$index | Format-List | Out-Host

Step "5. Invoke-MessEvaluation: Composer Retrieval, K = 5 (and with same-album neighbours excluded)"
$evaluation = Invoke-MessEvaluation -ArtifactPath $ArtifactPath -K 5
$evaluation | Format-Table | Out-Host
foreach ($e in $evaluation) {
    $mode = if ($e.ExcludeSameAlbum) { 'excluded' } else { 'included' }
    "Per composer, same-album neighbours $($mode):" | Out-Host
    $e.PerComposer | Format-Table | Out-Host
}
Step "   report: $(Join-Path $ArtifactPath 'eval/report.html')"

if (-not $QueryTrackId) {
    $ids = Get-Content -Raw (Join-Path $ArtifactPath 'embeddings/track_ids.json') | ConvertFrom-Json
    $QueryTrackId = @($ids | Where-Object { $_ -like '*chopin*' })[0]
    if (-not $QueryTrackId) { $QueryTrackId = $ids[0] }
}
Step "6. Find-MessNeighbor -TrackId $QueryTrackId -K 5 -ExcludeSameAlbum"
Find-MessNeighbor -TrackId $QueryTrackId -K 5 -ExcludeSameAlbum -ArtifactPath $ArtifactPath | Format-Table | Out-Host

Step "7. Measure-MessEmbedding: dimensionality, hubness, composer geometry, clusters (K = 5)"
$analysis = Measure-MessEmbedding -ArtifactPath $ArtifactPath -K 5
$analysis | Out-Host
$analysis.TopHubs | Select-Object -First 3 | Format-Table | Out-Host
Step "   report: $(Join-Path $ArtifactPath 'analysis/analysis.html')"
Step "done"
