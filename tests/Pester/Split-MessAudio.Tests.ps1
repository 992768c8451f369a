#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Split-MessAudio in real pwsh: pipeline in and out, -WhatIf, the same segments.csv bytes on a rerun, errors, notes.
# Needs ffmpeg on PATH (the work is made and standardised with it).
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    # A "work": 15 s of a low tone, a 2-s pause, 15 s of a high tone (two movements), and a 12-s single piece.
    function New-Work([string] $Root) {
        New-Item -ItemType Directory -Force -Path "$Root/audio" | Out-Null
        & ffmpeg -nostdin -v error -f lavfi -i 'sine=frequency=220:sample_rate=44100:duration=15' -f lavfi -i 'anullsrc=r=44100:cl=mono:d=2' `
            -f lavfi -i 'sine=frequency=880:sample_rate=44100:duration=15' -filter_complex '[0][1][2]concat=n=3:v=0:a=1' -ac 1 -y "$Root/audio/work.wav"
        if ($LASTEXITCODE) { throw 'ffmpeg could not write the work' }
        New-ToneWav "$Root/audio/single.wav" 330 -Rate 22050 -Seconds 12
        "track_id,album_id,track_no,title,composer,audio_path`nwork,op1,1,Sonata,Haydn,audio/work.wav`nsingle,op2,1,Prelude,Chopin,audio/single.wav" |
            Set-Content "$Root/tracks.csv"
    }
}

Describe 'Split-MessAudio' {
    BeforeEach {
        $work = New-TestFolder 'messpester-split'
        New-Work $work
        Push-Location $work
    }
    AfterEach {
        Pop-Location
        Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
    }

    It 'takes tracks from Get-MessAudio and passes one track per movement on to ConvertTo-MessEmbedding' {
        # Get-MessAudio passes tracks on in completion order: the movements of one work stay in order
        $out = @(Export-MessMetadata -Path tracks.csv -ArtifactPath art | Get-MessAudio -AudioRoot $work | Split-MessAudio -MinMovementSeconds 10 |
            Sort-Object { $_.TrackId -eq 'single' }, TrackId)
        $out.TrackId | Should -Be @('work-m1', 'work-m2', 'single')
        $out[0].GetType().FullName | Should -Be 'MessTools.MessTrack'
        $out[1].AlbumId | Should -Be 'work'
        $out[1].Title | Should -Be 'Sonata (2)'
        $out[1].Composer | Should -Be 'Haydn'
        $out[0].StartSeconds | Should -Be 0
        $out[0].EndSeconds | Should -BeGreaterThan 14.5
        $out[0].EndSeconds | Should -BeLessThan 15.5
        $out[1].StartSeconds | Should -BeGreaterThan 16.5
        $out[1].StartSeconds | Should -BeLessThan 17.5
        $out[0].WavPath | Should -Exist
        $out[0].WavPath | Should -BeLike '*audio_wav*work-m1.wav'
        $out[2].AlbumId | Should -Be 'op2'  # one movement: unchanged
        $embedded = @($out | ConvertTo-MessEmbedding)
        $embedded.TrackId | Sort-Object | Should -Be @('single', 'work-m1', 'work-m2')
        $embedded.Status | Select-Object -Unique | Should -Be 'Embedded'
        # the evaluation and search stages see the movements as tracks (metadata + segments.csv)
        $rows = @(Import-Csv art/metadata/segments.csv)
        $rows.Count | Should -Be 3
        ($rows | Where-Object track_id -eq 'single').source_track_id | Should -Be 'single'
        $record = Get-ChildItem art/runs/*_Split-MessAudio.json | Get-Content -Raw | ConvertFrom-Json
        $record.Counts.movements | Should -Be 3
        $record.Results.boundaries.work[0].cue | Should -Be 'pause'
    }

    It 'says why a track stays whole' {
        $verbose = Export-MessMetadata -Path tracks.csv -ArtifactPath art | Get-MessAudio -AudioRoot $work | Split-MessAudio -Verbose 4>&1 |
            Where-Object { $_ -is [Management.Automation.VerboseRecord] } | ForEach-Object Message
        # the default minimum of 30 s: both recordings are shorter than two movements
        ($verbose -match "Track 'work' stays one track: the recording .* is shorter than two movements").Count | Should -Be 1
        ($verbose -match "Track 'single' stays one track").Count | Should -Be 1
    }

    It 'writes nothing under -WhatIf' {
        $tracks = @(Export-MessMetadata -Path tracks.csv -ArtifactPath art | Get-MessAudio -AudioRoot $work)
        $before = @(Get-ChildItem -Recurse -File art).FullName
        $out = @($tracks | Split-MessAudio -MinMovementSeconds 10 -WhatIf)
        $out.Count | Should -Be 0
        @(Get-ChildItem -Recurse -File art).FullName | Should -Be $before
        'art/metadata/segments.csv' | Should -Not -Exist
    }

    It 'writes the same segments.csv bytes on a rerun' {
        $tracks = @(Export-MessMetadata -Path tracks.csv -ArtifactPath art | Get-MessAudio -AudioRoot $work)
        $tracks | Split-MessAudio -MinMovementSeconds 10 | Out-Null
        $first = Get-FileHash art/metadata/segments.csv
        $wav = Get-FileHash art/audio_wav/work-m2.wav
        $tracks | Split-MessAudio -MinMovementSeconds 10 | Out-Null
        (Get-FileHash art/metadata/segments.csv).Hash | Should -Be $first.Hash
        (Get-FileHash art/audio_wav/work-m2.wav).Hash | Should -Be $wav.Hash
    }

    It 'gives a non-terminating error naming a track whose WAV is missing or corrupt, and goes on' {
        $tracks = @(Export-MessMetadata -Path tracks.csv -ArtifactPath art | Get-MessAudio -AudioRoot $work)
        Set-Content bad.wav 'not audio'
        $rows = @(
            [pscustomobject]@{ track_id = 'gone'; wav_path = "$work/missing.wav"; ArtifactPath = "$work/art" }
            [pscustomobject]@{ track_id = 'broken'; wav_path = "$work/bad.wav"; ArtifactPath = "$work/art" }
        ) + $tracks
        $out = @($rows | Split-MessAudio -MinMovementSeconds 10 -ErrorVariable errs -ErrorAction SilentlyContinue)
        $out.TrackId | Sort-Object | Should -Be @('single', 'work-m1', 'work-m2')
        $errs.Count | Should -Be 2
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'AudioFileNotFound,*'
        $errs[0].Exception.Message | Should -BeLike "*'gone'*"
        $errs[1].FullyQualifiedErrorId | Should -BeLike 'InvalidWav,*'
        $errs[1].Exception.Message | Should -BeLike "*'broken'*"
    }

    It 'refuses a bad -Method and -MaxMovements' {
        { Split-MessAudio -TrackId x -Method Loud } | Should -Throw -ErrorId 'ParameterArgumentValidationError,MessTools.Cmdlets.SplitMessAudioCommand'
        { Split-MessAudio -TrackId x -MaxMovements 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,MessTools.Cmdlets.SplitMessAudioCommand'
    }
}
