using System.Globalization;
using System.Text.Json;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Text;
using RuntimeSentinel.Formats.Native;

namespace RuntimeSentinel.Formats;

/// <summary>Small, forgiving accessors over <see cref="JsonNode"/> for sensor formats, whose fields vary by version.</summary>
internal static class Json
{
    public static JsonNode? Get(this JsonNode e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public static JsonNode? Path(this JsonNode e, params ReadOnlySpan<string> names)
    {
        var cur = e;
        foreach (var n in names)
        {
            if (cur.Get(n) is not { } next)
            {
                return null;
            }

            cur = next;
        }

        return cur;
    }

    public static string? Str(this JsonNode e, params ReadOnlySpan<string> path)
    {
        var v = e.Path(path);
        return v?.ValueKind switch
        {
            JsonValueKind.String => NullIfEmpty(v.Value.GetString()),
            JsonValueKind.Number => v.Value.GetRawText(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => null,
        };
    }

    public static long? Long(this JsonNode e, params ReadOnlySpan<string> path)
    {
        var v = e.Path(path);
        if (v is not { } n)
        {
            return null;
        }

        if (n.TryGetInt64(out var l))
        {
            return l;
        }

        if (n.TryGetDouble(out var d) && Math.Abs(d) < 9e18)
        {
            return (long)d;
        }

        // protobuf-JSON writes 64-bit integers as strings.
        return n.TryParseInt64Text(out l) ? l : null;
    }

    public static int Int(this JsonNode e, params ReadOnlySpan<string> path)
    {
        var l = e.Long(path);
        return l is >= 0 and <= int.MaxValue ? (int)l.Value : -1;
    }

    public static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    /// <summary>RFC 3339 string, unix nanoseconds (number or string), or protobuf <c>{seconds, nanos}</c>.</summary>
    public static DateTimeOffset? Time(JsonNode? v)
    {
        if (v is not { } t)
        {
            return null;
        }

        switch (t.ValueKind)
        {
            case JsonValueKind.String:
                var quoted = t.Quoted;
                var span = t.Utf8;
                if (!quoted.IsEmpty && span.Length >= 20 && (span[^1] is (byte)'Z' or (byte)'z' || span[^6] is (byte)'+' or (byte)'-'))
                {
                    // With a zone, the JSON reader's ISO 8601 parser is exact and allocates nothing.
                    var reader = new Utf8JsonReader(quoted);
                    if (reader.Read() && reader.TryGetDateTimeOffset(out var iso))
                    {
                        return RoundedToTicks(span, iso).ToUniversalTime();
                    }
                }

                // Anything else (no zone, unix nanoseconds as text, escapes): the lenient path. Event times are unique,
                // so the text is not interned.
                return TimeFromText(span.IsEmpty ? null : System.Text.Encoding.UTF8.GetString(span));
            case JsonValueKind.Number:
                return t.TryGetInt64(out var n) ? FromNanos(n) : null;
            case JsonValueKind.Object:
                var sec = t.Long("seconds");
                return sec is null ? null : DateTimeOffset.UnixEpoch.AddSeconds(sec.Value).AddTicks((t.Long("nanos") ?? 0) / 100);
            default:
                return null;
        }
    }

    /// <summary>
    /// Sensors write nanoseconds; the reader's ISO parser truncates them to ticks where the lenient parse rounds: round
    /// the same way, so a time reads the same whichever path it takes.
    /// </summary>
    public static DateTimeOffset RoundedToTicks(ReadOnlySpan<byte> text, DateTimeOffset parsed)
    {
        var dot = text.IndexOf((byte)'.');
        var roundUp = dot > 0 && dot + 8 < text.Length && text[dot + 8] is >= (byte)'5' and <= (byte)'9' && text[(dot + 1)..(dot + 8)].IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0;
        return roundUp ? parsed.AddTicks(1) : parsed;
    }

    /// <summary>An RFC 3339 time (a zone-less one is UTC), or unix nanoseconds written as text.</summary>
    public static DateTimeOffset? TimeFromText(string? s)
    {
        if (DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var dto))
        {
            return dto;
        }

        return long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ns) ? FromNanos(ns) : null;
    }

