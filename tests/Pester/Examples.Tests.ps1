#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Every script in examples/ runs as a runbook would run it: in its own real pwsh process, with MessTools imported by
# name from PSModulePath, against local data made here (ffmpeg-generated audio, a CSV and a SQLite catalogue) and a real
# S3 API (moto_server on a free loopback port). Needs ffmpeg, moto_server and python3 (sqlite3, boto3).
BeforeAll {
    $script:Repo = (Resolve-Path "$PSScriptRoot/../..").Path
    $version = ([regex]::Match((Get-Content "$Repo/module/MessTools.psd1" -Raw), "ModuleVersion\s*=\s*'([0-9.]+)'")).Groups[1].Value
    if (-not (Test-Path "$Repo/out/MessTools/$version/MessTools.psd1")) { throw "The module is not staged in out/MessTools/${version}: run dotnet publish src/MessTools.Cmdlets -c Release." }

    # Runs an example in a child pwsh, the way a scheduler would; returns its output lines and exit code.
    function Invoke-Example([string] $Script, [string[]] $Arguments = @(), [hashtable] $Environment = @{}) {
        $exe = [Environment]::ProcessPath
        # pwsh as a dotnet tool runs as `dotnet pwsh.dll`: the child needs the same dll.
        [string[]] $prefix = if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { [Environment]::GetCommandLineArgs()[0] } else { @() }
        $saved = @{}
        $env2 = @{ PSModulePath = "$Repo/out" + [IO.Path]::PathSeparator + $env:PSModulePath } + $Environment
        foreach ($k in $env2.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $env2[$k]) }
        try {
            $out = & $exe @prefix -NoProfile -NonInteractive -File (Join-Path $Repo $Script) @Arguments 2>&1 | ForEach-Object { "$_" }
            [pscustomobject]@{ Output = $out; ExitCode = $LASTEXITCODE; Text = ($out -join "`n") }
        }
        finally { foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) } }
    }

    $script:Work = Join-Path ([IO.Path]::GetTempPath()) ("pester-examples-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path "$Work/audio" -Force | Out-Null
    # 12 tracks: 3 composers x 2 albums x 2 tracks, each composer with its own harmonic colour.
    $rows = foreach ($c in 0..2) {
        foreach ($a in 0..1) {
            foreach ($t in 0..1) {
                $id = "c$c-a$a-t$t"
                $f = 220 * (1 + $c) + 15 * $a + 5 * $t
                $expr = "0.4*sin(2*PI*$f*t)+0.2*sin(2*PI*$(2 + $c)*$f*t)*sin(2*PI*$(1 + $t)*t)"
                & ffmpeg -nostdin -v error -f lavfi -i "aevalsrc=${expr}:s=22050:d=8" -ac 1 -y "$Work/audio/$id.wav"
                if ($LASTEXITCODE) { throw "ffmpeg failed for $id" }
                [pscustomobject]@{ track_id = $id; album_id = "c$c-a$a"; track_no = $t + 1; title = "Piece $t"; composer = "Composer$c"; audio_s3_key = "audio/$id.wav"; duration_sec = 8 }
            }
        }
    }
    $rows | Export-Csv -LiteralPath "$Work/tracks.csv" -NoTypeInformation
    & python3 -c @'
import csv, sqlite3, sys
c = sqlite3.connect(sys.argv[2])
c.execute("CREATE TABLE tracks (track_id TEXT PRIMARY KEY, album_id TEXT, track_no INTEGER, title TEXT, composer TEXT, audio_s3_key TEXT, duration_sec REAL)")
c.executemany("INSERT INTO tracks VALUES (?,?,?,?,?,?,?)", [tuple(r.values()) for r in csv.DictReader(open(sys.argv[1]))])
c.commit()
'@ "$Work/tracks.csv" "$Work/catalog.sqlite"
    if ($LASTEXITCODE) { throw 'python3 could not write the SQLite catalogue' }

    # moto_server on a free loopback port, with the audio uploaded under s3://examples/audio/.
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $listener.Start()
    $script:MotoPort = $listener.LocalEndpoint.Port; $listener.Stop()
    $script:Moto = Start-Process -FilePath (Get-Command moto_server -ErrorAction Stop).Source -ArgumentList '-H', '127.0.0.1', '-p', $MotoPort -PassThru -RedirectStandardOutput "$Work/moto.out" -RedirectStandardError "$Work/moto.err"
    $script:Endpoint = "http://127.0.0.1:$MotoPort"
    $script:AwsEnv = @{ AWS_ACCESS_KEY_ID = 'testing'; AWS_SECRET_ACCESS_KEY = 'testing'; AWS_REGION = 'us-east-1'; AWS_EC2_METADATA_DISABLED = 'true' }
    $script:SavedAwsEnv = @{}
    foreach ($k in $AwsEnv.Keys) { $SavedAwsEnv[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $AwsEnv[$k]) }
    $deadline = [DateTime]::UtcNow.AddSeconds(30)
    while ($true) {
        try { Invoke-WebRequest -Uri $Endpoint -TimeoutSec 2 | Out-Null; break }
        catch { if ([DateTime]::UtcNow -gt $deadline) { throw "moto_server did not start on $Endpoint" }; Start-Sleep -Milliseconds 300 }
    }
    & python3 -c @'
import boto3, os, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
s3.create_bucket(Bucket="examples")
for name in os.listdir(sys.argv[2]):
    s3.upload_file(os.path.join(sys.argv[2], name), "examples", "audio/" + name)
'@ $Endpoint "$Work/audio"
    if ($LASTEXITCODE) { throw 'could not upload the example audio to moto' }
}

