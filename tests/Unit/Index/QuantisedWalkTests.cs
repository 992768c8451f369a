using MessTools.Core.Index;

namespace MessTools.Tests.Unit.Index;

/// <summary>A fact about the int8 walk: skipped, with the reason shown, on a CPU without AVX2 (the float walk answers
/// there, and the other HNSW tests cover it).</summary>
public sealed class QuantisedWalkFactAttribute : FactAttribute
{
    public QuantisedWalkFactAttribute()
    {
        if (!QuantisedRows.Supported) Skip = "this CPU has no AVX2: searches walk in float";
    }
}

/// <summary>HNSW's layer-0 walk in int8 (<see cref="QuantisedRows"/>), with the final candidates scored again in float.</summary>
public sealed unsafe class QuantisedWalkTests
{
    private const int Dim = 48;

    [QuantisedWalkFact]
    public void Rows_and_queries_quantise_within_half_a_step_and_the_dot_is_the_integer_dot()
    {
        const int dim = 100; // padded to 128: a whole 64-byte step, one 32-byte step and a scalar tail in the quantiser
        var rng = new Random(7);
        var x = new float[dim];
        var q = new float[dim];
        for (int i = 0; i < dim; i++) { x[i] = (float)(rng.NextDouble() * 2 - 1); q[i] = (float)(rng.NextDouble() * 2 - 1) * 1e-3f; }
        x[17] = -1.5f; // the largest magnitude, negative: -127
        var row = new byte[128];
        var qb = new sbyte[128];
        fixed (float* px = x)
        fixed (float* pq = q)
        fixed (byte* pr = row)
        fixed (sbyte* ps = qb)
        {
            Assert.True(QuantisedRows.Quantise(px, dim, 128, pr, shifted: true, out float sx, out int sumX));
            Assert.True(QuantisedRows.Quantise(pq, dim, 128, (byte*)ps, shifted: false, out float sq, out int sumQ));
            Assert.Equal(1.5f / 127, sx, 6);
            Assert.Equal(1, row[17]); // -127 + 128
            long dot = 0;
            int checkX = 0, checkQ = 0;
            for (int i = 0; i < 128; i++)
            {
                int xi = row[i] - 128;
                if (i >= dim) { Assert.Equal(0, xi); Assert.Equal(0, qb[i]); continue; }
                Assert.InRange(xi, -127, 127);
                Assert.True(Math.Abs(x[i] - sx * xi) <= sx * 0.5f * 1.0001f, $"value {i}: {x[i]} against {sx * xi}");
                Assert.True(Math.Abs(q[i] - sq * qb[i]) <= sq * 0.5f * 1.0001f, $"query value {i}");
                checkX += xi; checkQ += qb[i];
                dot += (long)row[i] * qb[i];
            }
            Assert.Equal(checkX, sumX);
            Assert.Equal(checkQ, sumQ);
            Assert.Equal(dot, QuantisedRows.Dot(pr, ps, 128));
        }
    }

    [QuantisedWalkFact]
    public void Every_dot_kernel_the_cpu_has_gives_the_exact_integer_dot_at_the_extremes_of_the_bytes()
    {
        // Rows of 255 against queries of +-127 are where 16-bit pair sums (VPMADDUBSW) would saturate: 2·255·127 > 32767.
        // Each kernel this CPU has must give the integer dot exactly; the one Dot picks is one of them.
        const int pad = 96; // one 64-byte step and one 32-byte step
        var rng = new Random(11);
        var row = new byte[pad];
        var q = new sbyte[pad];
        bool vnni = System.Runtime.Intrinsics.X86.AvxVnni.IsSupported, widened = System.Runtime.Intrinsics.X86.Avx512BW.IsSupported;
        for (int trial = 0; trial < 200; trial++)
        {
            for (int i = 0; i < pad; i++)
            {
                row[i] = trial switch { 0 => 255, 1 => 1, 2 => (byte)(i % 2 == 0 ? 255 : 1), _ => (byte)rng.Next(1, 256) };
                q[i] = trial switch { 0 => 127, 1 => -127, 2 => (sbyte)(i % 2 == 0 ? -127 : 127), _ => (sbyte)rng.Next(-127, 128) };
            }
            long expected = 0;
            for (int i = 0; i < pad; i++) expected += row[i] * q[i];
            fixed (byte* pr = row)
            fixed (sbyte* pq = q)
            {
                if (vnni) Assert.Equal(expected, QuantisedRows.DotVnni(pr, pq, pad));
                if (widened) Assert.Equal(expected, QuantisedRows.DotWidened(pr, pq, pad));
                Assert.Equal(expected, QuantisedRows.DotWidened256(pr, pq, pad));
                Assert.Equal(expected, QuantisedRows.Dot(pr, pq, pad));
            }
        }
    }

