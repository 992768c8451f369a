#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Issue 18: the seven data losses a fault probe found, each replayed in real pwsh child processes against moto_server
# (and the server process for case 2). A second writer is started at exactly the moment of the first that lost data:
# the first holds there (MESS_FAULT_INJECT=hold:<point>, docs/reliability.md) until the test lets it go on.
# Needs moto_server; the server case also needs the built server (dotnet build src/MessTools.Server, done by
# `dotnet test MessTools.sln` before Pester runs).
BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    . "$PSScriptRoot/IndexTestData.ps1"
    $script:moto = Start-TestMoto
    $script:ep = $moto.Endpoint
    Invoke-WebRequest -Method Put "$ep/dataloss" -UseBasicParsing | Out-Null
    $script:work = New-TestFolder 'messdataloss'

    # Two versions of one model, each with an index, published to the bucket (v2 last: it is "latest").
    $script:v1 = Join-Path $work 'src/v1/v1_model_builtin'
    $script:v2 = Join-Path $work 'src/v2/v1_model_builtin'
    New-IndexTestArtifacts -Art $v1 -Count 300 -Dim 16 -Seed 3 | Out-Null
    New-IndexTestArtifacts -Art $v2 -Count 300 -Dim 16 -Seed 4 | Out-Null
    foreach ($a in $v1, $v2) { New-MessIndex -ArtifactPath $a -RecallSampleSize 0 | Out-Null }
    $script:pub1 = Publish-MessArtifact -ArtifactPath $v1 -Bucket dataloss -EndpointUrl $ep -Model builtin
    $script:pub2 = Publish-MessArtifact -ArtifactPath $v2 -Bucket dataloss -EndpointUrl $ep -Model builtin

    # What a published version holds: relative path and SHA-256 of every published file.
    function Get-VersionFiles([string] $Root) {
        Get-ChildItem -LiteralPath $Root -Recurse -File |
            Where-Object { $rel = [IO.Path]::GetRelativePath($Root, $_.FullName); $rel -match '^(metadata|embeddings|index|eval|runs)/' -and $rel -notmatch '(^|/)\.' -and $_.Name -notlike '*_Publish-MessArtifact*' -and $_.Name -notlike '*_Import-MessArtifact*' } |
            ForEach-Object { '{0} {1}' -f [IO.Path]::GetRelativePath($Root, $_.FullName), (Get-FileHash -LiteralPath $_.FullName -Algorithm SHA256).Hash.ToLowerInvariant() } |
            Sort-Object
    }
    # The files of a published version, from its manifest.
    function Get-ManifestFiles($Publish) { $Publish.Manifest.Files | ForEach-Object { '{0} {1}' -f $_.Path, $_.Sha256 } | Sort-Object }

    # A child engine process running $Body (after Import-Module), optionally holding at a fault point. Its outcome lands in
    # <log>.json: ok, or the error id and message.
    function Start-Child([string] $Body, [string] $Hold, [hashtable] $Environment = @{}) {
        $log = Join-Path $work ('child-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        @"
`$ErrorActionPreference = 'Stop'
Import-Module '$script:ModuleManifest'
try {
    & { $Body } | Out-Null
    @{ ok = `$true; id = ''; message = '' } | ConvertTo-Json | Set-Content -LiteralPath '$log.json'
} catch {
    @{ ok = `$false; id = `$_.FullyQualifiedErrorId; message = "`$_" } | ConvertTo-Json | Set-Content -LiteralPath '$log.json'
    exit 1
}
"@ | Set-Content -LiteralPath "$log.ps1" -Encoding utf8NoBOM
        $env = @{ AWS_ACCESS_KEY_ID = 'testing'; AWS_SECRET_ACCESS_KEY = 'testing-secret'; AWS_EC2_METADATA_DISABLED = 'true' } + $Environment
        if ($Hold) { $env.MESS_FAULT_INJECT = "hold:$Hold"; $env.MESS_FAULT_HOLD_FILE = "$log.held" }
        $p = Start-TestEngine -Arguments @('-NoProfile', '-NonInteractive', '-File', "$log.ps1") -Environment $env -Log $log
        [pscustomobject]@{ Process = $p; Log = $log; HoldFile = "$log.held" }
    }
    # Waits until the child holds at its point (its hold file exists); fails if it ended first.
    function Wait-Held($Child, [int] $Seconds = 120) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (Test-Path -LiteralPath $Child.HoldFile)) {
            if ($Child.Process.HasExited) { throw "the child ended before its hold point: $(Get-Content "$($Child.Log).err" -Raw -ErrorAction SilentlyContinue)" }
            if ([DateTime]::UtcNow -gt $deadline) { throw "the child did not reach its hold point in $Seconds s" }
            Start-Sleep -Milliseconds 50
        }
    }
    function Resume-Child($Child) { Remove-Item -LiteralPath $Child.HoldFile -ErrorAction SilentlyContinue }
    # Waits for the child; returns its outcome (ok, id, message).
    function Wait-Child($Child, [int] $Seconds = 180) {
        if (-not $Child.Process.WaitForExit($Seconds * 1000)) { $Child.Process.Kill($true); throw "the child did not end in $Seconds s" }
        $Child.Process.WaitForExit()
        if (-not (Test-Path "$($Child.Log).json")) { throw "the child wrote no outcome: $(Get-Content "$($Child.Log).err" -Raw -ErrorAction SilentlyContinue)" }
        Get-Content "$($Child.Log).json" -Raw | ConvertFrom-Json
    }
    function Invoke-Child([string] $Body) { Wait-Child (Start-Child $Body) }

    function Get-ImportBody([string] $Target, [string] $Version = 'latest') {
        "Import-MessArtifact -Bucket dataloss -EndpointUrl '$ep' -Model builtin -Version '$Version' -ArtifactPath '$Target'"
    }
    # A reader's check that the folder's index belongs to its embeddings: Find-MessNeighbor stops with IndexOutOfStep otherwise.
    function Test-Queryable([string] $Art) {
        $id = @(Get-Content (Join-Path $Art 'embeddings/track_ids.json') -Raw | ConvertFrom-Json)[0]
        @(Find-MessNeighbor -ArtifactPath $Art -TrackId $id -K 3).Count | Should -Be 3
    }
}

