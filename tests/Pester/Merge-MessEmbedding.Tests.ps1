#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Sharded runs (issue 14): real `dotnet pwsh` child processes run Get-MessAudio | ConvertTo-MessEmbedding as shards
# (explicit -ShardIndex/-ShardCount, AWS Batch and Kubernetes environment variables), exchange them through a real
# S3 API (moto_server on loopback) or a shared folder, and Merge-MessEmbedding must give exactly the bytes one process
# writes. Needs ffmpeg and moto_server on PATH, and `dotnet tool restore` (the children run `dotnet pwsh`).
BeforeAll {
    # The error records among what -ErrorVariable collected (it may also hold exceptions), by error id; strict-mode safe.
    function Select-ErrorId($Collected, [string] $Id) { @($Collected | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] -and $_.FullyQualifiedErrorId -like "$Id,*" }) }
    . "$PSScriptRoot/TestHelpers.ps1"
    $work = Join-Path ([IO.Path]::GetTempPath()) ("messpester-shards-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path $work | Out-Null

    # nine short tracks in three albums, each its own pitch
    $rows = foreach ($a in 1..3) {
        foreach ($t in 1..3) {
            $id = "sh-a$a-t$t"
            $rel = "audio/a$a/$id.wav"
            New-Item -ItemType Directory -Force -Path (Join-Path $work "audio/a$a") | Out-Null
            $f = 110 * $a + 37 * $t
            & ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=${f}:sample_rate=22050:duration=4" -f lavfi -i "sine=frequency=$($f * 1.5):sample_rate=22050:duration=4" -filter_complex amix=inputs=2 -y (Join-Path $work $rel)
            if ($LASTEXITCODE) { throw "ffmpeg failed for $rel" }
            "$id,album-$a,$t,Piece $a.$t,Composer $a,$rel,4"
        }
    }
    (@('track_id,album_id,track_no,title,composer,audio_path,duration_sec') + $rows) | Set-Content (Join-Path $work 'catalog.csv')
    $catalog = Join-Path $work 'catalog.csv'

    # One process, the reference every merge must equal byte for byte.
    $single = Join-Path $work 'single'
    Export-MessMetadata -Path $catalog -ArtifactPath $single | Get-MessAudio -AudioRoot $work -ArtifactPath $single |
        ConvertTo-MessEmbedding -ArtifactPath $single | Out-Null

    # The child: one array child / pod / task of a sharded run.
    $child = Join-Path $work 'child.ps1'
    @'
param([string] $Module, [string] $Work, [string] $Art, [int] $Index = -1, [int] $Count = -1, [string] $Publish, [string] $Endpoint, [int] $DelayMs = 0)
$ErrorActionPreference = 'Stop'
Import-Module $Module
$shard = @{ ArtifactPath = $Art }
if ($Index -ge 0) { $shard.ShardIndex = $Index }
if ($Count -ge 0) { $shard.ShardCount = $Count }
$publishing = @{}
if ($Publish) { $publishing = @{ PublishPath = $Publish; EndpointUrl = $Endpoint } }
# children that share one folder (as in these tests) take turns at its writer lock, as runbooks are told to
Export-MessMetadata -Path (Join-Path $Work 'catalog.csv') -ArtifactPath $Art -LockTimeout 300 |
    ForEach-Object { if ($DelayMs) { Start-Sleep -Milliseconds $DelayMs }; $_ } |
    Get-MessAudio -AudioRoot $Work @shard | ConvertTo-MessEmbedding @shard @publishing | Out-Null
'@ | Set-Content $child

    function Start-Shard([string] $Art, [hashtable] $Environment = @{}, [int] $Index = -1, [int] $Count = -1, [string] $Publish, [int] $DelayMs = 0) {
        $argv = @('pwsh', '-NoProfile', '-NonInteractive', '-File', $child, '-Module', $script:ModuleManifest, '-Work', $work,
            '-Art', $Art, '-Index', $Index, '-Count', $Count, '-DelayMs', $DelayMs)
        if ($Publish) { $argv += @('-Publish', $Publish, '-Endpoint', $script:endpoint) }
        $log = Join-Path $work ("child-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        $p = Start-Process -FilePath dotnet -ArgumentList $argv -WorkingDirectory $script:RepoRoot -Environment $Environment `
            -RedirectStandardOutput "$log.out" -RedirectStandardError "$log.err" -PassThru
        $p | Add-Member -NotePropertyName Log -NotePropertyValue $log -PassThru
    }
    function Wait-Shard([object[]] $Processes) {
        foreach ($p in $Processes) {
            if (-not $p.WaitForExit(900000)) { $p.Kill($true); throw "A shard process did not finish in 15 minutes." }
            $p.WaitForExit()
            $p.ExitCode | Should -Be 0 -Because ((Get-Content "$($p.Log).err" -Raw) + (Get-Content "$($p.Log).out" -Raw))
        }
    }
    function Assert-SameAsSingle([string] $Art) {
        foreach ($f in 'embeddings.f32', 'track_ids.json', 'embeddings_meta.json', 'rows.json') {
            (Get-FileHash (Join-Path $Art "embeddings/$f")).Hash | Should -Be (Get-FileHash (Join-Path $single "embeddings/$f")).Hash -Because "$f must be byte-identical to one process's"
        }
    }

    # moto_server: the real S3 API, on a free loopback port
    if (-not (Get-Command moto_server -ErrorAction SilentlyContinue)) { throw 'moto_server is missing: these tests need it (pip install "moto[server]").' }
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $listener.Start()
    $port = $listener.LocalEndpoint.Port; $listener.Stop()
    $moto = Start-Process moto_server -ArgumentList '-H', '127.0.0.1', '-p', $port -PassThru -RedirectStandardError (Join-Path $work 'moto.err') -RedirectStandardOutput (Join-Path $work 'moto.out')
    $script:endpoint = "http://127.0.0.1:$port"
    for ($i = 0; $i -lt 150; $i++) { try { Invoke-WebRequest "$script:endpoint/" -UseBasicParsing | Out-Null; break } catch { Start-Sleep -Milliseconds 100 } }
    $env:AWS_ACCESS_KEY_ID = 'testing'; $env:AWS_SECRET_ACCESS_KEY = 'testing-secret'; $env:AWS_EC2_METADATA_DISABLED = 'true'
    Invoke-WebRequest -Method Put "$script:endpoint/shards" -UseBasicParsing | Out-Null
}

AfterAll {
    if ($moto) { Stop-Process -Id $moto.Id -ErrorAction SilentlyContinue }
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Sharded runs and Merge-MessEmbedding' {
    It 'puts fixed track ids in pinned shards (SHA-256 of the UTF-8 id, little-endian, mod n)' {
        $pins = Join-Path $work 'pins'
        (Export-MessMetadata -Path $catalog -ArtifactPath $pins | Get-MessAudio -AudioRoot $work -ArtifactPath $pins -ShardIndex 0 -ShardCount 3).TrackId |
            Should -Be @('sh-a3-t2')
        (Export-MessMetadata -Path $catalog -ArtifactPath $pins | Get-MessAudio -AudioRoot $work -ArtifactPath $pins -ShardIndex 2 -ShardCount 3).TrackId |
            Should -Be @('sh-a1-t1')
        (Get-ChildItem (Join-Path $pins 'shards/2-of-3/audio_wav') -Filter *.wav).Name | Should -Be @('sh-a1-t1.wav') -Because 'a shard fetches only its own tracks'
    }

    It 'three processes with -ShardIndex 0..2 -ShardCount 3, exchanging shards through S3, merge into the bytes of one process' {
        $procs = 0..2 | ForEach-Object { Start-Shard -Art (Join-Path $work "node$_") -Index $_ -Count 3 -Publish 's3://shards/run-explicit' }
        Wait-Shard $procs
        $merged = Join-Path $work 'merged-s3'
        Export-MessMetadata -Path $catalog -ArtifactPath $merged | Out-Null
        $r = Merge-MessEmbedding -Path 's3://shards/run-explicit' -ArtifactPath $merged -EndpointUrl $script:endpoint
        $r.GetType().FullName | Should -Be 'MessTools.ShardMergeResult'
        $r.Shards | Should -Be 3
        $r.Rows | Should -Be 9
        Assert-SameAsSingle $merged
        (Get-ChildItem (Join-Path $merged 'runs/shards') -Directory).Name | Should -Be @('0-of-3', '1-of-3', '2-of-3')
        # the later stages run on the merged folder as usual
        (New-MessIndex -ArtifactPath $merged -Type Flat).TrackCount | Should -Be 9
        (Invoke-MessEvaluation -ArtifactPath $merged -K 1 | Select-Object -First 1) | Should -Not -BeNullOrEmpty
    }

    Context 'shard index from the environment' {
        BeforeAll {
            $aws = Join-Path $work 'aws'
            $procs = 0..2 | ForEach-Object { Start-Shard -Art $aws -Environment @{ AWS_BATCH_JOB_ARRAY_INDEX = "$_"; AWS_BATCH_JOB_ARRAY_SIZE = '3' } }
            Wait-Shard $procs
        }

        It 'AWS_BATCH_JOB_ARRAY_INDEX / AWS_BATCH_JOB_ARRAY_SIZE' {
            (Get-ChildItem (Join-Path $aws 'shards') -Directory).Name | Should -Be @('0-of-3', '1-of-3', '2-of-3')
            Merge-MessEmbedding -Path (Join-Path $aws 'shards/*') -ArtifactPath $aws | Out-Null
            Assert-SameAsSingle $aws
        }

        It 'JOB_COMPLETION_INDEX with -ShardCount' {
            $k8s = Join-Path $work 'k8s'
            $procs = 0..2 | ForEach-Object { Start-Shard -Art $k8s -Count 3 -Environment @{ JOB_COMPLETION_INDEX = "$_" } }
            Wait-Shard $procs
            Merge-MessEmbedding -Path (Join-Path $k8s 'shards') -ArtifactPath $k8s | Out-Null
            Assert-SameAsSingle $k8s
        }

        It 'a shard killed while running is missing to the merge, and merges the same bytes once re-run' {
            $manifest = Join-Path $aws 'shards/1-of-3/embeddings/shard_manifest.json'
            $manifest | Should -Exist
            $p = Start-Shard -Art $aws -Index 1 -Count 3 -DelayMs 2000
            $deadline = [DateTime]::UtcNow.AddMinutes(5)
            while ((Test-Path $manifest) -and [DateTime]::UtcNow -lt $deadline -and -not $p.HasExited) { Start-Sleep -Milliseconds 200 }
            $p.HasExited | Should -BeFalse -Because 'the child must still be running when it is killed'
            $p.Kill($true); $p.WaitForExit()
            $manifest | Should -Not -Exist

            { Merge-MessEmbedding -Path (Join-Path $aws 'shards') -ArtifactPath (Join-Path $work 'after-kill') -Catalog $catalog -ErrorAction Stop } |
                Should -Throw -ErrorId 'ShardManifestMissing,*'
            try { Merge-MessEmbedding -Path (Join-Path $aws 'shards') -ArtifactPath (Join-Path $work 'after-kill') -Catalog $catalog -ErrorVariable e -ErrorAction SilentlyContinue } catch { $refused = $_ }
            $refused.FullyQualifiedErrorId | Should -BeLike 'ShardMergeRefused,*'
            (Select-ErrorId $e 'ShardMissing').Exception.Message | Should -BeLike '*1-of-3*'
            Join-Path $work 'after-kill/embeddings/embeddings.f32' | Should -Not -Exist

            Wait-Shard @(Start-Shard -Art $aws -Index 1 -Count 3)
            $manifest | Should -Exist
            Merge-MessEmbedding -Path (Join-Path $aws 'shards') -ArtifactPath $aws | Out-Null
            Assert-SameAsSingle $aws
        }

        It 'names a missing shard, and a shard of another split, and writes nothing' {
            $target = Join-Path $work 'errors'
            try { Merge-MessEmbedding -Path (Join-Path $aws 'shards/0-of-3'), (Join-Path $aws 'shards/2-of-3') -ArtifactPath $target -Catalog $catalog -ErrorVariable e -ErrorAction SilentlyContinue } catch { $refused = $_ }
            # one error names the missing shard and the catalogue tracks it holds (7 of 9), no error per track
            (Select-ErrorId $e 'ShardMissing').Exception.Message | Should -BeLike "*Shard 1-of-3 is missing (it holds 7 of the catalogue's 9 tracks)*"
            Select-ErrorId $e 'TrackNotInAnyShard' | Should -BeNullOrEmpty
            $refused.FullyQualifiedErrorId | Should -BeLike 'ShardMergeRefused,*'
            $refused.Exception.Message | Should -BeLike '*1 problems*'
            Join-Path $target 'embeddings/embeddings.f32' | Should -Not -Exist

            # a shard of a 2-way split among the 3-way shards
            Export-MessMetadata -Path $catalog -ArtifactPath $aws | Get-MessAudio -AudioRoot $work -ArtifactPath $aws -ShardIndex 0 -ShardCount 2 |
                ConvertTo-MessEmbedding -ArtifactPath $aws -ShardIndex 0 -ShardCount 2 | Out-Null
            try { Merge-MessEmbedding -Path (Join-Path $aws 'shards/*') -ArtifactPath $target -ErrorVariable e2 -ErrorAction SilentlyContinue } catch { $refused2 = $_ }
            $refused2.FullyQualifiedErrorId | Should -BeLike 'ShardMergeRefused,*'
            (Select-ErrorId $e2 'ShardCountMismatch').Exception.Message | Should -BeLike '*0-of-2*'
            Join-Path $target 'embeddings/embeddings.f32' | Should -Not -Exist
        }
    }

    It 'refuses bad shard parameters with errors that name them' {
        { [pscustomobject]@{ track_id = 'x'; audio_path = 'x.wav' } | Get-MessAudio -ArtifactPath (Join-Path $work 'bad') -ShardIndex 3 -ShardCount 3 -ErrorAction Stop } |
            Should -Throw -ErrorId 'ShardIndexInvalid,*'
        { [pscustomobject]@{ track_id = 'x'; audio_path = 'x.wav' } | ConvertTo-MessEmbedding -ArtifactPath (Join-Path $work 'bad') -ShardCount 3 -ErrorAction Stop } |
            Should -Throw -ErrorId 'ShardIndexMissing,*'
        { [pscustomobject]@{ track_id = 'x'; audio_path = 'x.wav' } | ConvertTo-MessEmbedding -ArtifactPath (Join-Path $work 'bad') -PublishPath 's3://b/p' -ErrorAction Stop } |
            Should -Throw -ErrorId 'PublishPathNeedsShard,*'
    }
}
