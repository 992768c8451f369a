using MessTools.Core.Common;

namespace MessTools.Core.Index;

/// <summary>HNSW build and search parameters, validated on construction.</summary>
public sealed record HnswParameters
{
    public const int DefaultM = 16;
    public const int DefaultEfConstruction = 200;
    public const int DefaultEfSearch = 100;
    public const int DefaultSeed = 42;
    public const int MaxM = 256;
    public const int MaxEf = 100_000;

    /// <summary>Links per node on the upper layers (2 M on layer 0).</summary>
    public int M { get; init; } = DefaultM;
    /// <summary>Size of the candidate list while inserting.</summary>
    public int EfConstruction { get; init; } = DefaultEfConstruction;
    /// <summary>Default size of the candidate list while searching (at least K is used).</summary>
    public int EfSearch { get; init; } = DefaultEfSearch;
    /// <summary>Seed of the level draws: one-thread builds from the same vectors give the same graph.</summary>
    public int Seed { get; init; } = DefaultSeed;

    public int M0 => 2 * M;

    public void Validate()
    {
        if (M < 2 || M > MaxM)
            throw new MessException(MessErrorIds.InvalidIndexParameter, MessErrorKind.InvalidArgument, $"M must be between 2 and {MaxM} (got {M}).", "M");
        if (EfConstruction < 1 || EfConstruction > MaxEf)
            throw new MessException(MessErrorIds.InvalidIndexParameter, MessErrorKind.InvalidArgument, $"EfConstruction must be between 1 and {MaxEf} (got {EfConstruction}).", "EfConstruction");
        if (EfSearch < 1 || EfSearch > MaxEf)
            throw new MessException(MessErrorIds.InvalidIndexParameter, MessErrorKind.InvalidArgument, $"EfSearch must be between 1 and {MaxEf} (got {EfSearch}).", "EfSearch");
    }
}
