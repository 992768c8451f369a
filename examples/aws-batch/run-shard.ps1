# The entry point of one shard (an AWS Batch array child, a Kubernetes Indexed Job pod or an Azure Batch task) in the
# container image. Reads the catalogue from S3, fetches and embeds only this shard's tracks, and publishes the shard to
#   $env:MESS_RUN_URI/shards/<i>-of-<n>/
# Shard index and count: AWS_BATCH_JOB_ARRAY_INDEX / AWS_BATCH_JOB_ARRAY_SIZE (AWS Batch), JOB_COMPLETION_INDEX and
# MESS_SHARD_COUNT (Kubernetes), or -ShardIndex/-ShardCount on the command line (Azure Batch).
# Needs: Import-MessArtifact (the catalogue was published with Publish-MessArtifact, see RUNBOOK.md), ffmpeg on PATH,
# AWS credentials from the container's role (the SDK's default chain).
param(
    [int] $ShardIndex = -1,
    [int] $ShardCount = -1,
    [string] $RunUri = $env:MESS_RUN_URI,                 # s3://bucket/prefix of this run
    [string] $AudioBucket = $env:MESS_AUDIO_BUCKET,       # bucket of the catalogue's audio_s3_key values
    [string] $Region = $env:AWS_REGION,
    [string] $Model = ($env:MESS_MODEL ?? 'builtin'),
    [string] $EndpointUrl = $env:MESS_S3_ENDPOINT         # only for S3-compatible stores (MinIO, moto)
)
$ErrorActionPreference = 'Stop'
Import-Module MessTools
if (-not $RunUri) { throw 'Set MESS_RUN_URI (s3://bucket/prefix of the run).' }
if ($ShardCount -lt 0 -and $env:MESS_SHARD_COUNT) { $ShardCount = [int] $env:MESS_SHARD_COUNT }

$s3 = @{}
if ($Region) { $s3.Region = $Region }
if ($EndpointUrl) { $s3.EndpointUrl = $EndpointUrl }
$shard = @{}
if ($ShardIndex -ge 0) { $shard.ShardIndex = $ShardIndex }
if ($ShardCount -ge 0) { $shard.ShardCount = $ShardCount }

# the catalogue: published once by the submitter under <prefix>/catalog/v1_model_catalog/
$uri = [Uri] $RunUri
$bucket = $uri.Host
$prefix = $uri.AbsolutePath.Trim('/')
$art = Join-Path ([IO.Path]::GetTempPath()) 'mess-shard'
Import-MessArtifact -Bucket $bucket -Prefix "$prefix/catalog" -Model catalog -ArtifactPath $art @s3 | Out-Null

# One bad track is a non-terminating error (recorded in the shard manifest as failed); the shard goes on.
Import-Csv (Join-Path $art 'metadata/tracks_metadata.csv') |
    Get-MessAudio -Bucket $AudioBucket -ArtifactPath $art @shard @s3 -PassThru -ErrorAction Continue |
    ConvertTo-MessEmbedding -Model $Model -ArtifactPath $art @shard -PublishPath $RunUri @s3 -ErrorAction Continue |
    Out-Null
