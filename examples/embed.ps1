# Embed a folder of WAV files with the built-in embedder and with an ONNX model, then read the matrix back.
#   pwsh ./examples/embed.ps1 -AudioFolder ./my-wavs [-OnnxModel ./models/msd-musicnn-1.onnx]
param(
    [Parameter(Mandatory)] [string] $AudioFolder,
    [string] $OnnxModel,
    [string] $OnnxProfile
)
Import-Module MessTools -ErrorAction Stop

$tracks = Get-ChildItem -Path $AudioFolder -Filter *.wav -Recurse | ForEach-Object {
    [pscustomobject]@{ track_id = $_.BaseName; album_id = $_.Directory.Name; composer = ''; wav_path = $_.FullName }
}

# 1. the built-in embedder (no weights): artifacts/v1_model_builtin/embeddings/
$tracks | ConvertTo-MessEmbedding -Verbose | Format-Table

# 2. an ONNX model with its profile: artifacts/v1_model_<name>/embeddings/, plus 30 s segments and a NumPy copy
if ($OnnxModel) {
    $p = @{ Model = $OnnxModel; SegmentSeconds = 30; Format = 'npy' }
    if ($OnnxProfile) { $p.ModelProfile = $OnnxProfile }
    $tracks | ConvertTo-MessEmbedding @p | Format-Table
}

# 3. read the built-in matrix back: row i belongs to track_ids[i]
$emb = 'artifacts/v1_model_builtin/embeddings'
$ids = Get-Content "$emb/track_ids.json" | ConvertFrom-Json
$meta = Get-Content "$emb/embeddings_meta.json" | ConvertFrom-Json
$bytes = [System.IO.File]::ReadAllBytes((Resolve-Path "$emb/embeddings.f32"))
"{0} tracks x {1} dims ({2}); first row belongs to {3}" -f $ids.Count, $meta.dim, $meta.model, $ids[0]
