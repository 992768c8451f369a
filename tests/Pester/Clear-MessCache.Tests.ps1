#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Clear-MessCache in real pwsh (mirrors tests/Module/Artifacts/WriterLockTests.cs): links are removed, never followed.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
}

Describe 'Clear-MessCache' {
    BeforeEach {
        $work = Join-Path ([IO.Path]::GetTempPath()) ("messpester-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory -Path "$work/outside/sub", "$work/art/cache/real" | Out-Null
        Set-Content -Path "$work/outside/precious.txt" -Value keep
        Set-Content -Path "$work/outside/sub/.x.messtmp" -Value 'not ours'
        Set-Content -Path "$work/art/cache/real/f.bin" -Value 1
        New-Item -ItemType SymbolicLink -Path "$work/art/cache/dirlink" -Target "$work/outside" | Out-Null
        New-Item -ItemType SymbolicLink -Path "$work/art/cache/filelink" -Target "$work/outside/precious.txt" | Out-Null
        New-Item -ItemType SymbolicLink -Path "$work/art/cache/real/nested" -Target "$work/outside" | Out-Null
        New-Item -ItemType SymbolicLink -Path "$work/art/elsewhere" -Target "$work/outside" | Out-Null
        New-Item -ItemType Directory -Path "$work/art/index" | Out-Null
        Set-Content -Path "$work/art/index/.hnsw.index.0123.messtmp" -Value half
    }
    AfterEach { Remove-Item -Recurse -Force $work }

    It 'removes a link to a directory and a link to a file, never their targets' {
        $removed = Clear-MessCache -ArtifactPath "$work/art" -PassThru
        @($removed.Name | Sort-Object) | Should -Be @('.hnsw.index.0123.messtmp', 'dirlink', 'filelink', 'real')
        @(Get-ChildItem -Force "$work/art/cache").Count | Should -Be 0
        Get-Content "$work/outside/precious.txt" | Should -Be keep
        Test-Path "$work/outside/sub/.x.messtmp" | Should -BeTrue
        Test-Path "$work/art/elsewhere" | Should -BeTrue
        Test-Path "$work/art/index/.hnsw.index.0123.messtmp" | Should -BeFalse
    }

    It 'removes nothing under -WhatIf and takes no lock' {
        Clear-MessCache -ArtifactPath "$work/art" -WhatIf
        Test-Path "$work/art/cache/filelink" | Should -BeTrue
        Test-Path "$work/art/index/.hnsw.index.0123.messtmp" | Should -BeTrue
        Test-Path "$work/art/.lock" | Should -BeFalse
    }
}
Describe 'Clear-MessCache on the cache folder' {
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

}
