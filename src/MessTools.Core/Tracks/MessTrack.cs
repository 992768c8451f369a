namespace MessTools;

/// <summary>What a stage did to a track. Later stages only pick up tracks that are ready for them.</summary>
public enum MessTrackStatus
{
    /// <summary>Read from the catalogue and validated.</summary>
    Exported,
    /// <summary>Audio is in the local cache (<see cref="MessTrack.AudioPath"/>).</summary>
    Fetched,
    /// <summary>Audio is decoded to mono at the model's rate (<see cref="MessTrack.WavPath"/>).</summary>
    Standardized,
    /// <summary>An embedding row exists for the track.</summary>
    Embedded,
    /// <summary>A stage failed for this track; <see cref="MessTrack.StatusMessage"/> says why.</summary>
    Failed,
}

/// <summary>
/// The pipeline's currency: one catalogue track, filled in stage by stage. Column names of the seed
/// (track_id, album_id, track_no, title, composer, audio_s3_key, duration_sec) map to these properties.
/// </summary>
public sealed class MessTrack
{
    public string TrackId { get; set; } = "";
    public string AlbumId { get; set; } = "";
    public int? TrackNo { get; set; }
    public string? Title { get; set; }
    public string Composer { get; set; } = "";
    /// <summary>s3://bucket/key, a key relative to a bucket, a local path or a file:// URI.</summary>
    public string AudioUri { get; set; } = "";
    public double? DurationSec { get; set; }
    /// <summary>The local copy of the original audio (audio_cache/&lt;album_id&gt;/&lt;track_id&gt;.&lt;ext&gt;).</summary>
    public string? AudioPath { get; set; }
    /// <summary>The standardised audio (audio_wav/&lt;track_id&gt;.wav).</summary>
    public string? WavPath { get; set; }
    public int? SampleRate { get; set; }
    public MessTrackStatus Status { get; set; } = MessTrackStatus.Exported;
    public string? StatusMessage { get; set; }
    /// <summary>Split-MessAudio: the whole-work track a movement was cut from (null for a track that was not split).</summary>
    public string? SourceTrackId { get; set; }
    /// <summary>Split-MessAudio: where the movement starts in the source recording, seconds.</summary>
    public double? StartSeconds { get; set; }
    /// <summary>Split-MessAudio: where the movement ends in the source recording, seconds.</summary>
    public double? EndSeconds { get; set; }
    /// <summary>The artifact folder the last stage wrote to.</summary>
    public string? ArtifactPath { get; set; }

    public MessTrack Clone() => (MessTrack)MemberwiseClone();

    public override string ToString() => TrackId;
}
