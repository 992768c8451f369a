using System.Globalization;
using MessTools.Server.Artifacts;

namespace MessTools.Server.Api;

/// <summary>
/// Parsing and checking of every value a request carries. Values are looked up in the loaded snapshots only: no value
/// from a request ever becomes part of a file path.
/// </summary>
public static class RequestValues
{
    public const int MaxTrackIdLength = 512;

    /// <summary>The model a request names (?model=), or the only one loaded.</summary>
    public static bool TryModel(ArtifactCatalog catalog, string? model, out ModelSnapshot snapshot, out IResult? error)
    {
        snapshot = null!;
        error = null;
        string? name = string.IsNullOrWhiteSpace(model) ? null : model.Trim();
        if (name is null)
        {
            if (catalog.ModelNames.Count > 1)
            {
                error = Problems.BadRequest("ModelRequired", $"Several models are loaded; name one with ?model= ({string.Join(", ", catalog.ModelNames)}).",
                    new Dictionary<string, object?> { ["models"] = catalog.ModelNames });
                return false;
            }
            name = catalog.ModelNames[0];
        }
        else if (!catalog.ModelNames.Contains(name, StringComparer.Ordinal))
        {
            error = Problems.BadRequest("UnknownModel", $"No model '{Printable(name)}' is loaded; the models are {string.Join(", ", catalog.ModelNames)}.",
                new Dictionary<string, object?> { ["models"] = catalog.ModelNames });
            return false;
        }
        if (!catalog.TryGet(name, out snapshot))
        {
            error = Problems.Of(503, "NotReady", $"The model '{name}' is still loading or failed its checks; see /readyz.");
            return false;
        }
        return true;
    }

    /// <summary>A track id as it may appear in the catalogue: no path separators, no control characters, not . or .., not too long.</summary>
    public static IResult? CheckTrackId(string? id)
    {
        if (string.IsNullOrWhiteSpace(id)) return Problems.BadRequest("InvalidTrackId", "The track id is empty.");
        if (id.Length > MaxTrackIdLength) return Problems.BadRequest("InvalidTrackId", $"The track id is longer than {MaxTrackIdLength} characters.");
        if (id is "." or ".." || id.IndexOfAny(['/', '\\']) >= 0 || id.Any(char.IsControl))
            return Problems.BadRequest("InvalidTrackId", $"'{Printable(id)}' is not a track id: track ids hold no path separators, control characters or relative folder names.");
        return null;
    }

    public static bool TryInt(string? value, string name, int fallback, int min, int max, out int result, out IResult? error)
    {
        error = null;
        result = fallback;
        if (string.IsNullOrWhiteSpace(value)) return true;
        if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out result) || result < min || result > max)
        {
            error = Problems.BadRequest(name == "k" ? "KOutOfRange" : "InvalidParameter", $"{name} must be a whole number from {min} to {max}; got '{Printable(value)}'.");
            return false;
        }
        return true;
    }

    public static bool TryBool(string? value, string name, out bool result, out IResult? error)
    {
        error = null;
        result = false;
        if (string.IsNullOrWhiteSpace(value)) return true;
        if (bool.TryParse(value, out result)) return true;
        if (value is "1" or "0") { result = value == "1"; return true; }
        error = Problems.BadRequest("InvalidParameter", $"{name} must be true or false; got '{Printable(value)}'.");
        return false;
    }

    public static bool TryScore(string? value, out double? result, out IResult? error)
    {
        error = null;
        result = null;
        if (string.IsNullOrWhiteSpace(value)) return true;
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) && v >= -1 && v <= 1)
        {
            result = v;
            return true;
        }
        error = Problems.BadRequest("InvalidParameter", $"minScore must be a number from -1 to 1 (cosine similarity); got '{Printable(value)}'.");
        return false;
    }

    /// <summary>A value shown back in a message: control characters escaped, cut at 100 characters.</summary>
    public static string Printable(string value)
    {
        var s = new string(value.Take(100).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return value.Length > 100 ? s + "…" : s;
    }
}
