#Requires -Version 7.4
<#
.SYNOPSIS
    Fetches a catalogue's audio from S3 (or an S3-compatible store) and standardises it for the model: a runbook step.

.DESCRIPTION
    Reads tracks_metadata.csv (written by Export-MessMetadata), runs Get-MessAudio over it and exits with a code a
    scheduler can act on: 0 when every track is ready, 1 when some tracks failed (they are listed in failed_tracks.csv
    beside the run record), 2 when the run itself could not go on (no ffmpeg, no credentials, bad parameters).
    Safe to re-run: tracks already cached (same size and ETag) are not downloaded again, WAVs made from the same file
    with the same settings are not decoded again.
    Credentials come the AWS way: environment variables, the shared credentials file (-ProfileName), or the
    container/instance role. Nothing secret is printed.

.EXAMPLE
    ./examples/fetch-from-s3.ps1 -Bucket my-audio -Region eu-west-1 -SampleRate 24000 -ArtifactPath ./artifacts/v1_model_mert

.EXAMPLE
    ./examples/fetch-from-s3.ps1 -Bucket audio -EndpointUrl http://minio.internal:9000 -ProfileName minio -ThrottleLimit 8
#>
[CmdletBinding()]
param(
    # tracks_metadata.csv; default: <ArtifactPath>/metadata/tracks_metadata.csv
    [string] $MetadataCsv,
    # Bucket for keys without s3:// (audio_s3_key = 'albums/a1/t1.mp3')
    [string] $Bucket,
    [string] $Region,
    [string] $ProfileName,
    [string] $EndpointUrl,
    [string] $ArtifactPath = $(if ($env:MESS_ARTIFACT_PATH) { $env:MESS_ARTIFACT_PATH } else { './artifacts/v1_model_builtin' }),
    [ValidateRange(4000, 192000)] [int] $SampleRate = 22050,
    [ValidateRange(1, 64)] [int] $ThrottleLimit = 4,
    [ValidateRange(0, 20)] [int] $RetryCount = 4,
    [switch] $Force
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

try {
    Import-Module MessTools -ErrorAction Stop
    if (-not $MetadataCsv) { $MetadataCsv = Join-Path $ArtifactPath 'metadata/tracks_metadata.csv' }
    if (-not (Test-Path -LiteralPath $MetadataCsv)) { throw "No metadata file at '$MetadataCsv': run Export-MessMetadata first or pass -MetadataCsv." }

    $params = @{
        ArtifactPath  = $ArtifactPath
        SampleRate    = $SampleRate
        ThrottleLimit = $ThrottleLimit
        RetryCount    = $RetryCount
        PassThru      = $true
        Force         = $Force
    }
    foreach ($name in 'Bucket', 'Region', 'ProfileName', 'EndpointUrl') {
        $value = Get-Variable -Name $name -ValueOnly
        if ($value) { $params[$name] = $value }
    }

    # Per-track failures are non-terminating: collect them, keep going. A broken run (no ffmpeg, no credentials) throws.
    $tracks = Import-Csv -LiteralPath $MetadataCsv | Get-MessAudio @params -ErrorAction SilentlyContinue -ErrorVariable trackErrors
    $ready = @($tracks | Where-Object Status -ne 'Failed')
    $failed = @($tracks | Where-Object Status -eq 'Failed')
    Write-Output ("{0} tracks ready, {1} failed" -f $ready.Count, $failed.Count)
    if ($failed.Count -gt 0) {
        $report = Join-Path $ArtifactPath 'runs/failed_tracks.csv'
        $failed | Select-Object TrackId, AlbumId, AudioUri, StatusMessage | Export-Csv -LiteralPath $report -NoTypeInformation
        Write-Warning "Failed tracks are listed in $report (error ids: $(($trackErrors | ForEach-Object { $_.FullyQualifiedErrorId.Split(',')[0] } | Sort-Object -Unique) -join ', '))."
        exit 1
    }
    exit 0
}
catch {
    Write-Error -ErrorRecord $_ -ErrorAction Continue
    exit 2
}
