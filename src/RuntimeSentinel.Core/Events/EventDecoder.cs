using System.Buffers;
using System.Text.Json;
using RuntimeSentinel.Core.Text;

namespace RuntimeSentinel.Core.Events;

/// <summary>
/// Strict decoder for native schema v1 events (docs/events.md) straight from UTF-8 bytes. Unknown fields are
/// skipped (forward compatibility); known fields must have the documented type and size, and each kind's
/// required fields must be present. Every rejection names the field and the reason.
/// Not thread-safe: it owns intern caches. Use one per consumer thread.
/// </summary>
public sealed class EventDecoder
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
        var haveResource = false;
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

                    haveResource = true;
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

        if (workload.Pod is null && workload.ContainerId is null && workload.Image is null && workload.OwnerName is null)
        {
            error = new DecodeError(DecodeErrorCode.MissingField, "workload", "needs at least one of pod, container_id, image or owner_name");
            return false;
        }

        var missing = kind switch
        {
            EventKind.ProcessExec when process.Exe is null => "process.exe",
            EventKind.ProcessExit when process.Pid < 0 && process.Exe is null => "process.pid",
            EventKind.FileOpen when path is null => "file.path",
            EventKind.Syscall when syscall is null => "syscall.name",
            EventKind.NetConnect when net.RemoteIp is null => "net.remote_ip",
            EventKind.NetConnect when net.RemotePort < 0 => "net.remote_port",
            EventKind.NetAccept when net.LocalPort < 0 => "net.local_port",
            EventKind.NetListen when net.LocalPort < 0 => "net.local_port",
            EventKind.NetFlow when net.RemoteIp is null => "net.remote_ip",
            EventKind.SensorAlert when labels[EventLabels.SensorRule] is null => "labels.sensor.rule",
            EventKind.DnsQuery when dnsName is null => "dns.name",
            EventKind.ResourceUsage when !haveResource || (resource.CpuCores < 0 && resource.MemoryBytes < 0) => "resource.cpu_cores",
            _ => null,
        };
        if (missing is not null)
        {
            error = new DecodeError(DecodeErrorCode.MissingField, missing, $"required for {kind.ToWire()}");
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
        error = default;
        return true;
    }

    private bool ReadWorkload(ref Utf8JsonReader reader, ReadOnlySpan<byte> utf8, out WorkloadRef workload, out DecodeError error)
    {
        workload = default;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = WrongType("workload", "object", reader.TokenType);
            return false;
        }

        string? cluster = null, ns = null, pod = null, container = null, containerId = null, image = null, digest = null, ownerKind = null, ownerName = null;
        var labels = LabelSet.Empty;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            ref string? target = ref cluster;
            string name;
            if (reader.ValueTextEquals("cluster"u8)) { name = "workload.cluster"; target = ref cluster; }
            else if (reader.ValueTextEquals("namespace"u8)) { name = "workload.namespace"; target = ref ns; }
            else if (reader.ValueTextEquals("pod"u8)) { name = "workload.pod"; target = ref pod; }
            else if (reader.ValueTextEquals("container"u8)) { name = "workload.container"; target = ref container; }
            else if (reader.ValueTextEquals("container_id"u8)) { name = "workload.container_id"; target = ref containerId; }
            else if (reader.ValueTextEquals("image"u8)) { name = "workload.image"; target = ref image; }
            else if (reader.ValueTextEquals("image_digest"u8)) { name = "workload.image_digest"; target = ref digest; }
            else if (reader.ValueTextEquals("owner_kind"u8)) { name = "workload.owner_kind"; target = ref ownerKind; }
            else if (reader.ValueTextEquals("owner_name"u8)) { name = "workload.owner_name"; target = ref ownerName; }
            else if (reader.ValueTextEquals("labels"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Null && !ReadLabels(ref reader, utf8, "workload.labels", out labels, out error))
                {
                    return false;
                }

                continue;
            }
            else
            {
                reader.Read();
                reader.Skip();
                continue;
            }

            reader.Read();
            if (!ReadString(ref reader, name, _options.MaxStringBytes, out target, out error))
            {
                return false;
            }
        }

        workload = new WorkloadRef(cluster, ns, pod, container, containerId, image, digest, ownerKind, ownerName, labels);
        error = default;
        return true;
    }

    private bool ReadProcess(ref Utf8JsonReader reader, out ProcessInfo process, out DecodeError error)
    {
        process = ProcessInfo.None;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = WrongType("process", "object", reader.TokenType);
            return false;
        }

        int pid = -1, ppid = -1, uid = -1;
        string? exe = null, args = null, parentExe = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("pid"u8))
            {
                reader.Read();
                if (!ReadNonNegativeInt(ref reader, "process.pid", out pid, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("ppid"u8))
            {
                reader.Read();
                if (!ReadNonNegativeInt(ref reader, "process.ppid", out ppid, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("uid"u8))
            {
                reader.Read();
                if (!ReadNonNegativeInt(ref reader, "process.uid", out uid, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("exe"u8))
            {
                reader.Read();
                if (!ReadString(ref reader, "process.exe", _options.MaxStringBytes, out exe, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("args"u8))
            {
                reader.Read();
                if (!ReadString(ref reader, "process.args", _options.MaxArgsBytes, out args, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("parent_exe"u8))
            {
                reader.Read();
                if (!ReadString(ref reader, "process.parent_exe", _options.MaxStringBytes, out parentExe, out error))
                {
                    return false;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        process = new ProcessInfo(pid, ppid, uid, exe, args, parentExe);
        error = default;
        return true;
    }

    private bool ReadSyscall(ref Utf8JsonReader reader, out string? name, out long? ret, out DecodeError error)
    {
        name = null;
        ret = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = WrongType("syscall", "object", reader.TokenType);
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                if (!ReadString(ref reader, "syscall.name", 64, out name, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("ret"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var r))
                {
                    error = WrongType("syscall.ret", "integer", reader.TokenType);
                    return false;
                }

                ret = r;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        error = default;
        return true;
    }

    private bool ReadFile(ref Utf8JsonReader reader, out string? path, out string? flags, out DecodeError error)
    {
        path = null;
        flags = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = WrongType("file", "object", reader.TokenType);
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("path"u8))
            {
                reader.Read();
                if (!ReadString(ref reader, "file.path", _options.MaxStringBytes, out path, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("flags"u8))
            {
                reader.Read();
                if (!ReadString(ref reader, "file.flags", 256, out flags, out error))
                {
                    return false;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        error = default;
        return true;
    }

    private bool ReadNet(ref Utf8JsonReader reader, out NetInfo net, out DecodeError error)
    {
        net = NetInfo.None;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = WrongType("net", "object", reader.TokenType);
            return false;
        }

        string? protocol = null, localIp = null, remoteIp = null;
        int localPort = -1, remotePort = -1;
        long bytesIn = 0, bytesOut = 0;
        var direction = NetDirection.Unknown;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool ok;
            if (reader.ValueTextEquals("protocol"u8)) { reader.Read(); ok = ReadString(ref reader, "net.protocol", 16, out protocol, out error); }
            else if (reader.ValueTextEquals("local_ip"u8)) { reader.Read(); ok = ReadIp(ref reader, "net.local_ip", out localIp, out error); }
            else if (reader.ValueTextEquals("remote_ip"u8)) { reader.Read(); ok = ReadIp(ref reader, "net.remote_ip", out remoteIp, out error); }
            else if (reader.ValueTextEquals("local_port"u8)) { reader.Read(); ok = ReadPort(ref reader, "net.local_port", out localPort, out error); }
            else if (reader.ValueTextEquals("remote_port"u8)) { reader.Read(); ok = ReadPort(ref reader, "net.remote_port", out remotePort, out error); }
            else if (reader.ValueTextEquals("bytes_in"u8)) { reader.Read(); ok = ReadNonNegativeLong(ref reader, "net.bytes_in", out bytesIn, out error); }
            else if (reader.ValueTextEquals("bytes_out"u8)) { reader.Read(); ok = ReadNonNegativeLong(ref reader, "net.bytes_out", out bytesOut, out error); }
            else if (reader.ValueTextEquals("direction"u8)) { reader.Read(); ok = ReadDirection(ref reader, out direction, out error); }
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

        net = new NetInfo(protocol, localIp, localPort, remoteIp, remotePort, bytesIn, bytesOut) { Direction = direction };
        error = default;
        return true;
    }

    private static bool ReadDirection(ref Utf8JsonReader reader, out NetDirection direction, out DecodeError error)
    {
        direction = NetDirection.Unknown;
        error = default;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            error = WrongType("net.direction", "string", reader.TokenType);
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

    private bool ReadDns(ref Utf8JsonReader reader, out string? name, out string? answers, out DecodeError error)
    {
        name = null;
        answers = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = WrongType("dns", "object", reader.TokenType);
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                // 253 is the longest valid DNS name; allow a trailing dot.
                if (!ReadString(ref reader, "dns.name", 254, out name, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("answers"u8))
            {
                reader.Read();
                if (!ReadAnswers(ref reader, out answers, out error))
                {
                    return false;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        error = default;
        return true;
    }

    /// <summary>An array of up to 16 IP strings, kept as one comma-separated string (only DNS responses carry it).</summary>
    private bool ReadAnswers(ref Utf8JsonReader reader, out string? answers, out DecodeError error)
    {
        answers = null;
        error = default;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            error = WrongType("dns.answers", "array", reader.TokenType);
            return false;
        }

        var list = new List<string>(4);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (!ReadIp(ref reader, "dns.answers", out var ip, out error))
            {
                return false;
            }

            if (ip is null || list.Count >= 16)
            {
                continue;
            }

            list.Add(ip);
        }

        answers = list.Count == 0 ? null : string.Join(',', list);
        return true;
    }

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
