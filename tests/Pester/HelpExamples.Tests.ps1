# Every example of Get-Help <cmdlet> -Examples, run as written in a demo-like workspace: track ids of the composer-dev
# demo, a SQLite and a CSV catalogue, local audio, ./artifacts/v1_model_builtin built by the pipeline, an S3 bucket on
# moto (AWS_ENDPOINT_URL_S3), a PostgreSQL catalogue (MESS_CATALOG_CONNECTION). Needs ffmpeg, moto_server, PostgreSQL
# and /usr/bin/python3 (for its sqlite3 module).
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    # Examples that need a service this workspace does not start; each named here with where its behaviour is tested, and
    # listed in the closing note of the work that added it. The list may only shrink.
    $script:NotRunHere = @{
        'Publish-MessVector'      = 'needs a PostgreSQL server with pgvector (tests/Pester/Publish-MessVector.Tests.ps1 runs it against PGlite)'
        'Publish-MessArtifact'    = 'needs buckets and KMS on S3 (tests/Pester/Publish-MessArtifact.Tests.ps1 runs publish and import against moto)'
        'Import-MessArtifact'     = 'needs a published version on S3 (tests/Pester/Publish-MessArtifact.Tests.ps1)'
        'Get-MessArtifactVersion' = 'needs published versions on S3 (tests/Pester/Publish-MessArtifact.Tests.ps1)'
        'Merge-MessEmbedding'     = 'needs shards published on S3 (tests/Pester/Merge-MessEmbedding.Tests.ps1)'
    }
    $script:ws = New-TestFolder 'pester-examples'
    $script:savedEnv = @{}
    foreach ($n in 'AWS_ENDPOINT_URL_S3', 'MESS_CATALOG_CONNECTION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION') { $savedEnv[$n] = [Environment]::GetEnvironmentVariable($n) }

    # 16 tracks of the composer-dev demo (ids, albums, composers as there), rendered here as tones.
    $demo = @(
        @('pmd-chopin-chpn-op27-1', 'chopin--2-nocturnes-opus-27', 'Chopin'), @('pmd-chopin-chpn-op27-2', 'chopin--2-nocturnes-opus-27', 'Chopin'),
        @('pmd-chopin-chpn-op35-1', 'chopin--piano-sonata-no-2-bb-minor-opus-35', 'Chopin'), @('pmd-chopin-chpn-op35-2', 'chopin--piano-sonata-no-2-bb-minor-opus-35', 'Chopin'),
        @('pmd-liszt-liz-et1', 'liszt--grandes-etudes-de-paganini', 'Liszt'), @('pmd-liszt-liz-et2', 'liszt--grandes-etudes-de-paganini', 'Liszt'),
        @('pmd-liszt-liz-et3', 'liszt--grandes-etudes-de-paganini', 'Liszt'), @('pmd-liszt-liz-et4', 'liszt--grandes-etudes-de-paganini', 'Liszt'),
        @('pmd-schubert-schumm-1', 'schubert--6-moments-musicaux-d-780-opus-94', 'Schubert'), @('pmd-schubert-schumm-2', 'schubert--6-moments-musicaux-d-780-opus-94', 'Schubert'),
        @('pmd-schubert-schumm-3', 'schubert--6-moments-musicaux-d-780-opus-94', 'Schubert'), @('pmd-schubert-schumm-4', 'schubert--6-moments-musicaux-d-780-opus-94', 'Schubert'),
        @('pmd-schumann-scn16-1', 'schumann--kreisleriana-opus-16', 'Schumann'), @('pmd-schumann-scn16-2', 'schumann--kreisleriana-opus-16', 'Schumann'),
        @('pmd-schumann-scn16-3', 'schumann--kreisleriana-opus-16', 'Schumann'), @('pmd-schumann-scn16-4', 'schumann--kreisleriana-opus-16', 'Schumann')
    )
    $header = 'track_id,album_id,track_no,title,composer,audio_path,duration_sec'
    $dev = @($header); $catalog = @($header -replace 'audio_path', 'audio_s3_key'); $s3 = @($header -replace 'audio_path', 'audio_s3_key')
    $tracks = @('track_id,wav_path'); $sql = [Text.StringBuilder]::new()
    [void]$sql.AppendLine('CREATE TABLE public.tracks (track_id text, album_id text, track_no int, title text, composer text, s3_path text, duration_sec double precision);')
    $composerBase = @{ Chopin = 220; Liszt = 330; Schubert = 440; Schumann = 550 }
    for ($i = 0; $i -lt $demo.Count; $i++) {
        $id, $album, $composer = $demo[$i]; $no = $i % 4 + 1
        $rel = "audio/$composer/$id.wav"
        New-ToneWav (Join-Path $ws "composer-dev/$rel") ($composerBase[$composer] * (1 + 0.05 * $no)) -Rate 22050 -Seconds 3
        New-ToneWav (Join-Path $ws "wav24/$id.wav") ($composerBase[$composer] * (1 + 0.05 * $no)) -Rate 24000 -Seconds 3
        $dev += "$id,$album,$no,Piece $no,$composer,$rel,3"
        $catalog += "$id,$album,$no,Piece $no,$composer,composer-dev/$rel,3"
        $s3 += "$id,$album,$no,Piece $no,$composer,music/$id.wav,3"
        $tracks += "$id,wav24/$id.wav"
        [void]$sql.AppendLine("INSERT INTO public.tracks VALUES ('$id', '$album', $no, 'Piece $no', '$composer', 's3://my-audio/music/$id.wav', 3);")
    }
    Set-Content (Join-Path $ws 'composer-dev/tracks_metadata.csv') $dev
    Set-Content (Join-Path $ws 'catalog.csv') $catalog
    Set-Content (Join-Path $ws 'tracks_metadata.csv') $s3
    Set-Content (Join-Path $ws 'tracks.csv') $tracks
    Set-Content (Join-Path $ws 'new-tracks.csv') @('track_id,album_id,composer,audio_path', "pmd-liszt-liz-et5,liszt--grandes-etudes-de-paganini,Liszt,composer-dev/audio/Liszt/pmd-liszt-liz-et1.wav", 'pmd-liszt-liz-et6,liszt--grandes-etudes-de-paganini,Liszt,composer-dev/audio/Liszt/missing.wav')
    & /usr/bin/python3 -c "import csv, sqlite3, sys; c = sqlite3.connect(sys.argv[1]); rows = list(csv.DictReader(open(sys.argv[2]))); c.execute('CREATE TABLE tracks (track_id TEXT, album_id TEXT, track_no INTEGER, title TEXT, composer TEXT, audio_s3_key TEXT, duration_sec REAL)'); c.executemany('INSERT INTO tracks VALUES (:track_id, :album_id, :track_no, :title, :composer, :audio_s3_key, :duration_sec)', rows); c.commit()" (Join-Path $ws 'catalog.sqlite') (Join-Path $ws 'catalog.csv')
    if ($LASTEXITCODE) { throw 'python3 could not write catalog.sqlite' }
    & ffmpeg -nostdin -v error -f lavfi -i 'sine=frequency=262:sample_rate=44100:duration=3' -c:a aac -y (Join-Path $ws 'new-recording.m4a')
    if ($LASTEXITCODE) { throw 'ffmpeg could not write new-recording.m4a' }
    New-Item -ItemType Directory (Join-Path $ws 'models') | Out-Null
    New-TinyOnnxModel (Join-Path $ws 'models/my-model.onnx')
    Set-Content (Join-Path $ws 'models/my-model.onnx.json') ($TinyProfileJson -replace '"tiny-lastlayer"', '"my-model"')

    # Services the examples name through the environment, as a runbook would have them.
    $script:moto = Start-TestMoto
    Invoke-WebRequest -Method Put "$($moto.Endpoint)/my-audio" -UseBasicParsing | Out-Null
    foreach ($t in $demo) { Invoke-WebRequest -Method Put "$($moto.Endpoint)/my-audio/music/$($t[0]).wav" -InFile (Join-Path $ws "wav24/$($t[0]).wav") -UseBasicParsing | Out-Null }
    $env:AWS_ENDPOINT_URL_S3 = $moto.Endpoint
    $env:AWS_REGION = 'us-east-1'
    $script:pg = Start-TestPostgres
    Invoke-TestPostgresSql $pg $sql.ToString()
    $env:MESS_CATALOG_CONNECTION = $pg.ConnectionString

    # The artifacts the demo leaves: the built-in model's folder with its index, and a second model's folder.
    Push-Location $ws
    try {
        Export-MessMetadata -Path ./composer-dev/tracks_metadata.csv | Get-MessAudio -AudioRoot ./composer-dev | ConvertTo-MessEmbedding | New-MessIndex | Out-Null
        Export-MessMetadata -Path ./composer-dev/tracks_metadata.csv -ArtifactPath ./artifacts/v1_model_my-model |
            Get-MessAudio -AudioRoot ./composer-dev -SampleRate 24000 | ConvertTo-MessEmbedding -Model ./models/my-model.onnx | Out-Null
    }
    finally { Pop-Location }
}
AfterAll {
    if ($moto) { Stop-Process -Id $moto.Process.Id -ErrorAction SilentlyContinue }
    Stop-TestPostgres $pg
    foreach ($n in $savedEnv.Keys) { [Environment]::SetEnvironmentVariable($n, $savedEnv[$n]) }
    Remove-Item -Recurse -Force $ws -ErrorAction SilentlyContinue
}

