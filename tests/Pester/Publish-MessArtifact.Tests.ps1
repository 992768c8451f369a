#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Publish-MessArtifact, Import-MessArtifact and Get-MessArtifactVersion in real pwsh against moto_server on loopback
# (mirrors tests/Module/Publishing/MessArtifactTests.cs). moto_server is required: the tests fail, never skip, without it.
BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    . "$PSScriptRoot/IndexTestData.ps1"
    if (-not (Get-Command moto_server -ErrorAction SilentlyContinue)) { throw 'moto_server is missing: the S3 tests need it (pip install "moto[server]").' }
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $listener.Start()
    $port = $listener.LocalEndpoint.Port; $listener.Stop()
    $script:moto = Start-Process moto_server -ArgumentList '-H', '127.0.0.1', '-p', $port -PassThru -RedirectStandardError ([IO.Path]::GetTempFileName())
    $script:ep = "http://127.0.0.1:$port"
    for ($i = 0; $i -lt 150; $i++) { try { Invoke-WebRequest "$ep/" -UseBasicParsing | Out-Null; break } catch { Start-Sleep -Milliseconds 100 } }
    $env:AWS_ACCESS_KEY_ID = 'testing'; $env:AWS_SECRET_ACCESS_KEY = 'testing-secret'; $env:AWS_EC2_METADATA_DISABLED = 'true'
    Invoke-WebRequest -Method Put "$ep/pester-art" -UseBasicParsing | Out-Null

    $script:work = Join-Path ([IO.Path]::GetTempPath()) ("messpester-art-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path $work | Out-Null
    $script:art = Join-Path $work 'artifacts/v1_model_builtin'
    New-IndexTestArtifacts -Art $art -Count 60 | Out-Null
    New-MessIndex -ArtifactPath $art -RecallSampleSize 0 | Out-Null

    function Get-PublishedSnapshot([string] $Root) {
        Get-ChildItem -LiteralPath $Root -Recurse -File |
            Where-Object { $_.Name -notlike '*_Publish-MessArtifact*' -and $_.Name -notlike '*_Import-MessArtifact*' } |
            ForEach-Object { '{0} {1}' -f [IO.Path]::GetRelativePath($Root, $_.FullName), (Get-FileHash -LiteralPath $_.FullName -Algorithm SHA256).Hash } |
            Sort-Object
    }
}

AfterAll {
    if ($script:moto) { Stop-Process -Id $script:moto.Id -ErrorAction SilentlyContinue }
    if ($script:work) { Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue }
}

Describe 'Publish-MessArtifact then Import-MessArtifact' {
    It 'publishes nothing with -WhatIf' {
        $out = Publish-MessArtifact -ArtifactPath $art -Bucket pester-art -EndpointUrl $ep -Model builtin -WhatIf
        $out | Should -BeNullOrEmpty
        Get-MessArtifactVersion -Bucket pester-art -EndpointUrl $ep | Should -BeNullOrEmpty
    }

    It 'publishes the folder, lists the version and imports it byte-identical into a fresh folder' {
        $pub = Publish-MessArtifact -ArtifactPath $art -Bucket pester-art -EndpointUrl $ep -Model builtin
        $pub.GetType().FullName | Should -Be 'MessTools.Core.Publishing.PublishResult'
        $pub.Model | Should -Be 'builtin'
        $pub.VersionId | Should -Match '^v[0-9a-f]{20}$'
        $pub.UploadedFiles | Should -Be $pub.Files
        $pub.Uri | Should -Be "s3://pester-art/vector-artifacts/v1_model_builtin/$($pub.VersionId)/"

        $versions = Get-MessArtifactVersion -Bucket pester-art -EndpointUrl $ep
        @($versions).Count | Should -Be 1
        $versions.IsLatest | Should -BeTrue
        # The default views fit 80 columns.
        ($versions | Format-Table | Out-String -Width 80) | Should -Match $pub.VersionId
        ($pub | Out-String -Width 80 -Stream | Where-Object { $_.TrimEnd().Length -gt 80 }) | Should -BeNullOrEmpty

        $fresh = Join-Path $work 'fresh'
        $imp = Import-MessArtifact -Bucket pester-art -EndpointUrl $ep -Model builtin -ArtifactPath $fresh
        $imp.VersionId | Should -Be $pub.VersionId
        $imp.DownloadedFiles | Should -Be $pub.Files
        Get-PublishedSnapshot $fresh | Should -Be (Get-PublishedSnapshot $art)
    }

    It 'uploads nothing when the content did not change' {
        $again = Publish-MessArtifact -ArtifactPath $art -Bucket pester-art -EndpointUrl $ep -Model builtin
        $again.UploadedFiles | Should -Be 0
        $again.AlreadyPublished | Should -BeTrue
        $again.PointerUpdated | Should -BeFalse
    }

    It 'stops with an error naming the bucket and prefix when the bucket does not exist' {
        { Import-MessArtifact -Bucket no-such-pester-bucket -Prefix team/x -EndpointUrl $ep -Model builtin -ArtifactPath (Join-Path $work 'none') } |
            Should -Throw -ExpectedMessage "*'no-such-pester-bucket'*prefix 'team/x'*"
        Join-Path $work 'none' | Should -Not -Exist
    }
}
