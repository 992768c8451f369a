using MessTools.Core.Artifacts;
using MessTools.Core.Common;
using MessTools.Core.Embedding;

namespace MessTools.Core.Sharding;

/// <summary>One shard folder that passed its own checks (manifest read, files match their SHA-256).</summary>
public sealed record ShardFolder(string Folder, ShardManifest Manifest);

/// <summary>What <see cref="ShardMerger.Check"/> found: the shards, and every problem (each names its shard or track).</summary>
public sealed class ShardMergeCheck
{
    public List<ShardFolder> Shards { get; } = new();
    public List<MessException> Problems { get; } = new();
    /// <summary>Problems beyond <see cref="ShardMerger.MaxProblems"/> are only counted.</summary>
    public int ProblemsNotListed { get; internal set; }
    public int ShardCount { get; internal set; }
    public bool Ok => Problems.Count == 0;

    internal void Add(MessException problem)
    {
        if (Problems.Count < ShardMerger.MaxProblems) Problems.Add(problem);
        else ProblemsNotListed++;
    }
}

/// <summary>
/// Merge-MessEmbedding's engine: checks a set of shard folders (every shard present once, one model, profile and
/// dimension, every track in exactly one shard, the right one, and every catalogue track accounted for), then
/// writes the target's embeddings exactly as one process writes them for the same catalogue (rows in track-id
/// order, the same meta), and copies the shards' run records beside the target's own.
/// </summary>
public static class ShardMerger
{
    public const int MaxProblems = 1000;

