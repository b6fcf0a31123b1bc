using System.Text.Json;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Text;

namespace RuntimeSentinel.Formats.Native;

/// <summary>
/// Strict decoder for native schema v1 events (docs/events.md) straight from UTF-8 bytes. Unknown fields are
/// skipped (forward compatibility); known fields must have the documented type and size, and each kind's
/// required fields must be present. Every rejection names the field and the reason.
/// Not thread-safe: it owns intern caches. Use one per consumer thread.
/// </summary>
public sealed partial class EventDecoder
{
    private static readonly string InvalidIp = new('!', 1);

    private static readonly Utf8Factory<int, string> IpFactory = static (utf8, _) =>
    {
        var s = System.Text.Encoding.UTF8.GetString(utf8);
        return System.Net.IPAddress.TryParse(s, out var parsed) && parsed is not null ? s : InvalidIp;
    };

    // Cached for label objects that were rejected, so the same bad bytes are rejected again on a cache hit.
    private static readonly LabelSet InvalidLabels = new([]);

    private static readonly Utf8Factory<EventDecoder, LabelSet> LabelFactory = static (utf8, self) => self.ParseLabelObject(utf8);

    private readonly EventDecoderOptions _options;
    private readonly Utf8StringCache _strings = new(8192, 512);
    private readonly Utf8InternCache<LabelSet> _labels = new(1024, 8192);
    private readonly Utf8InternCache<string> _ips = new(4096, 64);
    private string? _labelError;

    public EventDecoder(EventDecoderOptions? options = null) => _options = options ?? EventDecoderOptions.Default;

    public Utf8StringCache Strings => _strings;

    public bool TryDecode(ReadOnlySpan<byte> utf8, out RuntimeEvent evt, out DecodeError error)
    {
        evt = default;
        if (utf8.IsEmpty)
        {
            error = new DecodeError(DecodeErrorCode.Empty, "", "message has no bytes");
            return false;
        }

        if (utf8.Length > _options.MaxMessageBytes)
        {
            error = new DecodeError(DecodeErrorCode.MessageTooLarge, "", $"{utf8.Length} bytes exceeds the {_options.MaxMessageBytes}-byte limit");
            return false;
        }

        try
        {
            return Parse(utf8, out evt, out error);
        }
        catch (JsonException ex)
        {
            error = new DecodeError(DecodeErrorCode.MalformedJson, "", $"invalid JSON at byte {ex.BytePositionInLine}: {FirstSentence(ex.Message)}");
            return false;
        }
        catch (InvalidOperationException ex)
        {
            // Utf8JsonReader throws this for e.g. invalid UTF-8 inside a string when it is transcoded.
            error = new DecodeError(DecodeErrorCode.MalformedJson, "", FirstSentence(ex.Message));
            return false;
        }
    }

