# One cold run in real pwsh (a new process): Import-Module of the staged module, then the first Find-MessNeighbor on
# ART; wall times and what the JIT compiled in each phase (methods, ms: figures a busy machine does not change).
#   dotnet pwsh -NoProfile -File bench/IndexBench/ColdStart/pwsh-once.ps1 /tmp/idx_cold_art
param([Parameter(Mandatory)] [string] $ArtifactPath)
$manifest = Get-ChildItem (Join-Path $PSScriptRoot '../../../out/MessTools') -Recurse -Filter MessTools.psd1 | Select-Object -First 1
function Jit { [pscustomobject]@{ N = [System.Runtime.JitInfo]::GetCompiledMethodCount($false); Ms = [System.Runtime.JitInfo]::GetCompilationTime($false).TotalMilliseconds } }
$j0 = Jit; $sw = [System.Diagnostics.Stopwatch]::StartNew()
Import-Module $manifest.FullName -ErrorAction Stop
$import = $sw.Elapsed.TotalMilliseconds; $j1 = Jit; $sw.Restart()
$r = @(Find-MessNeighbor -TrackId trk004242 -K 5 -ArtifactPath $ArtifactPath)
$query = $sw.Elapsed.TotalMilliseconds; $j2 = Jit
if ($r.Count -ne 5) { throw "expected 5 neighbours, got $($r.Count)" }
[ordered]@{ import_ms = [math]::Round($import); first_query_ms = [math]::Round($query); import_and_query_ms = [math]::Round($import + $query)
    import_jit_methods = $j1.N - $j0.N; import_jit_ms = [math]::Round($j1.Ms - $j0.Ms); query_jit_methods = $j2.N - $j1.N; query_jit_ms = [math]::Round($j2.Ms - $j1.Ms) } | ConvertTo-Json -Compress
