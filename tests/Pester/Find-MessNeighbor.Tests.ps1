# Pester 5 tests of Find-MessNeighbor (mirror tests/Module/Index/FindMessNeighborTests.cs). Run from the repository
# root after `dotnet publish src/MessTools.Cmdlets -c Release`:  Invoke-Pester tests/Pester/Find-MessNeighbor.Tests.ps1
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    . "$PSScriptRoot/IndexTestData.ps1"
    $work = Join-Path ([System.IO.Path]::GetTempPath()) ("pester-neighbor-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $art = Join-Path $work 'art'
    $set = New-IndexTestArtifacts -Art $art -Count 300
    New-MessIndex -ArtifactPath $art | Out-Null
}
AfterAll { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }

Describe 'Find-MessNeighbor' {
    It 'returns K ranked neighbours with metadata and never the query track' {
        $r = Find-MessNeighbor -TrackId t0005 -ArtifactPath $art
        $r.Count | Should -Be 5
        $r.NeighborRank | Should -Be @(1, 2, 3, 4, 5)
        $r.TrackId | Should -Not -Contain 't0005'
        $r[0].QueryTrackId | Should -Be 't0005'
        $r[0].Composer | Should -BeIn @('Chopin', 'Liszt', 'Rachmaninoff')
        $r[0].Similarity | Should -BeGreaterOrEqual $r[-1].Similarity
    }

    It 'takes ids, objects and CSV rows from the pipeline' {
        $r = 't0001', [pscustomobject]@{ track_id = 't0002' } | Find-MessNeighbor -K 2 -ArtifactPath $art
        $r.QueryTrackId | Should -Be @('t0001', 't0001', 't0002', 't0002')
        $rows = Import-Csv (Join-Path $art 'metadata/tracks_metadata.csv') | Select-Object -First 3
        ($rows | Find-MessNeighbor -K 1 -ArtifactPath $art).QueryTrackId | Should -Be @('t0000', 't0001', 't0002')
    }

    It 'agrees with -Exact' {
        $h = (Find-MessNeighbor t0100 -K 10 -ArtifactPath $art).TrackId
        $e = (Find-MessNeighbor t0100 -K 10 -Exact -ArtifactPath $art).TrackId
        (Compare-Object $h $e -IncludeEqual -ExcludeDifferent).Count | Should -BeGreaterOrEqual 9
    }

    It 'filters by album and composer' {
        (Find-MessNeighbor t0008 -K 20 -ExcludeSameAlbum -ArtifactPath $art).AlbumId | Should -Not -Contain 'a001'
        (Find-MessNeighbor t0000 -K 7 -Composer liszt, 'Rach*' -ArtifactPath $art).Composer | Should -Not -Contain 'Chopin'
    }

    It 'names a composer pattern that is not a valid wildcard, with an error id of its own' {
        { Find-MessNeighbor t0000 -K 3 -Composer '[z-a]' -ArtifactPath $art -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidWildcardPattern*' -ExpectedMessage "*'``[z-a]'*"
    }

    It 'names a mistyped folder and a root of model folders for what they are' {
        { Find-MessNeighbor t0001 -ArtifactPath (Join-Path $work 'v1_model_builtn') -ErrorAction Stop } |
            Should -Throw -ErrorId 'ArtifactsNotFound*' -ExpectedMessage '*v1_model_builtn*does not exist*'
        $root = Join-Path $work 'root'
        New-Item -ItemType Directory -Force -Path (Join-Path $root 'v1_model_builtin'), (Join-Path $root 'v1_model_msd-musicnn-1') | Out-Null
        { Find-MessNeighbor t0001 -ArtifactPath $root -ErrorAction Stop } |
            Should -Throw -ErrorId 'ArtifactRootGiven*' -ExpectedMessage '*2 model(s), builtin, msd-musicnn-1*v1_model_builtin*'
    }

    It 'refuses K out of range' {
        { Find-MessNeighbor t0001 -K 0 -ArtifactPath $art } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        { Find-MessNeighbor t0001 -K 301 -ArtifactPath $art -ErrorAction Stop } | Should -Throw -ErrorId 'KOutOfRange*'
    }

    It 'reports an unknown id with close ids and goes on' {
        $r = Find-MessNeighbor t0001, T0002x, t0003 -K 1 -ArtifactPath $art -ErrorVariable errs -ErrorAction SilentlyContinue
        $r.QueryTrackId | Should -Be @('t0001', 't0003')
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'UnknownTrackId*'
        $errs[0].Exception.Message | Should -BeLike "*Did you mean*'t0002'*"
    }

    It 'emits one JSON array with -AsJson' {
        $j = Find-MessNeighbor t0001, t0002 -K 3 -AsJson -ArtifactPath $art | ConvertFrom-Json
        $j.Count | Should -Be 6
        $j[0].query_track_id | Should -Be 't0001'
    }

    It 'tab-completes -TrackId from track_ids.json' {
        $line = "Find-MessNeighbor -ArtifactPath '$art' -TrackId t012"
        $c = [System.Management.Automation.CommandCompletion]::CompleteInput($line, $line.Length, $null)
        $c.CompletionMatches.CompletionText | Should -Be (120..129 | ForEach-Object { 't{0:D4}' -f $_ })
    }

    It 'says to rebuild when the index is damaged' {
        $copy = Join-Path $work 'art2'
        Copy-Item -Recurse $art $copy
        $index = Join-Path $copy 'index/hnsw.index'
        $bytes = [System.IO.File]::ReadAllBytes($index)
        $bytes[[int]($bytes.Length / 2)] = $bytes[[int]($bytes.Length / 2)] -bxor 8
        [System.IO.File]::WriteAllBytes($index, $bytes)
        { Find-MessNeighbor t0001 -ArtifactPath $copy -ErrorAction Stop } | Should -Throw -ErrorId 'IndexCorrupt*'
    }
}
