using System.Globalization;
using System.Text.Json;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Formats.Native;

namespace RuntimeSentinel.Formats;

/// <summary>Small, forgiving accessors over <see cref="JsonElement"/> for sensor formats, whose fields vary by version.</summary>
internal static class Json
{
    public static JsonElement? Get(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public static JsonElement? Path(this JsonElement e, params string[] names)
    {
        JsonElement? cur = e;
        foreach (var n in names)
        {
            cur = cur?.Get(n);
            if (cur is null)
            {
                return null;
            }
        }

        return cur;
    }

    public static string? Str(this JsonElement e, params string[] path)
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

    public static long? Long(this JsonElement e, params string[] path)
    {
        var v = e.Path(path);
        if (v is null)
        {
            return null;
        }

        if (v.Value.ValueKind == JsonValueKind.Number && v.Value.TryGetInt64(out var l))
        {
            return l;
        }

        if (v.Value.ValueKind == JsonValueKind.Number && v.Value.TryGetDouble(out var d) && Math.Abs(d) < 9e18)
        {
            return (long)d;
        }

        // protobuf-JSON writes 64-bit integers as strings.
        return v.Value.ValueKind == JsonValueKind.String && long.TryParse(v.Value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out l) ? l : null;
    }

    public static int Int(this JsonElement e, params string[] path)
    {
        var l = e.Long(path);
        return l is >= 0 and <= int.MaxValue ? (int)l.Value : -1;
    }

    public static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    /// <summary>RFC 3339 string, unix nanoseconds (number or string), or protobuf <c>{seconds, nanos}</c>.</summary>
    public static DateTimeOffset? Time(JsonElement? v)
    {
        if (v is not { } t)
        {
            return null;
        }

        switch (t.ValueKind)
        {
            case JsonValueKind.String:
                return TimeFromText(t.GetString());
            case JsonValueKind.Number:
                return t.TryGetInt64(out var n) ? FromNanos(n) : null;
            case JsonValueKind.Object:
                var sec = t.Long("seconds");
                return sec is null ? null : DateTimeOffset.UnixEpoch.AddSeconds(sec.Value).AddTicks((t.Long("nanos") ?? 0) / 100);
            default:
                return null;
        }
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

/// <summary>Parses a message into a pooled <see cref="JsonDocument"/> and turns JSON errors into rejections.</summary>
internal abstract class JsonDocumentFormat : IEventFormat
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow };

    private readonly EventValidator _validator = new();

    public abstract string Name { get; }

    public int MaxMessageBytes { get; init; } = 1024 * 1024;

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

        JsonDocument doc;
        try
        {
            // JsonDocument rents its buffers from a pool; the copy is needed because it may outlive the span.
            doc = JsonDocument.Parse(utf8.ToArray(), Options);
        }
        catch (JsonException ex)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MalformedJson, "", $"invalid JSON at byte {ex.BytePositionInLine}");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Json.Reject(out evt, out error, out note, DecodeErrorCode.NotAnObject, "", $"expected a JSON object, got {doc.RootElement.ValueKind}");
            }

            try
            {
                var status = Decode(doc.RootElement, out evt, out error, out note);
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
    }

    protected abstract DecodeStatus Decode(JsonElement root, out RuntimeEvent evt, out DecodeError error, out string? note);
}
