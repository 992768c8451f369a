#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Measure-MessEmbedding in real pwsh: Invoke-Pester ./tests/Pester/Measure-MessEmbedding.Tests.ps1
# Needs the published module: dotnet publish src/MessTools.Cmdlets -c Release (out/MessTools/<version>/).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')

    # New-AnalysisArtifacts (TestHelpers.ps1): 8 composers x 3 albums x 4 tracks, metadata through Export-MessMetadata.
}

Describe 'Measure-MessEmbedding' {
    BeforeEach {
        $work = Join-Path ([System.IO.Path]::GetTempPath()) ("messpester-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory -Path $work | Out-Null
        Push-Location $work
        New-AnalysisArtifacts -Folder (Join-Path $work 'artifacts/v1_model_builtin')
    }
    AfterEach {
        Pop-Location
        Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
    }

    It 'measures a folder, writes analysis.json and analysis.html, and records the headline figures' {
        $r = Measure-MessEmbedding -ArtifactPath artifacts/v1_model_builtin -K 5 -Clusters 8 -Seed 3
        $r.Tracks | Should -Be 96
        $r.Composers | Should -Be 8
        $r.Silhouette | Should -BeGreaterThan 0.1
        $r.ClusterNmi | Should -BeGreaterThan 0.5
        $r.SampleSize | Should -BeNullOrEmpty
        $r.TopHubs.Count | Should -Be 10
        ($r.ClusterSizes | Measure-Object -Sum).Sum | Should -Be 96
        $json = Get-Content artifacts/v1_model_builtin/analysis/analysis.json -Raw | ConvertFrom-Json
        $json.analysis.tracks | Should -Be 96
        $json.analysis.silhouette | Should -Be $r.Silhouette
        $json.definitions.silhouette | Should -Match 'scikit-learn'
        { [xml](Get-Content artifacts/v1_model_builtin/analysis/analysis.html -Raw).Replace('<!DOCTYPE html>', '') } | Should -Not -Throw
        $record = Get-ChildItem artifacts/v1_model_builtin/runs -Filter '*Measure-MessEmbedding.json' | Get-Content -Raw | ConvertFrom-Json
        $record.status | Should -Be 'completed'
        $record.results.effective_rank | Should -Be $r.EffectiveRank
        $record.results.cluster_nmi | Should -Be $r.ClusterNmi
    }

    It 'compares two folders over the tracks both hold' {
        New-AnalysisArtifacts -Folder (Join-Path $work 'artifacts/v1_model_my-model') -Dim 12 -Seed 7 -Skip 6
        $r = Measure-MessEmbedding -ArtifactPath artifacts/v1_model_builtin -Compare artifacts/v1_model_my-model -K 5 -Clusters 8
        $r.Comparison.SharedTracks | Should -Be 90
        $r.Comparison.Cka | Should -BeGreaterThan 0
        $r.Comparison.Cka | Should -BeLessOrEqual 1
        $r.Comparison.PerComposer.Count | Should -Be 8
        $r.Comparison.CompareAnalysis.Tracks | Should -Be 90
    }

    It 'shows one row that fits 80 columns' {
        $r = Measure-MessEmbedding -ArtifactPath artifacts/v1_model_builtin -K 5 -Clusters 4 -WhatIf
        $text = $r | Format-Table | Out-String -Width 200
        $text | Should -Match 'EffRank'
        $text | Should -Match 'v1_model_builtin'
        foreach ($line in $text -split "`n") { $line.TrimEnd().Length | Should -BeLessOrEqual 80 }
    }

    It 'writes nothing with -WhatIf' {
        $r = Measure-MessEmbedding -ArtifactPath artifacts/v1_model_builtin -K 5 -Clusters 4 -WhatIf
        $r.Tracks | Should -Be 96
        Test-Path artifacts/v1_model_builtin/analysis | Should -BeFalse
        Test-Path artifacts/v1_model_builtin/runs/*Measure-MessEmbedding* | Should -BeFalse
    }

    It 'refuses K not below the number of tracks with KTooLarge' {
        { Measure-MessEmbedding -ArtifactPath artifacts/v1_model_builtin -K 96 -ErrorAction Stop } |
            Should -Throw -ErrorId 'KTooLarge*'
        Test-Path artifacts/v1_model_builtin/analysis | Should -BeFalse
    }

    It 'runs every example of its help' {
        New-AnalysisArtifacts -Folder (Join-Path $work 'artifacts/v1_model_my-model') -Dim 12 -Seed 7
        $examples = @((Get-Help Measure-MessEmbedding -Examples).examples.example)
        $examples.Count | Should -Be 3
        foreach ($e in $examples) {
            $out = & ([scriptblock]::Create($e.code))
            $out | Should -Not -BeNullOrEmpty -Because $e.code
        }
    }
}
