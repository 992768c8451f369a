#!/usr/bin/env pwsh
# Composer Retrieval on split works vs the original movement files (issue 23): the works SplitBench builds (seeded
# pauses and attacca joins) go through Get-MessAudio | Split-MessAudio | ConvertTo-MessEmbedding and Invoke-MessEvaluation;
# the original movement files, under the same ids (<work>-m<n>) and albums, through the same stages without the split.
# Run from the repository after ./build.ps1 (the module in out/):
#   dotnet pwsh bench/SplitBench/retrieval.ps1 [-Out /tmp/splitbench-retrieval] [-AudioRoot /work/demo-base/audio] [-Seed 1]
param([string] $Out = '/tmp/splitbench-retrieval', [string] $AudioRoot = '/work/demo-base/audio', [int] $Seed = 1)
$ErrorActionPreference = 'Stop'
$repo = Resolve-Path (Join-Path $PSScriptRoot '../..')
Import-Module (Get-ChildItem (Join-Path $repo 'out/MessTools/*/MessTools.psd1') | Select-Object -First 1).FullName
if (Test-Path $Out) { Remove-Item -Recurse -Force $Out }
& dotnet run -c Release --project (Join-Path $PSScriptRoot 'SplitBench.csproj') -- works $Out $AudioRoot $Seed
if ($LASTEXITCODE) { throw 'SplitBench works failed' }

$split = Export-MessMetadata -Path (Join-Path $Out 'works_metadata.csv') -ArtifactPath (Join-Path $Out 'split') |
    Get-MessAudio | Split-MessAudio | ConvertTo-MessEmbedding
$orig = Export-MessMetadata -Path (Join-Path $Out 'movements_metadata.csv') -ArtifactPath (Join-Path $Out 'originals') |
    Get-MessAudio | ConvertTo-MessEmbedding
$a = Invoke-MessEvaluation -ArtifactPath (Join-Path $Out 'split')
$b = Invoke-MessEvaluation -ArtifactPath (Join-Path $Out 'originals')
$truth = @(Import-Csv (Join-Path $Out 'movements_metadata.csv')).Count
Write-Host "split works: $(@($split).Count) tracks out of Split-MessAudio for $truth true movements"
@(foreach ($r in @($a)) { $r | Select-Object @{ n = 'Set'; e = { 'split works' } }, ExcludeSameAlbum, Queries, PrecisionAtK, HitRateAtK, NdcgAtK }
  foreach ($r in @($b)) { $r | Select-Object @{ n = 'Set'; e = { 'original movements' } }, ExcludeSameAlbum, Queries, PrecisionAtK, HitRateAtK, NdcgAtK }) |
    Format-Table -AutoSize | Out-String | Write-Host
