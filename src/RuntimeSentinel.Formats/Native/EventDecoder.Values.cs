using System.Buffers;
using System.Text.Json;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Text;

namespace RuntimeSentinel.Formats.Native;

/// <summary>Readers of resource samples, labels and single values (timestamps, bounded strings, addresses, ports, counts), and the error texts.</summary>
public sealed partial class EventDecoder
{
    private static bool ReadResource(ref Utf8JsonReader reader, out ResourceSample sample, out DecodeError error)
    {
        sample = ResourceSample.None;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = WrongType("resource", "object", reader.TokenType);
            return false;
        }

        double cpu = -1;
        long mem = -1, ioRead = -1, ioWrite = -1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool ok;
            if (reader.ValueTextEquals("cpu_cores"u8))
            {
                reader.Read();
                ok = reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out cpu);
                if (!ok)
                {
                    error = WrongType("resource.cpu_cores", "number", reader.TokenType);
                    return false;
                }

                if (cpu < 0 || !double.IsFinite(cpu))
                {
                    error = new DecodeError(DecodeErrorCode.InvalidValue, "resource.cpu_cores", "must be a finite number >= 0");
                    return false;
                }

                continue;
            }

            if (reader.ValueTextEquals("memory_bytes"u8)) { reader.Read(); ok = ReadNonNegativeLong(ref reader, "resource.memory_bytes", out mem, out error); }
            else if (reader.ValueTextEquals("io_read_bytes"u8)) { reader.Read(); ok = ReadNonNegativeLong(ref reader, "resource.io_read_bytes", out ioRead, out error); }
            else if (reader.ValueTextEquals("io_write_bytes"u8)) { reader.Read(); ok = ReadNonNegativeLong(ref reader, "resource.io_write_bytes", out ioWrite, out error); }
            else
            {
                reader.Read();
                reader.Skip();
                continue;
            }

            if (!ok)
            {
                return false;
            }
        }

        sample = new ResourceSample(cpu, mem, ioRead, ioWrite);
        error = default;
        return true;
    }

    private bool ReadLabels(ref Utf8JsonReader reader, ReadOnlySpan<byte> utf8, string field, out LabelSet labels, out DecodeError error)
    {
        labels = LabelSet.Empty;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = WrongType(field, "object of strings", reader.TokenType);
            return false;
        }

        // Intern by the object's raw bytes: one pod sends the same label object on every event.
        var start = (int)reader.TokenStartIndex;
        reader.Skip();
        var raw = utf8[start..((int)reader.TokenStartIndex + 1)];
        _labelError = null;
        labels = _labels.GetOrAdd(raw, this, LabelFactory);
        if (ReferenceEquals(labels, InvalidLabels))
        {
            if (_labelError is null)
            {
                // Cached rejection: parse again only to recover the message (rejections are the rare path).
                ParseLabelObject(raw);
            }

            var message = _labelError ?? "invalid labels";
            error = new DecodeError(message.StartsWith("too many", StringComparison.Ordinal) ? DecodeErrorCode.FieldTooLarge : DecodeErrorCode.WrongType, field, message);
            labels = LabelSet.Empty;
            return false;
        }

        error = default;
        return true;
    }

    private LabelSet ParseLabelObject(ReadOnlySpan<byte> raw)
    {
        var reader = new Utf8JsonReader(raw);
        reader.Read();
        List<KeyValuePair<string, string>>? items = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.ValueIsEscaped ? reader.GetString()! : _strings.Get(reader.ValueSpan);
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
            {
                _labelError = $"value of '{Truncate(key)}' must be a string, got {Describe(reader.TokenType)}";
                return InvalidLabels;
            }

            if (reader.ValueSpan.Length > _options.MaxStringBytes || key.Length > 317)
            {
                _labelError = $"too many bytes in label '{Truncate(key)}'";
                return InvalidLabels;
            }

            items ??= [];
            if (items.Count >= _options.MaxLabels)
            {
                _labelError = $"too many labels (limit {_options.MaxLabels})";
                return InvalidLabels;
            }

            var value = reader.ValueIsEscaped ? reader.GetString()! : _strings.Get(reader.ValueSpan);
            if (ReferenceEquals(key, Utf8StringCache.InvalidUtf8) || ReferenceEquals(value, Utf8StringCache.InvalidUtf8))
            {
                _labelError = "label is not valid UTF-8";
                return InvalidLabels;
            }

            items.Add(KeyValuePair.Create(key, value));
        }

        return items is null ? LabelSet.Empty : new LabelSet(items.ToArray());
    }

    private static bool ReadTimestamp(ref Utf8JsonReader reader, out DateTimeOffset ts, out DecodeError error)
    {
        ts = default;
        if (reader.TokenType == JsonTokenType.String)
        {
            if (!reader.TryGetDateTimeOffset(out ts))
            {
                error = new DecodeError(DecodeErrorCode.InvalidValue, "ts", $"'{Truncate(reader.GetString())}' is not an RFC 3339 timestamp");
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
            error = WrongType("ts", "RFC 3339 string or unix nanoseconds", reader.TokenType);
            return false;
        }

        error = default;
        return true;
    }

    private bool ReadString(ref Utf8JsonReader reader, string field, int maxBytes, out string? value, out DecodeError error)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            error = default;
            return true;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            error = WrongType(field, "string", reader.TokenType);
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

    private bool ReadIp(ref Utf8JsonReader reader, string field, out string? value, out DecodeError error)
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
                ? WrongType(field, "string", reader.TokenType)
                : new DecodeError(DecodeErrorCode.InvalidValue, field, $"'{Truncate(reader.GetString())}' is not an IP address");
            return false;
        }

        // Parsed once per distinct address (IPAddress.TryParse allocates); repeats come from the cache.
        value = _ips.GetOrAdd(reader.ValueSpan, 0, IpFactory);
        if (ReferenceEquals(value, InvalidIp))
        {
            error = new DecodeError(DecodeErrorCode.InvalidValue, field, $"'{Truncate(reader.GetString())}' is not an IP address");
            value = null;
            return false;
        }

        error = default;
        return true;
    }

    private static bool ReadPort(ref Utf8JsonReader reader, string field, out int port, out DecodeError error)
    {
        port = -1;
        if (reader.TokenType == JsonTokenType.Null)
        {
            error = default;
            return true;
        }

        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out port))
        {
            error = WrongType(field, "integer", reader.TokenType);
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

    private static bool ReadNonNegativeInt(ref Utf8JsonReader reader, string field, out int value, out DecodeError error)
    {
        value = -1;
        if (reader.TokenType == JsonTokenType.Null)
        {
            error = default;
            return true;
        }

        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out value))
        {
            error = WrongType(field, "integer", reader.TokenType);
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

    private static bool ReadNonNegativeLong(ref Utf8JsonReader reader, string field, out long value, out DecodeError error)
    {
        value = -1;
        if (reader.TokenType == JsonTokenType.Null)
        {
            error = default;
            return true;
        }

        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out value))
        {
            error = WrongType(field, "integer", reader.TokenType);
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

    private static DecodeError WrongType(string field, string expected, JsonTokenType got) =>
        new(DecodeErrorCode.WrongType, field, $"expected {expected}, got {Describe(got)}");

    private static string Describe(JsonTokenType t) => t switch
    {
        JsonTokenType.StartObject => "object",
        JsonTokenType.StartArray => "array",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.None => "nothing",
        _ => t.ToString(),
    };

    private static string Truncate(string? s) => s is null ? "" : s.Length <= 64 ? s : string.Concat(s.AsSpan(0, 61), "...");

    private static string FirstSentence(string message)
    {
        var i = message.IndexOf(". ", StringComparison.Ordinal);
        return i > 0 ? message[..i] : message.TrimEnd('.');
    }

    private static TopLevel TopField(ref Utf8JsonReader reader)
    {
        if (reader.ValueTextEquals("kind"u8)) return TopLevel.Kind;
        if (reader.ValueTextEquals("ts"u8)) return TopLevel.Ts;
        if (reader.ValueTextEquals("workload"u8)) return TopLevel.Workload;
        if (reader.ValueTextEquals("process"u8)) return TopLevel.Process;
        if (reader.ValueTextEquals("node"u8)) return TopLevel.Node;
        if (reader.ValueTextEquals("syscall"u8)) return TopLevel.Syscall;
        if (reader.ValueTextEquals("file"u8)) return TopLevel.File;
        if (reader.ValueTextEquals("net"u8)) return TopLevel.Net;
        if (reader.ValueTextEquals("dns"u8)) return TopLevel.Dns;
        if (reader.ValueTextEquals("resource"u8)) return TopLevel.Resource;
        if (reader.ValueTextEquals("labels"u8)) return TopLevel.Labels;
        if (reader.ValueTextEquals("schema"u8)) return TopLevel.Schema;
        return TopLevel.Unknown;
    }

    private static readonly string[] TopNames = ["", "schema", "kind", "ts", "node", "workload", "process", "syscall", "file", "net", "dns", "resource", "labels"];

    private enum TopLevel
    {
        Unknown,
        Schema,
        Kind,
        Ts,
        Node,
        Workload,
        Process,
        Syscall,
        File,
        Net,
        Dns,
        Resource,
        Labels,
    }
}
