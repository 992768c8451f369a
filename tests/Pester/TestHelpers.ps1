# Shared by the Pester tests: import the staged module (out/MessTools/<version>/), never a build folder.
$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$manifestData = Import-PowerShellDataFile (Join-Path $script:RepoRoot 'module/MessTools.psd1')
$script:ModuleManifest = Join-Path $script:RepoRoot "out/MessTools/$($manifestData.ModuleVersion)/MessTools.psd1"
if (-not (Test-Path $script:ModuleManifest)) {
    throw "The module is not staged at $script:ModuleManifest: run ./build.ps1 -Task Build first."
}
Import-Module $script:ModuleManifest -Force