AfterAll {
    foreach ($k in $SavedAwsEnv.Keys) { [Environment]::SetEnvironmentVariable($k, $SavedAwsEnv[$k]) }
    if ($Moto) { Stop-Process -Id $Moto.Id -Force -ErrorAction SilentlyContinue }
    Remove-Item -Recurse -Force $Work -ErrorAction SilentlyContinue
}

Describe 'examples/ as runbooks run them' {
    It 'export-catalog.ps1 exports the SQLite catalogue' {
        $r = Invoke-Example 'examples/export-catalog.ps1' @('-Path', "$Work/catalog.sqlite", '-Table', 'tracks', '-ArtifactPath', "$Work/art", '-FailOnRejectedRows')
        $r.ExitCode | Should -Be 0 -Because $r.Text
        $r.Text | Should -Match 'Exported 12 tracks; rejected 0 rows'
        (Import-Csv "$Work/art/metadata/tracks_metadata.csv").Count | Should -Be 12
    }

    It 'fetch-from-s3.ps1 fetches every track from S3 and standardises it, and a re-run fetches nothing' {
        $a = @('-Bucket', 'examples', '-EndpointUrl', $Endpoint, '-Region', 'us-east-1', '-ArtifactPath', "$Work/art")
        $r = Invoke-Example 'examples/fetch-from-s3.ps1' $a $AwsEnv
        $r.ExitCode | Should -Be 0 -Because $r.Text
        $r.Text | Should -Match '12 tracks ready, 0 failed'
        @(Get-ChildItem "$Work/art/audio_wav" -Filter *.wav).Count | Should -Be 12
        $again = Invoke-Example 'examples/fetch-from-s3.ps1' $a $AwsEnv
        $again.ExitCode | Should -Be 0 -Because $again.Text
        $record = Get-ChildItem "$Work/art/runs" -Filter '*Get-MessAudio.json' | Sort-Object Name | Select-Object -Last 1
        (Get-Content $record -Raw | ConvertFrom-Json).counts.fetched | Should -Be 0
    }

    It 'fetch-from-s3.ps1 exits 1 and lists the failed tracks when a key is missing' {
        $bad = "$Work/bad"
        New-Item -ItemType Directory "$bad/metadata" -Force | Out-Null
        "track_id,album_id,composer,audio_s3_key`nx1,a,C,audio/missing.wav" | Set-Content "$bad/metadata/tracks_metadata.csv"
        $r = Invoke-Example 'examples/fetch-from-s3.ps1' @('-Bucket', 'examples', '-EndpointUrl', $Endpoint, '-Region', 'us-east-1', '-ArtifactPath', $bad, '-RetryCount', '0') $AwsEnv
        $r.ExitCode | Should -Be 1 -Because $r.Text
        Import-Csv "$bad/runs/failed_tracks.csv" | ForEach-Object TrackId | Should -Be 'x1'
    }

    It 'embed.ps1 embeds a folder of WAV files and reads the matrix back' {
        $dir = "$Work/embed"; New-Item -ItemType Directory $dir -Force | Out-Null
        Push-Location $dir
        try { $r = Invoke-Example 'examples/embed.ps1' @('-AudioFolder', "$Work/audio") }
        finally { Pop-Location }
        $r.ExitCode | Should -Be 0 -Because $r.Text
        $r.Text | Should -Match '12 tracks x 620 dims'
    }

    It 'find-neighbors.ps1 builds the index and answers, and evaluate.ps1 reports against chance' {
        # The folder fetch-from-s3.ps1 filled: embed it as a pipeline would, then the two examples.
        $art = "$Work/art"
        Import-Module "$Repo/out/MessTools/$version/MessTools.psd1" -Force
        Export-MessMetadata -Path "$Work/catalog.sqlite" -Table tracks -ArtifactPath $art | Get-MessAudio -Bucket examples -EndpointUrl $Endpoint -Region us-east-1 -ArtifactPath $art | ConvertTo-MessEmbedding -ArtifactPath $art | Out-Null
        $r = Invoke-Example 'examples/find-neighbors.ps1' @('-ArtifactPath', $art, '-TrackId', 'c0-a0-t0', '-K', '3') $AwsEnv
        $r.ExitCode | Should -Be 0 -Because $r.Text
        $r.Text | Should -Match 'neighbours agree with exact search'
        "$art/index/hnsw.index" | Should -Exist
        $e = Invoke-Example 'examples/evaluate.ps1' @('-ArtifactPath', $art, '-K', '1', '3')
        $e.ExitCode | Should -Be 0 -Because $e.Text
        $e.Text | Should -Match 'P@K [0-9.]+ vs chance'
        "$art/eval/report.html" | Should -Exist
    }

    It 'aws-batch/run-shard.ps1 runs as two array children (AWS_BATCH_JOB_ARRAY_INDEX) and the runbook merges their shards' {
        # The runbook's steps against moto: publish the catalogue, run each child as AWS Batch would, merge from S3.
        Import-Module "$Repo/out/MessTools/$version/MessTools.psd1" -Force
        $run = 's3://examples/runs/r1'
        Export-MessMetadata -Path "$Work/catalog.sqlite" -Table tracks -ArtifactPath "$Work/catalog" | Out-Null
        Publish-MessArtifact -ArtifactPath "$Work/catalog" -Bucket examples -Prefix runs/r1/catalog -Model catalog -EndpointUrl $Endpoint -Region us-east-1 | Out-Null
        foreach ($i in 0, 1) {
            $childEnv = $AwsEnv + @{ AWS_BATCH_JOB_ARRAY_INDEX = "$i"; AWS_BATCH_JOB_ARRAY_SIZE = '2'; MESS_RUN_URI = $run; MESS_AUDIO_BUCKET = 'examples'; MESS_S3_ENDPOINT = $Endpoint; TMPDIR = "$Work/child$i" }
            New-Item -ItemType Directory -Force "$Work/child$i" | Out-Null
            $r = Invoke-Example 'examples/aws-batch/run-shard.ps1' @() $childEnv
            $r.ExitCode | Should -Be 0 -Because $r.Text
        }
        $art = "$Work/merged/v1_model_builtin"
        Import-MessArtifact -Bucket examples -Prefix runs/r1/catalog -Model catalog -ArtifactPath $art -EndpointUrl $Endpoint -Region us-east-1 | Out-Null
        Merge-MessEmbedding -Path $run -ArtifactPath $art -EndpointUrl $Endpoint -Region us-east-1 | Out-Null
        (Get-Content "$art/embeddings/track_ids.json" -Raw | ConvertFrom-Json).Count | Should -Be 12
    }

    It 'demo/demo-pipeline.ps1 runs the whole pipeline on a SQLite catalogue' {
        $r = Invoke-Example 'examples/demo/demo-pipeline.ps1' @('-Catalog', "$Work/catalog.sqlite", '-AudioRoot', $Work, '-ArtifactPath', "$Work/demo-art", '-QueryTrackId', 'c1-a0-t0')
        $r.ExitCode | Should -Be 0 -Because $r.Text
        $r.Text | Should -Match '6\. Find-MessNeighbor -TrackId c1-a0-t0'
        $r.Text | Should -Match '\bdone$'
        "$Work/demo-art/eval/eval_results.json" | Should -Exist
    }
}
