using System.Text.Json;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Native;

/// <summary>
/// Strict decoder for native schema v1 events (docs/events.md) straight from UTF-8 bytes. Unknown fields are
/// skipped (forward compatibility); known fields must have the documented type and size, and each kind's
/// required fields must be present. Every rejection names the field and the reason.
/// Not thread-safe: it owns intern caches. Use one per consumer thread.
/// </summary>
public sealed class EventDecoder
{
    private static readonly string[] TopNames = ["", "schema", "kind", "ts", "node", "workload", "process", "syscall", "file", "net", "dns", "resource", "labels"];

    private readonly EventDecoderOptions _options;
    private readonly NativeValueReader _values = new();
    private readonly NativeLabelReader _labels;
    private readonly NativeSectionReader _sections;

    /// <summary>A decoder with the default limits.</summary>
    public EventDecoder()
        : this(null)
    {
    }

    internal EventDecoder(EventDecoderOptions? options)
    {
        _options = options ?? EventDecoderOptions.Default;
        _labels = new NativeLabelReader(_values.Strings, _options);
        _sections = new NativeSectionReader(_values, _labels, _options);
    }

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
            error = new DecodeError(DecodeErrorCode.MalformedJson, "", $"invalid JSON at byte {ex.BytePositionInLine}: {NativeErrors.FirstSentence(ex.Message)}");
            return false;
        }
        catch (InvalidOperationException ex)
        {
            // Utf8JsonReader throws this for e.g. invalid UTF-8 inside a string when it is transcoded.
            error = new DecodeError(DecodeErrorCode.MalformedJson, "", NativeErrors.FirstSentence(ex.Message));
            return false;
        }
    }

    private bool Parse(ReadOnlySpan<byte> utf8, out RuntimeEvent evt, out DecodeError error)
    {
        evt = default;
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 16, CommentHandling = JsonCommentHandling.Disallow });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            error = new DecodeError(DecodeErrorCode.NotAnObject, "", $"expected a JSON object, got {NativeErrors.Describe(reader.TokenType)}");
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
                        error = NativeErrors.WrongType("schema", "integer", reader.TokenType);
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
                        error = NativeErrors.WrongType("kind", "string", reader.TokenType);
                        return false;
                    }

                    if (!EventKindNames.TryParse(reader.ValueSpan, out kind))
                    {
                        error = new DecodeError(DecodeErrorCode.UnknownKind, "kind", $"'{NativeErrors.Truncate(reader.GetString())}' is not one of {string.Join(", ", EventKindNames.All)}");
                        return false;
                    }

                    haveKind = true;
                    break;
                case TopLevel.Ts:
                    if (!NativeValueReader.ReadTimestamp(ref reader, out ts, out error))
                    {
                        return false;
                    }

                    haveTs = true;
                    break;
                case TopLevel.Node:
                    if (!_values.ReadString(ref reader, "node", _options.MaxStringBytes, out node, out error))
                    {
                        return false;
                    }

                    break;
                case TopLevel.Workload:
                    if (!_sections.ReadWorkload(ref reader, utf8, out workload, out error))
                    {
                        return false;
                    }

                    haveWorkload = true;
                    break;
                case TopLevel.Process:
                    if (!_sections.ReadProcess(ref reader, out process, out error))
                    {
                        return false;
                    }

                    break;
                case TopLevel.Syscall:
                    if (!_sections.ReadSyscall(ref reader, out syscall, out ret, out error))
                    {
                        return false;
                    }

                    break;
                case TopLevel.File:
                    if (!_sections.ReadFile(ref reader, out path, out flags, out error))
                    {
                        return false;
                    }

                    break;
                case TopLevel.Net:
                    if (!_sections.ReadNet(ref reader, out net, out error))
                    {
                        return false;
                    }

                    break;
                case TopLevel.Dns:
                    if (!_sections.ReadDns(ref reader, out dnsName, out dnsAnswers, out error))
                    {
                        return false;
                    }

                    break;
                case TopLevel.Resource:
                    if (!NativeSectionReader.ReadResource(ref reader, out resource, out error))
                    {
                        return false;
                    }

                    break;
                case TopLevel.Labels:
                    if (!_labels.ReadLabels(ref reader, utf8, "labels", out labels, out error))
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
}
