# Evaluate an embedding run on the Composer Retrieval proxy task and open the report.
#   pwsh ./examples/evaluate.ps1 -ArtifactPath ./artifacts/v1_model_msd-musicnn-1
param(
    [string[]] $ArtifactPath = @($env:MESS_ARTIFACT_PATH ?? './artifacts/v1_model_builtin'),
    [int[]] $K = @(1, 5, 10)
)
Import-Module MessTools -ErrorAction Stop

# Both album modes, several K, from one exact search.
$results = Invoke-MessEvaluation -ArtifactPath $ArtifactPath -K $K -Verbose
$results | Format-Table

# How far above chance, per K, with the same album excluded (the conservative figure).
$results | Where-Object ExcludeSameAlbum | ForEach-Object {
    '{0,-3} P@K {1:N3} vs chance {2:N3}: x{3:N1}' -f $_.K, $_.PrecisionAtK, $_.ChancePrecisionAtK, ($_.PrecisionAtK / [math]::Max($_.ChancePrecisionAtK, 1e-9))
}

# The five weakest composers at K=5.
$results | Where-Object { $_.K -eq 5 -and $_.ExcludeSameAlbum } | ForEach-Object PerComposer |
    Sort-Object PrecisionAtK | Select-Object -First 5 | Format-Table

# Where the results are.
$report = ($results | Select-Object -First 1).ReportPath
"Report: $report"
if ($report -and $IsWindows) { Invoke-Item $report }
