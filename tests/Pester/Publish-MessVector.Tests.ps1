# Pester 5 tests of Publish-MessVector and Find-MessNeighbor -ConnectionString against a real pgvector (PGlite: PostgreSQL
# in WebAssembly with pgvector 0.8.7, from npm). Run from the repository root after `dotnet publish src/MessTools.Cmdlets
# -c Release`:  Invoke-Pester tests/Pester/Publish-MessVector.Tests.ps1   (needs node/npm; start-up takes 15-30 s)
BeforeAll {
    $version = ([regex]::Match((Get-Content "$PSScriptRoot/../../module/MessTools.psd1" -Raw), "ModuleVersion\s*=\s*'([0-9.]+)'")).Groups[1].Value
    Import-Module "$PSScriptRoot/../../out/MessTools/$version/MessTools.psd1" -Force
    . "$PSScriptRoot/IndexTestData.ps1"

    # PGlite at the exact versions the socket server pins, installed once into the ignored .cache/pglite/ (as tests/Shared/PgliteServer.cs does).
    $pgliteDir = Join-Path $PSScriptRoot '../../.cache/pglite'
    New-Item -ItemType Directory -Force -Path $pgliteDir | Out-Null
    if (-not (Test-Path (Join-Path $pgliteDir 'node_modules/@electric-sql/pglite-pgvector/package.json'))) {
        Push-Location $pgliteDir
        try { npm install --no-audit --no-fund --save-exact '@electric-sql/pglite@0.5.14' '@electric-sql/pglite-socket@0.2.17' '@electric-sql/pglite-pgvector@0.0.15' | Out-Null }
        finally { Pop-Location }
        if ($LASTEXITCODE -ne 0) { throw "npm install of PGlite failed ($LASTEXITCODE)" }
    }
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
    $work = Join-Path ([System.IO.Path]::GetTempPath()) ("pester-vector-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path $work | Out-Null
    $server = Start-Process -FilePath (Get-Command npx).Source -WorkingDirectory $pgliteDir -PassThru `
        -RedirectStandardOutput (Join-Path $work 'pglite.out') -RedirectStandardError (Join-Path $work 'pglite.err') `
        -ArgumentList '--no-install', 'pglite-server', '-d', 'memory://', '-h', '127.0.0.1', '-p', $port, '-m', '2', '-e', '@electric-sql/pglite-pgvector:vector'
    $deadline = [DateTime]::UtcNow.AddSeconds(120)
    while ($true) {
        if ($server.HasExited) { throw "pglite-server exited: $(Get-Content (Join-Path $work 'pglite.err') -Raw)" }
        if ((Get-Content (Join-Path $work 'pglite.out') -Raw -ErrorAction SilentlyContinue) -match 'listening') { break }
        if ([DateTime]::UtcNow -gt $deadline) { throw "pglite-server did not listen on port $port within 120 s" }
        Start-Sleep -Milliseconds 250
    }
    $cs = "Host=127.0.0.1;Port=$port;Database=postgres;Username=postgres;Password=pglite;Timeout=60"
    $art = Join-Path $work 'art'
    $null = New-IndexTestArtifacts -Art $art -Count 240 -Dim 16
    $null = New-MessIndex -ArtifactPath $art -Type Flat
}
AfterAll {
    # npx runs the server as a child process: stop the whole tree.
    if ($server -and -not $server.HasExited) { $server.Kill($true); $server.WaitForExit(10000) | Out-Null }
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Publish-MessVector' {
    It 'writes nothing with -WhatIf, not even the extension' {
        Publish-MessVector -ArtifactPath $art -ConnectionString $cs -Table pester_tracks -WhatIf | Should -BeNullOrEmpty
        # A fresh database: the vector extension is installed by the first real publish only.
        { Find-MessNeighbor t0001 -ConnectionString $cs -Table pester_tracks -ErrorAction Stop } | Should -Throw -ErrorId 'VectorExtensionMissing*'
    }

    It 'publishes every track, then a second run changes nothing' {
        $r = Publish-MessVector -ArtifactPath $art -ConnectionString $cs -Table pester_tracks -BatchSize 50
        $r.Tracks | Should -Be 240
        $r.Inserted | Should -Be 240
        $r.IndexBuilt | Should -BeTrue
        $again = Publish-MessVector -ArtifactPath $art -ConnectionString $cs -Table pester_tracks
        $again.Inserted + $again.Updated + $again.Deleted | Should -Be 0
        $again.Unchanged | Should -Be 240
    }

    It 'answers Find-MessNeighbor -ConnectionString like the exact file search, never with the query track' {
        $db = Find-MessNeighbor t0010 -K 5 -ConnectionString $cs -Table pester_tracks
        $file = Find-MessNeighbor t0010 -K 5 -ArtifactPath $art -Exact
        $db.TrackId | Should -Be $file.TrackId
        $db.TrackId | Should -Not -Contain 't0010'
        $db[0].PSObject.TypeNames[0] | Should -Be 'MessTools.NeighborResult'
        $db[0].Similarity | Should -BeGreaterOrEqual $db[-1].Similarity
    }

    It 'filters by composer and album in SQL and still returns K rows' {
        $r = Find-MessNeighbor t0000 -K 6 -Composer liszt -ExcludeSameAlbum -ConnectionString $cs -Table pester_tracks
        $r.Count | Should -Be 6
        $r.Composer | Sort-Object -Unique | Should -Be 'Liszt'
        $r.AlbumId | Should -Not -Contain 'a000'
    }

    It 'reports an unknown id and goes on' {
        $r = Find-MessNeighbor t0001, t9999, t0003 -K 1 -ConnectionString $cs -Table pester_tracks -ErrorVariable errs -ErrorAction SilentlyContinue
        $r.QueryTrackId | Should -Be @('t0001', 't0003')
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'UnknownTrackId*'
    }
}
