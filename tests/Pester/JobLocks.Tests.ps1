#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Issue 18: Import-MessArtifact and Publish-MessArtifact take the artifact folder's writer lock (the Core ImportJob and
# PublishJob), like every writing stage. Real pwsh, moto_server on loopback, child engine processes killed at scripted
# points (MESS_FAULT_INJECT, docs/reliability.md). moto_server is required: the tests fail, never skip, without it.
BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    . "$PSScriptRoot/IndexTestData.ps1"
    $script:motoServer = Start-TestMoto   # TestHelpers.ps1
    $script:moto = $motoServer.Process
    $script:ep = $motoServer.Endpoint
    Invoke-WebRequest -Method Put "$ep/pester-locks" -UseBasicParsing | Out-Null

    $script:work = Join-Path ([IO.Path]::GetTempPath()) ("messpester-locks-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path $work | Out-Null
    $script:art = Join-Path $work 'src/v1_model_builtin'
    New-IndexTestArtifacts -Art $art -Count 60 | Out-Null
    New-MessIndex -ArtifactPath $art -RecallSampleSize 0 | Out-Null
    $script:pub = Publish-MessArtifact -ArtifactPath $art -Bucket pester-locks -EndpointUrl $ep -Model builtin

    $script:Engine = [Environment]::ProcessPath
    $script:EngineArgs = @()
    if ((Split-Path -Leaf $script:Engine) -like 'dotnet*') { $script:EngineArgs = @([Environment]::GetCommandLineArgs()[0]) }

    # Runs $Command in a child engine process with MESS_FAULT_INJECT=$Fault; returns exit code and output.
    function Invoke-Child([string]$Command, [string]$Fault) {
        $script = Join-Path $work ("child-" + [guid]::NewGuid().ToString('N').Substring(0, 6) + '.ps1')
        "`$ErrorActionPreference = 'Stop'`nImport-Module '$script:ModuleManifest'`n$Command" | Set-Content -Path $script -Encoding utf8NoBOM
        $psi = [Diagnostics.ProcessStartInfo]::new($script:Engine)
        foreach ($a in $script:EngineArgs + @('-NoProfile', '-NonInteractive', '-File', $script)) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardError = $true; $psi.RedirectStandardOutput = $true; $psi.UseShellExecute = $false
        $psi.Environment['MESS_FAULT_INJECT'] = $Fault
        foreach ($k in 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_EC2_METADATA_DISABLED') { $psi.Environment[$k] = [Environment]::GetEnvironmentVariable($k) }
        $p = [Diagnostics.Process]::Start($psi)
        $err = $p.StandardError.ReadToEndAsync(); $out = $p.StandardOutput.ReadToEndAsync()
        if (-not $p.WaitForExit(180000)) { $p.Kill($true); throw "child did not end in 3 minutes: $Command" }
        $p.WaitForExit()
        [pscustomobject]@{ ExitCode = $p.ExitCode; StdErr = $err.Result; StdOut = $out.Result }
    }

    # Every file of the published version is in $Folder with its manifest hash.
    function Assert-Version([string]$Folder, $Manifest) {
        foreach ($f in $Manifest.Files) {
            $path = Join-Path $Folder $f.Path
            Test-Path $path | Should -BeTrue -Because "$($f.Path) belongs to the imported version"
            (Get-FileHash $path -Algorithm SHA256).Hash.ToLowerInvariant() | Should -Be $f.Sha256 -Because "$($f.Path) must hold the published bytes"
        }
    }

    # A writer of another runspace of this process holds $Folder's lock until the returned job is stopped:
    # Export-MessMetadata of the folder's own catalogue, whose output a slow consumer takes one track a second.
    function Start-Holder([string]$Folder) {
        $catalog = Join-Path $work ("catalog-" + [guid]::NewGuid().ToString('N').Substring(0, 6) + '.csv')
        Copy-Item (Join-Path $Folder 'metadata/tracks_metadata.csv') $catalog
        $job = Start-ThreadJob -ScriptBlock {
            param($m, $catalog, $folder)
            Import-Module $m
            Export-MessMetadata -Path $catalog -ArtifactPath $folder | ForEach-Object { Start-Sleep -Milliseconds 1000 }
        } -ArgumentList $script:ModuleManifest, $catalog, $Folder
        $holder = Join-Path $Folder '.lock.holder.json'
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while (-not (Test-Path $holder) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        Test-Path $holder | Should -BeTrue -Because 'the holder must have taken the lock'
        $job
    }
}

AfterAll {
    if ($script:moto) { Stop-Process -Id $script:moto.Id -ErrorAction SilentlyContinue }
    if ($script:work) { Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue }
}

Describe 'Import-MessArtifact takes the folder''s writer lock' {
    It 'refuses at once while another writer holds the folder, naming it, and leaves the folder as it was' {
        $dst = Join-Path $work 'held'
        Copy-Item -Recurse $art $dst
        Remove-Item (Join-Path $dst 'index') -Recurse
        $job = Start-Holder $dst
        try {
            $err = $null
            try { Import-MessArtifact -Bucket pester-locks -EndpointUrl $ep -Model builtin -ArtifactPath $dst -ErrorAction Stop | Out-Null } catch { $err = $_ }
            $err | Should -Not -BeNullOrEmpty
            $err.FullyQualifiedErrorId | Should -BeLike 'ArtifactFolderLocked*'
            $err.Exception.Message | Should -Match 'Export-MessMetadata'
            Test-Path (Join-Path $dst 'index') | Should -BeFalse -Because 'the refused import must not have swapped anything in'
            # With -LockTimeout it waits for the holder, then imports the whole version.
            $job | Stop-Job
            $imp = Import-MessArtifact -Bucket pester-locks -EndpointUrl $ep -Model builtin -ArtifactPath $dst -LockTimeout 60 -ErrorAction Stop
            $imp.VersionId | Should -Be $pub.VersionId
        }
        finally { $job | Stop-Job -PassThru | Remove-Job -Force }
        Assert-Version $dst $pub.Manifest
        Test-Path (Join-Path $dst '.lock.holder.json') | Should -BeFalse
    }

    It 'holds the lock across the swap: killed just before it, the next import proceeds and the folder is one complete version' {
        $dst = Join-Path $work 'killed-import'
        $r = Invoke-Child "Import-MessArtifact -Bucket pester-locks -EndpointUrl '$ep' -Model builtin -ArtifactPath '$dst'" 'import.before-swap'
        $r.ExitCode | Should -Not -Be 0
        $r.StdErr | Should -Match "killing process \d+ at 'import.before-swap'"
        Test-Path (Join-Path $dst 'embeddings') | Should -BeFalse -Because 'nothing is swapped in before the kill point'
        $imp = Import-MessArtifact -Bucket pester-locks -EndpointUrl $ep -Model builtin -ArtifactPath $dst -LockTimeout 0 -ErrorAction Stop
        $imp.VersionId | Should -Be $pub.VersionId
        Assert-Version $dst $pub.Manifest
        # The held lock file is the one in the folder after the swap: another runspace cannot take it while an import holds it.
        Test-Path (Join-Path $dst '.lock') | Should -BeTrue
    }

    It 'is released when the importer is killed holding it: the next import gets it at once' {
        $dst = Join-Path $work 'killed-holder'
        $r = Invoke-Child "Import-MessArtifact -Bucket pester-locks -EndpointUrl '$ep' -Model builtin -ArtifactPath '$dst'" 'lock.acquired'
        $r.ExitCode | Should -Not -Be 0
        { Import-MessArtifact -Bucket pester-locks -EndpointUrl $ep -Model builtin -ArtifactPath $dst -LockTimeout 0 -ErrorAction Stop | Out-Null } | Should -Not -Throw
        Assert-Version $dst $pub.Manifest
    }

    It 'leaves no folder behind when it fails into a folder that did not exist' {
        $dst = Join-Path $work 'never'
        { Import-MessArtifact -Bucket pester-locks -EndpointUrl $ep -Model nosuchmodel -ArtifactPath $dst -ErrorAction Stop } | Should -Throw -ErrorId 'ArtifactVersionNotFound*'
        Test-Path $dst | Should -BeFalse
    }
}

Describe 'Publish-MessArtifact holds the folder still' {
    It 'refuses while a writer holds the folder, and waits for it with -LockTimeout' {
        $dst = Join-Path $work 'pub-held'
        Copy-Item -Recurse $art $dst
        $job = Start-Holder $dst
        try {
            { Publish-MessArtifact -ArtifactPath $dst -Bucket pester-locks -EndpointUrl $ep -Model builtin -ErrorAction Stop } | Should -Throw -ErrorId 'ArtifactFolderLocked*'
            $job | Stop-Job
            $again = Publish-MessArtifact -ArtifactPath $dst -Bucket pester-locks -EndpointUrl $ep -Model builtin -LockTimeout 60 -ErrorAction Stop
            $again.Files | Should -BeGreaterThan 0
        }
        finally { $job | Stop-Job -PassThru | Remove-Job -Force }
    }

    It 'is released when the publisher is killed after hashing: the next publish proceeds' {
        $dst = Join-Path $work 'pub-killed'
        Copy-Item -Recurse $art $dst
        $r = Invoke-Child "Publish-MessArtifact -ArtifactPath '$dst' -Bucket pester-locks -EndpointUrl '$ep' -Model killed" 'publish.hashed'
        $r.ExitCode | Should -Not -Be 0
        $r.StdErr | Should -Match "killing process \d+ at 'publish.hashed'"
        @(Get-MessArtifactVersion -Bucket pester-locks -EndpointUrl $ep -Model killed) | Should -BeNullOrEmpty
        $p = Publish-MessArtifact -ArtifactPath $dst -Bucket pester-locks -EndpointUrl $ep -Model killed -LockTimeout 0 -ErrorAction Stop
        $p.PointerUpdated | Should -BeTrue
    }

    It 'does not create a folder that does not exist' {
        $dst = Join-Path $work 'pub-missing'
        { Publish-MessArtifact -ArtifactPath $dst -Bucket pester-locks -EndpointUrl $ep -Model builtin -ErrorAction Stop } | Should -Throw -ErrorId 'ArtifactsNotFound*'
        Test-Path $dst | Should -BeFalse
    }
}
