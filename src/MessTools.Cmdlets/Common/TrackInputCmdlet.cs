using System.Globalization;
using System.Management.Automation;

namespace MessTools.Cmdlets.Common;

/// <summary>
/// A cmdlet that takes tracks from the pipeline by property name: a MessTrack, an Import-Csv row of
/// tracks_metadata.csv or any [pscustomobject] with the seed's column names binds the same way.
/// </summary>
public abstract class TrackInputCmdlet : MessCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("track_id")]
    [ValidateNotNullOrEmpty]
    public string TrackId { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("album_id")]
    public string? AlbumId { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("track_no")]
    public object? TrackNo { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Title { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Composer { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("audio_s3_key", "AudioS3Key", "audio_uri", "audio_path")]
    public string? AudioUri { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("duration_sec")]
    public object? DurationSec { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    public string? AudioPath { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    [Alias("wav_path")]
    public string? WavPath { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    [Alias("sample_rate")]
    public object? SampleRate { get; set; }

    /// <summary>
    /// The artifact folder: the one named here, else the one the tracks from the pipeline came from (their
    /// ArtifactPath property, so Export-MessMetadata -ArtifactPath ./sub | Get-MessAudio | ... all use ./sub), else
    /// $env:MESS_ARTIFACT_PATH, else ./artifacts/v1_model_&lt;model&gt;.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull, AllowEmptyString]
    public new string? ArtifactPath { get => base.ArtifactPath; set => base.ArtifactPath = value; }

    /// <summary>True when -ArtifactPath was bound on the command line (pipeline values are bound later, per record).</summary>
    protected bool PathNamed { get; private set; }

    /// <summary>The first track may name the folder, so the job takes the lock once it is known, never on a default folder it will not write.</summary>
    protected override bool LockAtBegin => false;

    protected override void BeginProcessing()
    {
        PathNamed = ArtifactPathBound;
        base.BeginProcessing();
    }

    /// <summary>The folder the current track came from (its ArtifactPath, relative to the PowerShell location), or null.</summary>
    protected string? TrackFolder => PathNamed || string.IsNullOrWhiteSpace(ArtifactPath) ? null : Path.GetFullPath(ResolveUserPath(ArtifactPath!));

    /// <summary>
    /// Runs one step of a streaming job (a track, or the end): the job's folder becomes the cmdlet's (so the record of
    /// a failure goes beside the work), what it reported from other threads is written, its fatal error ends the run.
    /// </summary>
    protected void JobStep(Action step, Func<Core.Artifacts.ArtifactStore> jobFolder)
    {
        try { step(); }
        catch (Core.Common.MessException ex) { Follow(jobFolder()); ThrowTerminating(ex); }
        catch (OperationCanceledException) { throw new PipelineStoppedException(); }
        finally { FlushJobMessages(); }
        Follow(jobFolder());
    }

    /// <summary>Makes <paramref name="folder"/> (a job's, or <see cref="Core.Jobs.TrackFolders"/>' decision) the cmdlet's folder.</summary>
    protected void Follow(Core.Artifacts.ArtifactStore folder)
    {
        if (folder.Root != Store.Root) RetargetArtifactPath(folder.Root);
    }

    // A string, not MessTrackStatus: a field whose type is a value type from the engine would make PowerShell's
    // type scan load the engine before the module's load context is installed (see MessToolsLoadContext).
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    public string? Status { get; set; }

    /// <summary>The track of the current pipeline record, built from whatever properties it had.</summary>
    protected MessTrack CurrentTrack() => new()
    {
        TrackId = TrackId.Trim(),
        AlbumId = AlbumId?.Trim() ?? "",
        TrackNo = ToInt(TrackNo),
        Title = Title,
        Composer = Composer ?? "",
        AudioUri = AudioUri?.Trim() ?? "",
        DurationSec = ToDouble(DurationSec),
        AudioPath = LocalPath(AudioPath),
        WavPath = LocalPath(WavPath),
        SampleRate = ToInt(SampleRate),
        Status = Enum.TryParse<MessTrackStatus>(Status, ignoreCase: true, out var st) ? st : MessTrackStatus.Exported,
    };

    /// <summary>A local file path from the pipeline; a relative one is relative to the PowerShell location, not the process's.</summary>
    private string? LocalPath(string? path) =>
        string.IsNullOrWhiteSpace(path) ? null : Path.IsPathRooted(path) ? path : ResolveUserPath(path);

    private static object? Unwrap(object? v) => v is PSObject p ? p.BaseObject : v;

    internal static int? ToInt(object? value) => Unwrap(value) switch
    {
        null => null,
        int i => i,
        long l when l is >= int.MinValue and <= int.MaxValue => (int)l,
        double d when d == Math.Floor(d) && Math.Abs(d) < int.MaxValue => (int)d,
        string s when int.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) => i,
        _ => null,
    };

    internal static double? ToDouble(object? value) => Unwrap(value) switch
    {
        null => null,
        double d => d,
        float f => f,
        int i => i,
        long l => l,
        decimal m => (double)m,
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
        _ => null,
    };
}