Describe 'Get-Help -Examples' {
    It 'the demo-like workspace holds what the examples use' {
        Join-Path $ws 'artifacts/v1_model_builtin/index/hnsw.index' | Should -Exist
        Join-Path $ws 'artifacts/v1_model_my-model/embeddings/embeddings.f32' | Should -Exist
    }

    It 'every example of every cmdlet runs as written, each in a fresh copy of the workspace' {
        $failures = [Collections.Generic.List[string]]::new()
        $ran = 0
        foreach ($name in @(Get-Command -Module MessTools -CommandType Cmdlet).Name) {
            if ($script:NotRunHere.ContainsKey($name)) {
                Write-Warning "Get-Help $name -Examples not run here: $($script:NotRunHere[$name])"
                continue
            }
            $n = 0
            foreach ($example in @((Get-Help $name -Examples).examples.example)) {
                $n++; $ran++
                $code = ($example.code | Out-String).Trim()
                $copy = Join-Path ([IO.Path]::GetTempPath()) ("pester-example-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
                Copy-Item -Recurse $ws $copy
                Push-Location $copy
                try {
                    $ErrorActionPreference = 'Stop'
                    $null = & ([scriptblock]::Create($code)) *>&1 | Out-String
                }
                catch { $failures.Add("$name example $n`n$code`n  -> $($_.FullyQualifiedErrorId): $($_.Exception.Message)") }
                finally {
                    $ErrorActionPreference = 'Continue'
                    Pop-Location
                    Remove-Item -Recurse -Force $copy -ErrorAction SilentlyContinue
                }
            }
            $n | Should -BeGreaterThan 0 -Because "$name has examples"
        }
        $ran | Should -BeGreaterOrEqual 20
        $failures -join "`n`n" | Should -BeNullOrEmpty
    }
}
