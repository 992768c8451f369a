<#
.SYNOPSIS
    Exports a track catalogue to tracks_metadata.csv: a step a runbook can call on its own.
.DESCRIPTION
    Reads a SQLite or CSV file (-Path) or a PostgreSQL server such as RDS (-ConnectionString, else
    $env:MESS_CATALOG_CONNECTION; the password from -Credential or PGPASSWORD, never the log), validates and
    standardises every row and writes <ArtifactPath>/metadata/tracks_metadata.csv. Bad rows are reported and
    counted; the run fails only when the catalogue as a whole cannot be read. Exit code 1 if any row was rejected
    and -FailOnRejectedRows is set.
.EXAMPLE
    ./examples/export-catalog.ps1 -Path ./catalog.sqlite -Table tracks -ArtifactPath ./artifacts/v1_model_builtin
.EXAMPLE
    $env:MESS_CATALOG_CONNECTION = 'Host=catalog.abc.eu-west-1.rds.amazonaws.com;Database=music;Username=reader;SSL Mode=Require'
    ./examples/export-catalog.ps1 -Table public.tracks -ComposerAlias @{ Rachmaninov = 'Rachmaninoff' }
#>
[CmdletBinding()]
param(
    [string] $Path,
    [string] $Table = 'tracks',
    [string] $ArtifactPath,
    [hashtable] $ColumnMap,
    [hashtable] $ComposerAlias,
    [pscredential] $Credential,
    [switch] $FailOnRejectedRows
)
$ErrorActionPreference = 'Stop'
if (-not (Get-Module MessTools)) { Import-Module MessTools }

$params = @{ Table = $Table; ErrorVariable = 'rejected'; ErrorAction = 'Continue' }
if ($Path) { $params.Path = $Path }
if ($ArtifactPath) { $params.ArtifactPath = $ArtifactPath }
if ($ColumnMap) { $params.ColumnMap = $ColumnMap }
if ($ComposerAlias) { $params.ComposerAlias = $ComposerAlias }
if ($Credential) { $params.Credential = $Credential }

$count = 0
Export-MessMetadata @params | ForEach-Object { $count++ }
"Exported $count tracks; rejected $($rejected.Count) rows."
if ($FailOnRejectedRows -and $rejected.Count -gt 0) { exit 1 }
