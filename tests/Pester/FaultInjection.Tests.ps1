#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Issue 10: nothing lost. Every writing stage is run in a child pwsh (the engine process itself, started as this
# process was: `dotnet <pwsh.dll>` or the pwsh apphost) that kills itself at a scripted point
# (MESS_FAULT_INJECT, see docs/reliability.md); then the stage runs again and its artifacts must equal a clean
# run's, with no temporary left. Also: two concurrent writers on one folder. Needs ffmpeg (Get-MessAudio
# -Standardize) and python3 (http.server on loopback). 110-148 s of tests on 2 shared cores.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')

    # How to start another engine process like this one.
    $script:Engine = [Environment]::ProcessPath
    $script:EngineArgs = @()
    if ((Split-Path -Leaf $script:Engine) -like 'dotnet*') { $script:EngineArgs = @([Environment]::GetCommandLineArgs()[0]) }

    $script:Base = Join-Path ([IO.Path]::GetTempPath()) ("messfault-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $audio = Join-Path $script:Base 'audio'
    New-Item -ItemType Directory -Path $audio | Out-Null


    $rows = @('track_id,album_id,track_no,title,composer,audio_s3_key,duration_sec')
    $composers = 'Chopin', 'Liszt', 'Bach'
    for ($i = 1; $i -le 9; $i++) {
        New-ToneWav (Join-Path $audio "t$i.wav") (110 * $i + 20 * ($i % 3)) -Rate 22050   # TestHelpers.ps1
        $rows += "t$i,alb$([math]::Floor(($i - 1) / 2)),$i,Piece $i,$($composers[$i % 3]),t$i.wav,2.5"
    }
    $script:Catalog = Join-Path $script:Base 'catalog.csv'
    $rows | Set-Content -Path $script:Catalog -Encoding utf8NoBOM

    # One script per stage, run in-process for the clean reference and in a child for the faults.
    $script:Stages = [ordered]@{
        metadata = { param($art, $catalog, $audio) Export-MessMetadata -Path $catalog -ArtifactPath $art | Out-Null }
        audio    = { param($art, $catalog, $audio) Import-Csv (Join-Path $art 'metadata/tracks_metadata.csv') | Get-MessAudio -ArtifactPath $art -AudioRoot $audio -ThrottleLimit 2 | Out-Null }
        embed    = { param($art, $catalog, $audio) Import-Csv (Join-Path $art 'metadata/tracks_metadata.csv') | Get-MessAudio -ArtifactPath $art -AudioRoot $audio | ConvertTo-MessEmbedding -ArtifactPath $art -ThrottleLimit 1 | Out-Null }
        index    = { param($art, $catalog, $audio) New-MessIndex -ArtifactPath $art -ThrottleLimit 1 -RecallSampleSize 0 | Out-Null }
        eval     = { param($art, $catalog, $audio) Invoke-MessEvaluation -ArtifactPath $art -K 1, 3 | Out-Null }
    }

    # Clean run, stage by stage, with a snapshot of the folder after each.
    $script:Snap = @{}
    $art = Join-Path $script:Base 'clean'
    $previous = $null
    foreach ($name in $script:Stages.Keys) {
        & $script:Stages[$name] $art $script:Catalog $audio
        $snap = Join-Path $script:Base "snap-$name"
        Copy-Item -Recurse $art $snap
        $script:Snap[$name] = @{ Before = $previous; After = $snap }
        $previous = $snap
    }
    $script:Audio = $audio

    # Starts one stage in a child engine process with MESS_FAULT_INJECT=$Fault.
    function Start-ChildStage([string]$Stage, [string]$Art, [string]$Fault, [string]$Extra = '') {
        $script = Join-Path $script:Base ("child-" + [guid]::NewGuid().ToString('N').Substring(0, 6) + '.ps1')
        @"
`$ErrorActionPreference = 'Stop'
Import-Module '$script:ModuleManifest'
`$stage = { $($script:Stages[$Stage]) }
& `$stage '$Art' '$script:Catalog' '$script:Audio'
$Extra
"@ | Set-Content -Path $script -Encoding utf8NoBOM
        $psi = [Diagnostics.ProcessStartInfo]::new($script:Engine)
        foreach ($a in $script:EngineArgs + @('-NoProfile', '-NonInteractive', '-File', $script)) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardError = $true
        $psi.RedirectStandardOutput = $true
        $psi.UseShellExecute = $false
        $psi.Environment['MESS_FAULT_INJECT'] = $Fault
        $p = [Diagnostics.Process]::Start($psi)
        [pscustomobject]@{ Process = $p; Err = $p.StandardError.ReadToEndAsync(); Out = $p.StandardOutput.ReadToEndAsync(); Name = "$Stage ($Fault)" }
    }

    # Waits for a child stage; returns its exit code and output.
    function Wait-ChildStage($Child) {
        if (-not $Child.Process.WaitForExit(180000)) { $Child.Process.Kill($true); throw "child stage $($Child.Name) did not end in 3 minutes" }
        $Child.Process.WaitForExit()
        [pscustomobject]@{ ExitCode = $Child.Process.ExitCode; StdErr = $Child.Err.Result; StdOut = $Child.Out.Result; Pid = $Child.Process.Id }
    }

    function Invoke-ChildStage([string]$Stage, [string]$Art, [string]$Fault) { Wait-ChildStage (Start-ChildStage $Stage $Art $Fault) }

    function New-FaultFolder([string]$Stage) {
        $art = Join-Path $script:Base ("case-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        $before = $script:Snap[$Stage].Before
        if ($before) { Copy-Item -Recurse $before $art } else { New-Item -ItemType Directory -Path $art | Out-Null }
        $art
    }

    # track id -> its row of embeddings.f32 (Get-MessAudio emits tracks as they finish, so the row order may differ between runs).
    function Get-EmbeddingRows([string]$Art) {
        $ids = @(Get-Content (Join-Path $Art 'embeddings/track_ids.json') -Raw | ConvertFrom-Json)
        $bytes = [IO.File]::ReadAllBytes((Join-Path $Art 'embeddings/embeddings.f32'))
        $width = $bytes.Length / $ids.Count
        $map = [ordered]@{}
        foreach ($i in 0..($ids.Count - 1) | Sort-Object { $ids[$_] }) { $map[$ids[$i]] = [Convert]::ToBase64String($bytes, $i * $width, $width) }
        $map
    }

    function Assert-SameEmbeddings([string]$Art, [string]$Reference) {
        $got = Get-EmbeddingRows $Art; $want = Get-EmbeddingRows $Reference
        @($got.Keys) | Should -Be @($want.Keys)
        foreach ($k in $want.Keys) { $got[$k] | Should -Be $want[$k] -Because "track $k's embedding must equal the clean run's" }
    }

    # The holder file's command, or null while it is absent or half written (strict mode: no missing-property reads).
    function Get-HolderCommand($Holder) { if ($null -eq $Holder) { return $null }; $p = $Holder.PSObject.Properties['command']; if ($p) { $p.Value } }
    function Get-Temporaries([string]$Art) { @(Get-ChildItem -Path $Art -Recurse -Force -File -Filter '*.messtmp') }

    function Assert-SameFiles([string]$Art, [string]$Reference, [string[]]$Relative) {
        foreach ($r in $Relative) {
            $a = Join-Path $Art $r; $b = Join-Path $Reference $r
            Test-Path $a | Should -BeTrue -Because "$r must exist after the rerun"
            (Get-FileHash $a).Hash | Should -Be (Get-FileHash $b).Hash -Because "$r must equal the clean run's"
        }
    }
}

AfterAll {
    if ($script:Base -and (Test-Path $script:Base)) { Remove-Item -Recurse -Force $script:Base }
}

Describe 'A writer killed at a scripted point, then run again, ends like a clean run' {
    It 'Export-MessMetadata killed before renaming tracks_metadata.csv' {
        $art = New-FaultFolder metadata
        $r = Invoke-ChildStage metadata $art 'before-rename:tracks_metadata.csv'
        $r.ExitCode | Should -Not -Be 0
        $r.StdErr | Should -Match 'MESS_FAULT_INJECT: killing'
        Test-Path (Join-Path $art 'metadata/tracks_metadata.csv') | Should -BeFalse
        @(Get-Temporaries $art).Count | Should -Be 1
        & $script:Stages.metadata $art $script:Catalog $script:Audio
        Assert-SameFiles $art $script:Snap.metadata.After 'metadata/tracks_metadata.csv'
        @(Get-Temporaries $art).Count | Should -Be 0
    }

    It 'Get-MessAudio killed before renaming a standardised WAV' {
        $art = New-FaultFolder audio
        $r = Invoke-ChildStage audio $art 'before-rename:t5.wav'
        $r.ExitCode | Should -Not -Be 0
        $r.StdErr | Should -Match "killing .* at 'before-rename:t5.wav'"
        @(Get-Temporaries $art).Count | Should -BeGreaterThan 0
        & $script:Stages.audio $art $script:Catalog $script:Audio
        Assert-SameFiles $art $script:Snap.audio.After (1..9 | ForEach-Object { "audio_wav/t$_.wav" })
        @(Get-Temporaries $art).Count | Should -Be 0
    }

    It 'Get-MessAudio killed between a download and its cache sidecar (http source on loopback)' {
        # a plain HTTP server on a free loopback port serves the WAVs: the downloads go through audio_cache/
        $l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0); $l.Start(); $port = $l.LocalEndpoint.Port; $l.Stop()
        $server = Start-Process -FilePath python3 -ArgumentList '-m', 'http.server', $port, '--bind', '127.0.0.1', '--directory', $script:Audio -PassThru -RedirectStandardError (Join-Path $script:Base "http-$port.log")
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            do {
                Start-Sleep -Milliseconds 200
                $up = try { (Invoke-WebRequest "http://127.0.0.1:$port/t1.wav" -Method Head -TimeoutSec 2).StatusCode -eq 200 } catch { $false }
            } until ($up -or [DateTime]::UtcNow -gt $deadline)
            $up | Should -BeTrue -Because 'python3 -m http.server must start'
            $script:Stages['http'] = [scriptblock]::Create(@"
param(`$art, `$catalog, `$audio)
Import-Csv (Join-Path `$art 'metadata/tracks_metadata.csv') | ForEach-Object { `$_.audio_s3_key = "http://127.0.0.1:$port/`$(`$_.audio_s3_key)"; `$_ } |
    Get-MessAudio -ArtifactPath `$art -ThrottleLimit 1 -Standardize:`$false | Out-Null
"@)
            $art = New-FaultFolder audio
            $r = Invoke-ChildStage http $art 'audio.before-sidecar#2'
            $r.ExitCode | Should -Not -Be 0
            $r.StdErr | Should -Match "at 'audio.before-sidecar'"
            $cached = @(Get-ChildItem -Recurse -File (Join-Path $art 'audio_cache') | Where-Object Name -like '*.wav')
            $sidecars = @(Get-ChildItem -Recurse -File (Join-Path $art 'audio_cache') | Where-Object Name -like '*.source.json')
            $cached.Count | Should -Be 2
            $sidecars.Count | Should -Be 1 # the second download is in place without its sidecar
            & $script:Stages.http $art $script:Catalog $script:Audio
            foreach ($i in 1..9) {
                $f = @(Get-ChildItem -Recurse -File (Join-Path $art 'audio_cache') -Filter "t$i.wav")
                $f.Count | Should -Be 1
                (Get-FileHash $f[0].FullName).Hash | Should -Be (Get-FileHash (Join-Path $script:Audio "t$i.wav")).Hash
                Test-Path "$($f[0].FullName).source.json" | Should -BeTrue
            }
            @(Get-Temporaries $art).Count | Should -Be 0
        }
        finally { Stop-Process -Id $server.Id -ErrorAction SilentlyContinue }
    }

    It 'ConvertTo-MessEmbedding killed after its third finished track keeps those three' {
        $art = New-FaultFolder embed
        $r = Invoke-ChildStage embed $art 'embed.journal-appended#3'
        $r.ExitCode | Should -Not -Be 0
        $r.StdErr | Should -Match 'MESS_FAULT_INJECT: killing'
        Test-Path (Join-Path $art 'embeddings/journal.bin') | Should -BeTrue
        $warnings = & $script:Stages.embed $art $script:Catalog $script:Audio 3>&1
        ($warnings -join "`n") | Should -Match '3 track\(s\) that an interrupted run finished were recovered'
        $record = Get-ChildItem (Join-Path $art 'runs') -Filter '*ConvertTo-MessEmbedding*.json' | Sort-Object Name | Select-Object -Last 1 | Get-Content -Raw | ConvertFrom-Json
        $record.counts.recovered | Should -Be 3
        $record.counts.computed | Should -Be 6
        Assert-SameEmbeddings $art $script:Snap.embed.After
        Test-Path (Join-Path $art 'embeddings/journal.bin') | Should -BeFalse
    }

    It 'ConvertTo-MessEmbedding killed while saving its first set, before the meta, is no dead end' {
        $art = New-FaultFolder embed
        $r = Invoke-ChildStage embed $art 'before-rename:embeddings_meta.json'
        $r.ExitCode | Should -Not -Be 0
        Test-Path (Join-Path $art 'embeddings/rows.json') | Should -BeTrue
        Test-Path (Join-Path $art 'embeddings/embeddings_meta.json') | Should -BeFalse
        & $script:Stages.embed $art $script:Catalog $script:Audio 3>&1 | Out-Null
        $record = Get-ChildItem (Join-Path $art 'runs') -Filter '*ConvertTo-MessEmbedding*.json' | Sort-Object Name | Select-Object -Last 1 | Get-Content -Raw | ConvertFrom-Json
        $record.status | Should -Be 'completed'
        $record.counts.recovered | Should -Be 9
        $record.counts.computed | Should -Be 0
        Assert-SameEmbeddings $art $script:Snap.embed.After
        @(Get-Temporaries $art).Count | Should -Be 0
    }

    It 'New-MessIndex killed between its two renames leaves a meta that is detected and rewritten' {
        $art = New-FaultFolder index
        # an earlier index and its meta first, so the kill leaves the new index beside the old meta
        New-MessIndex -ArtifactPath $art -Type Flat | Out-Null
        $r = Invoke-ChildStage index $art 'index.between-renames'
        $r.ExitCode | Should -Not -Be 0
        Test-Path (Join-Path $art 'index/hnsw.index') | Should -BeTrue
        $stale = Get-Content (Join-Path $art 'index/index_meta.json') -Raw | ConvertFrom-Json
        $stale.index_file | Should -Be 'flat.index' # the meta does not name the new index
        # -Append finds the index up to date and rewrites the meta that did not describe it
        $warnings = New-MessIndex -ArtifactPath $art -ThrottleLimit 1 -RecallSampleSize 0 -Append 3>&1 | Where-Object { $_ -is [System.Management.Automation.WarningRecord] }
        ($warnings -join "`n") | Should -Match 'did not describe .*rewritten'
        Assert-SameFiles $art $script:Snap.index.After 'index/hnsw.index'
        $meta = Get-Content (Join-Path $art 'index/index_meta.json') -Raw | ConvertFrom-Json
        $clean = Get-Content (Join-Path $script:Snap.index.After 'index/index_meta.json') -Raw | ConvertFrom-Json
        $meta.index_file | Should -Be 'hnsw.index'
        $meta.index_xxh64 | Should -Be $clean.index_xxh64
        $meta.count | Should -Be 9
        @(Get-Temporaries $art).Count | Should -Be 0
    }

    It 'Invoke-MessEvaluation killed before renaming eval_results.json' {
        $art = New-FaultFolder eval
        $r = Invoke-ChildStage eval $art 'before-rename:eval_results.json'
        $r.ExitCode | Should -Not -Be 0
        Test-Path (Join-Path $art 'eval/eval_results.json') | Should -BeFalse
        @(Get-Temporaries $art).Count | Should -Be 1
        & $script:Stages.eval $art $script:Catalog $script:Audio
        $got = Get-Content (Join-Path $art 'eval/eval_results.json') -Raw | ConvertFrom-Json
        $want = Get-Content (Join-Path $script:Snap.eval.After 'eval/eval_results.json') -Raw | ConvertFrom-Json
        $pick = 'k', 'exclude_same_album', 'queries', 'precision_at_k', 'hit_rate_at_k', 'ndcg_at_k'
        ($got.results | Select-Object $pick | ConvertTo-Json) | Should -Be ($want.results | Select-Object $pick | ConvertTo-Json)
        @(Get-Temporaries $art).Count | Should -Be 0
    }

    It 'Clear-MessCache killed after its first removal' {
        $art = New-FaultFolder eval
        New-Item -ItemType Directory -Path (Join-Path $art 'cache/a/b') -Force | Out-Null
        'x' | Set-Content (Join-Path $art 'cache/a/b/one.bin')
        'y' | Set-Content (Join-Path $art 'cache/two.bin')
        'z' | Set-Content (Join-Path $art 'cache/three.bin')
        $script:Stages['clear'] = { param($art, $catalog, $audio) Clear-MessCache -ArtifactPath $art }
        $r = Invoke-ChildStage clear $art 'cache.removed'
        $r.ExitCode | Should -Not -Be 0
        @(Get-ChildItem (Join-Path $art 'cache')).Count | Should -Be 2
        Clear-MessCache -ArtifactPath $art
        @(Get-ChildItem (Join-Path $art 'cache')).Count | Should -Be 0
        Assert-SameFiles $art $script:Snap.eval.After 'embeddings/embeddings.f32', 'metadata/tracks_metadata.csv'
    }
}

