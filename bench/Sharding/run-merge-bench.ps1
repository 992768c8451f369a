# Merge-MessEmbedding at scale: synthetic shards (bench/Sharding/make-synthetic-shards.py, the real shard format, numpy
# needed: /usr/bin/python3 here) of -Tracks rows x 620 dims in -Shards shards, merged -Runs times; prints the medians.
#   dotnet pwsh -NoProfile -File bench/Sharding/run-merge-bench.ps1 [-Tracks 100000] [-Shards 100] [-Runs 3]
param([int] $Tracks = 100000, [int] $Shards = 100, [int] $Runs = 3, [string] $Python = '/usr/bin/python3')
$ErrorActionPreference = 'Stop'
$repo = (Resolve-Path "$PSScriptRoot/../..").Path
$version = (Import-PowerShellDataFile "$repo/module/MessTools.psd1").ModuleVersion
Import-Module "$repo/out/MessTools/$version/MessTools.psd1"
$root = Join-Path ([IO.Path]::GetTempPath()) ("messbench-merge-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
& $Python "$PSScriptRoot/make-synthetic-shards.py" $root $Tracks $Shards
if ($LASTEXITCODE) { throw 'making the synthetic shards failed' }
$times = foreach ($r in 1..$Runs) {
    Remove-Item -Recurse -Force "$root/embeddings", "$root/runs" -ErrorAction SilentlyContinue
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $res = Merge-MessEmbedding -Path "$root/shards/*" -ArtifactPath $root -WarningAction SilentlyContinue
    $sw.Elapsed.TotalSeconds
    if ($res.Rows -ne $Tracks) { throw "merged $($res.Rows) rows, expected $Tracks" }
}
$s = $times | Sort-Object
[pscustomobject]@{ tracks = $Tracks; shards = $Shards; runs = ($times | ForEach-Object { [Math]::Round($_, 2) }) -join ', '
    median_s = $s[[int][Math]::Floor($s.Count / 2)]; peak_working_set_gb = [Math]::Round((Get-Process -Id $PID).PeakWorkingSet64 / 1GB, 2)
    load_average = (Get-Content /proc/loadavg) } | Format-List
Remove-Item -Recurse -Force $root -ErrorAction SilentlyContinue
