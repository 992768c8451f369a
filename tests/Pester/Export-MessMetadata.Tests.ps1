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

    It 'writes identifiers verbatim so they round-trip through Import-Csv and a re-export' {
        @(
            'track_id,album_id,title,composer,audio_s3_key'
            '=f10,+a1,=SUM(1),=Chopin,-k.wav'
            '@t2,a2,plain,Liszt,k2.wav'
        ) | Set-Content -Path ids.csv -Encoding utf8NoBOM
        $tracks = Export-MessMetadata -Path ids.csv -ArtifactPath art
        $tracks.TrackId | Should -Be @('=f10', '@t2')
        $rows = Import-Csv art/metadata/tracks_metadata.csv
        $rows[0].track_id | Should -BeExactly '=f10'
        $rows[0].album_id | Should -BeExactly '+a1'
        $rows[0].composer | Should -BeExactly '=Chopin'
        $rows[0].audio_s3_key | Should -BeExactly '-k.wav'
        $rows[0].title | Should -BeExactly "'=SUM(1)"   # free text only: a spreadsheet shows it as text
        Export-MessMetadata -Path art/metadata/tracks_metadata.csv -ArtifactPath art2 | Out-Null
        (Get-FileHash art2/metadata/tracks_metadata.csv).Hash | Should -Be (Get-FileHash art/metadata/tracks_metadata.csv).Hash
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

# Issue 10, items 8 and 9: secrets typed on the cmdlet's own line, as pwsh -Command one-liners in runbooks do, reach no
# stream, error record, file under the artifact folder or run record. Mirrors tests/Module/Catalog/SecretLeakTests.cs.
Describe 'Secrets on the command line' {
    BeforeEach {
        $work = Join-Path ([IO.Path]::GetTempPath()) ("messpester-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory -Path $work | Out-Null
        Push-Location $work
        $savedSecret = $env:AWS_SECRET_ACCESS_KEY
        $savedKeyId = $env:AWS_ACCESS_KEY_ID
    }
    AfterEach {
        $env:AWS_SECRET_ACCESS_KEY = $savedSecret
        $env:AWS_ACCESS_KEY_ID = $savedKeyId
        Pop-Location
        Remove-Item -Recurse -Force $work
    }

    It 'appear in no output stream, error record, file or run record' {
        $secrets = @(
            'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'  # AWS secret access key
            'AKIAIOSFODNN7EXAMPLE'                      # AWS access key id
            'Plain-Pa55word'                            # ConvertTo-SecureString ... -AsPlainText
            'Unterminated-S3cret'                       # Password='... never closed
            'SigSecret0123456789'                       # X-Amz-Signature
            'TokSecret0123456789'                       # X-Amz-Security-Token
            'UriPa55-x'                                 # postgres:// URI with a bad port
        )
        # A job is a separate pwsh process running one line, as pwsh -Command does in a runbook (and no try/catch of
        # Pester's around it turns a statement-terminating error into the end of the line).
        $line = "Set-Location '$work'; Import-Module '$script:ModuleManifest'; " +
            "`$env:AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'; `$env:AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE'; " +
            "`$pw = ConvertTo-SecureString 'Plain-Pa55word' -AsPlainText -Force; " +
            "Export-MessMetadata -ConnectionString `"Host=127.0.0.1;Port=1;Username=u;Timeout=2;Password='Unterminated-S3cret;Database=music`" -Table tracks -ArtifactPath art -Verbose; " +
            "Export-MessMetadata -ConnectionString 'postgres://reader:UriPa55-x@127.0.0.1:54x32/music' -Table tracks -ArtifactPath art -Verbose; " +
            "[pscustomobject]@{ track_id = 't1'; album_id = 'a'; audio_s3_key = 'http://127.0.0.1:1/k.wav?X-Amz-Signature=SigSecret0123456789&X-Amz-Security-Token=TokSecret0123456789' } | " +
            "Get-MessAudio -ArtifactPath art -RetryCount 0 -Verbose"
        # The job's errors are data here, whatever error preference an earlier test file left in this session.
        $all = & { $ErrorActionPreference = 'Continue'; Start-Job -ScriptBlock ([scriptblock]::Create($line)) | Receive-Job -Wait -AutoRemoveJob *>&1 }

        $errors = @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $errors.Count | Should -Be 3
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'InvalidConnectionString,*'
        $errors[2].Exception.Message | Should -BeLike '*127.0.0.1:1/k.wav*'
        $errors[1].Exception.Message | Should -BeLike "*port '54x32'*"
        @(Get-ChildItem art/runs -Filter *.json).Count | Should -Be 3

        $texts = [System.Collections.Generic.List[string]]::new()
        foreach ($item in $all) {
            if ($item -is [System.Management.Automation.ErrorRecord]) {
                $texts.Add($item.ToString()); $texts.Add($item.Exception.ToString()); $texts.Add("$($item.TargetObject)")
                $texts.Add($item.CategoryInfo.ToString()); $texts.Add("$($item.ErrorDetails)")
            }
            elseif ($item -is [System.Management.Automation.InformationalRecord]) { $texts.Add($item.Message) }
            else { $texts.Add("$item"); $texts.Add(($item | Format-List * | Out-String)) }
        }
        foreach ($file in Get-ChildItem art -Recurse -File) { $texts.Add((Get-Content -Raw -LiteralPath $file.FullName)) }
        foreach ($secret in $secrets) {
            @($texts | Where-Object { $_ -and $_.Contains($secret) }) | Should -BeNullOrEmpty -Because "'$secret' must not leak"
        }
        # The record still says what ran, with the secrets masked.
        $record = Get-Content -Raw (Get-ChildItem art/runs -Filter *Get-MessAudio*.json)[0].FullName | ConvertFrom-Json
        $record.command | Should -Be 'Get-MessAudio'
        $record.command_line | Should -BeLike '*ConvertTo-SecureString `*`*`* -AsPlainText*'
    }
}
