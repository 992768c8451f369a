# Pester 5 tests of what a pwsh user meets beyond one cmdlet: output objects, default views and help.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:OurTypes = 'MessTools.MessTrack', 'MessTools.NeighborResult', 'MessTools.MessIndexInfo', 'MessTools.EvaluationResult', 'MessTools.ComposerEvaluation', 'MessTools.EvaluationComparison'
    # Output types of the cmdlets around the stages, whose sample output needs S3, pgvector or a sharded run: their
    # views are not checked here yet (a warning says so). The list may only shrink.
    $script:NotSampledHere = 'MessTools.Core.Publishing.ArtifactVersionInfo', 'MessTools.Core.Publishing.ImportResult',
        'MessTools.Core.Publishing.PublishResult', 'MessTools.EmbeddingAnalysis', 'MessTools.ShardMergeResult', 'MessTools.VectorPublishResult'

    # Artifacts with 40-character track ids (longer than the demo's 32) and real outputs of every stage.
    $script:work = New-TestFolder 'pester-module'
    $art = Join-Path $work 'art'
    $lines = @('track_id,album_id,track_no,title,composer,audio_s3_key,duration_sec')
    $ids = @(); $vals = [Collections.Generic.List[float]]::new()
    foreach ($c in 0..2) {
        foreach ($t in 0..3) {
            $id = ("composer{0}-a-rather-long-catalogue-id-{1}" -f $c, $t).PadRight(40, 'x')
            $lines += "$id,album-$c-$($t % 2),$($t + 1),A title that is long enough to be cut in a table $t,Composer Number $c,s3://b/$id.wav,61.5"
            $ids += $id
            foreach ($j in 0..7) { $vals.Add([float](($j -eq $c) + 0.1 * $t + 0.01 * $j)) }
        }
    }
    Set-Content (Join-Path $work 'catalog.csv') $lines
    $script:tracks = @(Export-MessMetadata -Path (Join-Path $work 'catalog.csv') -ArtifactPath $art)
    $emb = New-Item -ItemType Directory -Force (Join-Path $art 'embeddings')
    $bytes = [byte[]]::new($vals.Count * 4); [Buffer]::BlockCopy($vals.ToArray(), 0, $bytes, 0, $bytes.Length)
    [IO.File]::WriteAllBytes((Join-Path $emb 'embeddings.f32'), $bytes)
    ConvertTo-Json -InputObject @($ids) | Set-Content (Join-Path $emb 'track_ids.json')
    $script:index = New-MessIndex -ArtifactPath $art -Type Flat
    $script:neighbors = @(Find-MessNeighbor -TrackId $ids[0] -K 3 -ArtifactPath $art)
    $script:evaluation = @(Invoke-MessEvaluation -ArtifactPath $art -K 3 -SampleCount 0)
    Copy-Item -Recurse $art (Join-Path $work 'art-copy')
    $script:comparison = @(Invoke-MessEvaluation -ArtifactPath $art -Compare (Join-Path $work 'art-copy') -K 3 -SampleCount 0 -BootstrapCount 50 -PermutationCount 49 |
        Where-Object { $_.GetType().Name -eq 'EvaluationComparison' })
    $script:samples = @{
        'MessTools.MessTrack' = $tracks; 'MessTools.NeighborResult' = $neighbors; 'MessTools.MessIndexInfo' = @($index)
        'MessTools.EvaluationResult' = $evaluation; 'MessTools.ComposerEvaluation' = @($evaluation[0].PerComposer)
        'MessTools.EvaluationComparison' = $comparison
    }
    $script:longId = $ids[0]
}
AfterAll { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }

Describe 'Output objects' {
    It 'every output type of every cmdlet is one of ours or a .NET type, and has sample output here' {
        $types = Get-Command -Module MessTools -CommandType Cmdlet | ForEach-Object { $_.OutputType.Name } | Sort-Object -Unique
        foreach ($t in $types | Where-Object { $_ -like 'MessTools.*' }) {
            if ($t -in $NotSampledHere) { Write-Warning "$t has no sample output here: its views are not checked by this file"; continue }
            $OurTypes | Should -Contain $t
        }
        foreach ($t in $OurTypes) { $samples[$t][0].GetType().FullName | Should -Be $t }
    }

    It 'no property of an output type collides with a member of an array (member enumeration would hide it)' {
        $arrayMembers = @(Get-Member -InputObject @(1, 2) -Force).Name + 'Count', 'Length', 'Rank'
        foreach ($t in $OurTypes) {
            $props = $samples[$t][0].PSObject.Properties.Name
            $props | Where-Object { $_ -in $arrayMembers } | Should -BeNullOrEmpty -Because "$t properties must enumerate over arrays of results"
        }
        $neighbors.NeighborRank | Should -Be @(1, 2, 3)
        @($index, $index).TrackCount | Should -Be @(12, 12)
    }
}

