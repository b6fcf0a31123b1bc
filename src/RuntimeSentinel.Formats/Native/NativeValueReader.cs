using System.Buffers;
using System.Text.Json;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Text;

namespace RuntimeSentinel.Formats.Native;

/// <summary>
/// Reads and checks single values of a native event (timestamps, bounded strings, addresses, ports, counts,
/// directions): each either has the documented type and range or is rejected with its field named. Owns the string
/// and address intern caches, so repeated values cost no allocation. Not thread-safe (one per decoder).
/// </summary>
internal sealed class NativeValueReader
{
    private static readonly string InvalidIp = new('!', 1);

    private static readonly Utf8Factory<int, string> IpFactory = static (utf8, _) =>
    {
        var s = System.Text.Encoding.UTF8.GetString(utf8);
        return System.Net.IPAddress.TryParse(s, out var parsed) && parsed is not null ? s : InvalidIp;
    };

    private readonly Utf8StringCache _strings = new(8192, 512);
    private readonly Utf8InternCache<string> _ips = new(4096, 64);

    /// <summary>The intern cache for strings, shared with the label reader (label keys and values repeat as much).</summary>
    public Utf8StringCache Strings => _strings;

    public static bool ReadTimestamp(ref Utf8JsonReader reader, out DateTimeOffset ts, out DecodeError error)
    {
        ts = default;
        if (reader.TokenType == JsonTokenType.String)
        {
            if (!reader.TryGetDateTimeOffset(out ts))
            {
                error = new DecodeError(DecodeErrorCode.InvalidValue, "ts", $"'{NativeErrors.Truncate(reader.GetString())}' is not an RFC 3339 timestamp");
                return false;
            }
        }
        else if (reader.TokenType == JsonTokenType.Number)
        {
            // Sensors often emit unix nanoseconds; accept them as an integer.
            if (!reader.TryGetInt64(out var ns) || ns < 0)
            {
                error = new DecodeError(DecodeErrorCode.InvalidValue, "ts", "numeric timestamps must be non-negative integer unix nanoseconds");
                return false;
            }

            ts = DateTimeOffset.UnixEpoch.AddTicks(ns / 100);
        }
        else
        {
            error = NativeErrors.WrongType("ts", "RFC 3339 string or unix nanoseconds", reader.TokenType);
            return false;
        }

        error = default;
        return true;
    }

    public bool ReadString(ref Utf8JsonReader reader, string field, int maxBytes, out string? value, out DecodeError error)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            error = default;
            return true;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            error = NativeErrors.WrongType(field, "string", reader.TokenType);
            return false;
        }

        var span = reader.ValueSpan;
        if (span.Length > maxBytes)
        {
            error = new DecodeError(DecodeErrorCode.FieldTooLarge, field, $"{span.Length} bytes exceeds the {maxBytes}-byte limit");
            return false;
        }

        if (!reader.ValueIsEscaped)
        {
            value = _strings.Get(span);
            if (ReferenceEquals(value, Utf8StringCache.InvalidUtf8))
            {
                value = null;
                error = new DecodeError(DecodeErrorCode.MalformedJson, field, "string is not valid UTF-8");
                return false;
            }
        }
        else
        {
            // Escaped strings are rare (paths with quotes or non-ASCII written as \u); unescape into a pooled buffer.
            var rented = ArrayPool<byte>.Shared.Rent(span.Length);
            try
            {
                var n = reader.CopyString(rented);
                value = _strings.Get(rented.AsSpan(0, n));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        error = default;
        return true;
    }

    public bool ReadIp(ref Utf8JsonReader reader, string field, out string? value, out DecodeError error)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            error = default;
            return true;
        }

        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped || reader.ValueSpan.Length > 64)
        {
            // Addresses are plain ASCII; anything else is wrong (escaped or too long strings included).
            error = reader.TokenType != JsonTokenType.String
                ? NativeErrors.WrongType(field, "string", reader.TokenType)
                : new DecodeError(DecodeErrorCode.InvalidValue, field, $"'{NativeErrors.Truncate(reader.GetString())}' is not an IP address");
            return false;
        }

        // Parsed once per distinct address (IPAddress.TryParse allocates); repeats come from the cache.
        value = _ips.GetOrAdd(reader.ValueSpan, 0, IpFactory);
        if (ReferenceEquals(value, InvalidIp))
        {
            error = new DecodeError(DecodeErrorCode.InvalidValue, field, $"'{NativeErrors.Truncate(reader.GetString())}' is not an IP address");
            value = null;
            return false;
        }

        error = default;
        return true;
    }

    public static bool ReadPort(ref Utf8JsonReader reader, string field, out int port, out DecodeError error)
    {
        port = -1;
        if (reader.TokenType == JsonTokenType.Null)
        {
            error = default;
            return true;
        }

        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out port))
        {
            error = NativeErrors.WrongType(field, "integer", reader.TokenType);
            return false;
        }

        if (port is < 0 or > 65535)
        {
            error = new DecodeError(DecodeErrorCode.InvalidValue, field, $"{port} is outside 0-65535");
            port = -1;
            return false;
        }

        error = default;
        return true;
    }

    public static bool ReadNonNegativeInt(ref Utf8JsonReader reader, string field, out int value, out DecodeError error)
    {
        value = -1;
        if (reader.TokenType == JsonTokenType.Null)
        {
            error = default;
            return true;
        }

        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out value))
        {
            error = NativeErrors.WrongType(field, "integer", reader.TokenType);
            return false;
        }

        if (value < 0)
        {
            error = new DecodeError(DecodeErrorCode.InvalidValue, field, "must be >= 0");
            return false;
        }

        error = default;
        return true;
    }

    public static bool ReadNonNegativeLong(ref Utf8JsonReader reader, string field, out long value, out DecodeError error)
    {
        value = -1;
        if (reader.TokenType == JsonTokenType.Null)
        {
            error = default;
            return true;
        }

        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out value))
        {
            error = NativeErrors.WrongType(field, "integer", reader.TokenType);
            return false;
        }

        if (value < 0)
        {
            error = new DecodeError(DecodeErrorCode.InvalidValue, field, "must be >= 0");
            return false;
        }

        error = default;
        return true;
    }

    public static bool ReadDirection(ref Utf8JsonReader reader, out NetDirection direction, out DecodeError error)
    {
        direction = NetDirection.Unknown;
        error = default;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            error = NativeErrors.WrongType("net.direction", "string", reader.TokenType);
            return false;
        }

        if (reader.ValueTextEquals("outbound"u8))
        {
            direction = NetDirection.Outbound;
        }
        else if (reader.ValueTextEquals("inbound"u8))
        {
            direction = NetDirection.Inbound;
        }
        else if (!reader.ValueTextEquals("unknown"u8))
        {
            error = new DecodeError(DecodeErrorCode.InvalidValue, "net.direction", "must be outbound, inbound or unknown");
            return false;
        }

        return true;
    }
}