    [QuantisedWalkFact]
    public void A_row_that_is_not_finite_leaves_no_int8_rows_and_the_float_walk_answers()
    {
        var data = IndexTestData.Clustered(QuantisedRows.MinRows, Dim, 10, 0.5, seed: 2);
        Assert.NotNull(QuantisedRows.Create(data, QuantisedRows.MinRows, Dim));
        data[7 * Dim + 3] = float.NaN;
        Assert.Null(QuantisedRows.Create(data, QuantisedRows.MinRows, Dim));
        var zero = new float[2 * Dim]; // a zero row quantises to zeros with scale 0
        var rows = QuantisedRows.Create(zero, 2, Dim)!;
        Assert.All(rows.Bytes.Span[..(2 * rows.DimPad)].ToArray(), b => Assert.Equal(128, b));
        Assert.Equal(0f, rows.Scale[0]);
    }

    [QuantisedWalkFact]
    public void The_int8_walk_finds_what_the_float_walk_finds_and_answers_with_float_scores()
    {
        int n = 6000, nq = 150;
        var all = IndexTestData.Clustered(n + nq, Dim, 60, 0.6, seed: 21);
        var data = all[..(n * Dim)];
        var index = HnswIndex.Build(IndexTestData.Ids(n), data.ToArray(), Dim, new HnswParameters(), maxThreads: 2);
        int hitsInt8 = 0, hitsFloat = 0, same = 0;
        for (int q = 0; q < nq; q++)
        {
            var query = all.AsSpan((n + q) * Dim, Dim);
            var truth = IndexTestData.BruteForce(data, Dim, query, 10).ToHashSet();
            index.QuantisedWalk = true;
            var int8 = index.Search(query, 10, null, 40);
            index.QuantisedWalk = false;
            var fl = index.Search(query, 10, null, 40);
            hitsInt8 += int8.Count(r => truth.Contains(r.Id));
            hitsFloat += fl.Count(r => truth.Contains(r.Id));
            for (int i = 0; i < int8.Length; i++)
            {
                // The score of every answer is the float inner product, bit for bit the float walk's for that row.
                Assert.Equal(VectorMath.Dot(query, index.Vector(int8[i].Id)), int8[i].Score);
                if (i > 0) Assert.True(int8[i - 1].Score >= int8[i].Score);
            }
            if (int8.Select(r => r.Id).SequenceEqual(fl.Select(r => r.Id))) same++;
        }
        Assert.Equal(n, index.QuantisedRowCount); // the int8 walk did run
        double recallInt8 = hitsInt8 / (10.0 * nq), recallFloat = hitsFloat / (10.0 * nq);
        Assert.True(recallInt8 >= 0.98 && recallInt8 >= recallFloat - 0.005, $"recall@10 int8 {recallInt8:F4}, float {recallFloat:F4}");
        Assert.True(same >= nq * 9 / 10, $"{same} of {nq} queries answered alike");
    }

    [QuantisedWalkFact]
    public void The_int8_walk_keeps_filters_and_tombstones()
    {
        int n = 5000;
        var data = IndexTestData.Clustered(n, Dim, 40, 0.6, seed: 4);
        var ids = IndexTestData.Ids(n);
        var index = HnswIndex.Build(ids, data.ToArray(), Dim, new HnswParameters());
        for (int i = 0; i < n; i += 7) Assert.True(index.Remove(ids[i]));
        bool Allowed(int node) => node % 2 == 0 && node % 7 != 0;
        int hits = 0, total = 0;
        for (int q = 0; q < 100; q++)
        {
            var query = data.AsSpan(q * 37 % n * Dim, Dim);
            var res = index.Search(query, 10, node => node % 2 == 0, 80);
            Assert.Equal(10, res.Length);
            Assert.All(res, r => Assert.True(Allowed(r.Id), $"node {r.Id} is removed or filtered out"));
            var truth = IndexTestData.BruteForce(data, Dim, query, 10, Allowed).ToHashSet();
            hits += res.Count(r => truth.Contains(r.Id));
            total += 10;
        }
        Assert.Equal(n, index.QuantisedRowCount);
        Assert.True(hits >= total * 0.97, $"filtered recall@10 {hits / (double)total:F4}");
    }

