#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Mirrors tests/Module/Evaluation/InvokeMessEvaluationTests.cs for users with pwsh:
#   Invoke-Pester ./tests/Pester/Invoke-MessEvaluation.Tests.ps1
# Needs the published module: dotnet publish src/MessTools.Cmdlets -c Release (out/MessTools/<version>/).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')

    # 8 composers x 3 albums x 4 tracks; each composer's vectors cluster around a direction of its own.
    function New-EvalArtifacts([string] $Folder, [int] $Dim = 16, [int] $Seed = 1, [string] $Ghost, [switch] $NaN, [switch] $OneAlbumComposer) {
        $rng = [System.Random]::new($Seed)
        $lines = [System.Collections.Generic.List[string]]::new(); $lines.Add('track_id,album_id,composer,audio_s3_key')
        $ids = [System.Collections.Generic.List[string]]::new()
        $values = [System.Collections.Generic.List[float]]::new()
        foreach ($c in 0..7) { foreach ($a in 0..2) { foreach ($t in 0..3) {
            $id = "c${c}a${a}t${t}"
            $album = if ($OneAlbumComposer -and $c -eq 7) { 'alb7_0' } else { "alb${c}_$a" }
            $lines.Add("$id,$album,Composer $c,s3://bucket/$id.wav"); $ids.Add($id)
            $v = foreach ($j in 0..($Dim - 1)) { ($rng.NextDouble() - 0.5) * 0.6 + [int]($j % 8 -eq $c) }
            $norm = [math]::Sqrt(($v | ForEach-Object { $_ * $_ } | Measure-Object -Sum).Sum)
            foreach ($x in $v) { $values.Add([float]($x / $norm)) }
        } } }
        $csv = "$Folder.csv"
        Set-Content -Path $csv -Value $lines
        $null = Export-MessMetadata -Path $csv -ArtifactPath $Folder
        if ($Ghost) { $ids[5] = $Ghost }
        if ($NaN) { $values[7 * $Dim + 3] = [float]::NaN }
        $emb = New-Item -ItemType Directory -Force -Path (Join-Path $Folder 'embeddings')
        $bytes = [byte[]]::new($values.Count * 4)
        [System.Buffer]::BlockCopy($values.ToArray(), 0, $bytes, 0, $bytes.Length)
        [System.IO.File]::WriteAllBytes((Join-Path $emb 'embeddings.f32'), $bytes)
        ConvertTo-Json -InputObject @($ids) | Set-Content (Join-Path $emb 'track_ids.json')
    }
}

