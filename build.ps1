#requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests and packages the MessTools module (a thin wrapper over dotnet for pwsh users).
.DESCRIPTION
    Build   : dotnet publish stages the ready module folder out/MessTools/<version>/ (an MSBuild target does it,
              so the same folder comes out on machines without pwsh).
    Test    : dotnet test (engine unit tests and runspace tests of the staged module), then Invoke-Pester on
              tests/Pester when Pester 5 is installed.
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

function Invoke-Dotnet {
    param([Parameter(ValueFromRemainingArguments)] [string[]] $Arguments)
    & dotnet @Arguments
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Get-ModuleFolder {
    $manifest = Import-PowerShellDataFile (Join-Path $root 'module/MessTools.psd1')
    Join-Path $root "out/MessTools/$($manifest.ModuleVersion)"
}

foreach ($t in $Task) {
    switch ($t) {
        'Build' {
            Invoke-Dotnet publish (Join-Path $root 'src/MessTools.Cmdlets') -c $Configuration -nologo
            Write-Host "Module: $(Get-ModuleFolder)"
        }
        'Test' {
            Invoke-Dotnet test (Join-Path $root 'MessTools.sln') -c $Configuration -nologo
            $pester = Get-Module -ListAvailable Pester | Where-Object Version -ge '5.0.0' | Sort-Object Version -Descending | Select-Object -First 1
            if ($pester) {
                Import-Module $pester
                $config = New-PesterConfiguration
                $config.Run.Path = Join-Path $root 'tests/Pester'
                $config.Run.Exit = $false
                $config.Run.PassThru = $true
                $config.Output.Verbosity = 'Detailed'
                $result = Invoke-Pester -Configuration $config
                if ($result.FailedCount -gt 0) { throw "$($result.FailedCount) Pester test(s) failed" }
            }
            else {
                Write-Warning 'Pester 5 is not installed: the Pester tests were not run (Install-PSResource Pester).'
            }
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
