# Pester 5 tests of ConvertTo-MessEmbedding (mirror tests/Module/Embedding). Run from the repository root after
# `dotnet publish src/MessTools.Cmdlets -c Release`:  Invoke-Pester tests/Pester/ConvertTo-MessEmbedding.Tests.ps1
BeforeAll {
    $version = ([regex]::Match((Get-Content "$PSScriptRoot/../../module/MessTools.psd1" -Raw), "ModuleVersion\s*=\s*'([0-9.]+)'")).Groups[1].Value
    Import-Module "$PSScriptRoot/../../out/MessTools/$version/MessTools.psd1" -Force
    $shared = [System.IO.Path]::GetFullPath("$PSScriptRoot/../../../shared/models")

    function New-ToneWav([string]$Path, [double]$Frequency, [int]$Rate = 24000, [double]$Seconds = 2.5) {
        $n = [int]($Rate * $Seconds)
        $ms = [System.IO.MemoryStream]::new()
        $w = [System.IO.BinaryWriter]::new($ms)
        $w.Write([Text.Encoding]::ASCII.GetBytes('RIFF')); $w.Write([int](36 + 2 * $n))
        $w.Write([Text.Encoding]::ASCII.GetBytes('WAVEfmt ')); $w.Write([int]16); $w.Write([int16]1); $w.Write([int16]1)
        $w.Write([int]$Rate); $w.Write([int]($Rate * 2)); $w.Write([int16]2); $w.Write([int16]16)
        $w.Write([Text.Encoding]::ASCII.GetBytes('data')); $w.Write([int](2 * $n))
        for ($i = 0; $i -lt $n; $i++) { $w.Write([int16](10000 * [math]::Sin(2 * [math]::PI * $Frequency * $i / $Rate))) }
        [System.IO.File]::WriteAllBytes($Path, $ms.ToArray())
    }

    $profileJson = @'
{
  "name": "tiny-lastlayer",
  "input": { "name": "input_values", "kind": "waveform", "sample_rate": 24000, "layout": "[batch, samples]" },
  "output": { "name": "last_hidden_state", "layout": "[batch, frames, dim]" },
  "chunking": { "window_seconds": 1.0 },
  "pooling": "mean_std",
  "batch_size": 4
}
'@
}

Describe 'ConvertTo-MessEmbedding' {
    BeforeEach {
        $work = Join-Path ([System.IO.Path]::GetTempPath()) ("pester-embed-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory -Path $work | Out-Null
        Push-Location $work
        Set-Content -Path tiny.json -Value $profileJson
        foreach ($t in @(@('c', 300), @('a', 200), @('b', 250))) { New-ToneWav (Join-Path $work "$($t[0]).wav") $t[1] }
        $tracks = 'c', 'a', 'b' | ForEach-Object { [pscustomobject]@{ track_id = $_; wav_path = (Join-Path $work "$_.wav") } }
    }
    AfterEach { Pop-Location; Remove-Item -Recurse -Force $work }

    It 'emits tracks in input order, writes rows in track-id order, L2-normalised, and reads back' -Skip:(-not (Test-Path "$shared/tiny-lastlayer.onnx")) {
        $out = $tracks | ConvertTo-MessEmbedding -Model "$shared/tiny-lastlayer.onnx" -ModelProfile tiny.json -Format npy
        $out.TrackId | Should -Be @('c', 'a', 'b')
        $out.Status | Should -Be @('Embedded', 'Embedded', 'Embedded')
        $emb = Join-Path $work 'artifacts/v1_model_tiny-lastlayer/embeddings'
        $ids = Get-Content "$emb/track_ids.json" | ConvertFrom-Json
        $ids | Should -Be @('a', 'b', 'c')   # deterministic files: rows in track-id order, not input or completion order
        $meta = Get-Content "$emb/embeddings_meta.json" | ConvertFrom-Json
        $meta.dim | Should -Be 32
        $bytes = [System.IO.File]::ReadAllBytes("$emb/embeddings.f32")
        $bytes.Length | Should -Be (3 * 32 * 4)
        $sum = 0.0; for ($d = 0; $d -lt 32; $d++) { $v = [BitConverter]::ToSingle($bytes, 4 * $d); $sum += $v * $v }
        [math]::Sqrt($sum) | Should -BeGreaterThan 0.9999
        Test-Path "$emb/embeddings.npy" | Should -BeTrue
    }

    It 'recomputes nothing on a second run' -Skip:(-not (Test-Path "$shared/tiny-lastlayer.onnx")) {
        $tracks | ConvertTo-MessEmbedding -Model "$shared/tiny-lastlayer.onnx" -ModelProfile tiny.json | Out-Null
        $again = $tracks | ConvertTo-MessEmbedding -Model "$shared/tiny-lastlayer.onnx" -ModelProfile tiny.json
        $again.StatusMessage | ForEach-Object { $_ | Should -Match 'unchanged' }
        $run = Get-ChildItem 'artifacts/v1_model_tiny-lastlayer/runs/*ConvertTo-MessEmbedding*.json' | Sort-Object Name | Select-Object -Last 1
        (Get-Content $run.FullName | ConvertFrom-Json).counts.reused | Should -Be 3
    }

    It 'refuses a profile that names an input the model lacks' -Skip:(-not (Test-Path "$shared/tiny-lastlayer.onnx")) {
        Set-Content bad.json ($profileJson -replace '"input_values"', '"audio"')
        { $tracks | ConvertTo-MessEmbedding -Model "$shared/tiny-lastlayer.onnx" -ModelProfile bad.json -ErrorAction Stop } |
            Should -Throw -ErrorId 'ModelProfileMismatch*'
    }

    It 'writes segment rows' -Skip:(-not (Test-Path "$shared/tiny-lastlayer.onnx")) {
        $tracks[0] | ConvertTo-MessEmbedding -Model "$shared/tiny-lastlayer.onnx" -ModelProfile tiny.json -SegmentSeconds 1 -ArtifactPath seg | Out-Null
        $rows = Get-Content seg/embeddings/segments.json | ConvertFrom-Json
        $rows.Count | Should -Be 2
        $rows[0].track_id | Should -Be 'c'
    }
}