    public static DateTimeOffset FromNanos(long ns) =>
        // Values below 1e12 are seconds or milliseconds from hand-written samples; treat by magnitude.
        ns switch
        {
            < 100_000_000_000 => DateTimeOffset.UnixEpoch.AddSeconds(ns),
            < 100_000_000_000_000 => DateTimeOffset.UnixEpoch.AddMilliseconds(ns),
            _ => DateTimeOffset.UnixEpoch.AddTicks(ns / 100),
        };

    public static DecodeStatus Reject(out RuntimeEvent evt, out DecodeError error, out string? note, DecodeErrorCode code, string field, string detail)
    {
        evt = default;
        note = null;
        error = new DecodeError(code, field, detail);
        return DecodeStatus.Rejected;
    }

    public static DecodeStatus Ignore(out RuntimeEvent evt, out DecodeError error, out string? note, string reason)
    {
        evt = default;
        error = default;
        note = reason;
        return DecodeStatus.Ignored;
    }

    public static DecodeStatus Accept(in RuntimeEvent e, out RuntimeEvent evt, out DecodeError error, out string? note)
    {
        evt = e;
        error = default;
        note = null;
        return DecodeStatus.Event;
    }

    /// <summary>Host processes have no container; they form one workload per node: <c>Host/&lt;node&gt;</c>.</summary>
    public static WorkloadRef Host(string? node) =>
        new(null, null, null, null, null, null, null, "Host", node ?? "unknown-node", LabelSet.Empty);

    /// <summary><c>repo@sha256:..</c> → (<c>repo</c>, <c>sha256:..</c>).</summary>
    public static (string? Image, string? Digest) SplitDigest(string? image)
    {
        if (image is null)
        {
            return (null, null);
        }

        var at = image.IndexOf('@');
        return at < 0 ? (image, null) : (image[..at], image[(at + 1)..]);
    }
}

/// <summary>
/// Reads a message onto a reused <see cref="JsonTape"/> (no document per message) and turns JSON errors into
/// rejections; what a sensor format decodes is checked against the native schema's rules.
/// </summary>
internal abstract class JsonTapeFormat : IEventFormat
{
    private readonly EventValidator _validator = new();

    protected JsonTapeFormat() => Tape = new JsonTape(Strings);

    public abstract string Name { get; }

    public int MaxMessageBytes { get; init; } = 1024 * 1024;

    /// <summary>Interned strings: a node repeats the same pods, binaries, rules and addresses.</summary>
    protected Utf8StringCache Strings { get; } = new(8192, 512);

    private JsonTape Tape { get; }

    /// <summary>Whether a string is an IP address, from the validator's cache (which checks the event's addresses again).</summary>
    protected bool IsIp(string? s) => _validator.IsIpAddress(s);

    public DecodeStatus Decode(ReadOnlySpan<byte> utf8, out RuntimeEvent evt, out DecodeError error, out string? note)
    {
        if (utf8.IsEmpty)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.Empty, "", "message has no bytes");
        }

        if (utf8.Length > MaxMessageBytes)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MessageTooLarge, "", $"{utf8.Length} bytes exceeds the {MaxMessageBytes}-byte limit");
        }

        try
        {
            Tape.Load(utf8);
        }
        catch (JsonException ex)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MalformedJson, "", $"invalid JSON at byte {ex.BytePositionInLine}");
        }

        var root = Tape.Root;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.NotAnObject, "", $"expected a JSON object, got {root.ValueKind}");
        }

        try
        {
            var status = Decode(root, out evt, out error, out note);
            if (status != DecodeStatus.Event)
            {
                return status;
            }

            // Whatever a sensor sent, what leaves here must be valid native schema v1 (sizes, addresses, ports,
            // labels, required fields): the native decoder's rules, checked on the event itself.
            return _validator.Validate(evt, out error) ? DecodeStatus.Event : Json.Reject(out evt, out error, out note, error.Code, error.Field, error.Detail);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException)
        {
            // A field with an unexpected JSON type deep in a sensor record.
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.WrongType, "", ex.Message);
        }
    }

    protected abstract DecodeStatus Decode(JsonNode root, out RuntimeEvent evt, out DecodeError error, out string? note);
}
