using MessTools.Core.Artifacts;
using MessTools.Core.Audio;
using MessTools.Core.Common;

namespace MessTools.Tests.Unit.Audio;

public class FfmpegDecoderTests
{
    private static readonly FfmpegDecoder Decoder = new();
    // A 1 kHz sine at amplitude 0.5 has an RMS level of 20*log10(0.5/sqrt 2) dBFS.
    private static readonly double SineRmsDb = 20 * Math.Log10(0.5 / Math.Sqrt(2));

    [Fact]
    public void Locate_names_install_commands_for_every_platform_when_ffmpeg_is_missing()
    {
        using var tmp = new TempDir();
        var ex = Assert.Throws<MessException>(() => FfmpegDecoder.Locate(tmp["no-such-ffmpeg"]));
        Assert.Equal("FfmpegNotFound", ex.ErrorId);
        Assert.Equal(MessErrorKind.NotInstalled, ex.Kind);
        Assert.Contains("apt-get install ffmpeg", ex.Message);
        Assert.Contains("brew install ffmpeg", ex.Message);
        Assert.Contains("winget install", ex.Message);
        Assert.Contains("-FfmpegPath", ex.Message);
    }

    [Fact]
    public void Locate_accepts_a_folder_and_finds_ffmpeg_on_PATH()
    {
        string onPath = FfmpegDecoder.Locate(null);
        Assert.True(File.Exists(onPath));
        Assert.Equal(onPath, FfmpegDecoder.Locate(Path.GetDirectoryName(onPath)));
    }

    [Theory]
    [InlineData("pcm_s16le", 44100, 1)]
    [InlineData("pcm_s24le", 96000, 2)]
    [InlineData("pcm_f32le", 8000, 1)]
    [InlineData("pcm_s16le", 48000, 2)]
    [InlineData("pcm_s24le", 16000, 1)]
    public async Task Wav_variants_decode_to_mono_at_the_target_rate_with_the_right_length_and_level(string codec, int rate, int channels)
    {
        using var tmp = new TempDir();
        string f = AudioTestFiles.Make(tmp["in.wav"], seconds: 2.0, rate: rate, channels: channels, freq: rate >= 16000 ? 1000 : 440,
            ffmpegArgs: new[] { "-c:a", codec });
        var audio = await Decoder.DecodeAsync(f, 22050);
        Assert.Equal(1, audio.Channels);
        Assert.Equal(22050, audio.SampleRate);
        Assert.InRange(audio.Samples.Length, 44100 - 22, 44100 + 22); // 2 s within 1 ms
        Assert.InRange(AudioTestFiles.MiddleRmsDb(audio.Samples), SineRmsDb - 0.5, SineRmsDb + 0.5);
    }

    [Fact]
    public async Task A_known_sine_keeps_its_sample_count_and_level_after_resampling()
    {
        using var tmp = new TempDir();
        string f = AudioTestFiles.Make(tmp["sine.wav"], seconds: 3.0, rate: 44100, freq: 1000, amplitude: 0.5);
        foreach (int target in new[] { 16000, 22050, 24000, 48000 })
        {
            var audio = await Decoder.DecodeAsync(f, target);
            long expected = 3 * target;
            Assert.InRange(audio.Samples.Length, expected - target / 1000, expected + target / 1000);
            Assert.InRange(AudioTestFiles.MiddleRmsDb(audio.Samples), SineRmsDb - 0.5, SineRmsDb + 0.5);
            Assert.InRange(audio.Samples.Max(Math.Abs), 0.5 * Math.Pow(10, -0.5 / 20), 0.5 * Math.Pow(10, 0.5 / 20));
        }
    }

    [Theory]
    [InlineData("mp3", "libmp3lame")]
    [InlineData("m4a", "aac")]
    [InlineData("flac", "flac")]
    [InlineData("ogg", "libvorbis")]
    [InlineData("opus", "libopus")]
    [InlineData("aiff", "pcm_s16be")]
    public async Task Compressed_formats_decode_with_the_right_length_and_level(string ext, string codec)
    {
        using var tmp = new TempDir();
        string f = AudioTestFiles.Make(tmp["in." + ext], seconds: 2.0, rate: ext == "opus" ? 48000 : 44100, channels: 2,
            ffmpegArgs: new[] { "-c:a", codec });
        var audio = await Decoder.DecodeAsync(f, 22050);
        // Lossy codecs add a few ms of priming; 2 s within 60 ms.
        Assert.InRange(audio.DurationSec, 1.94, 2.06);
        Assert.InRange(AudioTestFiles.MiddleRmsDb(audio.Samples), SineRmsDb - 0.5, SineRmsDb + 0.5);
    }

