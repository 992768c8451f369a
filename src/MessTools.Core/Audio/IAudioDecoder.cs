namespace MessTools.Core.Audio;

/// <summary>
/// Turns an audio file of any supported format into mono float samples at a given rate. ffmpeg is the
/// implementation here (NAudio, which users asked for, is not available from this project's registry);
/// another decoder can be added behind this interface.
/// </summary>
public interface IAudioDecoder
{
    /// <summary>Decodes <paramref name="path"/> to mono at <paramref name="sampleRate"/> Hz, samples in [-1, 1].</summary>
    Task<AudioBuffer> DecodeAsync(string path, int sampleRate, CancellationToken cancellationToken = default);
}