    /// <summary>
    /// Reads and checks the shard folders. <paramref name="catalogTrackIds"/> (the catalogue of the run, if known)
    /// adds the check that each of its tracks is in a shard and that no shard holds a track outside it.
    /// </summary>
    public static ShardMergeCheck Check(IEnumerable<string> shardFolders, IReadOnlyCollection<string>? catalogTrackIds)
    {
        var check = new ShardMergeCheck();
        foreach (var folder in ExpandFolders(shardFolders))
        {
            try
            {
                var m = ShardManifest.Read(folder);
                m.Verify(folder);
                check.Shards.Add(new ShardFolder(folder, m));
            }
            catch (MessException ex) { check.Add(ex); }
        }
        if (check.Shards.Count == 0)
        {
            check.Add(new MessException(MessErrorIds.ShardNotFound, MessErrorKind.ObjectNotFound,
                "No shard folder with a shard manifest was given (expected shards/<i>-of-<n>/ folders written by ConvertTo-MessEmbedding -ShardIndex/-ShardCount)."));
            return check;
        }
        check.Shards.Sort((a, b) => a.Manifest.ShardIndex.CompareTo(b.Manifest.ShardIndex));

        // one shard count, each index once, none missing
        int n = check.Shards.GroupBy(s => s.Manifest.ShardCount).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
        check.ShardCount = n;
        foreach (var s in check.Shards.Where(s => s.Manifest.ShardCount != n))
            check.Add(new MessException(MessErrorIds.ShardCountMismatch, MessErrorKind.InvalidData,
                $"'{s.Folder}' is {s.Manifest} but the other shards are of {n}: shards of different splits cannot be merged.", s.Folder));
        var ofN = check.Shards.Where(s => s.Manifest.ShardCount == n).ToList();
        foreach (var g in ofN.GroupBy(s => s.Manifest.ShardIndex).Where(g => g.Count() > 1))
            check.Add(new MessException(MessErrorIds.ShardDuplicate, MessErrorKind.InvalidData,
                $"Shard {g.Key}-of-{n} was given {g.Count()} times: {string.Join(", ", g.Select(s => $"'{s.Folder}'"))}.", $"{g.Key}-of-{n}"));
        // A missing shard is one error that names it and the catalogue tracks it holds (the plan: each track's
        // shard is the hash of its id), not one error per track.
        var present = ofN.Select(s => s.Manifest.ShardIndex).ToHashSet();
        var missing = Enumerable.Range(0, n).Where(i => !present.Contains(i)).ToHashSet();
        foreach (int i in missing.Order())
        {
            string held = catalogTrackIds is null
                ? "how many tracks it holds is unknown without a catalogue (give -Catalog)"
                : $"it holds {catalogTrackIds.Count(id => ShardSpec.ShardOf(id, n) == i)} of the catalogue's {catalogTrackIds.Count} tracks";
            check.Add(new MessException(MessErrorIds.ShardMissing, MessErrorKind.ObjectNotFound,
                $"Shard {i}-of-{n} is missing ({held}): no shards/{i}-of-{n}/ folder with a shard manifest was given. Run that shard (again) before merging.", $"{i}-of-{n}"));
        }

        // one model, profile and dimension
        // the reference is the model most shards hold, so the odd one out is the one named
        string majority = ofN.GroupBy(s => s.Manifest.ModelKey).OrderByDescending(g => g.Count()).ThenBy(g => g.Min(s => s.Manifest.ShardIndex)).First().Key;
        var reference = ofN.Where(s => s.Manifest.ModelKey == majority).OrderByDescending(s => s.Manifest.TrackIds.Count > 0).First();
        foreach (var s in ofN.Where(s => s != reference))
        {
            var (a, b) = (s.Manifest, reference.Manifest);
            if (a.ModelKey != b.ModelKey)
                check.Add(new MessException(MessErrorIds.ShardModelMismatch, MessErrorKind.InvalidData,
                    $"{a} ('{s.Folder}') holds embeddings of model '{a.Model}' (SHA-256 {Short(a.ModelSha256)}, model key {Short(a.ModelKey)}) but {b} holds '{b.Model}' (SHA-256 {Short(b.ModelSha256)}, model key {Short(b.ModelKey)}): another model or profile cannot be merged into one matrix.", s.Folder));
            else if (a.Dim != b.Dim && a.TrackIds.Count > 0)
                check.Add(new MessException(MessErrorIds.ShardDimensionMismatch, MessErrorKind.InvalidData,
                    $"{a} ('{s.Folder}') holds {a.Dim}-dimensional embeddings but {b} holds {b.Dim}-dimensional ones.", s.Folder));
        }

        // every track in exactly one shard, the one its hash names
        var owner = new Dictionary<string, ShardFolder>(StringComparer.Ordinal);
        foreach (var s in ofN)
            foreach (var id in s.Manifest.TrackIds.Concat(s.Manifest.Failed.Keys))
            {
                if (owner.TryGetValue(id, out var first))
                {
                    if (first != s)
                        check.Add(new MessException(MessErrorIds.TrackInTwoShards, MessErrorKind.InvalidData,
                            $"Track '{id}' is in {first.Manifest} ('{first.Folder}') and in {s.Manifest} ('{s.Folder}'); it belongs to shard {ShardSpec.ShardOf(id, n)}-of-{n} only.", id));
                    continue;
                }
                owner[id] = s;
                int expected = ShardSpec.ShardOf(id, n);
                if (expected != s.Manifest.ShardIndex)
                    check.Add(new MessException(MessErrorIds.TrackInWrongShard, MessErrorKind.InvalidData,
                        $"Track '{id}' is in {s.Manifest} ('{s.Folder}') but its hash assigns it to shard {expected}-of-{n}.", id));
            }

        if (catalogTrackIds is not null)
        {
            var catalog = catalogTrackIds as IReadOnlySet<string> ?? catalogTrackIds.ToHashSet(StringComparer.Ordinal);
            foreach (var id in catalogTrackIds)
                if (!owner.ContainsKey(id) && !missing.Contains(ShardSpec.ShardOf(id, n)))
                    check.Add(new MessException(MessErrorIds.TrackNotInAnyShard, MessErrorKind.ObjectNotFound,
                        $"Catalogue track '{id}' is in no shard (it belongs to shard {ShardSpec.ShardOf(id, n)}-of-{n}, which neither embedded it nor reported it failed; did Get-MessAudio fail for it?).", id));
            foreach (var (id, s) in owner)
                if (!catalog.Contains(id))
                    check.Add(new MessException(MessErrorIds.TrackNotInCatalog, MessErrorKind.InvalidData,
                        $"Track '{id}' of {s.Manifest} ('{s.Folder}') is not in the catalogue: the shards were made from another catalogue.", id));
        }
        return check;
    }

