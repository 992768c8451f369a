# Pester 5 tests of Clear-MessCache (mirror tests/Module/Catalog/ExportMessMetadataTests.cs).
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
}

Describe 'Clear-MessCache' {
    It 'keeps everything with -WhatIf and removes only cache/ otherwise' {
        $art = Join-Path $TestDrive 'art'
        New-Item -ItemType Directory -Force "$art/cache/x", "$art/metadata" | Out-Null
        Set-Content "$art/cache/x/f.bin" 1
        Set-Content "$art/metadata/tracks_metadata.csv" keep
        Clear-MessCache -ArtifactPath $art -WhatIf
        Test-Path "$art/cache/x/f.bin" | Should -BeTrue
        Clear-MessCache -ArtifactPath $art -Confirm:$false
        Test-Path "$art/cache/x" | Should -BeFalse
        Get-Content "$art/metadata/tracks_metadata.csv" | Should -Be keep
    }

    It 'creates nothing and says "No artifacts at" for a mistyped -ArtifactPath' {
        $typo = Join-Path $TestDrive 'atr'
        { Clear-MessCache -ArtifactPath $typo -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'ArtifactsNotFound*' -ExpectedMessage "No artifacts at '$typo'*"
        $typo | Should -Not -Exist
    }

    It 'removes stale temporaries of killed writers with -Force and emits them with -PassThru' {
        $art = Join-Path $TestDrive 'art2'
        New-Item -ItemType Directory -Force "$art/metadata" | Out-Null
        Set-Content "$art/metadata/.tracks_metadata.csv.abc.messtmp" half
        Clear-MessCache -ArtifactPath $art -Confirm:$false
        "$art/metadata/.tracks_metadata.csv.abc.messtmp" | Should -Exist   # younger than an hour: another run may be writing it
        $removed = Clear-MessCache -ArtifactPath $art -Force -PassThru -Confirm:$false
        $removed.Name | Should -Be '.tracks_metadata.csv.abc.messtmp'
        "$art/metadata/.tracks_metadata.csv.abc.messtmp" | Should -Not -Exist
    }
}
