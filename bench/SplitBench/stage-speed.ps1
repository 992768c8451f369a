#!/usr/bin/env pwsh
# The whole Split-MessAudio stage's speed (issue 23: >= 500x real time on 2 cores): the seeded test works of SplitBench
# (`works` mode) go through Export-MessMetadata | Get-MessAudio into a fresh folder each round (not timed), then
# Split-MessAudio alone is timed: reading the standardised WAVs, finding the boundaries, writing the movement WAVs,
# segments.csv and the run record. Prints audio seconds per wall second and per CPU second, and `uptime`, per round.
# Run from the repository after ./build.ps1 (the module in out/); take figures on a quiet machine:
#   dotnet pwsh bench/SplitBench/stage-speed.ps1 [-AudioRoot /work/demo-base/audio] [-Seed 1] [-Rounds 3]
param([string] $Out = '/tmp/splitbench-stage', [string] $AudioRoot = '/work/demo-base/audio', [int] $Seed = 1, [int] $Rounds = 3)
$ErrorActionPreference = 'Stop'
$repo = Resolve-Path (Join-Path $PSScriptRoot '../..')
Import-Module (Get-ChildItem (Join-Path $repo 'out/MessTools/*/MessTools.psd1') | Select-Object -First 1).FullName
if (Test-Path $Out) { Remove-Item -Recurse -Force $Out }
& dotnet run -c Release --project (Join-Path $PSScriptRoot 'SplitBench.csproj') -- works $Out $AudioRoot $Seed | Out-Null
if ($LASTEXITCODE) { throw 'SplitBench works failed' }
$works = Import-Csv (Join-Path $Out 'works_metadata.csv')
$audio = ($works | Measure-Object -Property duration_sec -Sum).Sum
$me = [System.Diagnostics.Process]::GetCurrentProcess()
$results = foreach ($r in 1..$Rounds) {
    $art = Join-Path $Out "round$r"
    $tracks = @(Export-MessMetadata -Path (Join-Path $Out 'works_metadata.csv') -ArtifactPath $art | Get-MessAudio)
    $uptime = (& uptime).Trim()
    $me.Refresh(); $cpu0 = $me.TotalProcessorTime.TotalSeconds
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $movements = @($tracks | Split-MessAudio)
    $wall = $sw.Elapsed.TotalSeconds
    $me.Refresh(); $cpu = $me.TotalProcessorTime.TotalSeconds - $cpu0
    [pscustomobject]@{ Round = $r; Works = $tracks.Count; Movements = $movements.Count; AudioSeconds = [math]::Round($audio)
        WallSeconds = [math]::Round($wall, 2); XRealTime = [math]::Round($audio / $wall); AudioPerCpuSecond = [math]::Round($audio / $cpu); Uptime = $uptime }
}
$results | Format-List | Out-String | Write-Host
$x = @($results.XRealTime | Sort-Object)
Write-Host "median x real time, whole Split-MessAudio stage on $([Environment]::ProcessorCount) cores: $($x[[int][math]::Floor($x.Count / 2)])"
