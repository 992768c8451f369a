# Pester 5 tests of ConvertTo-MessEmbedding (mirror tests/Module/Embedding). Run from the repository root after
# `dotnet publish src/MessTools.Cmdlets -c Release`:  Invoke-Pester tests/Pester/ConvertTo-MessEmbedding.Tests.ps1
# The ONNX model is made by the test (New-TinyOnnxModel), so nothing outside the repository is needed.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
}

Describe 'ConvertTo-MessEmbedding' {
    BeforeEach {
        $work = New-TestFolder 'pester-embed'
        Push-Location $work
        Set-Content -Path tiny.json -Value $TinyProfileJson
        New-TinyOnnxModel (Join-Path $work 'tiny.onnx')
        foreach ($t in @(@('c', 300), @('a', 200), @('b', 250))) { New-ToneWav (Join-Path $work "$($t[0]).wav") $t[1] }
        $tracks = 'c', 'a', 'b' | ForEach-Object { [pscustomobject]@{ track_id = $_; wav_path = (Join-Path $work "$_.wav") } }
    }
    AfterEach { Pop-Location; Remove-Item -Recurse -Force $work }

    It 'emits tracks in input order, writes rows in track-id order, L2-normalised, and reads back (ONNX model)' {
        $out = $tracks | ConvertTo-MessEmbedding -Model ./tiny.onnx -ModelProfile tiny.json -Format npy
        $out.TrackId | Should -Be @('c', 'a', 'b')
        $out.Status | Should -Be @('Embedded', 'Embedded', 'Embedded')
        $emb = Join-Path $work 'artifacts/v1_model_tiny-lastlayer/embeddings'
        $ids = Get-Content "$emb/track_ids.json" | ConvertFrom-Json
        $ids | Should -Be @('a', 'b', 'c')   # deterministic files: rows in track-id order, not input or completion order
        $meta = Get-Content "$emb/embeddings_meta.json" | ConvertFrom-Json
        $meta.dim | Should -Be 32
        $bytes = [IO.File]::ReadAllBytes("$emb/embeddings.f32")
        $bytes.Length | Should -Be (3 * 32 * 4)
        foreach ($row in 0..2) {
            $sum = 0.0
            for ($d = 0; $d -lt 32; $d++) { $v = [BitConverter]::ToSingle($bytes, 4 * (32 * $row + $d)); $sum += $v * $v }
            [math]::Sqrt($sum) | Should -BeGreaterThan 0.9999
        }
        "$emb/embeddings.npy" | Should -Exist
    }

    It 'embeds with the built-in model by default into artifacts/v1_model_builtin' {
        $out = $tracks | ConvertTo-MessEmbedding
        $out.Status | Should -Be @('Embedded', 'Embedded', 'Embedded')
        $out[0].ArtifactPath | Should -Be (Join-Path $work 'artifacts/v1_model_builtin')
        $meta = Get-Content artifacts/v1_model_builtin/embeddings/embeddings_meta.json | ConvertFrom-Json
        $meta.model | Should -Be 'builtin'
        $meta.count | Should -Be 3
    }

    It 'embeds with -Model builtin-2 into its own folder, and the default stays builtin (issue 21)' {
        $out = $tracks | ConvertTo-MessEmbedding -Model builtin-2
        $out.Status | Should -Be @('Embedded', 'Embedded', 'Embedded')
        $out[0].ArtifactPath | Should -Be (Join-Path $work 'artifacts/v1_model_builtin-2')
        $meta = Get-Content artifacts/v1_model_builtin-2/embeddings/embeddings_meta.json | ConvertFrom-Json
        $meta.model | Should -Be 'builtin-2'
        $meta.profile.version | Should -Match '^builtin-2\+[0-9a-f]{12}$'
        'artifacts/v1_model_builtin' | Should -Not -Exist
        $l = 'ConvertTo-MessEmbedding -Model builtin-'
        ([System.Management.Automation.CommandCompletion]::CompleteInput($l, $l.Length, $null).CompletionMatches).CompletionText | Should -Be 'builtin-2'
    }

    It 'recomputes nothing on a second run' {
        $tracks | ConvertTo-MessEmbedding -Model ./tiny.onnx -ModelProfile tiny.json | Out-Null
        $again = $tracks | ConvertTo-MessEmbedding -Model ./tiny.onnx -ModelProfile tiny.json
        $again.StatusMessage | ForEach-Object { $_ | Should -Match 'unchanged' }
        $run = Get-ChildItem 'artifacts/v1_model_tiny-lastlayer/runs/*ConvertTo-MessEmbedding*.json' | Sort-Object Name | Select-Object -Last 1
        (Get-Content $run.FullName | ConvertFrom-Json).counts.reused | Should -Be 3
    }

    It 'refuses a profile that names an input the model lacks' {
        Set-Content bad.json ($TinyProfileJson -replace '"input_values"', '"audio"')
        { $tracks | ConvertTo-MessEmbedding -Model ./tiny.onnx -ModelProfile bad.json -ErrorAction Stop } |
            Should -Throw -ErrorId 'ModelProfileMismatch*'
    }

    It 'writes segment rows' {
        $tracks[0] | ConvertTo-MessEmbedding -Model ./tiny.onnx -ModelProfile tiny.json -SegmentSeconds 1 -ArtifactPath seg | Out-Null
        $rows = Get-Content seg/embeddings/segments.json | ConvertFrom-Json
        $rows.Count | Should -Be 3   # 0-1, 1-2, 2-2.5 (a tail of half the length or more keeps a row of its own)
        $rows[0].track_id | Should -Be 'c'
        $rows[2].end | Should -Be 2.5
        (Get-Item seg/embeddings/segments.f32).Length | Should -Be (3 * 32 * 4)
    }

    It 'writes nothing with -WhatIf' {
        $tracks | ConvertTo-MessEmbedding -ArtifactPath wi -WhatIf | Should -BeNullOrEmpty
        'wi' | Should -Not -Exist
    }

    It 'reports a track whose WAV is missing as an error naming the track and goes on' {
        $bad = [pscustomobject]@{ track_id = 'gone'; wav_path = (Join-Path $work 'gone.wav') }
        $out = @($tracks[0], $bad, $tracks[1]) | ConvertTo-MessEmbedding -ArtifactPath m -ErrorVariable errs -ErrorAction SilentlyContinue
        $out.TrackId | Should -Be @('c', 'a')
        $errs.Count | Should -Be 1
        "$($errs[0].Exception.Message) $($errs[0].TargetObject)" | Should -BeLike '*gone*'
    }

    It 'reads a relative wav_path from the PowerShell location, not the process directory' {
        'track_id,wav_path', 'c,c.wav', 'a,a.wav' | Set-Content rel.csv
        [Environment]::CurrentDirectory | Should -Not -Be $work
        $out = Import-Csv rel.csv | ConvertTo-MessEmbedding -ArtifactPath rel
        $out.TrackId | Should -Be @('c', 'a')
    }
}
