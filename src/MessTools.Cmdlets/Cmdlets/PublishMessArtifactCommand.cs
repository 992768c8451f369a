using System.Management.Automation;
using MessTools.Cmdlets.Common;
using MessTools.Core.Common;
using MessTools.Core.Jobs;
using MessTools.Core.Publishing;

namespace MessTools.Cmdlets;

/// <summary>
/// Publish-MessArtifact: uploads an artifact folder to S3 as one immutable, content-addressed version
/// (&lt;prefix&gt;/v1_model_&lt;MODEL&gt;/&lt;version-id&gt;/manifest.json) and then points latest.json at it. Takes the folder
/// from -ArtifactPath or from the tracks / folders earlier stages pass down the pipeline. The work is done by
/// <see cref="ArtifactPublisher"/>; this cmdlet binds, asks ShouldProcess, writes progress and the result.
/// </summary>
[Cmdlet(VerbsData.Publish, "MessArtifact", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = "https://github.com/messtools/MessTools/blob/main/docs/publishing.md")]
[OutputType(typeof(PublishResult))]
public sealed class PublishMessArtifactCommand : ArtifactRemoteCmdlet
{
    /// <summary>The model the version is published under (default: embeddings_meta.json's model, else the folder's v1_model_&lt;MODEL&gt; name).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Model { get; set; }

    /// <summary>Optional parts: Audio adds audio_cache/ and audio_wav/.</summary>
    [Parameter]
    [ValidateSet("Audio", IgnoreCase = true)]
    public string[]? Include { get; set; }

    /// <summary>Concurrent file uploads.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = 4;

    [Parameter]
    [ValidateSet("AES256", "aws:kms")]
    public string? ServerSideEncryption { get; set; }

    /// <summary>The KMS key for -ServerSideEncryption aws:kms (default: the account's aws/s3 key).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KmsKeyId { get; set; }

    /// <summary>Tracks from an earlier stage (their ArtifactPath), folder paths or DirectoryInfo objects.</summary>
    [Parameter(ValueFromPipeline = true)]
    public PSObject? InputObject { get; set; }

    /// <summary>Holds each folder still while it is hashed and uploaded: -LockTimeout; the publish job takes the lock.</summary>
    protected override bool WritesArtifacts => true;
    protected override bool LockAtBegin => false;
    /// <summary>Publishes what earlier stages wrote: a folder that does not exist is an error, and no run record creates it.</summary>
    protected override bool ReadsExistingArtifacts => true;

    private readonly List<string> _folders = new();
    private ArtifactRemote _remote = null!;

    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        _remote = BuildRemote(ThrottleLimit);
        try { new ArtifactEncryption(ServerSideEncryption, KmsKeyId).Validate(); }
        catch (MessException ex) { ThrowTerminating(ex); }
    }

    protected override void ProcessRecord()
    {
        if (InputObject is null || ArtifactPathBound) return; // with -ArtifactPath, pipeline objects only trigger the publish
        string? folder = InputObject.BaseObject switch
        {
            string s => s,
            DirectoryInfo d => d.FullName,
            _ => InputObject.Properties["ArtifactPath"]?.Value as string ?? InputObject.Properties["Path"]?.Value as string,
        };
        if (string.IsNullOrWhiteSpace(folder))
        {
            WriteItemError(new MessException(MessErrorIds.NoArtifactFolder, MessErrorKind.InvalidArgument,
                $"The pipeline object '{InputObject}' names no artifact folder (no ArtifactPath or Path property).", InputObject.ToString()));
            return;
        }
        folder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(ResolveUserPath(folder)));
        if (!_folders.Contains(folder)) _folders.Add(folder);
    }

    protected override void EndProcessing()
    {
        if (_folders.Count == 0 || ArtifactPathBound)
        {
            // -ArtifactPath (or its default) names the folder; tracks from the pipeline only trigger the publish.
            _folders.Clear();
            _folders.Add(Store.Root);
        }
        else RetargetArtifactPath(_folders[0]); // the run record goes beside what was published

        foreach (string folder in _folders) Publish(folder);
        base.EndProcessing();
    }

    private void Publish(string folder)
    {
        string where = $"{_remote.Display}/v1_model_{Model ?? ArtifactSelection.DetectModel(folder) ?? "?"}";
        var request = new PublishRequest
        {
            ArtifactPath = folder, Model = Model,
            IncludeAudio = Include?.Contains("Audio", StringComparer.OrdinalIgnoreCase) == true,
            Encryption = new ArtifactEncryption(ServerSideEncryption, KmsKeyId),
            LockTimeout = LockTimeout,
        };
        if (IsWhatIf)
        {
            // -WhatIf: hash and compare with the bucket, then list each upload (nothing is written).
            var plan = RunRemote("Publish-MessArtifact", (p, ct) => PublishJob.RunAsync(_remote, new PublishRequest
            {
                ArtifactPath = request.ArtifactPath, Model = request.Model, IncludeAudio = request.IncludeAudio, Encryption = request.Encryption, DryRun = true,
            }, JobHost, p));
            foreach (var f in plan.Uploads) ShouldProcess($"{f.Path} ({f.Size:N0} bytes) -> {_remote.Uri(_remote.BlobKey(plan.Model, f.Sha256))}", "Upload");
            if (plan.ManifestUploaded) ShouldProcess($"{plan.Uri}manifest.json ({plan.Files} files, {plan.Bytes:N0} bytes)", "Upload");
            if (plan.PointerUpdated) ShouldProcess($"{_remote.Uri(_remote.PointerKey(plan.Model))} -> {plan.VersionId}", "Replace pointer");
            if (plan.Uploads.Count == 0 && !plan.ManifestUploaded && !plan.PointerUpdated)
                WriteVerbose($"{folder} is already published as {plan.VersionId}: nothing would be uploaded.");
            return;
        }
        if (!ShouldProcess($"{folder} -> {where}", "Publish artifact version")) return;
        var result = RunRemote("Publish-MessArtifact", (p, ct) => PublishJob.RunAsync(_remote, request, JobHost, p));
        Run.Count("files", result.Files);
        Run.Count("uploaded", result.UploadedFiles);
        Run.Count("already_present", result.PresentFiles);
        Run.Count("bytes_uploaded", result.UploadedBytes);
        Run.Results[result.Model] = new Dictionary<string, object?>
        {
            ["version_id"] = result.VersionId, ["uri"] = result.Uri, ["files"] = result.Files, ["bytes"] = result.Bytes,
            ["uploaded_files"] = result.UploadedFiles, ["uploaded_bytes"] = result.UploadedBytes, ["pointer_updated"] = result.PointerUpdated,
        };
        WriteVerbose($"Published {folder} as {result.Uri}: {result.Files} files ({Mb(result.Bytes)} MB), {result.UploadedFiles} uploaded ({Mb(result.UploadedBytes)} MB), {result.PresentFiles} already present" +
                     (result.PointerUpdated ? "; latest.json now names it." : "; latest.json already named it."));
        WriteObject(result);
    }
}
