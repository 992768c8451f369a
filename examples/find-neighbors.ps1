#requires -Version 7.4
<#
.SYNOPSIS
    Builds the neighbour index over an artifact folder's embeddings and asks it a few questions.
.EXAMPLE
    ./examples/find-neighbors.ps1 -ArtifactPath ./artifacts/v1_model_builtin -TrackId pmd-chopin-chpn-op27-1
#>
param(
    [string]$ArtifactPath = './artifacts/v1_model_builtin',
    [Parameter(Mandatory)][string]$TrackId,
    [int]$K = 10
)
$ErrorActionPreference = 'Stop'
Import-Module MessTools

# 1. Build (or bring up to date) the HNSW index; index_meta.json records its recall@10 against exact search.
$index = if (Test-Path (Join-Path $ArtifactPath 'index/hnsw.index')) {
    New-MessIndex -ArtifactPath $ArtifactPath -Append
} else {
    New-MessIndex -ArtifactPath $ArtifactPath
}
$index | Format-Table

# 2. The closest tracks, then the closest ones from other albums, then only some composers.
Find-MessNeighbor -TrackId $TrackId -K $K -ArtifactPath $ArtifactPath
Find-MessNeighbor -TrackId $TrackId -K $K -ExcludeSameAlbum -ArtifactPath $ArtifactPath
Find-MessNeighbor -TrackId $TrackId -K $K -Composer 'Chopin', 'Liszt' -ArtifactPath $ArtifactPath

# 3. How far is the graph from exact search for this track?
$approx = (Find-MessNeighbor -TrackId $TrackId -K $K -ArtifactPath $ArtifactPath).TrackId
$exact = (Find-MessNeighbor -TrackId $TrackId -K $K -Exact -ArtifactPath $ArtifactPath).TrackId
'{0} of {1} neighbours agree with exact search' -f @($approx | Where-Object { $_ -in $exact }).Count, $K

# 4. Neighbours of every track of one composer, as JSON for another system.
$exports = New-Item -ItemType Directory -Force -Path (Join-Path $ArtifactPath 'exports')
Import-Csv (Join-Path $ArtifactPath 'metadata/tracks_metadata.csv') |
    Where-Object composer -eq 'Chopin' |
    Find-MessNeighbor -K 3 -ExcludeSameAlbum -ArtifactPath $ArtifactPath -AsJson |
    Set-Content (Join-Path $exports 'chopin_neighbours.json')
