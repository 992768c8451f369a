#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Issue 20 item 1, in real pwsh: every output type of every cmdlet, made from small real data, prints readably in any
# context: alone, several types in one script's output (after the first type's table PowerShell prints the others as
# lists), Format-List, and a saved script run with `pwsh -File`. Never a .NET type name, never a line over 80 columns.
# Needs the staged module (dotnet publish src/MessTools.Cmdlets -c Release) and moto_server (the S3 cmdlets' results).
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')

    # What must never be printed: a .NET type name (System.Int32[], MessTools.ComposerGeometry, a generic's backtick).
    $script:TypeName = '(System|MessTools|Microsoft)\.[A-Z][A-Za-z0-9]*|`\d'
    function Assert-Readable([string] $Text, [string] $Because) {
        $Text | Should -Not -MatchExactly $TypeName -Because "$Because`n$Text"
        foreach ($line in $Text -split '\r?\n') { $line.Length | Should -BeLessOrEqual 80 -Because "$Because, line '$line'" }
    }

    $script:moto = $null
    $script:work = New-TestFolder 'pester-output'
    Push-Location $work

    $art = Join-Path $work 'artifacts/v1_model_builtin'
    $other = Join-Path $work 'artifacts/v1_model_other'
    $script:samples = [ordered]@{}
    New-AnalysisArtifacts -Folder $art
    New-AnalysisArtifacts -Folder $other -Dim 12 -Seed 7 -Skip 6
    $samples['MessTools.MessTrack'] = @(Export-MessMetadata -Path "$art.csv" -ArtifactPath $art | Select-Object -First 3)
    $samples['MessTools.MessIndexInfo'] = @(New-MessIndex -ArtifactPath $art -Type Flat)
    $samples['MessTools.NeighborResult'] = @(Find-MessNeighbor -ArtifactPath $art -TrackId c0a0t0 -K 3)
    $samples['System.String'] = @(Find-MessNeighbor -ArtifactPath $art -TrackId c0a0t0 -K 2 -AsJson)
    $samples['MessTools.EvaluationResult'] = @(Invoke-MessEvaluation -ArtifactPath $art -K 5 -SampleCount 0)
    $samples['MessTools.ComposerEvaluation'] = @($samples['MessTools.EvaluationResult'][0].PerComposer)
    $samples['MessTools.EvaluationComparison'] = @(Invoke-MessEvaluation -ArtifactPath $art -Compare $other -K 5 -SampleCount 0 -BootstrapCount 50 -PermutationCount 49 |
        Where-Object { $_.GetType().Name -eq 'EvaluationComparison' })
    $samples['MessTools.EmbeddingAnalysis'] = @(Measure-MessEmbedding -ArtifactPath $art -Compare $other -K 5 -Clusters 8)

    # A sharded run of the built-in model on four tones, merged.
    $tones = foreach ($k in 0..3) {
        $wav = Join-Path $work "tones/tone$k.wav"
        New-ToneWav -Path $wav -Frequency (180 + 70 * $k)
        [pscustomobject]@{ track_id = "tone$k"; wav_path = $wav }
    }
    $shardArt = Join-Path $work 'sharded'
    foreach ($i in 0, 1) { $null = $tones | ConvertTo-MessEmbedding -ArtifactPath $shardArt -ShardIndex $i -ShardCount 2 }
    $samples['MessTools.ShardMergeResult'] = @(Merge-MessEmbedding -Path (Join-Path $shardArt 'shards') -ArtifactPath (Join-Path $work 'merged'))

    # The S3 cmdlets against moto_server on loopback.
    $script:moto = Start-TestMoto
    Invoke-WebRequest -Method Put "$($moto.Endpoint)/output-art" -UseBasicParsing | Out-Null
    $samples['MessTools.Core.Publishing.PublishResult'] = @(Publish-MessArtifact -ArtifactPath $art -Bucket output-art -EndpointUrl $moto.Endpoint -Model builtin)
    $samples['MessTools.Core.Publishing.ArtifactVersionInfo'] = @(Get-MessArtifactVersion -Bucket output-art -EndpointUrl $moto.Endpoint)
    $samples['MessTools.Core.Publishing.ImportResult'] = @(Import-MessArtifact -Bucket output-art -EndpointUrl $moto.Endpoint -Model builtin -ArtifactPath (Join-Path $work 'imported'))
    # Publish-MessVector needs pgvector (PGlite, 15-30 s to start; Publish-MessVector.Tests.ps1 runs it): its result
    # object is made here with the figures a run reports, so its views are checked all the same.
    $vector = [Activator]::CreateInstance($samples['MessTools.ShardMergeResult'][0].GetType().Assembly.GetType('MessTools.VectorPublishResult', $true))
    $figures = @{ Table = 'mess_vectors'; Server = '127.0.0.1:5432/postgres'; Model = 'builtin'; Dimension = 16; Tracks = 96
        Inserted = 96; IndexBuilt = $true; EmbeddingsSha256 = 'ab' * 32; Seconds = 1.5 }
    foreach ($name in $figures.Keys) { $vector.$name = $figures[$name] }
    $samples['MessTools.VectorPublishResult'] = @($vector)
}

