@{
    RootModule           = 'MessTools.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5b0f6c7e-2a41-4c59-9f5e-7d3e8a1c4b20'
    Author               = 'MessTools contributors'
    CompanyName          = 'MessTools'
    Copyright            = '(c) MessTools contributors. MIT licence.'
    Description          = 'Music-similarity research pipeline: catalogue export, audio fetch and standardisation, embeddings, a cosine HNSW index, Composer Retrieval evaluation and neighbour queries, with every artifact as versioned files on disk.'
    CompatiblePSEditions = @('Core')
    PowerShellVersion    = '7.4'
    FormatsToProcess     = @('MessTools.format.ps1xml')
    TypesToProcess       = @('MessTools.types.ps1xml')
    FunctionsToExport    = @()
    CmdletsToExport      = @(
        'Export-MessMetadata'
        'Get-MessAudio'
        'Split-MessAudio'
        'ConvertTo-MessEmbedding'
        'New-MessIndex'
        'Invoke-MessEvaluation'
        'Measure-MessEmbedding'
        'Find-MessNeighbor'
        'Clear-MessCache'
        'Publish-MessArtifact'
        'Import-MessArtifact'
        'Get-MessArtifactVersion'
        'Publish-MessVector'
        'Merge-MessEmbedding'
    )
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('music', 'MIR', 'embeddings', 'similarity', 'HNSW', 'ONNX', 'retrieval', 'audio', 'PSEdition_Core', 'Linux', 'Windows', 'MacOS')
            LicenseUri   = 'https://github.com/messtools/MessTools/blob/main/LICENSE'
            ProjectUri   = 'https://github.com/messtools/MessTools'
            ReleaseNotes = 'See CHANGELOG.md.'
        }
    }
}
