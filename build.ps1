#requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests and packages the MessTools module (a thin wrapper over dotnet for pwsh users).
.DESCRIPTION
    Build   : dotnet publish stages the ready module folder out/MessTools/<version>/ (an MSBuild target does it,
              so the same folder comes out on machines without pwsh).
    Test    : dotnet test (engine unit tests, runspace tests of the staged module, server tests), a build of every
              benchmark under bench/ (bench/Benchmarks.proj), then Invoke-Pester
              on tests/Pester with the Pester 5.9.1 the solution restores from NuGet; ends with one line
              "N passed, N failed, N skipped" over every suite and exits 1 if anything failed.
    Package : Build, then a .nupkg of the module folder in out/ for a PowerShell repository (Publish-PSResource
              or Publish-Module to a local or private repository).
.EXAMPLE
    ./build.ps1 -Task Test
.EXAMPLE
    ./build.ps1 -Task Package -Configuration Release
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package')]
    [string[]] $Task = @('Build'),
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = $PSScriptRoot
# Plain text in logs (CI, runbooks): no colour escape codes around the summary lines.
if ([Console]::IsOutputRedirected) { $PSStyle.OutputRendering = 'PlainText' }

function Invoke-Dotnet {
    param([Parameter(ValueFromRemainingArguments)] [string[]] $Arguments)
    & dotnet @Arguments
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Get-ModuleFolder {
    $manifest = Import-PowerShellDataFile (Join-Path $root 'module/MessTools.psd1')
    Join-Path $root "out/MessTools/$($manifest.ModuleVersion)"
}

# Counts of the .trx files, and their failed tests, one line each with the first line of the message (printed just
# above the summary line, so a log read from its end, as CI shows it, names what failed, not just how many).
function Get-TrxCount([string] $Folder) {
    $count = [pscustomobject]@{ Passed = 0; Failed = 0; Skipped = 0; Failures = [System.Collections.Generic.List[string]]::new() }
    foreach ($trx in Get-ChildItem -Path $Folder -Filter *.trx -Recurse -ErrorAction SilentlyContinue) {
        $run = ([xml](Get-Content -LiteralPath $trx.FullName -Raw)).TestRun
        $counters = $run.ResultSummary.Counters
        $count.Passed += [int]$counters.passed
        $count.Failed += [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
        # Skipped tests are counted from their results: the VSTest logger writes them with outcome NotExecuted but
        # leaves the summary's notExecuted counter at 0 (seen with 7 skipped tests on a CPU without AVX-VNNI).
        foreach ($result in $run.SelectNodes(".//*[local-name()='UnitTestResult']")) {
            $outcome = $result.GetAttribute('outcome')
            if ($outcome -eq 'NotExecuted') { $count.Skipped++; continue }
            if ($outcome -eq 'Passed') { continue }
            $message = $result.SelectSingleNode(".//*[local-name()='ErrorInfo']/*[local-name()='Message']")
            $first = if ($message) { @($message.InnerText -split "`n" | Where-Object { $_.Trim() })[0] } else { '' }
            $count.Failures.Add(('{0} ({1}): {2}' -f $result.GetAttribute('testName'), $outcome, "$first".Trim()))
        }
    }
    $count
}

# Pester 5.9.1 as the solution restores it (tests/Module: PackageDownload), in the NuGet global packages folder.
function Get-PesterManifest {
    $packages = $env:NUGET_PACKAGES
    if (-not $packages) {
        $line = & dotnet nuget locals global-packages --list
        $packages = ($line -replace '^global-packages:\s*', '').Trim()
    }
    $manifest = Join-Path $packages 'pester/5.9.1/tools/Pester.psd1'
    if (-not (Test-Path -LiteralPath $manifest)) {
        throw "Pester 5.9.1 is not at ${manifest}: restore the solution first (dotnet restore MessTools.sln)."
    }
    $manifest
}

foreach ($t in $Task) {
    switch ($t) {
        'Build' {
            Invoke-Dotnet publish (Join-Path $root 'src/MessTools.Cmdlets') -c $Configuration -nologo
            Write-Host "Module: $(Get-ModuleFolder)"
        }
        'Test' {
            # Every suite, one summary: xunit (engine, runspace and server tests) through dotnet test, then the Pester
            # suite in this real pwsh with the Pester that the solution restores from NuGet (never a machine-wide copy).
            $results = Join-Path $root 'out/test-results'
            if (Test-Path $results) { Remove-Item -Recurse -Force $results }
            & dotnet test (Join-Path $root 'MessTools.sln') -c $Configuration -nologo --logger trx --results-directory $results
            $dotnetExit = $LASTEXITCODE
            $xunit = Get-TrxCount $results

            # Every benchmark under bench/ compiles (bench/Benchmarks.proj finds them by glob): a benchmark that no longer
            # builds is a failure here, not a surprise on the day its figures are taken.
            & dotnet build (Join-Path $root 'bench/Benchmarks.proj') -c $Configuration -nologo -v q
            $benchExit = $LASTEXITCODE
            if ($benchExit -ne 0) { Write-Host "benchmarks: bench/Benchmarks.proj does not build (exit code $benchExit; the errors are above): counted as one failure" }
            else { Write-Host 'benchmarks: every project under bench/ builds' }
            Write-Host ("xunit: {0} passed, {1} failed, {2} skipped" -f $xunit.Passed, $xunit.Failed, $xunit.Skipped)

            $pesterModule = Get-PesterManifest
            Import-Module $pesterModule -Force
            $config = New-PesterConfiguration
            $config.Run.Path = Join-Path $root 'tests/Pester'
            $config.Run.Exit = $false
            $config.Run.PassThru = $true
            $config.Output.Verbosity = 'Detailed'
            $config.TestResult.Enabled = $true
            $config.TestResult.OutputPath = Join-Path $results 'pester.xml'
            $pester = Invoke-Pester -Configuration $config
            $pesterFailed = $pester.FailedCount + $pester.FailedBlocksCount + $pester.FailedContainersCount
            Write-Host ("Pester: {0} passed, {1} failed, {2} skipped" -f $pester.PassedCount, $pesterFailed, $pester.SkippedCount)

            $failed = $xunit.Failed + $pesterFailed + [int]($benchExit -ne 0)
            # A test host that crashed leaves no result to count: still a failure.
            if ($dotnetExit -ne 0 -and $xunit.Failed -eq 0) { $failed++; Write-Host "dotnet test exited with $dotnetExit without a failed test: counted as one failure" }
            foreach ($line in $xunit.Failures) { Write-Host "xunit failed: $line" }
            foreach ($test in @($pester.Failed)) { if ($test) { Write-Host "Pester failed: $($test.ExpandedPath)" } }
            # The one plain summary line CI reads, counting every suite.
            Write-Host ("{0} passed, {1} failed, {2} skipped" -f ($xunit.Passed + $pester.PassedCount), $failed, ($xunit.Skipped + $pester.SkippedCount))
            if ($failed -gt 0) { exit 1 }
        }
        'Package' {
            & $PSCommandPath -Task Build -Configuration $Configuration
            $folder = Get-ModuleFolder
            $repo = Join-Path $root 'out/repository'
            New-Item -ItemType Directory -Force -Path $repo | Out-Null
            $name = 'MessToolsBuild'
            if (-not (Get-PSResourceRepository -Name $name -ErrorAction SilentlyContinue)) {
                Register-PSResourceRepository -Name $name -Uri $repo -Trusted
            }
            try {
                Publish-PSResource -Path $folder -Repository $name
                Write-Host "Package: $(Get-ChildItem $repo -Filter 'MessTools.*.nupkg' | Sort-Object LastWriteTime | Select-Object -Last 1 -ExpandProperty FullName)"
            }
            finally { Unregister-PSResourceRepository -Name $name }
        }
    }
}
