using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Common;

namespace MessTools.Tests.Unit.Audio;

public class AudioStandardizerTests
{
    private static AudioStandardizer Make(ArtifactStore store, int rate = 22050, WavSampleFormat format = WavSampleFormat.Float32, double min = 1.0, bool force = false) =>
        new(store, new FfmpegDecoder(), new StandardizeOptions { SampleRate = rate, Format = format, MinDurationSec = min, Force = force });

    [Fact]
    public async Task Writes_mono_wav_at_the_rate_and_reuses_it_on_the_next_run()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        string src = AudioTestFiles.Make(tmp["a.mp3"], seconds: 2, channels: 2, ffmpegArgs: new[] { "-c:a", "libmp3lame" });
        var r = await Make(store, 24000).RunAsync("t1", src, default);
        Assert.False(r.Cached);
        Assert.Equal(store.WavPath("t1"), r.WavPath);
        var info = WavFile.TryReadInfo(r.WavPath)!;
        Assert.True(info.Matches(24000, WavSampleFormat.Float32));
        Assert.InRange(info.DurationSec, 1.95, 2.06);
        Assert.Equal(info.DurationSec, r.DurationSec, 3);
        var wav = WavFile.Read(r.WavPath);
        Assert.Equal(1, wav.Channels);
        Assert.Empty(Directory.GetFiles(store.AudioWavDir, "*" + AtomicFileWriter.TempSuffix));

        var again = await Make(store, 24000).RunAsync("t1", src, default);
        Assert.True(again.Cached);
        // Another rate, format or -Force decodes again.
        Assert.False((await Make(store, 16000).RunAsync("t1", src, default)).Cached);
        Assert.False((await Make(store, 16000, WavSampleFormat.Pcm16).RunAsync("t1", src, default)).Cached);
        Assert.True(WavFile.TryReadInfo(store.WavPath("t1"))!.Matches(16000, WavSampleFormat.Pcm16));
        Assert.False((await Make(store, 16000, WavSampleFormat.Pcm16, force: true).RunAsync("t1", src, default)).Cached);
        // A changed source file decodes again.
        AudioTestFiles.Make(src, seconds: 3, ffmpegArgs: new[] { "-c:a", "libmp3lame" });
        var changed = await Make(store, 16000, WavSampleFormat.Pcm16).RunAsync("t1", src, default);
        Assert.False(changed.Cached);
        Assert.InRange(changed.DurationSec, 2.95, 3.06);
    }

    [Fact]
    public async Task Silent_nan_short_and_undecodable_audio_fail_with_their_ids_and_leave_no_wav()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        var std = Make(store);
        WavFile.Write(tmp["silent.wav"], new AudioBuffer(new float[44100 * 2], 44100));
        var nan = AudioTestFiles.Sine(440, 0.5, 22050, 2); nan[30000] = float.NaN;
        WavFile.Write(tmp["nan.wav"], new AudioBuffer(nan, 22050));
        AudioTestFiles.Make(tmp["short.wav"], seconds: 0.4);
        File.WriteAllText(tmp["text.mp3"], "hello, I am text\n");
        File.WriteAllBytes(tmp["empty.m4a"], Array.Empty<byte>());
        foreach (var (file, id) in new[] { ("silent.wav", "AudioSilent"), ("nan.wav", "AudioNonFinite"), ("short.wav", "AudioTooShort"), ("text.mp3", "AudioUndecodable"), ("empty.m4a", "AudioEmpty") })
        {
            string trackId = Path.GetFileNameWithoutExtension(file);
            var ex = await Assert.ThrowsAsync<MessException>(() => std.RunAsync(trackId, tmp[file], default));
            Assert.Equal(id, ex.ErrorId);
            Assert.Contains($"'{trackId}'", ex.Message);
            Assert.False(File.Exists(store.WavPath(trackId)), file);
        }
        Assert.True(!Directory.Exists(store.AudioWavDir) || Directory.GetFiles(store.AudioWavDir).Length == 0);
    }

    [Fact]
    public async Task MinDurationSec_zero_accepts_a_short_clip()
    {
        using var tmp = new TempDir();
        var store = new ArtifactStore(tmp["art"]);
        AudioTestFiles.Make(tmp["short.wav"], seconds: 0.3);
        var r = await Make(store, min: 0).RunAsync("s", tmp["short.wav"], default);
        Assert.InRange(r.DurationSec, 0.299, 0.301);
    }
}
