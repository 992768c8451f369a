# Shared by the Pester tests (dot-source it in BeforeAll): import the staged module (out/MessTools/<version>/), never a
# build folder, and the small data makers the tests share. Nothing here runs at discovery.
Set-StrictMode -Version Latest
$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$manifestData = Import-PowerShellDataFile (Join-Path $script:RepoRoot 'module/MessTools.psd1')
$script:ModuleManifest = Join-Path $script:RepoRoot "out/MessTools/$($manifestData.ModuleVersion)/MessTools.psd1"
if (-not (Test-Path $script:ModuleManifest)) {
    throw "The module is not staged at $script:ModuleManifest: run 'dotnet publish src/MessTools.Cmdlets -c Release' first."
}
Import-Module $script:ModuleManifest -Force

# A fresh folder under the temp path; the caller removes it.
function New-TestFolder([string] $Prefix = 'messpester') {
    $dir = Join-Path ([IO.Path]::GetTempPath()) ("$Prefix-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path $dir | Out-Null
    $dir
}

# A 16-bit PCM mono sine WAV written without ffmpeg.
function New-ToneWav([string] $Path, [double] $Frequency, [int] $Rate = 24000, [double] $Seconds = 2.5) {
    $n = [int]($Rate * $Seconds)
    $ms = [IO.MemoryStream]::new()
    $w = [IO.BinaryWriter]::new($ms)
    $w.Write([Text.Encoding]::ASCII.GetBytes('RIFF')); $w.Write([int](36 + 2 * $n))
    $w.Write([Text.Encoding]::ASCII.GetBytes('WAVEfmt ')); $w.Write([int]16); $w.Write([int16]1); $w.Write([int16]1)
    $w.Write([int]$Rate); $w.Write([int]($Rate * 2)); $w.Write([int16]2); $w.Write([int16]16)
    $w.Write([Text.Encoding]::ASCII.GetBytes('data')); $w.Write([int](2 * $n))
    for ($i = 0; $i -lt $n; $i++) {
        $x = 0.3 * [math]::Sin(2 * [math]::PI * $Frequency * $i / $Rate) + 0.1 * [math]::Sin(2 * [math]::PI * 3.1 * $Frequency * $i / $Rate)
        $w.Write([int16][math]::Round($x * 32767))
    }
    New-Item -ItemType Directory -Force -Path (Split-Path $Path) | Out-Null
    [IO.File]::WriteAllBytes($Path, $ms.ToArray())
}

# 8 composers x 3 albums x 4 tracks, each composer's vectors around a direction of its own; -Skip leaves out
# the first tracks (a second model that holds fewer tracks).
function New-AnalysisArtifacts([string] $Folder, [int] $Dim = 16, [int] $Seed = 1, [int] $Skip = 0) {
    $rng = [System.Random]::new($Seed)
    $lines = [System.Collections.Generic.List[string]]::new(); $lines.Add('track_id,album_id,composer,audio_s3_key')
    $ids = [System.Collections.Generic.List[string]]::new()
    $values = [System.Collections.Generic.List[float]]::new()
    $i = 0
    foreach ($c in 0..7) { foreach ($a in 0..2) { foreach ($t in 0..3) {
        $id = "c${c}a${a}t${t}"
        $lines.Add("$id,alb${c}_$a,Composer $c,s3://bucket/$id.wav")
        $v = foreach ($j in 0..($Dim - 1)) { ($rng.NextDouble() - 0.5) * 0.8 + [int]($j % 8 -eq $c) }
        if ($i++ -ge $Skip) {
            $ids.Add($id)
            $norm = [math]::Sqrt(($v | ForEach-Object { $_ * $_ } | Measure-Object -Sum).Sum)
            foreach ($x in $v) { $values.Add([float]($x / $norm)) }
        }
    } } }
    $null = New-Item -ItemType Directory -Force -Path (Split-Path $Folder)
    $csv = "$Folder.csv"
    Set-Content -Path $csv -Value $lines
    $null = Export-MessMetadata -Path $csv -ArtifactPath $Folder
    $emb = New-Item -ItemType Directory -Force -Path (Join-Path $Folder 'embeddings')
    $bytes = [byte[]]::new($values.Count * 4)
    [System.Buffer]::BlockCopy($values.ToArray(), 0, $bytes, 0, $bytes.Length)
    [System.IO.File]::WriteAllBytes((Join-Path $emb 'embeddings.f32'), $bytes)
    ConvertTo-Json -InputObject @($ids) | Set-Content (Join-Path $emb 'track_ids.json')
}

# --- A tiny ONNX model made here (no model file from outside the test) -------------------------------------------
# ONNX files are protocol buffers; these few writers encode just the messages a one-node model needs.
function ConvertTo-PbVarint([uint64] $Value) {
    $bytes = [Collections.Generic.List[byte]]::new()
    do {
        $b = [byte]($Value -band 0x7F); $Value = $Value -shr 7
        if ($Value -ne 0) { $b = $b -bor 0x80 }
        $bytes.Add($b)
    } while ($Value -ne 0)
    , $bytes.ToArray()
}
function ConvertTo-PbInt([int] $Field, [int64] $Value) { , [byte[]]((ConvertTo-PbVarint ([uint64]($Field -shl 3))) + (ConvertTo-PbVarint ([uint64]$Value))) }
function ConvertTo-PbBytes([int] $Field, [byte[]] $Value) {
    , [byte[]]((ConvertTo-PbVarint ([uint64](($Field -shl 3) -bor 2))) + (ConvertTo-PbVarint ([uint64]$Value.Length)) + $Value)
}
function ConvertTo-PbString([int] $Field, [string] $Value) { , (ConvertTo-PbBytes $Field ([Text.Encoding]::UTF8.GetBytes($Value))) }
function ConvertTo-PbFloatTensorInfo([string] $Name, [string[]] $DimNames) {
    $shape = [byte[]]@()
    foreach ($d in $DimNames) { $shape += ConvertTo-PbBytes 1 (ConvertTo-PbString 2 $d) }       # Dimension.dim_param
    $tensor = [byte[]]((ConvertTo-PbInt 1 1) + (ConvertTo-PbBytes 2 $shape))                      # elem_type FLOAT, shape
    , [byte[]]((ConvertTo-PbString 1 $Name) + (ConvertTo-PbBytes 2 (ConvertTo-PbBytes 1 $tensor))) # ValueInfo{name, TypeProto{tensor_type}}
}

# input_values float32 [batch, samples] -> last_hidden_state float32 [batch, samples/16, 16] (a Reshape: each frame is
# 16 consecutive samples), so the output follows the audio. Sample counts must be multiples of 16.
function New-TinyOnnxModel([string] $Path) {
    $shapeData = [byte[]]::new(24)
    [BitConverter]::GetBytes([int64]0).CopyTo($shapeData, 0)
    [BitConverter]::GetBytes([int64]-1).CopyTo($shapeData, 8)
    [BitConverter]::GetBytes([int64]16).CopyTo($shapeData, 16)
    $init = [byte[]]((ConvertTo-PbInt 1 3) + (ConvertTo-PbInt 2 7) + (ConvertTo-PbString 8 'shape') + (ConvertTo-PbBytes 9 $shapeData))
    $node = [byte[]]((ConvertTo-PbString 1 'input_values') + (ConvertTo-PbString 1 'shape') + (ConvertTo-PbString 2 'last_hidden_state') +
        (ConvertTo-PbString 3 'frames') + (ConvertTo-PbString 4 'Reshape'))
    $graph = [byte[]]((ConvertTo-PbBytes 1 $node) + (ConvertTo-PbString 2 'tiny') + (ConvertTo-PbBytes 5 $init) +
        (ConvertTo-PbBytes 11 (ConvertTo-PbFloatTensorInfo 'input_values' 'batch', 'samples')) +
        (ConvertTo-PbBytes 12 (ConvertTo-PbFloatTensorInfo 'last_hidden_state' 'batch', 'frames', 'dim')))
    $opset = [byte[]]((ConvertTo-PbString 1 '') + (ConvertTo-PbInt 2 13))
    $model = [byte[]]((ConvertTo-PbInt 1 7) + (ConvertTo-PbString 2 'MessTools-Pester') + (ConvertTo-PbBytes 7 $graph) + (ConvertTo-PbBytes 8 $opset))
    [IO.File]::WriteAllBytes($Path, $model)
}

$script:TinyProfileJson = @'
{
  "name": "tiny-lastlayer",
  "input": { "name": "input_values", "kind": "waveform", "sample_rate": 24000, "layout": "[batch, samples]" },
  "output": { "name": "last_hidden_state", "layout": "[batch, frames, dim]" },
  "chunking": { "window_seconds": 1.0 },
  "pooling": "mean_std",
  "batch_size": 4
}
'@

# --- Real services on loopback, started by BeforeAll and stopped by AfterAll --------------------------------------
function Get-FreeLoopbackPort {
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

# moto_server (a real S3 API) on a free port; returns @{ Process; Endpoint }. Any access key works.
function Start-TestMoto {
    if (-not (Get-Command moto_server -ErrorAction SilentlyContinue)) { throw 'moto_server is missing: the S3 tests need it (pip install "moto[server]"; .ci/run installs it).' }
    $port = Get-FreeLoopbackPort
    $process = Start-Process moto_server -ArgumentList '-H', '127.0.0.1', '-p', $port -PassThru -RedirectStandardError ([IO.Path]::GetTempFileName())
    $ep = "http://127.0.0.1:$port"
    for ($i = 0; $i -lt 150; $i++) { try { Invoke-WebRequest "$ep/" -UseBasicParsing | Out-Null; break } catch { Start-Sleep -Milliseconds 100 } }
    $env:AWS_ACCESS_KEY_ID = 'testing'; $env:AWS_SECRET_ACCESS_KEY = 'testing-secret'; $env:AWS_EC2_METADATA_DISABLED = 'true'
    @{ Process = $process; Endpoint = $ep }
}

# PostgreSQL (the installed server binaries) in a temporary cluster on a free port; as root the server runs as postgres.
function Start-TestPostgres {
    $bin = @(Get-ChildItem /usr/lib/postgresql/*/bin/initdb -ErrorAction SilentlyContinue | Sort-Object FullName -Descending)[0]
    if (-not $bin) { throw 'PostgreSQL is not installed (initdb not found): apt-get install -y postgresql. .ci/run installs it.' }
    $binDir = Split-Path $bin.FullName
    $dir = New-TestFolder 'messpg'
    $password = 'Pester-pg-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
    Set-Content -Path "$dir/pw" -Value $password -NoNewline
    $asPostgres = [Environment]::UserName -eq 'root'
    if ($asPostgres) { & chown -R postgres:postgres $dir }
    $port = Get-FreeLoopbackPort
    $run = { param($exe, [string[]] $argv) if ($asPostgres) { & runuser -u postgres -- $exe @argv } else { & $exe @argv }; if ($LASTEXITCODE) { throw "$exe failed ($LASTEXITCODE)" } }
    & $run "$binDir/initdb" @('-D', "$dir/data", '-U', 'mess', '--auth=scram-sha-256', "--pwfile=$dir/pw", '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8') | Out-Null
    & $run "$binDir/pg_ctl" @('-D', "$dir/data", '-l', "$dir/log", '-w', '-t', '60', '-o', "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off", 'start') | Out-Null
    @{ Dir = $dir; BinDir = $binDir; Port = $port; Password = $password; AsPostgres = $asPostgres
       ConnectionString = "Host=127.0.0.1;Port=$port;Database=postgres;Username=mess;Password=$password;Timeout=15" }
}

function Invoke-TestPostgresSql($Server, [string] $Sql) {
    $env:PGPASSWORD = $Server.Password
    try { $Sql | & "$($Server.BinDir)/psql" -h 127.0.0.1 -p $Server.Port -U mess -d postgres -v ON_ERROR_STOP=1 -q | Out-Null }
    finally { Remove-Item Env:PGPASSWORD }
    if ($LASTEXITCODE) { throw "psql failed ($LASTEXITCODE)" }
}

function Stop-TestPostgres($Server) {
    if (-not $Server) { return }
    if ($Server.AsPostgres) { & runuser -u postgres -- "$($Server.BinDir)/pg_ctl" -D "$($Server.Dir)/data" -m immediate -w stop | Out-Null }
    else { & "$($Server.BinDir)/pg_ctl" -D "$($Server.Dir)/data" -m immediate -w stop | Out-Null }
    Remove-Item -Recurse -Force $Server.Dir -ErrorAction SilentlyContinue
}

# Starts another engine process like this one (`dotnet <pwsh.dll>` or the pwsh apphost) with extra environment
# variables; its standard output and error go to <Log>.out and <Log>.err.
function Start-TestEngine([string[]] $Arguments, [hashtable] $Environment = @{}, [string] $Log) {
    $engine = [Environment]::ProcessPath
    $argv = @()
    if ((Split-Path -Leaf $engine) -like 'dotnet*') { $argv = @([Environment]::GetCommandLineArgs()[0]) }
    Start-Process -FilePath $engine -ArgumentList ($argv + $Arguments) -Environment $Environment `
        -RedirectStandardOutput "$Log.out" -RedirectStandardError "$Log.err" -PassThru
}
