#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Mirrors tests/Module/Audio/GetMessAudioTests.cs for users with pwsh. Needs ffmpeg on PATH; the S3 part needs moto_server.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    function New-Sine([string] $Path, [double] $Seconds = 2, [string[]] $Extra = @()) {
        New-Item -ItemType Directory -Force -Path (Split-Path $Path) | Out-Null
        & ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=$Seconds" @Extra -y $Path
        if ($LASTEXITCODE) { throw "ffmpeg failed for $Path" }
    }
}

Describe 'Get-MessAudio' {
    BeforeEach {
        $work = Join-Path ([IO.Path]::GetTempPath()) ("messpester-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory -Path $work | Out-Null
        Push-Location $work
    }
    AfterEach {
        Pop-Location
        Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
    }

    It 'binds Import-Csv rows with relative audio_path and standardises them' {
        New-Sine "$work/audio/A/t1.wav"
        New-Sine "$work/audio/A/t2.mp3" -Extra '-c:a', 'libmp3lame'
        "track_id,album_id,composer,audio_path`nt1,a,Chopin,audio/A/t1.wav`nt2,a,Chopin,audio/A/t2.mp3" | Set-Content tracks.csv
        $out = Import-Csv tracks.csv | Get-MessAudio -AudioRoot $work -ArtifactPath art -SampleRate 16000
        $out.Count | Should -Be 2
        $out | ForEach-Object {
            $_.GetType().FullName | Should -Be 'MessTools.MessTrack'
            $_.Status | Should -Be 'Standardized'
            $_.SampleRate | Should -Be 16000
            $_.WavPath | Should -Exist
        }
    }

    It 'binds MessTrack objects from Export-MessMetadata' {
        New-Sine "$work/audio/t1.flac"
        "track_id,album_id,composer,audio_path`nt1,a,Liszt,audio/t1.flac" | Set-Content tracks.csv
        $out = Export-MessMetadata -Path tracks.csv -ArtifactPath art | Get-MessAudio -AudioRoot $work -ArtifactPath art
        $out.TrackId | Should -Be 't1'
        $out.DurationSec | Should -BeGreaterThan 1.9
    }

    It 'writes a non-terminating error with its own id for a silent track and passes it on only with -PassThru' {
        & ffmpeg -nostdin -v error -f lavfi -i 'anullsrc=r=22050:cl=mono' -t 2 -y silent.wav
        $row = [pscustomobject]@{ track_id = 'q'; album_id = 'a'; audio_path = 'silent.wav' }
        $out = $row | Get-MessAudio -ArtifactPath art -ErrorVariable e -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeLike 'AudioSilent,*'
        ($row | Get-MessAudio -ArtifactPath art -PassThru -ErrorAction SilentlyContinue).Status | Should -Be 'Failed'
    }

    It 'stops with one error that says how to install ffmpeg when it is missing' {
        New-Sine "$work/a.wav"
        { [pscustomobject]@{ track_id = 'a'; audio_path = 'a.wav' } | Get-MessAudio -ArtifactPath art -FfmpegPath ./no/ffmpeg -ErrorAction Stop } |
            Should -Throw -ExpectedMessage '*brew install ffmpeg*'
    }

    It 'leaves no folder behind when a run it would have created fails before any track (not even a run record)' {
        { [pscustomobject]@{ track_id = 'a'; audio_path = 'a.wav' } | Get-MessAudio -ArtifactPath fresh -AudioRoot ./nope -ErrorAction Stop } |
            Should -Throw -ErrorId 'AudioRootNotFound*'
        Test-Path fresh | Should -BeFalse
    }

    Context 'S3 (moto_server)' {
        BeforeAll {
            $server = Start-TestMoto
            $moto = $server.Process; $ep = $server.Endpoint
            Invoke-WebRequest -Method Put "$ep/pester" -UseBasicParsing | Out-Null
            $src = Join-Path ([IO.Path]::GetTempPath()) 'messpester-src.wav'
            New-Sine $src
            Invoke-WebRequest -Method Put "$ep/pester/music/t1.wav" -InFile $src -UseBasicParsing | Out-Null
        }
        AfterAll { if ($moto) { Stop-Process -Id $moto.Id -ErrorAction SilentlyContinue } }

        It 'fetches, then skips the cached object on a rerun' {
            $row = [pscustomobject]@{ track_id = 't1'; album_id = 'al'; audio_s3_key = 'music/t1.wav' }
            $first = $row | Get-MessAudio -Bucket pester -EndpointUrl $ep -ArtifactPath art -Verbose 4>&1
            ($first | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like '*1 fetched*' }) | Should -Not -BeNullOrEmpty
            'art/audio_cache/al/t1.wav' | Should -Exist
            $second = $row | Get-MessAudio -Bucket pester -EndpointUrl $ep -ArtifactPath art -Verbose 4>&1
            ($second | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like '*1 skipped as cached*' }) | Should -Not -BeNullOrEmpty
        }

        It 'downloads nothing with -WhatIf' {
            [pscustomobject]@{ track_id = 't1'; album_id = 'al'; audio_s3_key = 's3://pester/music/t1.wav' } | Get-MessAudio -EndpointUrl $ep -ArtifactPath art -WhatIf
            'art' | Should -Not -Exist
        }

        It 'reports a missing key as a non-terminating error naming track, bucket and key' {
            $out = [pscustomobject]@{ track_id = 'nope'; album_id = 'al'; audio_s3_key = 's3://pester/music/none.wav' } |
                Get-MessAudio -EndpointUrl $ep -ArtifactPath art -RetryCount 0 -ErrorVariable e -ErrorAction SilentlyContinue
            $out | Should -BeNullOrEmpty
            $e[0].FullyQualifiedErrorId | Should -BeLike 'AudioObjectNotFound,*'
            $e[0].Exception.Message | Should -BeLike "*'nope'*pester*music/none.wav*"
        }
    }
}
