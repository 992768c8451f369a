using System.Collections;
using System.Globalization;
using System.Text;

namespace MessTools.Core.Catalog;

/// <summary>
/// Turns any value an ADO.NET reader returns (SQLite, PostgreSQL) into catalogue text, or says why it cannot be text.
/// Never the .NET type name: a BLOB/bytea (byte[]) becomes its text when it is valid UTF-8 and is refused otherwise;
/// numbers, dates and Guids use invariant, round-trippable forms; arrays, composites and anything else whose
/// ToString() is only its type name are refused.
/// </summary>
public static class DbValueText
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The value as text, or null with <paramref name="problem"/> saying why it is not text.</summary>
    public static string? ToText(object value, out string? problem)
    {
        problem = null;
        switch (value)
        {
            case string s: return s;
            case DBNull: return null;
            case byte[] bytes:
                try
                {
                    ReadOnlySpan<byte> span = bytes;
                    if (span.StartsWith(Encoding.UTF8.Preamble)) span = span[3..];
                    return StrictUtf8.GetString(span);
                }
                catch (DecoderFallbackException)
                {
                    problem = $"it holds binary data (a BLOB or bytea of {bytes.Length} bytes) that is not UTF-8 text";
                    return null;
                }
            case char[] chars: return new string(chars);
            case char c: return c.ToString();
            case bool b: return b ? "true" : "false";
            case double d: return d.ToString("R", CultureInfo.InvariantCulture);
            case float f: return f.ToString("R", CultureInfo.InvariantCulture);
            case DateTime dt: return dt.ToString("O", CultureInfo.InvariantCulture);
            case DateTimeOffset dto: return dto.ToString("O", CultureInfo.InvariantCulture);
            case DateOnly date: return date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            case TimeOnly time: return time.ToString("O", CultureInfo.InvariantCulture);
            case TimeSpan ts: return ts.ToString("c", CultureInfo.InvariantCulture);
            case Guid g: return g.ToString("D");
            case Enum e: return e.ToString();
            case IFormattable formattable when value.GetType().IsPrimitive || value is decimal || value is System.Numerics.BigInteger:
                return formattable.ToString(null, CultureInfo.InvariantCulture);
            case IEnumerable:
                problem = $"it holds a {Describe(value)}, not a single text value";
                return null;
        }
        string? text = value is IFormattable f2 ? f2.ToString(null, CultureInfo.InvariantCulture) : value.ToString();
        if (text is null || text == value.GetType().ToString() || text == value.GetType().FullName)
        {
            problem = $"it holds a {Describe(value)}, which has no text form";
            return null;
        }
        return text;
    }

    private static string Describe(object value) =>
        value is Array a ? $"{value.GetType().GetElementType()?.Name} array of {a.Length} values" : $"value of type {value.GetType().Name}";
}