Describe 'Default views' {
    It 'every output type has a table view and a list view' {
        foreach ($t in $OurTypes) {
            $controls = (Get-FormatData -TypeName $t -PowerShellVersion $PSVersionTable.PSVersion).FormatViewDefinition.Control |
                ForEach-Object { $_.GetType().Name }
            $controls | Should -Contain 'TableControl' -Because $t
            $controls | Should -Contain 'ListControl' -Because $t
        }
    }

    It 'tables fit 80 columns with every column shown and track ids whole' {
        foreach ($t in $OurTypes) {
            $view = (Get-FormatData -TypeName $t -PowerShellVersion $PSVersionTable.PSVersion).FormatViewDefinition |
                Where-Object { $_.Control -is [System.Management.Automation.TableControl] }
            $text = $samples[$t] | Format-Table | Out-String -Width 80
            foreach ($line in $text -split '\r?\n') { $line.TrimEnd().Length | Should -BeLessOrEqual 80 -Because "$t`n$text" }
            foreach ($h in $view.Control.Headers.Label) { $text | Should -Match ([regex]::Escape($h)) -Because "$t shows column $h at 80 columns`n$text" }
        }
        ($tracks | Format-Table | Out-String -Width 80) | Should -Match ([regex]::Escape($longId))
        ($neighbors | Format-Table | Out-String -Width 80) | Should -Match ([regex]::Escape($neighbors[0].TrackId))
    }

    It 'lists show values, never type names' {
        foreach ($t in $OurTypes) {
            $text = $samples[$t] | Format-List | Out-String -Width 120
            $text | Should -Not -Match 'MessTools\.|System\.|`\d\[' -Because "$t`n$text"
        }
    }
}

Describe 'Help' {
    BeforeAll {
        $script:common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        $script:cmdlets = @(Get-Command -Module MessTools -CommandType Cmdlet)
        function Get-VisibleParameter($Set) {
            $Set.Parameters | Where-Object { $_.Name -notin $common -and -not ($_.Attributes | Where-Object { $_ -is [Parameter] -and $_.DontShow }) }
        }
    }

    It 'syntax blocks match the parameter sets of the cmdlets (names and which are required)' {
        $cmdlets.Count | Should -BeGreaterOrEqual 7
        foreach ($c in $cmdlets) {
            $sets = foreach ($s in $c.ParameterSets) {
                (Get-VisibleParameter $s | ForEach-Object { $_.Name + $(if ($_.IsMandatory) { '!' }) } | Sort-Object) -join ','
            }
            $items = foreach ($si in @((Get-Help $c.Name).syntax.syntaxItem)) {
                (@($si.parameter) | Where-Object { $_.name -notin $common } | ForEach-Object { $_.name + $(if ($_.required -eq 'true') { '!' }) } | Sort-Object) -join ','
            }
            ($items | Sort-Object) -join ' | ' | Should -Be (($sets | Sort-Object) -join ' | ') -Because "$($c.Name): Get-Help syntax = Get-Command parameter sets"
        }
    }

    It 'documents every parameter with its aliases filled in' {
        foreach ($c in $cmdlets) {
            $help = Get-Help $c.Name
            $visible = $c.ParameterSets | ForEach-Object { Get-VisibleParameter $_ } | Sort-Object Name -Unique
            foreach ($p in $visible) {
                $h = @($help.parameters.parameter | Where-Object name -eq $p.Name)
                $h.Count | Should -Be 1 -Because "$($c.Name) -$($p.Name) has help"
                $expected = if ($p.Aliases.Count) { $p.Aliases -join ', ' } else { 'none' }
                $h[0].aliases | Should -Be $expected -Because "$($c.Name) -$($p.Name) aliases"
                $h[0].description | Should -Not -BeNullOrEmpty -Because "$($c.Name) -$($p.Name) is described"
            }
        }
    }

    It 'every cmdlet has a HelpUri that Get-Help -Online opens, pointing at a page of this repository' {
        foreach ($c in $cmdlets) {
            $c.HelpUri | Should -Match '^https://github\.com/messtools/MessTools/blob/main/' -Because $c.Name
            $online = @((Get-Help $c.Name).relatedLinks.navigationLink | Where-Object { $_.PSObject.Properties['uri'] -and $_.uri })[0].uri
            $online | Should -Be $c.HelpUri -Because "$($c.Name): -Online takes the first related link's URI"
            $file = ($c.HelpUri -replace '^https://github\.com/messtools/MessTools/blob/main/', '') -replace '#.*$', ''
            Join-Path $RepoRoot $file | Should -Exist
        }
    }

    It 'has an about_MessTools topic, staged with the module' {
        Join-Path (Split-Path $ModuleManifest) 'en-US/about_MessTools.help.txt' | Should -Exist
        $about = Get-Help about_MessTools | Out-String
        $about | Should -Match 'ArtifactsNotFound'
        foreach ($c in $cmdlets) { $about | Should -Match $c.Name }
    }

    It 'names the index checksum XXH64 in help, README and docs alike' {
        $help = Get-Help New-MessIndex -Full | Out-String
        $help | Should -Match 'XXH64 checksum'
        $help | Should -Not -Match 'SHA-256 checksum'
        foreach ($f in 'README.md', 'docs/index.md') {
            $text = Get-Content (Join-Path $RepoRoot $f) -Raw
            $text | Should -Match 'XXH64'
            $text | Should -Not -Match 'SHA-256 checksum'
        }
    }
}