    private bool Parse(ReadOnlySpan<byte> utf8, out RuntimeEvent evt, out DecodeError error)
    {
        evt = default;
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 16, CommentHandling = JsonCommentHandling.Disallow });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            error = new DecodeError(DecodeErrorCode.NotAnObject, "", $"expected a JSON object, got {Describe(reader.TokenType)}");
            return false;
        }

        var kind = EventKind.Unknown;
        var haveKind = false;
        var haveTs = false;
        DateTimeOffset ts = default;
        string? node = null;
        WorkloadRef workload = default;
        var haveWorkload = false;
        var process = ProcessInfo.None;
        string? syscall = null;
        long? ret = null;
        string? path = null;
        string? flags = null;
        var net = NetInfo.None;
        string? dnsName = null;
        string? dnsAnswers = null;
        var resource = ResourceSample.None;
        var labels = LabelSet.Empty;
        var seen = 0;

        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                break;
            }

            var field = TopField(ref reader);
            reader.Read();
            if (field != TopLevel.Unknown)
            {
                var bit = 1 << (int)field;
                if ((seen & bit) != 0)
                {
                    error = new DecodeError(DecodeErrorCode.DuplicateField, TopNames[(int)field], "appears more than once");
                    return false;
                }

                seen |= bit;
            }

            if (reader.TokenType == JsonTokenType.Null && field != TopLevel.Unknown)
            {
                continue;
            }

            switch (field)
            {
                case TopLevel.Schema:
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var schema))
                    {
                        error = WrongType("schema", "integer", reader.TokenType);
                        return false;
                    }

                    if (schema != 1)
                    {
                        error = new DecodeError(DecodeErrorCode.UnsupportedSchema, "schema", $"version {schema} is not supported (this build reads 1)");
                        return false;
                    }

                    break;
                case TopLevel.Kind:
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        error = WrongType("kind", "string", reader.TokenType);
                        return false;
                    }

                    if (!EventKindNames.TryParse(reader.ValueSpan, out kind))
                    {
                        error = new DecodeError(DecodeErrorCode.UnknownKind, "kind", $"'{Truncate(reader.GetString())}' is not one of {string.Join(", ", EventKindNames.All)}");
                        return false;
                    }

                    haveKind = true;
                    break;
                case TopLevel.Ts:
                    if (!ReadTimestamp(ref reader, out ts, out error))
                    {
                        return false;
                    }

                    haveTs = true;
                    break;
                case TopLevel.Node:
                    if (!ReadString(ref reader, "node", _options.MaxStringBytes, out node, out error))
                    {
                        return false;
                    }

                    break;
                case TopLevel.Workload:
                    if (!ReadWorkload(ref reader, utf8, out workload, out error))
                    {
                        return false;
                    }

                    haveWorkload = true;
                    break;
                case TopLevel.Process:
                    if (!ReadProcess(ref reader, out process, out error))
                    {
                        return false;
                    }

                    break;
                case TopLevel.Syscall:
                    if (!ReadSyscall(ref reader, out syscall, out ret, out error))
                    {
                        return false;
                    }

                    break;
                case TopLevel.File:
                    if (!ReadFile(ref reader, out path, out flags, out error))
                    {
                        return false;
                    }

                    break;
                case TopLevel.Net:
                    if (!ReadNet(ref reader, out net, out error))
                    {
                        return false;
                    }

                    break;
                case TopLevel.Dns:
                    if (!ReadDns(ref reader, out dnsName, out dnsAnswers, out error))
                    {
                        return false;
                    }

                    break;
                case TopLevel.Resource:
                    if (!ReadResource(ref reader, out resource, out error))
                    {
                        return false;
                    }

                    break;
                case TopLevel.Labels:
                    if (!ReadLabels(ref reader, utf8, "labels", out labels, out error))
                    {
                        return false;
                    }

                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        if (!haveKind)
        {
            error = new DecodeError(DecodeErrorCode.MissingField, "kind", "required");
            return false;
        }

        if (!haveTs)
        {
            error = new DecodeError(DecodeErrorCode.MissingField, "ts", "required");
            return false;
        }

        if (!haveWorkload)
        {
            error = new DecodeError(DecodeErrorCode.MissingField, "workload", "required");
            return false;
        }

        if (!RequiredFields.Identifies(workload))
        {
            error = new DecodeError(DecodeErrorCode.MissingField, "workload", "needs at least one of pod, container_id, image or owner_name");
            return false;
        }

        evt = new RuntimeEvent
        {
            Kind = kind,
            Timestamp = ts,
            Node = node,
            Workload = workload,
            Process = process,
            SyscallName = syscall,
            ReturnCode = ret,
            FilePath = path,
            FileFlags = flags,
            Net = net,
            DnsName = dnsName,
            DnsAnswers = dnsAnswers,
            Resource = resource,
            Labels = labels,
        };
        if (RequiredFields.Missing(evt) is { } missing)
        {
            evt = default;
            error = new DecodeError(DecodeErrorCode.MissingField, missing, $"required for {kind.ToWire()}");
            return false;
        }

        error = default;
        return true;
    }
}
