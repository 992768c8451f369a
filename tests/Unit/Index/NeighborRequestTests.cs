using MessTools.Core.Common;
using MessTools.Core.Index;

namespace MessTools.Tests.Unit.Index;

/// <summary>The one neighbour request's rules (NeighborRequest.Validate), against a small in-memory catalogue.</summary>
public sealed class NeighborRequestTests
{
    /// <summary>A backend of <paramref name="count"/> tracks: only what Validate reads (size, dimension, metadata, composers).</summary>
    private sealed class Catalog(int count, bool metadata = true) : INeighborSearch
    {
        public int Count => count;
        public int Dimension => 4;
        public bool HasMetadata => metadata;
        public IReadOnlyList<string> Composers { get; } = new[] { "Chopin", "Liszt", "Rachmaninoff" };
        public IReadOnlyList<NeighborResult> ByTrackId(string trackId, NeighborQuery query) => throw new NotSupportedException();
        public IReadOnlyList<NeighborResult> ByVector(ReadOnlySpan<float> vector, string queryLabel, string? albumId, NeighborQuery query) => throw new NotSupportedException();
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(61, true)]
    [InlineData(62, false)] // N: the query itself never counts
    [InlineData(0, false)]
    [InlineData(-3, false)]
    public void K_runs_from_1_to_N_minus_1(int k, bool valid)
    {
        var v = new NeighborRequest { K = k }.Validate(new Catalog(62));
        Assert.Equal(valid, v.IsValid);
        if (valid) { Assert.Equal(k, v.Query!.K); return; }
        var f = Assert.Single(v.Failures);
        Assert.Equal("KOutOfRange", f.ErrorId);
        Assert.Equal(NeighborParameter.K, f.Parameter);
        Assert.Equal(1, f.Min);
        Assert.Equal(61, f.Max);
        Assert.Null(v.Query);
        // Each front end words it with its own name for the parameter.
        Assert.StartsWith("-K must be a whole number from 1 to 61", f.Describe("-K"));
        Assert.StartsWith("k must be a whole number from 1 to 61", f.Describe("k"));
        Assert.Equal("KOutOfRange", f.ToException("-K").ErrorId);
    }

    [Fact]
    public void A_backend_of_one_track_allows_K_1()
    {
        Assert.True(new NeighborRequest { K = 1 }.Validate(new Catalog(1)).IsValid);
        Assert.Equal((1, 1), NeighborRequest.KLimits(1));
    }

    [Fact]
    public void Filters_need_metadata()
    {
        var a = Assert.Single(new NeighborRequest { ExcludeSameAlbum = true }.Validate(new Catalog(10, metadata: false)).Failures);
        Assert.Equal(("MetadataMissing", NeighborParameter.ExcludeSameAlbum), (a.ErrorId, a.Parameter));
        var c = Assert.Single(new NeighborRequest { Composers = new[] { "Liszt" } }.Validate(new Catalog(10, metadata: false)).Failures);
        Assert.Equal(("MetadataMissing", NeighborParameter.Composer), (c.ErrorId, c.Parameter));
        Assert.Contains("-Composer needs the catalogue metadata", c.Describe("-Composer"));
    }

    [Fact]
    public void Composer_patterns_expand_and_bad_ones_fail_with_their_own_id()
    {
        var ok = new NeighborRequest { Composers = new[] { "ra*", "CHOPIN", "nobody*" } }.Validate(new Catalog(10));
        Assert.True(ok.IsValid);
        Assert.Equal(new[] { "Chopin", "Rachmaninoff" }, ok.Query!.Composers!.Order());
        Assert.Equal(new[] { "nobody*" }, ok.UnmatchedComposers);

        var bad = Assert.Single(new NeighborRequest { Composers = new[] { "[z-a]" } }.Validate(new Catalog(10)).Failures);
        Assert.Equal("InvalidWildcardPattern", bad.ErrorId);
        Assert.Equal("[z-a]", bad.Value);
        Assert.Contains("'[z-a]' is not a valid wildcard pattern", bad.Describe("composer"));
    }

    [Theory]
    [InlineData(-1, null, "ef")]
    [InlineData(1_000_000, null, "ef")]
    [InlineData(0, 1.5, "minScore")]
    [InlineData(0, double.NaN, "minScore")]
    public void Ef_and_min_score_are_range_checked(int ef, double? minScore, string which)
    {
        var f = new NeighborRequest { Ef = ef, MinScore = minScore }.Validate(new Catalog(10)).Failures;
        Assert.Contains(f, x => x.ErrorId == "InvalidParameter" && x.Parameter == (which == "ef" ? NeighborParameter.Ef : NeighborParameter.MinScore));
    }

    [Theory]
    [InlineData("")]
    [InlineData("../x")]
    [InlineData("a\\b")]
    [InlineData("..")]
    [InlineData("a\u0001")]
    public void Track_ids_that_cannot_be_ids_fail_with_their_item(string id)
    {
        var f = Assert.Single(new NeighborRequest { TrackIds = new[] { "ok", id } }.Validate(new Catalog(10)).Failures);
        Assert.Equal(("InvalidTrackId", 1), (f.ErrorId, f.Item));
    }

    [Fact]
    public void Vectors_are_checked_for_dimension_finiteness_and_a_norm_in_double()
    {
        var v = new NeighborRequest
        {
            Vectors = new float[]?[] { new float[3], new[] { 1f, float.NaN, 0, 0 }, new float[4], null, new[] { 3e38f, 3e38f, 3e38f, 3e38f }, new[] { 1e-45f, 1e-45f, 1e-45f, 1e-45f } },
        }.Validate(new Catalog(10));
        Assert.Equal(new[] { ("QueryDimensionMismatch", 0), ("QueryEmbeddingInvalid", 1), ("QueryEmbeddingInvalid", 2), ("QueryDimensionMismatch", 3) },
            v.Failures.Select(f => (f.ErrorId, f.Item!.Value)));
        Assert.Equal("vectors[1][1] is not a finite number.", v.Failures[1].Describe("vectors[1]"));
        // 3e38 overflows a float sum of squares and 1e-45 underflows it; in double both are plain directions.
        var big = NeighborRequest.NormalizeVector(new[] { 3e38f, 3e38f, 3e38f, 3e38f }, 4, null, out var none);
        Assert.Null(none);
        Assert.All(big!, x => Assert.Equal(0.5f, x, 5));
        var tiny = NeighborRequest.NormalizeVector(new[] { 1e-45f, 0, 0, 0 }, 4, null, out none);
        Assert.Null(none);
        Assert.Equal(1f, tiny![0], 5);
    }

    [Fact]
    public void An_unknown_track_carries_its_suggestions_and_stays_an_engine_error()
    {
        var f = NeighborRequestFailure.UnknownTrack("trk-0011", "the index", 62, new[] { "trk-001" });
        MessException ex = f.ToException("track id");
        Assert.Equal("UnknownTrackId", ex.ErrorId);
        Assert.Equal(MessErrorKind.ObjectNotFound, ex.Kind);
        Assert.Equal("Track 'trk-0011' is not in the index (62 tracks). Did you mean 'trk-001'?", ex.Message);
        Assert.Equal(new[] { "trk-001" }, ((NeighborRequestException)ex).Failure.Suggestions);
    }
}
