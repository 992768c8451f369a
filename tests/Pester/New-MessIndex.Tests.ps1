# Pester 5 tests of New-MessIndex (mirror tests/Module/Index/NewMessIndexTests.cs). Run from the repository root after
# `dotnet publish src/MessTools.Cmdlets -c Release`:  Invoke-Pester tests/Pester/New-MessIndex.Tests.ps1
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    . "$PSScriptRoot/IndexTestData.ps1"
}

Describe 'New-MessIndex' {
    BeforeEach {
        $work = Join-Path ([System.IO.Path]::GetTempPath()) ("pester-index-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory -Path $work | Out-Null
        $art = Join-Path $work 'art'
        $set = New-IndexTestArtifacts -Art $art -Count 300
    }
    AfterEach { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }

    It 'builds hnsw.index and index_meta.json with recall@10 measured against exact search' {
        $info = New-MessIndex -ArtifactPath $art -M 12 -EfConstruction 120
        $info.IndexType | Should -Be 'hnsw'
        $info.TrackCount | Should -Be 300
        Join-Path $art 'index/hnsw.index' | Should -Exist
        $meta = Get-Content (Join-Path $art 'index/index_meta.json') -Raw | ConvertFrom-Json
        $meta.index_type | Should -Be 'hnsw'
        $meta.metric | Should -Be 'cosine'
        $meta.m | Should -Be 12
        $meta.ef_construction | Should -Be 120
        $meta.dim | Should -Be $set.Dim
        $meta.embeddings_sha256.Length | Should -Be 64
        $meta.recall_at_10 | Should -BeGreaterOrEqual 0.99
    }

    It 'writes nothing with -WhatIf and builds the exact index with -Type Flat' {
        New-MessIndex -ArtifactPath $art -WhatIf
        Join-Path $art 'index' | Should -Not -Exist
        (New-MessIndex Flat -ArtifactPath $art).IndexType | Should -Be 'flat'
        Join-Path $art 'index/flat.index' | Should -Exist
    }

    It 'appends new tracks and tombstones removed ones without a rebuild' {
        New-MessIndex -ArtifactPath $art | Out-Null
        $keep = 1..299
        $ids = $keep | ForEach-Object { $set.Ids[$_] }
        $data = [float[]]::new($keep.Count * $set.Dim)
        for ($j = 0; $j -lt $keep.Count; $j++) { [array]::Copy($set.Data, $keep[$j] * $set.Dim, $data, $j * $set.Dim, $set.Dim) }
        $ids += 'new0001'
        $data += $set.Data[0..($set.Dim - 1)]
        Write-IndexTestEmbeddings -Art $art -Ids $ids -Data $data -Dim $set.Dim
        $info = New-MessIndex -ArtifactPath $art -Append
        $info.Mode | Should -Be 'append'
        $info.Added | Should -Be 1
        $info.Removed | Should -Be 1
        $info.TrackCount | Should -Be 300
        (Find-MessNeighbor new0001 -ArtifactPath $art -K 299).TrackId | Should -Not -Contain 't0000'
    }

    It 'stops with EmbeddingsMissing when the folder has no embeddings' {
        New-Item -ItemType Directory (Join-Path $work 'empty') | Out-Null
        { New-MessIndex -ArtifactPath (Join-Path $work 'empty') -ErrorAction Stop } | Should -Throw -ErrorId 'EmbeddingsMissing*'
    }

    It 'creates nothing and says "No artifacts at" for a mistyped -ArtifactPath' {
        $typo = Join-Path $work 'atr'
        { New-MessIndex -ArtifactPath $typo -ErrorAction Stop } | Should -Throw -ErrorId 'ArtifactsNotFound*' -ExpectedMessage "No artifacts at '$typo'*"
        $typo | Should -Not -Exist
    }

    It 'refuses -M below 2' {
        { New-MessIndex -ArtifactPath $art -M 1 } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }
}
