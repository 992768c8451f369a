# One child of the sharding benchmark (bench/Sharding/run-bench.ps1): times its own phases and prints them as JSON.
param([string] $Module, [string] $Catalog, [string] $AudioRoot, [string] $Art, [int] $Index = -1, [int] $Count = -1, [long] $LaunchTicks)
$t1 = [DateTime]::UtcNow
$ErrorActionPreference = 'Stop'
$sw = [Diagnostics.Stopwatch]::StartNew()
Import-Module $Module
$import = $sw.Elapsed.TotalSeconds
# model load and cmdlet set-up: an empty pipeline into ConvertTo-MessEmbedding opens the model and writes nothing
$sw.Restart()
@() | ConvertTo-MessEmbedding -ArtifactPath (Join-Path $Art '.probe') -WarningAction SilentlyContinue | Out-Null
$model = $sw.Elapsed.TotalSeconds
$shard = @{ ArtifactPath = $Art }
if ($Index -ge 0) { $shard.ShardIndex = $Index; $shard.ShardCount = $Count }
$sw.Restart()
$tracks = @(Export-MessMetadata -Path $Catalog -ArtifactPath $Art)
$export = $sw.Elapsed.TotalSeconds
$sw.Restart()
$n = @($tracks | Get-MessAudio -AudioRoot $AudioRoot @shard | ConvertTo-MessEmbedding @shard).Count
$work = $sw.Elapsed.TotalSeconds
[pscustomobject]@{
    startup = ($t1 - [DateTime]::new($LaunchTicks, [DateTimeKind]::Utc)).TotalSeconds
    import = $import; model = $model; export = $export; work = $work; tracks = $n
} | ConvertTo-Json -Compress