Describe 'Invoke-MessEvaluation' {
    BeforeEach {
        $work = Join-Path ([System.IO.Path]::GetTempPath()) ("messpester-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory -Path $work | Out-Null
        Push-Location $work
    }
    AfterEach {
        Pop-Location
        Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
    }

    It 'scores synthetic artifacts and writes results, samples and a well-formed report' {
        New-EvalArtifacts -Folder (Join-Path $work 'art')
        $r = Invoke-MessEvaluation -ArtifactPath art -K 1,5 -SampleCount 3 -Seed 5
        $r.Count | Should -Be 4
        $k5 = $r | Where-Object { $_.K -eq 5 -and -not $_.ExcludeSameAlbum }
        $k5.Queries | Should -Be 96
        $k5.PrecisionAtK | Should -BeGreaterThan 0.8
        $k5.ChancePrecisionAtK | Should -BeLessThan 0.12
        ($k5.PerComposer | Measure-Object -Property Queries -Sum).Sum | Should -Be 96
        $json = Get-Content art/eval/eval_results.json -Raw | ConvertFrom-Json
        $json.tracks | Should -Be 96
        $json.definitions.precision_at_k | Should -Not -BeNullOrEmpty
        (Import-Csv art/eval/samples.csv).Count | Should -Be 30
        { [xml](Get-Content art/eval/report.html -Raw).Replace('<!DOCTYPE html>', '') } | Should -Not -Throw
    }

    It '-ExcludeSameAlbum keeps only that figure and -WhatIf writes nothing' {
        New-EvalArtifacts -Folder (Join-Path $work 'art')
        $r = Invoke-MessEvaluation -ArtifactPath art -ExcludeSameAlbum -WhatIf
        @($r).Count | Should -Be 1
        $r.ExcludeSameAlbum | Should -BeTrue
        Test-Path art/eval | Should -BeFalse
    }

    It 'compares several folders on their shared tracks' {
        New-EvalArtifacts -Folder (Join-Path $work 'a') -Seed 1
        New-EvalArtifacts -Folder (Join-Path $work 'b') -Seed 2 -Dim 24
        $r = Invoke-MessEvaluation -ArtifactPath a, b -K 5
        @($r | Where-Object { $_.GetType().FullName -eq 'MessTools.EvaluationResult' }).Count | Should -Be 4
        @($r | Where-Object { $_.GetType().FullName -eq 'MessTools.EvaluationComparison' }).Count | Should -Be 6
        Test-Path a/eval/comparison.json | Should -BeTrue
    }

    It '-Compare reports paired differences with intervals and p-values, in a table that fits 80 columns' {
        New-EvalArtifacts -Folder (Join-Path $work 'a') -Seed 1
        New-EvalArtifacts -Folder (Join-Path $work 'b') -Seed 2 -Dim 24
        $r = Invoke-MessEvaluation -ArtifactPath a -Compare b -K 5 -BootstrapCount 200 -PermutationCount 199
        $c = @($r | Where-Object { $_.GetType().FullName -eq 'MessTools.EvaluationComparison' })
        $c.Count | Should -Be 6
        foreach ($x in $c) {
            $x.BaselinePath | Should -Be (Join-Path $work 'b')
            $x.Difference | Should -Be ([math]::Round($x.Value - $x.BaselineValue, 6))
            $x.DifferenceInterval.Low | Should -BeLessOrEqual $x.DifferenceInterval.High
            $x.PValue | Should -BeGreaterThan 0
            $x.PValue | Should -BeLessOrEqual 1
        }
        $json = Get-Content a/eval/comparison.json -Raw | ConvertFrom-Json
        @($json.paired_differences).Count | Should -Be 6
        $json.bootstrap.permutations | Should -Be 199
        $lines = ($c | Format-Table | Out-String -Width 200) -split '\r?\n'
        ($lines | Measure-Object -Property Length -Maximum).Maximum | Should -BeLessOrEqual 80
    }

    It 'a folder compared with itself differs by zero with p = 1; intervals bracket the figures' {
        New-EvalArtifacts -Folder (Join-Path $work 'a') -Seed 1
        Copy-Item -Recurse a b
        $r = Invoke-MessEvaluation -ArtifactPath a -Compare b -K 5 -BootstrapCount 100 -PermutationCount 99
        $r | Where-Object { $_.GetType().FullName -eq 'MessTools.EvaluationComparison' } | ForEach-Object { $_.Difference | Should -Be 0; $_.PValue | Should -Be 1 }
        $r | Where-Object { $_.GetType().FullName -eq 'MessTools.EvaluationResult' } | ForEach-Object {
            $_.PrecisionAtK | Should -BeGreaterOrEqual $_.PrecisionAtKInterval.Low
            $_.PrecisionAtK | Should -BeLessOrEqual $_.PrecisionAtKInterval.High
        }
    }

    It 'writes the same eval files byte for byte on a second run' {
        New-EvalArtifacts -Folder (Join-Path $work 'art')
        $null = Invoke-MessEvaluation -ArtifactPath art -K 5
        $first = 'eval_results.json', 'samples.csv', 'report.html' | ForEach-Object { (Get-FileHash (Join-Path art/eval $_)).Hash }
        Start-Sleep -Milliseconds 1100
        $null = Invoke-MessEvaluation -ArtifactPath art -K 5
        $second = 'eval_results.json', 'samples.csv', 'report.html' | ForEach-Object { (Get-FileHash (Join-Path art/eval $_)).Hash }
        $second | Should -Be $first
        (Get-Content art/eval/eval_results.json -Raw | ConvertFrom-Json).results[0].precision_at_k_interval.low | Should -Not -BeNullOrEmpty
    }

    It '-Search Index goes through New-MessIndex output and reports its recall' {
        New-EvalArtifacts -Folder (Join-Path $work 'art')
        $null = New-MessIndex -ArtifactPath art -ThrottleLimit 1
        $exact = Invoke-MessEvaluation -ArtifactPath art -K 5 -SampleCount 0 -WhatIf
        $index = Invoke-MessEvaluation -ArtifactPath art -K 5 -SampleCount 0 -Search Index -Ef 500
        $index | ForEach-Object { $_.Search | Should -Be 'Index'; $_.IndexRecallAtK | Should -Be 1.0 }
        $index[0].PrecisionAtK | Should -Be $exact[0].PrecisionAtK
    }

    It 'names tracks missing from the metadata' {
        New-EvalArtifacts -Folder (Join-Path $work 'art') -Ghost 'ghost-track'
        { Invoke-MessEvaluation -ArtifactPath art -ErrorAction Stop } | Should -Throw -ExpectedMessage '*ghost-track*' -ErrorId 'TracksMissingFromMetadata*'
    }

    It 'refuses NaN embeddings' {
        New-EvalArtifacts -Folder (Join-Path $work 'art') -NaN
        { Invoke-MessEvaluation -ArtifactPath art -ErrorAction Stop } | Should -Throw -ErrorId 'EmbeddingNotFinite*'
    }

    It 'creates nothing and says "No artifacts at" for a mistyped -ArtifactPath' {
        New-EvalArtifacts -Folder (Join-Path $work 'art')
        { Invoke-MessEvaluation -ArtifactPath atr -ErrorAction Stop } | Should -Throw -ErrorId 'ArtifactsNotFound*' -ExpectedMessage "No artifacts at '$(Join-Path $work 'atr')'*"
        { Invoke-MessEvaluation -ArtifactPath art, atr -ErrorAction Stop } | Should -Throw -ErrorId 'ArtifactsNotFound*'
        'atr' | Should -Not -Exist
    }

    It 'Format-List shows the per-composer figures and the confusion table as values, not type names' {
        New-EvalArtifacts -Folder (Join-Path $work 'art')
        $r = Invoke-MessEvaluation -ArtifactPath art -K 5 -ExcludeSameAlbum -SampleCount 0
        $text = $r | Format-List | Out-String -Width 200
        $text | Should -Not -Match 'SortedDictionary|System\.Collections|\[\]'
        $text | Should -Match 'PerComposer\s*:\s*Composer 0: P@K [01]\.\d{3}'
        $text | Should -Match 'ConfusionTop1\s*:\s*Composer 0 -> Composer 0 \d+'
        $text | Should -Match 'PrecisionAtK\s*:\s*[01](\.\d+)?\r?\n'
    }

    It 'shows n/a, not 0, for a composer whose figures are undefined (one album, same album excluded), as report.html does' {
        New-EvalArtifacts -Folder (Join-Path $work 'art') -OneAlbumComposer
        $r = Invoke-MessEvaluation -ArtifactPath art -K 5 -ExcludeSameAlbum -SampleCount 0
        $seven = $r.PerComposer | Where-Object Composer -EQ 'Composer 7'
        $seven.NotApplicable | Should -BeTrue
        $text = $r | Format-List | Out-String -Width 200
        $text | Should -Match 'Composer 7: n/a, no other track of this composer to find \(12 queries\)'
        $text | Should -Not -Match 'Composer 7: P@K'
        "$seven" | Should -Match '^Composer 7: n/a'
        # the per-composer table (what the demo prints) too: n/a in every figure column, never 0.0000
        $row = ($r.PerComposer | Format-Table | Out-String -Width 80) -split "`n" | Where-Object { $_ -match '^Composer 7 ' }
        $row | Should -Match '^Composer 7\s+12\s+n/a\s+n/a\s+n/a\s+n/a\s+12\s*$'
        ($r.PerComposer | Where-Object Composer -EQ 'Composer 0').NotApplicable | Should -BeFalse
        Get-Content (Join-Path $work 'art/eval/report.html') -Raw | Should -Match 'n/a'
    }
}
