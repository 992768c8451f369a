namespace MessTools.Core.Splitting;

/// <summary>Which cue finds the movement boundaries.</summary>
public enum SplitMethod
{
    /// <summary>Pauses only: a gap whose level stays far under the recording's own loudness for long enough.</summary>
    Silence,
    /// <summary>Changes of material only: peaks of a checkerboard-kernel novelty curve over a self-similarity matrix (Foote 2000).</summary>
    Novelty,
    /// <summary>Both cues (the default): pauses, confirmed by a change of material when short, and attacca joins from novelty alone.</summary>
    Both,
}

/// <summary>What one Split-MessAudio run is asked to do (the request record of the split job).</summary>
public sealed record SplitRequest
{
    public const double DefaultMinMovementSeconds = 30.0;
    /// <summary>32: a whole collection fits (Chopin's 24 Preludes, Bach's Goldberg Variations: 32 pieces).</summary>
    public const int DefaultMaxMovements = 32;

    /// <summary>No movement shorter than this: boundaries closer than this to each other or to either end are dropped (the weaker first).</summary>
    public double MinMovementSeconds { get; init; } = DefaultMinMovementSeconds;
    /// <summary>At most this many movements (the strongest boundaries are kept).</summary>
    public int MaxMovements { get; init; } = DefaultMaxMovements;
    public SplitMethod Method { get; init; } = SplitMethod.Both;

    // ---- tuning (docs/splitting.md; the defaults were set on the composer-dev benchmark, bench/SplitBench) ----

    /// <summary>A frame is quiet when its level is this many dB under the recording's loudness (its 95th percentile frame level).</summary>
    public double SilenceDb { get; init; } = 35.0;
    /// <summary>Shortest pause that counts (reverb tails eat into a short pause, so this is below the shortest pause expected).</summary>
    public double MinGapSeconds { get; init; } = 0.3;
    /// <summary>A pause with at least this much settled quiet (see MovementSplitter) is a boundary without help from the novelty cue (Both).</summary>
    public double SureGapSeconds { get; init; } = 0.4;
    /// <summary>Louder blips no longer than this inside a pause (page turns, a chair) do not end it.</summary>
    public double MaxBlipSeconds { get; init; } = 0.2;
    /// <summary>A recording whose loudness is under this (dBFS) is silence only.</summary>
    public double SilentRecordingDbfs { get; init; } = -70.0;
    /// <summary>Half-width of the checkerboard kernel, seconds.</summary>
    public double KernelSeconds { get; init; } = 20.0;
    /// <summary>
    /// An attacca boundary (Novelty, Both) is a peak of the attacca score at least this high: the geometric mean of the
    /// Foote novelty and the tempo change (see MovementSplitter), each divided by its median over the recording.
    /// 3.2 is the lowest threshold that keeps the pause joins' F@3 s at least as high as without the attacca score on
    /// mutopia-keyboard works (tuning) and >= 0.95 on composer-dev works (check); lower finds more attacca joins and makes
    /// more false splits (the trade-off table is in docs/splitting.md).
    /// </summary>
    public double AttaccaThreshold { get; init; } = 3.2;
    /// <summary>An attacca peak also needs at least this much Foote novelty and <see cref="MinTempoChange"/>, however it compares with the recording's median (one texture throughout has small medians).</summary>
    public double MinAttaccaNovelty { get; init; } = 0.05;
    /// <summary>An attacca peak also needs at least this much tempo change (one minus a correlation, 0-2).</summary>
    public double MinTempoChange { get; init; } = 0.3;
    /// <summary>Each side's window of the tempo-change curve, as a multiple of <see cref="KernelSeconds"/>.</summary>
    public double TempoWindowFactor { get; init; } = 1.5;
    /// <summary>A short pause (under <see cref="SureGapSeconds"/>) is a boundary when the novelty around it reaches this (Both).</summary>
    public double GapNoveltyThreshold { get; init; } = 0.12;

    /// <summary>Throws ArgumentOutOfRangeException for a value no run could use.</summary>
    public void Validate()
    {
        if (!(MinMovementSeconds >= 0) || double.IsInfinity(MinMovementSeconds)) throw new ArgumentOutOfRangeException(nameof(MinMovementSeconds), MinMovementSeconds, "must be a finite number of seconds >= 0");
        if (MaxMovements < 1) throw new ArgumentOutOfRangeException(nameof(MaxMovements), MaxMovements, "must be at least 1");
        if (!(MinGapSeconds > 0) || !(SureGapSeconds >= MinGapSeconds)) throw new ArgumentOutOfRangeException(nameof(MinGapSeconds), MinGapSeconds, "must be > 0 and <= SureGapSeconds");
        if (!(AttaccaThreshold > 0) || double.IsInfinity(AttaccaThreshold)) throw new ArgumentOutOfRangeException(nameof(AttaccaThreshold), AttaccaThreshold, "must be a finite number > 0");
        if (!(TempoWindowFactor > 0) || double.IsInfinity(TempoWindowFactor)) throw new ArgumentOutOfRangeException(nameof(TempoWindowFactor), TempoWindowFactor, "must be a finite number > 0");
        if (!(KernelSeconds >= 1)) throw new ArgumentOutOfRangeException(nameof(KernelSeconds), KernelSeconds, "must be at least 1 s");
    }
}