AfterAll {
    Pop-Location
    if ($moto) { Stop-Process -Id $moto.Process.Id -ErrorAction SilentlyContinue }
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'What a pwsh user sees' {
    It 'samples every output type every cmdlet declares' {
        $declared = Get-Command -Module MessTools -CommandType Cmdlet | ForEach-Object { $_.OutputType.Type.FullName } | Sort-Object -Unique
        foreach ($t in $declared | Where-Object { $_ -ne 'System.IO.FileSystemInfo' }) {
            $samples.Keys | Should -Contain $t -Because 'every declared output type is printed by these tests'
        }
        foreach ($t in $samples.Keys) { @($samples[$t])[0].GetType().FullName | Should -Be $t }
    }

    It '<_> prints readably alone, in Format-List and in Format-Table' -ForEach @(
        'MessTools.MessTrack', 'MessTools.MessIndexInfo', 'MessTools.NeighborResult', 'MessTools.EvaluationResult',
        'MessTools.ComposerEvaluation', 'MessTools.EvaluationComparison', 'MessTools.EmbeddingAnalysis',
        'MessTools.ShardMergeResult', 'MessTools.Core.Publishing.PublishResult', 'MessTools.Core.Publishing.ArtifactVersionInfo',
        'MessTools.Core.Publishing.ImportResult', 'MessTools.VectorPublishResult') {
        $objects = $samples[$_]
        Assert-Readable ($objects | Out-String -Width 80) "$_ alone"
        Assert-Readable ($objects | Format-List | Out-String -Width 80) "$_ | Format-List"
        Assert-Readable ($objects | Format-Table | Out-String -Width 80) "$_ | Format-Table"
        ($objects | ForEach-Object { $_.ToString() }) -join "`n" | Should -Not -MatchExactly $TypeName -Because "$_ as a string"
    }

    It 'prints every output type readably when one script outputs them all (the first one''s table, then lists)' {
        # Each type first once, so each is also the one after another type's table.
        $all = @($samples.Values | ForEach-Object { $_ })
        foreach ($first in $samples.Keys) {
            $text = & { $samples[$first]; $all } | Out-String -Width 80
            Assert-Readable $text "the mixed output of a script starting with $first"
        }
    }

    It 'shows the curated figures in the lists of the evaluation and analysis results, arrays left to Select-Object *' {
        $evaluation = & { $samples['MessTools.MessIndexInfo']; $samples['MessTools.EvaluationResult'] } | Out-String -Width 80
        $evaluation | Should -Match 'PerComposer\s+: \{Composer 0: P@K=1\.0000 over 12 queries'
        $evaluation | Should -Match 'ConfusionTop1\s+: \{\[Composer 0, Composer 0 12\]'
        $list = $samples['MessTools.EvaluationResult'] | Format-List | Out-String -Width 80
        $list | Should -Match 'Composer 3 -> Composer 3 12'
        $analysis = $samples['MessTools.EmbeddingAnalysis'] | Format-List | Out-String -Width 80
        $analysis | Should -Match 'PerComposer\s+: Composer 0: 12 tracks, within'
        $analysis | Should -Match 'Comparison\s+: 90 shared tracks, K=5: CKA'
        foreach ($text in $analysis, (& { $samples['MessTools.MessIndexInfo']; $samples['MessTools.EmbeddingAnalysis'] } | Out-String -Width 80)) {
            $text | Should -Not -Match 'ScatterXY|ClusterOfTrack|Eigenvalues|TrackIds'
        }
        ($samples['MessTools.EmbeddingAnalysis'] | Select-Object *).ScatterXY.Count | Should -BeGreaterThan 0
    }

    It 'prints neighbours one line each after another type''s table, and keeps them out of JSON and CSV' {
        $text = & { $samples['MessTools.MessIndexInfo']; $samples['MessTools.NeighborResult'] } | Out-String -Width 80
        $lines = @($text -split '\r?\n' | Where-Object { $_ -like 'Neighbor *' })
        $lines.Count | Should -Be 3
        $lines[0] | Should -Match '^Neighbor : #1 c0a\dt\d \(Composer 0\) 0\.\d{4}$'
        $samples['MessTools.NeighborResult'][0] | ConvertTo-Json | Should -Not -Match '"Neighbor"'
        ($samples['MessTools.NeighborResult'] | ConvertTo-Csv)[0] | Should -Not -Match 'Neighbor"'
    }

    It 'has a K column in Measure-MessEmbedding''s table: two runs with different K look different' {
        $k3 = Measure-MessEmbedding -ArtifactPath $art -K 3 -Clusters 8 -WhatIf
        $text = & { $k3; $samples['MessTools.EmbeddingAnalysis'] } | Out-String -Width 80
        $rows = @($text -split '\r?\n' | Where-Object { $_ -like 'v1_model_*' })
        $rows.Count | Should -Be 2
        $rows[0] | Should -Match '^v1_model_builtin\s+3\s+96\s'
        $rows[1] | Should -Match '^v1_model_builtin\s+5\s+96\s'
    }

    It 'prints readably from a saved script run with pwsh -File (the README''s way)' {
        $script = Join-Path $work 'mixed.ps1'
        @"
Import-Module '$ModuleManifest'
Set-Location '$work'
New-MessIndex -ArtifactPath ./artifacts/v1_model_builtin -Type Flat
Invoke-MessEvaluation -ArtifactPath ./artifacts/v1_model_builtin -K 5 -SampleCount 0
Measure-MessEmbedding -ArtifactPath ./artifacts/v1_model_builtin -K 5 -Clusters 8
Find-MessNeighbor -ArtifactPath ./artifacts/v1_model_builtin -TrackId c0a0t0 -K 3
"@ | Set-Content $script
        $log = Join-Path $work 'mixed'
        $p = Start-TestEngine -Arguments '-NoProfile', '-NonInteractive', '-File', $script -Environment @{ NO_COLOR = '1' } -Log $log
        $p.WaitForExit(300000) | Should -BeTrue
        $p.WaitForExit()
        $p.ExitCode | Should -Be 0 -Because (Get-Content "$log.err" -Raw)
        $out = Get-Content "$log.out" -Raw
        $out | Should -Match 'P@K|PrecisionAtK'
        $out | Should -Not -MatchExactly $TypeName -Because $out
    }
}
