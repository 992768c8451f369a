using System.Management.Automation;
using System.Reflection;
using MessTools.Core.Aws;

namespace MessTools.Cmdlets.Common;

/// <summary>
/// The S3 connection parameters, declared once and given to every cmdlet that reaches S3 (see
/// <see cref="MessCmdlet.ReachesS3"/>), the way the writer-lock parameters are: Get-MessAudio, ConvertTo-MessEmbedding
/// -PublishPath, Merge-MessEmbedding s3:// paths, Publish-/Import-MessArtifact and Get-MessArtifactVersion.
/// </summary>
public sealed class S3Parameters
{
    /// <summary>A profile from the shared AWS credentials/config files.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ProfileName { get; set; }

    /// <summary>The bucket's region.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Region { get; set; }

    /// <summary>An S3-compatible endpoint: MinIO, Ceph, LocalStack, moto ...</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? EndpointUrl { get; set; }

    /// <summary>Retries of a transient failure (throttling, 5xx, timeout, dropped connection) per request.</summary>
    [Parameter]
    [ValidateRange(0, 20)]
    public int RetryCount { get; set; } = 4;

    /// <summary>The connection these parameters name.</summary>
    public S3Connection Connection() => new() { ProfileName = ProfileName, Region = Region, EndpointUrl = EndpointUrl };

    public RetryBackoff Retry() => new() { MaxRetries = RetryCount };
}

/// <summary>
/// Several parameter objects offered as one set of dynamic parameters (PowerShell takes one object per cmdlet): each
/// [Parameter] property becomes a runtime parameter with the same attributes, and <see cref="CopyBound"/> writes the
/// bound values back into the objects.
/// </summary>
internal sealed class CombinedParameters
{
    private readonly List<(object Target, PropertyInfo Property)> _properties = new();
    public RuntimeDefinedParameterDictionary Dictionary { get; } = new();

    public CombinedParameters(params object[] targets)
    {
        foreach (var target in targets)
            foreach (var p in target.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (p.GetCustomAttribute<ParameterAttribute>() is null) continue;
                var attributes = new System.Collections.ObjectModel.Collection<Attribute>(p.GetCustomAttributes().ToList());
                Dictionary.Add(p.Name, new RuntimeDefinedParameter(p.Name, p.PropertyType, attributes));
                _properties.Add((target, p));
            }
    }

    public void CopyBound()
    {
        foreach (var (target, p) in _properties)
            if (Dictionary[p.Name].IsSet) p.SetValue(target, LanguagePrimitives.ConvertTo(Dictionary[p.Name].Value, p.PropertyType));
    }
}
