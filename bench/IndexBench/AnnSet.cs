using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

/// <summary>
/// What Ann and USearchPeer share (linked into both): the command line `MODE N D [--name value ...]`, the vector files of
/// /work/shared/bench/ann_anchor.py (/tmp/ann_N_D.f32, /tmp/ann_N_D_q.f32, the ground truth /tmp/ann_N_D_gt.i32) and
/// the one-JSON-line-per-figure output that paired.py reads.
/// </summary>
internal sealed class AnnSet
{
    private readonly string[] _args;
    public string Mode { get; }
    public int N { get; }
    public int D { get; }
    public string DataFile => $"/tmp/ann_{N}_{D}.f32";
    public string QueryFile => $"/tmp/ann_{N}_{D}_q.f32";
    public string GroundTruthFile => $"/tmp/ann_{N}_{D}_gt.i32";

    private AnnSet(string[] args)
    {
        _args = args;
        Mode = args[0];
        N = int.Parse(args[1], CultureInfo.InvariantCulture);
        D = int.Parse(args[2], CultureInfo.InvariantCulture);
    }

    /// <summary>The parsed command line, or null (after saying why on stderr) when it is short or the vector files are missing.</summary>
    public static AnnSet? Parse(string[] args, string usage)
    {
        if (args.Length < 3) { Console.Error.WriteLine("usage: " + usage); return null; }
        var set = new AnnSet(args);
        if (File.Exists(set.DataFile) && File.Exists(set.QueryFile)) return set;
        Console.Error.WriteLine($"Missing {set.DataFile} / {set.QueryFile}: run /usr/bin/python3 /work/shared/bench/ann_anchor.py {set.N} {set.D} first.");
        return null;
    }

    public string? Opt(string name)
    {
        int i = Array.IndexOf(_args, "--" + name);
        return i >= 0 && i + 1 < _args.Length ? _args[i + 1] : null;
    }

    public int IntOpt(string name, int fallback) => Opt(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public IEnumerable<int> EfList() => (Opt("ef") ?? "10,20,40,80,160").Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture));

    public static float[] ReadF32(string path) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();

    public static void Emit(object figure) => Console.WriteLine(JsonSerializer.Serialize(figure));
}