AfterAll {
    if ($script:moto) { Stop-Process -Id $script:moto.Process.Id -ErrorAction SilentlyContinue }
    if ($script:work) { Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue }
}

Describe 'Case 1: two imports into one folder that does not exist yet' {
    It 'leaves one complete version; the second import waits or refuses, never reports a success it did not make' {
        $target = Join-Path $work 'case1/v1_model_builtin'
        $first = Start-Child (Get-ImportBody $target $pub1.VersionId) -Hold 'before-rename:embeddings.f32'
        Wait-Held $first
        $second = Invoke-Child (Get-ImportBody $target $pub2.VersionId)
        Resume-Child $first
        $one = Wait-Child $first
        $one.ok | Should -BeTrue -Because "the first import holds the folder ($($one.message))"
        if ($second.ok) { throw 'the second import reported success while the first one was writing the folder' }
        $second.id | Should -BeLike 'ArtifactFolderLocked*'
        Get-VersionFiles $target | Should -Be (Get-ManifestFiles $pub1)
        Test-Queryable $target
    }
}

Describe 'Case 2: the server imports from s3:// while an import writes its download folder' {
    BeforeAll {
        $script:serverDll = @(Get-ChildItem (Join-Path $RepoRoot 'src/MessTools.Server/bin') -Recurse -Filter MessTools.Server.dll -ErrorAction SilentlyContinue |
            Where-Object { $_.FullName -match '[/\\]net10\.0[/\\]MessTools\.Server\.dll$' } | Sort-Object LastWriteTime -Descending)[0]
        if (-not $serverDll) {
            & dotnet build (Join-Path $RepoRoot 'src/MessTools.Server') -c Release -nologo -v q | Out-Null
            $script:serverDll = Get-Item (Join-Path $RepoRoot 'src/MessTools.Server/bin/Release/net10.0/MessTools.Server.dll')
        }
        function Start-Server([string] $Download) {
            $port = Get-FreeLoopbackPort
            $log = Join-Path $work ('server-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
            $env = @{ AWS_ACCESS_KEY_ID = 'testing'; AWS_SECRET_ACCESS_KEY = 'testing-secret'; AWS_EC2_METADATA_DISABLED = 'true'; MESS_API_KEY = 'dataloss-key' }
            $p = Start-Process dotnet -ArgumentList $serverDll.FullName, '--artifact-path', 's3://dataloss/vector-artifacts/v1_model_builtin', '--download-path', $Download,
                '--s3-endpoint-url', $ep, '--s3-region', 'us-east-1', '--urls', "http://127.0.0.1:$port" -Environment $env `
                -RedirectStandardOutput "$log.out" -RedirectStandardError "$log.err" -PassThru
            [pscustomobject]@{ Process = $p; Url = "http://127.0.0.1:$port"; Log = $log }
        }
        function Get-Ready($Server) {
            try { (Invoke-WebRequest "$($Server.Url)/readyz" -Headers @{ 'X-Api-Key' = 'dataloss-key' } -UseBasicParsing -TimeoutSec 5).StatusCode -eq 200 } catch { $false }
        }
        function Wait-Ready($Server, [int] $Seconds = 120) {
            $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
            while (-not (Get-Ready $Server)) {
                if ($Server.Process.HasExited) { throw "the server stopped: $(Get-Content "$($Server.Log).err", "$($Server.Log).out" -Raw -ErrorAction SilentlyContinue)" }
                if ([DateTime]::UtcNow -gt $deadline) { throw "the server was not ready in $Seconds s" }
                Start-Sleep -Milliseconds 200
            }
        }
        function Stop-Server($Server) { if ($Server -and -not $Server.Process.HasExited) { $Server.Process.Kill($true); $Server.Process.WaitForExit(10000) | Out-Null } }
    }

    It 'serves only a complete, verified version, and the import beside it ends with the same complete folder' {
        $download = Join-Path $work 'case2'
        $folder = Join-Path $download 'v1_model_builtin'
        $import = Start-Child (Get-ImportBody $folder $pub2.VersionId) -Hold 'before-rename:embeddings.f32'
        Wait-Held $import
        $server = Start-Server $download
        try {
            # The server starts and meets the import in progress: it must wait for the folder's writer lock (and say so in
            # its log) rather than serve, or swap in, a folder another import is still writing.
            $readyWhileImporting = $false
            $deadline = [DateTime]::UtcNow.AddSeconds(90)
            while ([DateTime]::UtcNow -lt $deadline -and -not $server.Process.HasExited) {
                if (Get-Ready $server) { $readyWhileImporting = $true; break }
                if ((Get-Content "$($server.Log).out", "$($server.Log).err" -Raw -ErrorAction SilentlyContinue) -match 'writer lock') { break }
                Start-Sleep -Milliseconds 200
            }
            Resume-Child $import
            $outcome = Wait-Child $import
            $outcome.ok | Should -BeTrue -Because $outcome.message
            $readyWhileImporting | Should -BeFalse -Because 'the server must not serve a folder another import is still writing'
            Wait-Ready $server
            Get-VersionFiles $folder | Should -Be (Get-ManifestFiles $pub2)
            $id = @(Get-Content (Join-Path $folder 'embeddings/track_ids.json') -Raw | ConvertFrom-Json)[0]
            $near = Invoke-RestMethod "$($server.Url)/tracks/$id/nearest?k=3" -Headers @{ 'X-Api-Key' = 'dataloss-key' }
            @($near.neighbors).Count | Should -Be 3
        } finally { Stop-Server $server }
    }

    It 'a second server on the same download folder does not disturb the first' {
        $download = Join-Path $work 'case2b'
        $a = Start-Server $download
        $b = $null
        try {
            Wait-Ready $a
            $b = Start-Server $download
            Wait-Ready $b
            Get-VersionFiles (Join-Path $download 'v1_model_builtin') | Should -Be (Get-ManifestFiles $pub2)
            foreach ($s in $a, $b) {
                $id = 't0007'
                @((Invoke-RestMethod "$($s.Url)/tracks/$id/nearest?k=3" -Headers @{ 'X-Api-Key' = 'dataloss-key' }).neighbors).Count | Should -Be 3
            }
        } finally { Stop-Server $a; Stop-Server $b }
    }
}

Describe 'Case 3: New-MessIndex holds the folder while an import of another version is asked for' {
    It 'the import waits or refuses; the index always belongs to the embeddings beside it' {
        $art = Join-Path $work 'case3/v1_model_builtin'
        Copy-Item -Recurse $v1 $art
        $index = Start-Child "New-MessIndex -ArtifactPath '$art' -RecallSampleSize 0 -Seed 9" -Hold 'before-rename:hnsw.index'
        Wait-Held $index
        Get-Content (Join-Path $art '.lock.holder.json') -Raw | Should -Match 'New-MessIndex'
        $import = Invoke-Child (Get-ImportBody $art $pub2.VersionId)
        Resume-Child $index
        (Wait-Child $index).ok | Should -BeTrue
        if ($import.ok) { throw 'the import reported success while New-MessIndex held the folder' }
        $import.id | Should -BeLike 'ArtifactFolderLocked*'
        Test-Queryable $art
        # Once the index is done the same import goes through and the folder is exactly v2.
        (Invoke-Child (Get-ImportBody $art $pub2.VersionId)).ok | Should -BeTrue
        Get-VersionFiles $art | Should -Be (Get-ManifestFiles $pub2)
        Test-Queryable $art
    }
}

Describe 'Case 4: an import started while a whole pipeline writes the folder' {
    It 'refuses, and neither the pipeline nor the import leaves a mixed folder' {
        $case = Join-Path $work 'case4'
        $audio = Join-Path $case 'audio'
        $rows = @('track_id,album_id,track_no,title,composer,audio_s3_key,duration_sec')
        foreach ($i in 1..6) {
            New-ToneWav (Join-Path $audio "p$i.wav") (140 * $i + 30) -Rate 22050
            $rows += "p$i,alb$($i % 3),$i,Piece $i,$(@('Chopin', 'Liszt', 'Bach')[$i % 3]),p$i.wav,2.5"
        }
        $rows | Set-Content (Join-Path $case 'catalog.csv') -Encoding utf8NoBOM
        $art = Join-Path $case 'v1_model_builtin'
        $pipeline = Start-Child ("Export-MessMetadata -Path '$case/catalog.csv' -ArtifactPath '$art' | Get-MessAudio -AudioRoot '$audio' | " +
            "ConvertTo-MessEmbedding -ThrottleLimit 1 | New-MessIndex -RecallSampleSize 0") -Hold 'embed.journal-appended'
        Wait-Held $pipeline
        Test-Path (Join-Path $art 'embeddings/journal.bin') | Should -BeTrue
        $import = Invoke-Child (Get-ImportBody $art $pub2.VersionId)
        Resume-Child $pipeline
        $done = Wait-Child $pipeline
        $done.ok | Should -BeTrue -Because $done.message
        if ($import.ok) { throw 'the import reported success in the middle of the pipeline' }
        $import.id | Should -BeLike 'ArtifactFolderLocked*'
        Test-Path (Join-Path $art 'embeddings/.previous') | Should -BeFalse
        @(Get-Content (Join-Path $art 'embeddings/track_ids.json') -Raw | ConvertFrom-Json) | Should -Be @('p1', 'p2', 'p3', 'p4', 'p5', 'p6')
        Test-Queryable $art
    }
}

Describe 'Case 5: a publish while New-MessIndex -Type Flat rewrites the folder, and a bucket with a bad blob' {
    It 'never publishes bytes under another file''s checksum: every import of the latest version succeeds' {
        $art = Join-Path $work 'case5/v1_model_case5'
        Copy-Item -Recurse $v1 $art
        $publish = Start-Child "Publish-MessArtifact -ArtifactPath '$art' -Bucket dataloss -EndpointUrl '$ep' -Model case5" -Hold 'publish.hashed'
        Wait-Held $publish
        $flat = Invoke-Child "New-MessIndex -ArtifactPath '$art' -Type Flat -RecallSampleSize 0"
        Resume-Child $publish
        $published = Wait-Child $publish
        $published.ok | Should -BeTrue -Because $published.message
        if ($flat.ok) { throw 'New-MessIndex rewrote the folder while it was being published' }
        $flat.id | Should -BeLike 'ArtifactFolderLocked*'
        $fresh = Join-Path $work 'case5/imported'
        $imported = Invoke-Child "Import-MessArtifact -Bucket dataloss -EndpointUrl '$ep' -Model case5 -ArtifactPath '$fresh'"
        $imported.ok | Should -BeTrue -Because $imported.message
        Test-Queryable $fresh
    }

    It 'a republish finds a blob that does not hold its key''s bytes and uploads it again, so the version imports' {
        $art = Join-Path $work 'case5b/v1_model_case5b'
        Copy-Item -Recurse $v2 $art
        $pub = Publish-MessArtifact -ArtifactPath $art -Bucket dataloss -EndpointUrl $ep -Model case5b
        # What an earlier release could leave: the blob of index_meta.json holding other bytes (moto, like a lax store,
        # accepts them).
        $entry = $pub.Manifest.Files | Where-Object Path -EQ 'index/index_meta.json'
        $key = "vector-artifacts/v1_model_case5b/blobs/sha256/$($entry.Sha256)"
        $blobs = @(Invoke-RestMethod "$ep/dataloss?list-type=2&prefix=vector-artifacts/v1_model_case5b/blobs/sha256/" -UseBasicParsing).ListBucketResult.Contents.Key
        $blobs | Should -Contain $key
        $bad = [Text.Encoding]::UTF8.GetBytes(('{"x":' + ('1' * ($entry.Size - 6)) + '}'))
        $bad.Length | Should -Be $entry.Size
        $badFile = Join-Path $work 'case5b-bad.json'
        [IO.File]::WriteAllBytes($badFile, $bad)
        & python3 -c "import boto3,sys; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1').upload_file(sys.argv[2], 'dataloss', sys.argv[3])" $ep $badFile $key
        $LASTEXITCODE | Should -Be 0 -Because 'boto3 (beside moto_server) puts the bad bytes'
        { Import-MessArtifact -Bucket dataloss -EndpointUrl $ep -Model case5b -ArtifactPath (Join-Path $work 'case5b/broken') } | Should -Throw -ErrorId 'ArtifactChecksumMismatch*'

        $again = Publish-MessArtifact -ArtifactPath $art -Bucket dataloss -EndpointUrl $ep -Model case5b
        $again.VersionId | Should -Be $pub.VersionId
        $again.UploadedFiles | Should -Be 1
        @($again.Uploads.Path) | Should -Be @('index/index_meta.json')
        $fixed = Join-Path $work 'case5b/fixed'
        Import-MessArtifact -Bucket dataloss -EndpointUrl $ep -Model case5b -ArtifactPath $fixed | Out-Null
        Get-VersionFiles $fixed | Should -Be (Get-ManifestFiles $pub)
        # A republish of a sound bucket uploads nothing.
        (Publish-MessArtifact -ArtifactPath $art -Bucket dataloss -EndpointUrl $ep -Model case5b).UploadedFiles | Should -Be 0
    }
}

Describe 'Case 6: an import replaces the version whole, run records included' {
    It 'a publish right after importing v2 over v1 is v2 itself' {
        $art = Join-Path $work 'case6/v1_model_builtin'
        Import-MessArtifact -Bucket dataloss -EndpointUrl $ep -Model builtin -Version $pub1.VersionId -ArtifactPath $art | Out-Null
        New-MessIndex -ArtifactPath $art -RecallSampleSize 0 | Out-Null   # a local run on v1 adds a run record
        Import-MessArtifact -Bucket dataloss -EndpointUrl $ep -Model builtin -Version $pub2.VersionId -ArtifactPath $art | Out-Null
        Get-VersionFiles $art | Should -Be (Get-ManifestFiles $pub2)
        $plan = Publish-MessArtifact -ArtifactPath $art -Bucket dataloss -EndpointUrl $ep -Model builtin
        $plan.VersionId | Should -Be $pub2.VersionId
        $plan.Files | Should -Be $pub2.Files
        $plan.UploadedFiles | Should -Be 0
    }
}

Describe 'Case 7: rows that are not unit length in a set whose meta says l2' {
    BeforeAll {
        function New-BadSet([string] $Art, [double] $Scale) {
            $set = New-IndexTestArtifacts -Art $Art -Count 40 -Dim 8 -Seed 5
            $data = $set.Data
            for ($d = 0; $d -lt 8; $d++) { $data[7 * 8 + $d] = [float]($data[7 * 8 + $d] * $Scale) }
            Write-IndexTestEmbeddings -Art $Art -Ids $set.Ids -Data $data -Dim 8
        }
        $script:scaled = Join-Path $work 'case7/scaled'
        $script:zero = Join-Path $work 'case7/zero'
        New-BadSet $scaled 1000
        New-BadSet $zero 0
    }

    It '<Name> refuses a row scaled x1000, naming the track' -ForEach @(
        @{ Name = 'New-MessIndex'; Command = { param($a) New-MessIndex -ArtifactPath $a -RecallSampleSize 0 } }
        @{ Name = 'Invoke-MessEvaluation'; Command = { param($a) Invoke-MessEvaluation -ArtifactPath $a } }
        @{ Name = 'Publish-MessVector'; Command = { param($a) Publish-MessVector -ArtifactPath $a -ConnectionString 'Host=127.0.0.1;Port=1;Database=x;Username=x;Password=x;Timeout=2' } }
    ) {
        { & $Command $scaled } | Should -Throw -ExpectedMessage '*t0007*'
        Test-Path (Join-Path $scaled 'index/hnsw.index') | Should -BeFalse
    }

    It 'New-MessIndex refuses a zero row, naming the track' {
        { New-MessIndex -ArtifactPath $zero -RecallSampleSize 0 } | Should -Throw -ExpectedMessage '*t0007*'
    }
}