    [Theory]
    [InlineData("wav", "pcm_s16le")]
    [InlineData("flac", "flac")]
    [InlineData("mp3", "libmp3lame")]
    [InlineData("m4a", "aac")]
    public async Task A_truncated_file_is_refused(string ext, string codec)
    {
        using var tmp = new TempDir();
        string f = AudioTestFiles.Make(tmp["full." + ext], seconds: 4.0, channels: 2, ffmpegArgs: new[] { "-c:a", codec });
        byte[] all = File.ReadAllBytes(f);
        string cut = tmp["cut." + ext];
        File.WriteAllBytes(cut, all[..(all.Length / 2 & ~3)]);
        var ex = await Assert.ThrowsAsync<MessException>(() => Decoder.DecodeAsync(cut, 22050));
        Assert.Contains(ex.ErrorId, new[] { "AudioTruncated", "AudioUndecodable" });
        Assert.Contains(cut, ex.Message);
    }

    [Fact]
    public async Task A_text_file_named_mp3_is_undecodable()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["notes.mp3"], "This is not audio at all, just some text that happens to end in .mp3\n");
        var ex = await Assert.ThrowsAsync<MessException>(() => Decoder.DecodeAsync(tmp["notes.mp3"], 22050));
        Assert.Equal("AudioUndecodable", ex.ErrorId);
        Assert.Equal(MessErrorKind.InvalidData, ex.Kind);
    }

    [Fact]
    public async Task An_empty_file_is_AudioEmpty_and_a_missing_one_AudioFileNotFound()
    {
        using var tmp = new TempDir();
        File.WriteAllBytes(tmp["empty.wav"], Array.Empty<byte>());
        Assert.Equal("AudioEmpty", (await Assert.ThrowsAsync<MessException>(() => Decoder.DecodeAsync(tmp["empty.wav"], 22050))).ErrorId);
        Assert.Equal("AudioFileNotFound", (await Assert.ThrowsAsync<MessException>(() => Decoder.DecodeAsync(tmp["nope.wav"], 22050))).ErrorId);
    }

    [Fact]
    public async Task Cancelling_stops_the_decoder_promptly()
    {
        using var tmp = new TempDir();
        // A long stream from ffmpeg's own generator would be cleaner; a long file works everywhere.
        string f = AudioTestFiles.Make(tmp["long.flac"], seconds: 120, rate: 8000, freq: 440, ffmpegArgs: new[] { "-c:a", "flac" });
        using var cts = new CancellationTokenSource();
        long seen = 0;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var task = Decoder.DecodeStreamAsync(f, 96000, block =>
        {
            seen += block.Length;
            if (seen > 96000) cts.Cancel();
            Thread.Sleep(1);
        }, cts.Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"cancellation took {sw.Elapsed}");
    }

    [Fact]
    public void AudioCheck_flags_silence_nan_shortness_and_emptiness_with_their_own_ids()
    {
        static string Id(float[] s, double min = 1.0)
        {
            var ex = Assert.Throws<MessException>(() => AudioCheck.Validate(new AudioBuffer(s, 1000), "t", min));
            return ex.ErrorId;
        }
        Assert.Equal("AudioEmpty", Id(Array.Empty<float>()));
        Assert.Equal("AudioSilent", Id(new float[2000]));
        Assert.Equal("AudioSilent", Id(Enumerable.Repeat(0.0009f, 2000).ToArray()));
        var nan = AudioTestFiles.Sine(50, 0.5, 1000, 2); nan[1500] = float.NaN;
        Assert.Equal("AudioNonFinite", Id(nan));
        var inf = AudioTestFiles.Sine(50, 0.5, 1000, 2); inf[10] = float.PositiveInfinity;
        Assert.Equal("AudioNonFinite", Id(inf));
        Assert.Equal("AudioTooShort", Id(AudioTestFiles.Sine(50, 0.5, 1000, 0.5)));
        AudioCheck.Validate(new AudioBuffer(Enumerable.Repeat(0.0011f, 2000).ToArray(), 1000), "t", 1.0); // -59.2 dBFS passes
    }
}
