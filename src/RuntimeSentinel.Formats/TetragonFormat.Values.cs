using System.Buffers.Text;
using System.Text.Json;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats;

/// <summary>
/// Values as Tetragon writes them, read forgivingly (fields vary by version): strings interned, numbers from numbers or
/// protobuf-JSON's numeric strings, times in any of the three forms it uses. A value of another type reads as absent.
/// </summary>
internal sealed partial class TetragonFormat
{
    /// <summary>A string field of an object (null when the value is not an object or lacks it).</summary>
    private string? ObjectField(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
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
    private static long? Field(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
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
    private string? Str(ref Utf8JsonReader reader)
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
    private static long? Long(ref Utf8JsonReader reader)
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

    private static int Int(ref Utf8JsonReader reader) => Long(ref reader) is >= 0 and <= int.MaxValue and var l ? (int)l : -1;

    /// <summary>A protobuf UInt32Value: the bare number protojson writes, or <c>{"value": n}</c> from Go's encoding/json.</summary>
    private static int UInt32Value(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.StartObject ? Field(ref reader, "value"u8) is >= 0 and <= int.MaxValue and var l ? (int)l : -1 : Int(ref reader);

    /// <summary>The first string of an array (the rest skipped); null for anything else.</summary>
    private string? FirstString(ref Utf8JsonReader reader)
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
    private static DateTimeOffset? Time(ref Utf8JsonReader reader)
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

    /// <summary>Cilium identity labels of a pod (<c>k8s:key=value</c>, the pod's own, at most 64), built once per distinct list.</summary>
    private LabelSet ParseIdentityLabels(ReadOnlySpan<byte> raw)
    {
        var reader = new Utf8JsonReader(raw, ReaderOptions);
        reader.Read();
        var items = new List<KeyValuePair<string, string>>();
        while (items.Count < 64 && reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var label = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            reader.Skip();
            var eq = label?.IndexOf('=') ?? -1;
            if (label is not null && label.StartsWith("k8s:", StringComparison.Ordinal) && !label.StartsWith("k8s:io.cilium.", StringComparison.Ordinal)
                && !label.StartsWith("k8s:io.kubernetes.pod.namespace", StringComparison.Ordinal) && eq > 4)
            {
                items.Add(KeyValuePair.Create(label[4..eq], label[(eq + 1)..]));
            }
        }

        return items.Count == 0 ? LabelSet.Empty : new LabelSet([.. items]);
    }

    /// <summary>A list of addresses (at most 16 valid ones), comma-separated.</summary>
    private string ParseAddresses(ReadOnlySpan<byte> raw)
    {
        var reader = new Utf8JsonReader(raw, ReaderOptions);
        reader.Read();
        var valid = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var ip = reader.TokenType == JsonTokenType.String ? Str(ref reader) : null;
            reader.Skip();
            if (ip is not null && valid.Count < 16 && System.Net.IPAddress.TryParse(ip, out _))
            {
                valid.Add(ip);
            }
        }

        return string.Join(',', valid);
    }

    /// <summary>A pod's labels (at most 64; values as text whatever their JSON type), built once per distinct object.</summary>
    private LabelSet ParsePodLabels(ReadOnlySpan<byte> raw)
    {
        var reader = new Utf8JsonReader(raw, ReaderOptions);
        reader.Read();
        var items = new List<KeyValuePair<string, string>>();
        while (items.Count < 64 && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.ValueIsEscaped ? reader.GetString()! : _strings.Get(reader.ValueSpan);
            reader.Read();
            string value;
            if (reader.TokenType == JsonTokenType.String)
            {
                value = reader.ValueIsEscaped ? reader.GetString()! : _strings.Get(reader.ValueSpan);
            }
            else
            {
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                value = System.Text.Encoding.UTF8.GetString(raw[start..(int)reader.BytesConsumed]);
            }

            items.Add(KeyValuePair.Create(key, value));
        }

        return items.Count == 0 ? LabelSet.Empty : new LabelSet([.. items]);
    }
}
