# Sharding benchmark (issue 14): the 62-track composer-dev set with the built-in model as 1 shard (one process) and as
# 2 shards (two processes at once), alternating, -Runs times; then the merge. Each child is a real `dotnet pwsh`
# process that times start-up, module import, model load, catalogue export and the work (fetch + standardise + embed).
# Run from the repository root after `dotnet publish src/MessTools.Cmdlets -c Release` and `dotnet tool restore`:
#   dotnet pwsh -NoProfile -File bench/Sharding/run-bench.ps1 [-Runs 3] [-AudioRoot <the demo's rendered audio, e.g. $env:TMPDIR/messtools-demo/audio>]
param([int] $Runs = 3, [string] $AudioRoot = (Join-Path ([IO.Path]::GetTempPath()) 'messtools-demo/audio'))
$ErrorActionPreference = 'Stop'
$repo = (Resolve-Path "$PSScriptRoot/../..").Path
$catalog = Join-Path $AudioRoot 'tracks_metadata.csv'
if (-not (Test-Path $catalog)) { Write-Warning "Skipped: $catalog does not exist (the rendered composer-dev set)."; return }
$version = (Import-PowerShellDataFile "$repo/module/MessTools.psd1").ModuleVersion
$module = "$repo/out/MessTools/$version/MessTools.psd1"
$child = Join-Path $PSScriptRoot 'shard-child.ps1'
$root = Join-Path ([IO.Path]::GetTempPath()) ("messbench-shards-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
New-Item -ItemType Directory -Path $root | Out-Null

function Start-Child([string] $Art, [int] $Index = -1, [int] $Count = -1) {
    $out = Join-Path $root ([guid]::NewGuid().ToString('N'))
    $argv = @('pwsh', '-NoProfile', '-NonInteractive', '-File', $child, '-Module', $module, '-Catalog', $catalog, '-AudioRoot', $AudioRoot,
        '-Art', $Art, '-Index', $Index, '-Count', $Count, '-LaunchTicks', [DateTime]::UtcNow.Ticks)
    $p = Start-Process dotnet -ArgumentList $argv -WorkingDirectory $repo -RedirectStandardOutput "$out.out" -RedirectStandardError "$out.err" -PassThru
    $p | Add-Member -NotePropertyName Out -NotePropertyValue $out -PassThru
}
function Wait-Child($p) {
    $p.WaitForExit()
    if ($p.ExitCode) { throw "child failed: $(Get-Content "$($p.Out).err" -Raw)" }
    Get-Content "$($p.Out).out" -Raw | ConvertFrom-Json
}
function Median([double[]] $x) { $s = $x | Sort-Object; if ($s.Count % 2) { $s[[int][Math]::Floor($s.Count / 2)] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 } }

$rows = [Collections.Generic.List[object]]::new()
for ($r = 1; $r -le $Runs; $r++) {
    # one shard: one process
    $art1 = Join-Path $root "r$r-one"
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $c = Wait-Child (Start-Child $art1)
    $rows.Add([pscustomobject]@{ run = $r; mode = '1 shard'; wall = $sw.Elapsed.TotalSeconds; merge = 0; children = @($c) })
    # two shards: two processes at once, then the merge in a third
    $art2 = Join-Path $root "r$r-two"
    $sw.Restart()
    $ps = 0, 1 | ForEach-Object { Start-Child $art2 $_ 2 }
    $cs = $ps | ForEach-Object { Wait-Child $_ }
    $shardWall = $sw.Elapsed.TotalSeconds
    $m = [Diagnostics.Stopwatch]::StartNew()
    $merge = & dotnet pwsh -NoProfile -NonInteractive -Command "Import-Module '$module'; `$s = [Diagnostics.Stopwatch]::StartNew(); Merge-MessEmbedding -Path '$art2/shards/*' -ArtifactPath '$art2' | Out-Null; `$s.Elapsed.TotalSeconds"
    $mergeProcess = $m.Elapsed.TotalSeconds
    foreach ($f in 'embeddings.f32', 'track_ids.json', 'embeddings_meta.json') {
        if ((Get-FileHash "$art1/embeddings/$f").Hash -ne (Get-FileHash "$art2/embeddings/$f").Hash) { throw "run $r : merged $f differs from the 1-shard run" }
    }
    $rows.Add([pscustomobject]@{ run = $r; mode = '2 shards'; wall = $shardWall + $mergeProcess; shardWall = $shardWall; merge = [double]$merge; mergeProcess = $mergeProcess; children = $cs })
    Write-Host ("run {0}: 1 shard {1:N1} s; 2 shards {2:N1} s + merge process {3:N1} s (merge itself {4:N2} s)" -f $r, $rows[-2].wall, $shardWall, $mergeProcess, [double]$merge)
}
$one = $rows | Where-Object mode -eq '1 shard'
$two = $rows | Where-Object mode -eq '2 shards'
$all = $rows | ForEach-Object { $_.children }
$summary = [ordered]@{
    runs = $Runs
    one_shard_wall_s = Median ($one.wall)
    two_shards_wall_s = Median ($two.shardWall)
    two_shards_plus_merge_s = Median ($two.wall)
    merge_cmdlet_s = Median ($two.merge)
    merge_process_s = Median ($two.mergeProcess)
    child_startup_s = Median ($all.startup)
    child_import_s = Median ($all.import)
    child_model_load_s = Median ($all.model)
    child_export_s = Median ($all.export)
    one_shard_work_s = Median ($one.children.work)
    two_shard_work_s_per_child = Median ($two.children.work)
    tracks = ($one.children.tracks | Select-Object -First 1)
    load_average = (Get-Content /proc/loadavg -ErrorAction SilentlyContinue)
}
$summary | ConvertTo-Json
Remove-Item -Recurse -Force $root -ErrorAction SilentlyContinue