Describe 'The writer lock' {
    It 'is released when its holder is killed: the next writer gets it at once' {
        $art = New-FaultFolder index
        $r = Invoke-ChildStage index $art 'lock.acquired'
        $r.ExitCode | Should -Not -Be 0
        Test-Path (Join-Path $art '.lock') | Should -BeTrue
        { New-MessIndex -ArtifactPath $art -ThrottleLimit 1 -RecallSampleSize 0 -LockTimeout 0 -ErrorAction Stop | Out-Null } | Should -Not -Throw
        Assert-SameFiles $art $script:Snap.index.After 'index/hnsw.index'
    }

    It 'makes a second concurrent writer fail at once naming the holder, or wait with -LockTimeout; nothing is lost' {
        $art = New-FaultFolder embed
        # Writer A (a child process): embeds t1..t4, but holds the folder until told to go on (its first track is posted, then it waits).
        $go = Join-Path $script:Base ("go-" + [guid]::NewGuid().ToString('N').Substring(0, 6))
        $script:Stages['holdA'] = [scriptblock]::Create(@"
param(`$art, `$catalog, `$audio)
`$tracks = @(Import-Csv (Join-Path `$art 'metadata/tracks_metadata.csv') | Select-Object -First 4 | Get-MessAudio -ArtifactPath `$art -AudioRoot `$audio | Sort-Object TrackId)
& { `$tracks[0]; while (-not (Test-Path '$go')) { Start-Sleep -Milliseconds 100 }; `$tracks[1..3] } | ConvertTo-MessEmbedding -ArtifactPath `$art -ThrottleLimit 1 | Out-Null
"@)
        Copy-Item -Recurse (Join-Path $script:Snap.index.After 'index') (Join-Path $art 'index')
        $childA = Start-ChildStage holdA $art ''
        try {
            # wait until A's ConvertTo-MessEmbedding holds the lock (its holder file names it; Get-MessAudio held it before)
            $holderFile = Join-Path $art '.lock.holder.json'
            $deadline = [DateTime]::UtcNow.AddSeconds(120)
            $holder = $null
            while ((Get-HolderCommand $holder) -ne 'ConvertTo-MessEmbedding' -and [DateTime]::UtcNow -lt $deadline -and -not $childA.Process.HasExited) {
                Start-Sleep -Milliseconds 200
                $holder = try { Get-Content $holderFile -Raw -ErrorAction Stop | ConvertFrom-Json } catch { $null }
            }
            Get-HolderCommand $holder | Should -Be 'ConvertTo-MessEmbedding'

            # Writer B in this process: t5..t9. At once: a terminating error that names A.
            $tracksB = @(Import-Csv (Join-Path $art 'metadata/tracks_metadata.csv') | Select-Object -Skip 4 |
                ForEach-Object { $_ | Add-Member -NotePropertyName wav_path -NotePropertyValue (Join-Path $art "audio_wav/$($_.track_id).wav") -PassThru })
            $err = $null
            try { $tracksB | ConvertTo-MessEmbedding -ArtifactPath $art -ErrorAction Stop | Out-Null } catch { $err = $_ }
            $err | Should -Not -BeNullOrEmpty
            $err.FullyQualifiedErrorId | Should -Match '^ArtifactFolderLocked'
            $err.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
            $err.Exception.Message | Should -Match 'ConvertTo-MessEmbedding'
            $err.Exception.Message | Should -Match "process $($holder.process_id) on host '$([regex]::Escape([Environment]::MachineName))'"
            $err.Exception.Message | Should -Match 'started \d{4}-\d\d-\d\d'
            # Readers never take the lock: a query of the locked folder answers.
            @(Find-MessNeighbor -ArtifactPath $art -TrackId t1 -K 2 -ErrorAction Stop).Count | Should -Be 2

            # With -LockTimeout B waits for A, then adds its tracks to A's.
            $release = Start-ThreadJob -ScriptBlock { param($go) Start-Sleep -Seconds 2; Set-Content -Path $go -Value go } -ArgumentList $go
            $tracksB | ConvertTo-MessEmbedding -ArtifactPath $art -LockTimeout 120 -ErrorAction Stop | Out-Null
            $release | Wait-Job | Remove-Job
        }
        finally {
            if (-not (Test-Path $go)) { Set-Content -Path $go -Value go }
            $a = Wait-ChildStage $childA
        }
        $a.ExitCode | Should -Be 0 -Because $a.StdErr
        $ids = Get-Content (Join-Path $art 'embeddings/track_ids.json') -Raw | ConvertFrom-Json
        @($ids | Sort-Object) | Should -Be @(1..9 | ForEach-Object { "t$_" })
        Test-Path (Join-Path $art '.lock.holder.json') | Should -BeFalse
    }
}
