using System.Buffers.Text;
using System.Text.Json;
using RuntimeSentinel.Core.Text;

namespace RuntimeSentinel.Formats.Tetragon;

/// <summary>
/// Reads single values as Tetragon writes them, forgivingly (fields vary by version): strings interned, numbers from
/// numbers or protobuf-JSON's numeric strings, times in any of the three forms it uses. A value of another type reads
/// as absent. Owns the string intern cache (a node repeats the same pods, binaries and functions), so it is one per
/// decoder, not thread-safe.
/// </summary>
internal sealed class TetragonValues
{
    public static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow };

    private readonly Utf8StringCache _strings = new(8192, 512);

    /// <summary>Unescaped UTF-8 text as a string from the intern cache.</summary>
    public string Intern(ReadOnlySpan<byte> utf8) => _strings.Get(utf8);

    /// <summary>A string field of an object (null when the value is not an object or lacks it).</summary>
    public string? ObjectField(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        string? value = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var match = reader.ValueTextEquals(name);
            reader.Read();
            if (match)
            {
                value = Str(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        return value;
    }

    /// <summary>A number field of an object the reader is at.</summary>
    public static long? Field(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        long? value = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var match = reader.ValueTextEquals(name);
            reader.Read();
            if (match)
            {
                value = Long(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        return value;
    }

    /// <summary>A string (empty is absent), a number's text or a boolean; null for anything else (skipped).</summary>
    public string? Str(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                if (reader.ValueSpan.IsEmpty)
                {
                    return null;
                }

                return reader.ValueIsEscaped ? Json.NullIfEmpty(_strings.Get(System.Text.Encoding.UTF8.GetBytes(reader.GetString()!))) : _strings.Get(reader.ValueSpan);
            case JsonTokenType.Number:
                return _strings.Get(reader.ValueSpan);
            case JsonTokenType.True:
                return "true";
            case JsonTokenType.False:
                return "false";
            default:
                reader.Skip();
                return null;
        }
    }

    /// <summary>An integer from a number (or a float within range) or a numeric string (protobuf-JSON's 64-bit integers).</summary>
    public static long? Long(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                if (reader.TryGetInt64(out var l))
                {
                    return l;
                }

                return reader.TryGetDouble(out var d) && Math.Abs(d) < 9e18 ? (long)d : null;
            case JsonTokenType.String:
                var span = reader.ValueSpan;
                return !reader.ValueIsEscaped && Utf8Parser.TryParse(span, out long s, out var used) && used == span.Length ? s : null;
            default:
                reader.Skip();
                return null;
        }
    }

    public static int Int(ref Utf8JsonReader reader) => Long(ref reader) is >= 0 and <= int.MaxValue and var l ? (int)l : -1;

    /// <summary>A protobuf UInt32Value: the bare number protojson writes, or <c>{"value": n}</c> from Go's encoding/json.</summary>
    public static int UInt32Value(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.StartObject ? Field(ref reader, "value"u8) is >= 0 and <= int.MaxValue and var l ? (int)l : -1 : Int(ref reader);

    /// <summary>The first string of an array (the rest skipped); null for anything else.</summary>
    public string? FirstString(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return null;
        }

        string? first = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            first ??= Str(ref reader);
            reader.Skip();
        }

        return first;
    }

    /// <summary>RFC 3339 string, unix nanoseconds (number or string), or protobuf <c>{seconds, nanos}</c>.</summary>
    public static DateTimeOffset? Time(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                var span = reader.ValueSpan;
                // With a zone (Z or ±hh:mm) the reader's own ISO 8601 parser is exact; anything else takes the lenient path.
                if (!reader.ValueIsEscaped && span.Length >= 20 && (span[^1] is (byte)'Z' or (byte)'z' || span[^6] is (byte)'+' or (byte)'-') && reader.TryGetDateTimeOffset(out var iso))
                {
                    return Json.RoundedToTicks(span, iso).ToUniversalTime();
                }

                return Json.TimeFromText(reader.GetString());
            case JsonTokenType.Number:
                return reader.TryGetInt64(out var n) ? Json.FromNanos(n) : null;
            case JsonTokenType.StartObject:
                long? seconds = null, nanos = null;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("seconds"u8)) { reader.Read(); seconds = Long(ref reader); }
                    else if (reader.ValueTextEquals("nanos"u8)) { reader.Read(); nanos = Long(ref reader); }
                    else { reader.Read(); reader.Skip(); }
                }

                return seconds is null ? null : DateTimeOffset.UnixEpoch.AddSeconds(seconds.Value).AddTicks((nanos ?? 0) / 100);
            default:
                reader.Skip();
                return null;
        }
    }
}