    /// <summary>Writes the merged embeddings to <paramref name="target"/>; <paramref name="check"/> must be <see cref="ShardMergeCheck.Ok"/>.</summary>
    public static ShardMergeResult Write(ShardMergeCheck check, ArtifactStore target, Action<string>? beforeWrite = null)
    {
        if (!check.Ok) throw new InvalidOperationException("The shards did not pass their checks.");
        var withRows = check.Shards.Where(s => s.Manifest.TrackIds.Count > 0).ToList();
        var failed = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var s in check.Shards) foreach (var (id, e) in s.Manifest.Failed) failed[id] = e;
        if (withRows.Count == 0)
            throw new MessException(MessErrorIds.ShardsEmpty, MessErrorKind.InvalidData,
                $"None of the {check.Shards.Count} shards holds an embedded track ({failed.Count} failed): there is nothing to merge.");
        var first = withRows[0];
        EmbeddingSet? merged = null;
        EmbeddingsMeta? meta = null;
        bool npy = false;
        foreach (var s in withRows)
        {
            var store = new ArtifactStore(s.Folder);
            var set = EmbeddingSet.Open(store, s.Manifest.Model, s.Manifest.ModelKey, null);
            if (!set.Loaded || set.Count != s.Manifest.TrackIds.Count)
                throw new MessException(MessErrorIds.ShardFileMismatch, MessErrorKind.InvalidData,
                    $"{s.Manifest} ('{s.Folder}') lists {s.Manifest.TrackIds.Count} tracks in its manifest but its embeddings hold {set.Count}.", s.Folder);
            if (merged is null)
            {
                merged = EmbeddingSet.Empty(set.Model, set.ModelKey, set.SegmentSeconds);
                meta = ArtifactJson.Read<EmbeddingsMeta>(store.EmbeddingsMetaFile);
            }
            else if (!Nullable.Equals(set.SegmentSeconds, merged.SegmentSeconds) && set.Rows.Any(r => r.Segments.Count > 0))
                throw new MessException(MessErrorIds.ShardSegmentMismatch, MessErrorKind.InvalidData,
                    $"{s.Manifest} ('{s.Folder}') has segments of {set.SegmentSeconds} s but {first.Manifest} of {merged.SegmentSeconds} s.", s.Folder);
            npy |= File.Exists(Path.Combine(store.EmbeddingsDir, EmbeddingSet.NpyFileName));
            foreach (var row in set.Rows) merged.Put(row);
        }
        // the meta of one process: the model's description as the shard wrote it; count, dim and hashes are recomputed
        merged!.Save(target, meta!, npy, beforeWrite);

        var records = new List<string>();
        foreach (var s in check.Shards)
        {
            string runs = Path.Combine(s.Folder, "runs");
            if (!Directory.Exists(runs)) continue;
            foreach (var f in Directory.EnumerateFiles(runs, "*.json").OrderBy(f => f, StringComparer.Ordinal))
            {
                string dest = SafePath.Combine(target.RunsDir, ShardSpec.ShardsFolderName, s.Manifest.Spec.FolderName, Path.GetFileName(f));
                AtomicFile.Write(dest, o => { using var src = File.OpenRead(f); src.CopyTo(o); });
                records.Add(Path.GetRelativePath(target.Root, dest).Replace('\\', '/'));
            }
        }
        return new ShardMergeResult
        {
            ArtifactPath = target.Root, Shards = check.Shards.Count, Rows = merged.Count, Dimension = merged.Dimension,
            Model = merged.Model, Failed = failed, RunRecords = records,
        };
    }

    /// <summary>
    /// The shard folders among <paramref name="paths"/>: a folder with a shard manifest is one; a folder without
    /// one that holds &lt;i&gt;-of-&lt;n&gt; subfolders (a shards/ folder) stands for those.
    /// </summary>
    public static IEnumerable<string> ExpandFolders(IEnumerable<string> paths)
    {
        var result = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var p in paths.Select(Path.GetFullPath))
        {
            if (!File.Exists(ShardManifest.PathIn(p)) && Directory.Exists(p))
            {
                var subs = Directory.EnumerateDirectories(p).Where(d => ShardSpec.ParseFolderName(Path.GetFileName(d)) is not null).ToList();
                if (subs.Count > 0) { result.UnionWith(subs); continue; }
            }
            result.Add(p);
        }
        return result;
    }

    private static string Short(string? s) => s is null ? "none" : s.Length > 12 ? s[..12] : s;
}
