# The test command's summary line counts what the .trx files hold: build.ps1's Get-TrxCount, taken from the script by
# its syntax tree (dot-sourcing build.ps1 would run a task).
BeforeAll {
    $ast = [System.Management.Automation.Language.Parser]::ParseFile((Join-Path $PSScriptRoot '../../build.ps1'), [ref]$null, [ref]$null)
    $function = $ast.Find({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] -and $n.Name -eq 'Get-TrxCount' }, $true)
    . ([scriptblock]::Create($function.Extent.Text))

    function Write-Trx([string] $Path, [string[]] $Outcomes) {
        # As the VSTest trx logger writes a run with skipped tests: results NotExecuted, the counter notExecuted 0.
        $results = for ($i = 0; $i -lt $Outcomes.Count; $i++) {
            $body = if ($Outcomes[$i] -eq 'Failed') { '<Output><ErrorInfo><Message>Assert.Equal() Failure&#xA;second line</Message></ErrorInfo></Output>' } else { '' }
            "<UnitTestResult testName=""T$i"" outcome=""$($Outcomes[$i])"">$body</UnitTestResult>"
        }
        $passed = @($Outcomes | Where-Object { $_ -eq 'Passed' }).Count
        $failed = @($Outcomes | Where-Object { $_ -eq 'Failed' }).Count
        Set-Content -LiteralPath $Path -Value @"
<?xml version="1.0" encoding="utf-8"?>
<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
  <Results>$($results -join '')</Results>
  <ResultSummary outcome="Completed">
    <Counters total="$($Outcomes.Count)" executed="$($passed + $failed)" passed="$passed" failed="$failed" error="0" timeout="0" aborted="0" notExecuted="0" />
  </ResultSummary>
</TestRun>
"@
    }
}

Describe 'The test summary (build.ps1 Get-TrxCount)' {
    It 'counts skipped tests from their results, which the trx counters leave at zero' {
        $folder = Join-Path $TestDrive 'skips'
        New-Item -ItemType Directory -Path $folder | Out-Null
        Write-Trx (Join-Path $folder 'a.trx') @('Passed', 'NotExecuted', 'Passed', 'NotExecuted')
        Write-Trx (Join-Path $folder 'b.trx') @('Passed', 'NotExecuted')
        $count = Get-TrxCount $folder
        $count.Passed | Should -Be 3
        $count.Skipped | Should -Be 3
        $count.Failed | Should -Be 0
        $count.Failures.Count | Should -Be 0
    }

    It 'counts and names a failed test with the first line of its message' {
        $folder = Join-Path $TestDrive 'fails'
        New-Item -ItemType Directory -Path $folder | Out-Null
        Write-Trx (Join-Path $folder 'c.trx') @('Passed', 'Failed', 'NotExecuted')
        $count = Get-TrxCount $folder
        $count.Failed | Should -Be 1
        $count.Skipped | Should -Be 1
        $count.Failures | Should -Be @('T1 (Failed): Assert.Equal() Failure')
    }
}
