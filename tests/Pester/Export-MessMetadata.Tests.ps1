#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Mirrors tests/Module/Catalog/ExportMessMetadataTests.cs for machines with pwsh and Pester.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
}

Describe 'Export-MessMetadata' {
    BeforeEach {
        $work = Join-Path ([IO.Path]::GetTempPath()) ("messpester-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory -Path $work | Out-Null
        Push-Location $work
        @(
            'track_id,album_id,track_no,title,composer,audio_s3_key,duration_sec'
            'chopin-op28-4,chopin-op28,4,Prelude in E minor,Chopin,s3://demo/chopin-op28/4.m4a,125.5'
            'chopin-op28-7,chopin-op28,7,"=cmd|'' /C calc''!A0","Chopin, Frédéric",s3://demo/chopin-op28/7.m4a,48'
            'liszt-s139-1,liszt-s139,1,Preludio,Liszt,s3://demo/liszt-s139/1.mp3,60'
            'evil,../../etc,1,x,Liszt,s3://demo/x.mp3,1'
        ) | Set-Content -Path catalog.csv -Encoding utf8NoBOM
    }
    AfterEach {
        Pop-Location
        Remove-Item -Recurse -Force $work
    }

    It 'emits tracks that filter down the pipeline' {
        $chopin = Export-MessMetadata -Path catalog.csv -ArtifactPath art -ErrorAction SilentlyContinue |
            Where-Object Composer -eq 'Frédéric Chopin'
        $chopin.TrackId | Should -Be @('chopin-op28-7')
        $chopin[0].GetType().FullName | Should -Be 'MessTools.MessTrack'
    }

    It 'writes tracks_metadata.csv with formulas made harmless' {
        Export-MessMetadata -Path catalog.csv -ArtifactPath art -ErrorAction SilentlyContinue | Out-Null
        $rows = Import-Csv art/metadata/tracks_metadata.csv
        $rows.Count | Should -Be 3
        ($rows | Where-Object track_id -eq 'chopin-op28-7').title | Should -Be "'=cmd|' /C calc'!A0"
    }

    It 'reports a bad row as a non-terminating error naming the row' {
        $tracks = Export-MessMetadata -Path catalog.csv -ArtifactPath art -ErrorVariable errs -ErrorAction SilentlyContinue
        $tracks.Count | Should -Be 3
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'UnsafeAlbumId,*'
        $errs[0].Exception.Message | Should -BeLike '*row 4*'
    }

    It 'writes nothing with -WhatIf' {
        Export-MessMetadata -Path catalog.csv -ArtifactPath art -WhatIf -ErrorAction SilentlyContinue | Out-Null
        Test-Path art | Should -BeFalse
    }

    It 'stops with the name of a missing required column' {
        'track_id,album_id,audio_s3_key', 't1,a,x.wav' | Set-Content bad.csv
        { Export-MessMetadata -Path bad.csv -ArtifactPath art } | Should -Throw "*'composer'*"
    }

    It 'binds Import-Csv rows of its own output to later stages by property name' {
        Export-MessMetadata -Path catalog.csv -ArtifactPath art -ErrorAction SilentlyContinue | Out-Null
        $row = Import-Csv art/metadata/tracks_metadata.csv | Select-Object -First 1
        $row.track_id | Should -Be 'chopin-op28-4'
        (Get-Command Get-MessAudio).Parameters['TrackId'].Aliases | Should -Contain 'track_id'
    }
}

Describe 'Module conventions' {
    # One test over the cmdlets the imported module exports (a -ForEach list would be computed at discovery, before
    # BeforeAll imported the module, and so be empty).
    It 'every cmdlet has help with a synopsis and an example, and an output type' {
        $names = @(Get-Command -Module MessTools -CommandType Cmdlet).Name
        $names.Count | Should -BeGreaterOrEqual 7
        foreach ($name in $names) {
            $help = Get-Help $name -Full
            $help.Synopsis | Should -Not -BeNullOrEmpty -Because $name
            $help.Synopsis | Should -Not -BeLike "$name*" -Because "$name has MAML help, not the generated stub"
            @($help.examples.example).Count | Should -BeGreaterThan 0 -Because $name
            (Get-Command $name).OutputType.Count | Should -BeGreaterThan 0 -Because $name
        }
    }
}
