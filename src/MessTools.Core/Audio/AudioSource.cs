using MessTools.Core.Common;

namespace MessTools.Core.Audio;

/// <summary>Where a track's audio comes from.</summary>
public enum AudioSourceKind { S3, Http, Local }

/// <summary>
/// A track's audio location, parsed from its audio_s3_key / AudioUri: <c>s3://bucket/key</c>; a key without a
/// scheme when a default bucket is given; <c>http(s)://</c>; <c>file://</c> URIs and local paths (relative ones
/// against the audio root).
/// </summary>
public sealed record AudioSource(AudioSourceKind Kind, string Text, string? Bucket = null, string? Key = null, Uri? Url = null, string? LocalPath = null)
{
    /// <summary>The original file extension (".mp3"), lower case, or "" when the name has none.</summary>
    public string Extension
    {
        get
        {
            string name = Kind switch
            {
                AudioSourceKind.S3 => Key!,
                AudioSourceKind.Http => Url!.AbsolutePath,
                _ => LocalPath!,
            };
            int slash = name.LastIndexOfAny(new[] { '/', '\\' });
            string file = name[(slash + 1)..];
            int dot = file.LastIndexOf('.');
            if (dot <= 0 || dot == file.Length - 1) return "";
            string ext = file[dot..].ToLowerInvariant();
            return ext.Length <= 12 && ext[1..].All(char.IsAsciiLetterOrDigit) ? ext : "";
        }
    }

    /// <summary>For messages: s3://bucket/key, the URL without credentials or query, or the local path.</summary>
    public string Display => Kind switch
    {
        AudioSourceKind.S3 => $"s3://{Bucket}/{Key}",
        AudioSourceKind.Http => $"{Url!.Scheme}://{Url.Authority}{Url.AbsolutePath}",
        _ => LocalPath!,
    };

    /// <summary>
    /// Parses <paramref name="text"/>. <paramref name="defaultBucket"/> turns a scheme-less key into an S3 object;
    /// without it such text is a local path relative to <paramref name="audioRoot"/>.
    /// </summary>
    public static AudioSource Parse(string? text, string? defaultBucket, string audioRoot)
    {
        string t = (text ?? "").Trim();
        if (t.Length == 0)
            throw new MessException(MessErrorIds.NoAudioSource, MessErrorKind.InvalidData, "The track has no audio location (AudioUri / audio_s3_key is empty).");
        if (t.Any(char.IsControl))
            throw new MessException(MessErrorIds.InvalidAudioSource, MessErrorKind.InvalidData, $"The audio location '{Printable(t)}' contains control characters.", t);

        if (t.StartsWith("s3://", StringComparison.OrdinalIgnoreCase) || t.StartsWith("s3a://", StringComparison.OrdinalIgnoreCase))
        {
            string rest = t[(t.IndexOf("://", StringComparison.Ordinal) + 3)..];
            int slash = rest.IndexOf('/');
            string bucket = slash < 0 ? rest : rest[..slash];
            string key = slash < 0 ? "" : rest[(slash + 1)..];
            RequireBucket(bucket, t);
            if (key.Length == 0 || key.EndsWith('/'))
                throw new MessException(MessErrorIds.InvalidAudioSource, MessErrorKind.InvalidData, $"'{Printable(t)}' names a bucket or folder, not an object: the key is missing.", t);
            return new AudioSource(AudioSourceKind.S3, t, bucket, key);
        }
        if (t.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || t.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(t, UriKind.Absolute, out var url) || string.IsNullOrEmpty(url.Host))
                throw new MessException(MessErrorIds.InvalidAudioSource, MessErrorKind.InvalidData, $"'{Printable(t)}' is not a valid URL.", t);
            return new AudioSource(AudioSourceKind.Http, t, Url: url);
        }
        if (t.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(t, UriKind.Absolute, out var fileUri) || !fileUri.IsFile)
                throw new MessException(MessErrorIds.InvalidAudioSource, MessErrorKind.InvalidData, $"'{Printable(t)}' is not a valid file:// URI.", t);
            return new AudioSource(AudioSourceKind.Local, t, LocalPath: Path.GetFullPath(fileUri.LocalPath));
        }
        int scheme = t.IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0 && t[..scheme].All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.'))
            throw new MessException(MessErrorIds.UnsupportedAudioScheme, MessErrorKind.InvalidData,
                $"'{Printable(t)}' uses the scheme '{t[..scheme]}://'; supported are s3://, http(s)://, file:// and plain paths or keys.", t);

        if (!string.IsNullOrWhiteSpace(defaultBucket))
        {
            string bucket = defaultBucket.Trim();
            RequireBucket(bucket, t);
            string key = t.TrimStart('/');
            if (key.Length == 0 || key.EndsWith('/'))
                throw new MessException(MessErrorIds.InvalidAudioSource, MessErrorKind.InvalidData, $"'{Printable(t)}' is not an object key.", t);
            return new AudioSource(AudioSourceKind.S3, t, bucket, key);
        }
        string local;
        try { local = Path.GetFullPath(Path.IsPathRooted(t) ? t : Path.Combine(audioRoot, t)); }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new MessException(MessErrorIds.InvalidAudioSource, MessErrorKind.InvalidData, $"'{Printable(t)}' is not a valid local path: {ex.Message}", t, ex);
        }
        return new AudioSource(AudioSourceKind.Local, t, LocalPath: local);
    }

    private static void RequireBucket(string bucket, string text)
    {
        // S3 bucket rules, loosely (S3-compatible stores allow a little more): 3-63 of [a-z0-9.-_], no path characters.
        if (bucket.Length is < 3 or > 255 || !bucket.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
            throw new MessException(MessErrorIds.InvalidBucketName, MessErrorKind.InvalidData, $"'{Printable(bucket)}' in '{Printable(text)}' is not a valid bucket name.", text);
    }

    private static string Printable(string s) => s.Length > 200 ? s[..200] + "…" : s;
}