    [QuantisedWalkFact]
    public void Rows_appended_after_a_search_are_quantised_by_the_next_one()
    {
        int n = 5000, added = 50;
        var all = IndexTestData.Clustered(n + added, Dim, 40, 0.6, seed: 9);
        var ids = IndexTestData.Ids(n + added);
        var index = HnswIndex.Build(ids[..n], all[..(n * Dim)].ToArray(), Dim, new HnswParameters());
        index.Search(all.AsSpan(0, Dim), 5);
        Assert.Equal(n, index.QuantisedRowCount);
        index.Append(ids[n..], all.AsSpan(n * Dim, added * Dim));
        for (int i = n; i < n + added; i++)
        {
            var res = index.Search(all.AsSpan(i * Dim, Dim), 1);
            Assert.Equal(i, res[0].Id);
        }
        Assert.Equal(n + added, index.QuantisedRowCount);
    }

    [QuantisedWalkFact]
    public void The_index_file_carries_the_int8_rows_so_a_loaded_index_walks_without_quantising()
    {
        int n = 4500;
        var data = IndexTestData.Clustered(n, Dim, 30, 0.6, seed: 13);
        var index = HnswIndex.Build(IndexTestData.Ids(n), data.ToArray(), Dim, new HnswParameters(), maxThreads: 1);
        using var tmp = new TempDir();
        IndexFile.Save(index, tmp["a.index"]);
        IndexFile.Save(index, tmp["b.index"]);
        Assert.Equal(File.ReadAllBytes(tmp["a.index"]), File.ReadAllBytes(tmp["b.index"])); // the same bytes again
        var made = index.Quantised()!;
        foreach (bool map in new[] { true, false })
        {
            var loaded = (HnswIndex)IndexFile.Load(tmp["a.index"], map);
            Assert.Equal(n, loaded.QuantisedRowCount); // read with the file, before any search
            var rows = loaded.Quantised()!;
            Assert.Equal(made.Bytes.Span.ToArray(), rows.Bytes.Span.ToArray());
            Assert.Equal(made.Scale, rows.Scale);
            for (int q = 0; q < 40; q++)
            {
                var query = data.AsSpan(q * 101 % n * Dim, Dim);
                Assert.Equal(index.Search(query, 10), loaded.Search(query, 10));
            }
        }
        // A small index has no int8 rows: the section is empty and the walk is in float.
        var small = HnswIndex.Build(IndexTestData.Ids(100), data[..(100 * Dim)].ToArray(), Dim, new HnswParameters());
        IndexFile.Save(small, tmp["small.index"]);
        var smallLoaded = (HnswIndex)IndexFile.Load(tmp["small.index"]);
        smallLoaded.Search(data.AsSpan(0, Dim), 5);
        Assert.Equal(0, smallLoaded.QuantisedRowCount);
    }

    [QuantisedWalkFact]
    public void A_damaged_byte_in_the_ranges_checksummed_apart_is_refused()
    {
        int n = 4200;
        var data = IndexTestData.Clustered(n, Dim, 30, 0.6, seed: 17);
        var index = HnswIndex.Build(IndexTestData.Ids(n), data.ToArray(), Dim, new HnswParameters { M = 8, EfConstruction = 40 }, maxThreads: 2);
        using var tmp = new TempDir();
        IndexFile.Save(index, tmp["a.index"]);
        var good = File.ReadAllBytes(tmp["a.index"]);
        long vectors = BitConverter.ToInt64(good, 112 + 16 * 2), rows = BitConverter.ToInt64(good, 112 + 16 * 8);
        Assert.True(vectors > 0 && rows > vectors);
        // A float row, an int8 row (past the scales), and each of the two range checksums in the trailer.
        foreach (long at in new[] { vectors + 4L * Dim * 77 + 5, rows + ((4L * n + 63) / 64 * 64) + 300, good.Length - 32L, good.Length - 24L })
        {
            foreach (bool map in new[] { true, false })
            {
                var bad = (byte[])good.Clone();
                bad[at] ^= 0x10;
                File.WriteAllBytes(tmp["bad.index"], bad);
                var ex = Assert.Throws<MessTools.Core.Common.MessException>(() => IndexFile.Load(tmp["bad.index"], map));
                Assert.Equal("IndexCorrupt", ex.ErrorId);
                Assert.Contains("checksum", ex.Message);
            }
        }
        Assert.Equal(n, ((HnswIndex)IndexFile.Load(tmp["a.index"])).Count);
    }
}
