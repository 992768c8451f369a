# Pester 5 tests of the stages together, as the README's first pipeline runs them. Needs ffmpeg on PATH (Get-MessAudio).
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
}

Describe 'The pipeline' {
    BeforeAll {
        $work = New-TestFolder 'pester-pipeline'
        $lines = @('track_id,album_id,track_no,title,composer,audio_s3_key,duration_sec')
        $i = 0
        foreach ($c in 'Chopin', 'Liszt', 'Satie') {
            foreach ($t in 1..3) {
                $id = "$($c.ToLower())-piece-$t"
                New-ToneWav (Join-Path $work "audio/$id.wav") (110 * (1 + $i)) -Rate 22050 -Seconds 3
                $lines += "$id,$($c.ToLower())-album,$t,Piece $t,$c,audio/$id.wav,3"
                $i++
            }
        }
        Set-Content -Path (Join-Path $work 'catalog.csv') -Value $lines
    }
    AfterAll { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }
    BeforeEach { Push-Location $work }
    AfterEach { Pop-Location }

    It 'keeps every artifact in the folder the tracks came from (Export -ArtifactPath ./sub | ... | New-MessIndex)' {
        $info = Export-MessMetadata -Path catalog.csv -ArtifactPath ./sub |
            Get-MessAudio -AudioRoot $work |
            ConvertTo-MessEmbedding |
            New-MessIndex
        $sub = Join-Path $work 'sub'
        $info.Path | Should -BeLike "$sub*"
        $info.TrackCount | Should -Be 9
        foreach ($f in 'metadata/tracks_metadata.csv', 'audio_wav/chopin-piece-1.wav', 'embeddings/embeddings.f32', 'index/hnsw.index') {
            Join-Path $sub $f | Should -Exist
        }
        'artifacts' | Should -Not -Exist   # nothing went to the default folder
        (Get-ChildItem "$sub/runs" -Filter *.json).Count | Should -Be 4
    }

    It 'keeps a named -ArtifactPath over the folder of the piped tracks, and each model in a folder of its own' {
        $tracks = Export-MessMetadata -Path catalog.csv -ArtifactPath ./artifacts/v1_model_builtin | Get-MessAudio -AudioRoot $work
        $tracks | ConvertTo-MessEmbedding -ArtifactPath ./named | Out-Null
        'named/embeddings/embeddings.f32' | Should -Exist
        New-TinyOnnxModel (Join-Path $work 'tiny.onnx')
        Set-Content tiny.json $TinyProfileJson
        $out = $tracks | ConvertTo-MessEmbedding -Model ./tiny.onnx -ModelProfile tiny.json
        $out[0].ArtifactPath | Should -Be (Join-Path $work 'artifacts/v1_model_tiny-lastlayer')
        'artifacts/v1_model_builtin/embeddings' | Should -Not -Exist
    }

    It 'stops when the piped tracks come from two folders' {
        $a = Export-MessMetadata -Path catalog.csv -ArtifactPath ./two-a | Select-Object -First 1
        $b = Export-MessMetadata -Path catalog.csv -ArtifactPath ./two-b | Select-Object -Last 1
        { $a, $b | Get-MessAudio -AudioRoot $work -ErrorAction Stop } | Should -Throw -ErrorId 'MixedArtifactFolders*'
    }
}
