# Shared by New-MessIndex.Tests.ps1 and Find-MessNeighbor.Tests.ps1: writes the embedding artifacts and the
# metadata the way ConvertTo-MessEmbedding and Export-MessMetadata do (mirrors tests/Module/Index/IndexArtifacts.cs).
function New-IndexTestArtifacts {
    param([string]$Art, [int]$Count = 200, [int]$Dim = 16, [int]$Seed = 3, [int]$Clusters = 8)
    $rng = [System.Random]::new($Seed)
    $centers = [double[]]::new($Clusters * $Dim)
    for ($i = 0; $i -lt $centers.Length; $i++) { $centers[$i] = $rng.NextDouble() * 2 - 1 }
    $data = [float[]]::new($Count * $Dim)
    for ($i = 0; $i -lt $Count; $i++) {
        $c = $rng.Next($Clusters); $norm = 0.0
        for ($d = 0; $d -lt $Dim; $d++) {
            $x = $centers[$c * $Dim + $d] + 0.4 * ($rng.NextDouble() * 2 - 1)
            $data[$i * $Dim + $d] = $x; $norm += $x * $x
        }
        $norm = [math]::Sqrt($norm)
        for ($d = 0; $d -lt $Dim; $d++) { $data[$i * $Dim + $d] = $data[$i * $Dim + $d] / $norm }
    }
    $ids = 0..($Count - 1) | ForEach-Object { 't{0:D4}' -f $_ }
    Write-IndexTestEmbeddings -Art $Art -Ids $ids -Data $data -Dim $Dim
    $meta = Join-Path $Art 'metadata'
    New-Item -ItemType Directory -Force -Path $meta | Out-Null
    $lines = @('track_id,album_id,track_no,title,composer,audio_s3_key,duration_sec')
    for ($i = 0; $i -lt $Count; $i++) {
        $composer = @('Chopin', 'Liszt', 'Rachmaninoff')[$i % 3]
        $lines += '{0},a{1:D3},{2},Piece {3},{4},s3://bucket/{0}.wav,61.5' -f $ids[$i], [int][math]::Floor($i / 8), ($i % 8 + 1), $i, $composer
    }
    [System.IO.File]::WriteAllLines((Join-Path $meta 'tracks_metadata.csv'), $lines)
    [pscustomobject]@{ Ids = $ids; Data = $data; Dim = $Dim }
}

function Write-IndexTestEmbeddings {
    param([string]$Art, [string[]]$Ids, [float[]]$Data, [int]$Dim)
    $dir = Join-Path $Art 'embeddings'
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
    $bytes = [byte[]]::new($Data.Length * 4)
    [System.Buffer]::BlockCopy($Data, 0, $bytes, 0, $bytes.Length)
    [System.IO.File]::WriteAllBytes((Join-Path $dir 'embeddings.f32'), $bytes)
    [System.IO.File]::WriteAllText((Join-Path $dir 'track_ids.json'), (ConvertTo-Json -InputObject @($Ids) -Compress))
    $sha = ([System.Security.Cryptography.SHA256]::HashData($bytes) | ForEach-Object { $_.ToString('x2') }) -join ''
    $meta = @{ model = 'test'; dim = $Dim; count = $Ids.Count; normalization = 'l2'; embeddings_sha256 = $sha }
    [System.IO.File]::WriteAllText((Join-Path $dir 'embeddings_meta.json'), (ConvertTo-Json $meta))
}
