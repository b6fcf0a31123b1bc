using System.Text.Json;
using RuntimeSentinel.Core.Text;

namespace RuntimeSentinel.Formats.Tetragon;

/// <summary>
/// One pass over a Tetragon message with <see cref="Utf8JsonReader"/>: the fields the decoder uses are gathered into a
/// <see cref="TetragonRecord"/> in whatever order they come, everything else is skipped. No document is built. The
/// envelope, the processes and their pods are read here; probe arguments by <see cref="TetragonArgumentReader"/>,
/// values by <see cref="TetragonValues"/>. Not thread-safe (its collaborators own intern caches).
/// </summary>
internal sealed class TetragonRecordReader
{
    /// <summary>The event types: the single top-level key that names a Tetragon message.</summary>
    public static readonly string[] Types = ["process_exec", "process_exit", "process_kprobe", "process_tracepoint", "process_uprobe", "process_lsm", "process_connect", "process_close", "process_listen", "process_dns", "process_throttle", "process_loader"];

    private static readonly byte[][] Utf8Types = Array.ConvertAll(Types, System.Text.Encoding.UTF8.GetBytes);

    private static readonly Utf8Factory<TetragonValues, string> AddressesFactory = static (utf8, values) => ParseAddresses(utf8, values);

    private readonly TetragonValues _values = new();
    private readonly Utf8InternCache<string> _dnsAnswers = new(1024, BoundedCache<string, string>.MaxKeyLength);
    private readonly TetragonPodLabels _podLabels;
    private readonly TetragonArgumentReader _arguments;

    public TetragonRecordReader()
    {
        _podLabels = new TetragonPodLabels(_values);
        _arguments = new TetragonArgumentReader(_values);
    }

    /// <summary>The index in <see cref="Types"/> of a raw (unescaped) UTF-8 key, or -1.</summary>
    public static int IndexOfType(ReadOnlySpan<byte> name)
    {
        for (var i = 0; i < Utf8Types.Length; i++)
        {
            if (name.SequenceEqual(Utf8Types[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Reads the message's object, the reader at its start; returns at its end (the caller checks nothing follows).</summary>
    public void Read(ref Utf8JsonReader reader, ReadOnlySpan<byte> message, ref TetragonRecord r)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (r.Type is null && !reader.ValueIsEscaped && reader.ValueSpan.StartsWith("process_"u8) && IndexOfType(reader.ValueSpan) >= 0)
            {
                r.Type = Types[IndexOfType(reader.ValueSpan)];
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    r.HasBody = true;
                    ReadBody(ref reader, message, ref r);
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("node_name"u8))
            {
                reader.Read();
                r.Node = _values.Str(ref reader);
            }
            else if (reader.ValueTextEquals("time"u8))
            {
                reader.Read();
                r.Time = TetragonValues.Time(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private void ReadBody(ref Utf8JsonReader reader, ReadOnlySpan<byte> message, ref TetragonRecord r)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("process"u8)) { reader.Read(); ReadProcess(ref reader, message, ref r.Process); }
            else if (reader.ValueTextEquals("parent"u8)) { reader.Read(); ReadProcess(ref reader, message, ref r.Parent); }
            else if (reader.ValueTextEquals("function_name"u8)) { reader.Read(); r.Function = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("args"u8)) { reader.Read(); _arguments.ReadArgs(ref reader, ref r); }
            else if (reader.ValueTextEquals("return"u8)) { reader.Read(); _arguments.ReadReturn(ref reader, ref r); }
            else if (reader.ValueTextEquals("policy_name"u8)) { reader.Read(); r.Policy = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("status"u8)) { reader.Read(); r.Status = TetragonValues.Long(ref reader); }
            else if (reader.ValueTextEquals("event"u8)) { reader.Read(); r.Event = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("subsys"u8)) { reader.Read(); r.Subsys = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("protocol"u8)) { reader.Read(); r.LegacyProtocol = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("source_ip"u8)) { reader.Read(); r.SourceIp = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("source_port"u8)) { reader.Read(); r.SourcePort = TetragonValues.Int(ref reader); }
            else if (reader.ValueTextEquals("destination_ip"u8)) { reader.Read(); r.DestinationIp = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("destination_port"u8)) { reader.Read(); r.DestinationPort = TetragonValues.Int(ref reader); }
            else if (reader.ValueTextEquals("ip"u8)) { reader.Read(); r.Ip = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("port"u8)) { reader.Read(); r.Port = TetragonValues.Int(ref reader); }
            else if (reader.ValueTextEquals("stats"u8)) { reader.Read(); ReadStats(ref reader, ref r); }
            else if (reader.ValueTextEquals("symbol"u8)) { reader.Read(); r.Symbol = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("path"u8)) { reader.Read(); r.ProbePath = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("dns"u8)) { reader.Read(); ReadDns(ref reader, message, ref r); }
            else { reader.Read(); reader.Skip(); }
        }
    }

    private void ReadProcess(ref Utf8JsonReader reader, ReadOnlySpan<byte> message, ref TetragonProcess p)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        p.Present = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("pid"u8)) { reader.Read(); p.Pid = TetragonValues.UInt32Value(ref reader); }
            else if (reader.ValueTextEquals("uid"u8)) { reader.Read(); p.Uid = TetragonValues.UInt32Value(ref reader); }
            else if (reader.ValueTextEquals("binary"u8)) { reader.Read(); p.Binary = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("arguments"u8)) { reader.Read(); p.Arguments = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("exec_id"u8)) { reader.Read(); p.ExecId = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("parent_exec_id"u8)) { reader.Read(); p.ParentExecId = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("flags"u8)) { reader.Read(); p.Flags = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("start_time"u8)) { reader.Read(); p.StartTime = TetragonValues.Time(ref reader); }
            else if (reader.ValueTextEquals("pod"u8)) { reader.Read(); ReadPod(ref reader, message, ref p); }
            else { reader.Read(); reader.Skip(); }
        }
    }

    private void ReadPod(ref Utf8JsonReader reader, ReadOnlySpan<byte> message, ref TetragonProcess p)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        p.HasPod = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("namespace"u8)) { reader.Read(); p.Namespace = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("name"u8)) { reader.Read(); p.PodName = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("workload"u8)) { reader.Read(); p.Owner = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("workload_kind"u8)) { reader.Read(); p.OwnerKind = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("container"u8)) { reader.Read(); ReadContainer(ref reader, ref p); }
            else if (reader.ValueTextEquals("labels"u8)) { reader.Read(); _podLabels.ReadIdentityLabels(ref reader, message, ref p.IdentityLabels); }
            else if (reader.ValueTextEquals("pod_labels"u8)) { reader.Read(); _podLabels.ReadPodLabels(ref reader, message, ref p.PodLabels); }
            else { reader.Read(); reader.Skip(); }
        }
    }

    private void ReadContainer(ref Utf8JsonReader reader, ref TetragonProcess p)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        p.HasContainer = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8)) { reader.Read(); p.Container = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("id"u8)) { reader.Read(); p.ContainerId = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("pid"u8))
            {
                // A number, or protobuf's wrapper {"value": n}.
                reader.Read();
                var pid = reader.TokenType == JsonTokenType.StartObject ? TetragonValues.Field(ref reader, "value"u8) : TetragonValues.Long(ref reader);
                p.ContainerInit |= pid == 1;
            }
            else if (reader.ValueTextEquals("image"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    // Some exports name the image as one string.
                    p.ImageName ??= _values.Str(ref reader);
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("id"u8)) { reader.Read(); p.ImageId = _values.Str(ref reader); }
                    else if (reader.ValueTextEquals("name"u8)) { reader.Read(); p.ImageName = _values.Str(ref reader); }
                    else { reader.Read(); reader.Skip(); }
                }
            }
            else { reader.Read(); reader.Skip(); }
        }
    }

    /// <summary>process_dns's <c>dns</c>: the query (else the first of <c>names</c>) and, for a response, the answers' <c>ips</c>.</summary>
    private void ReadDns(ref Utf8JsonReader reader, ReadOnlySpan<byte> message, ref TetragonRecord r)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        string? name = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("query"u8)) { reader.Read(); r.DnsQuery = _values.Str(ref reader); }
            else if (reader.ValueTextEquals("names"u8)) { reader.Read(); name ??= _values.FirstString(ref reader); }
            else if (reader.ValueTextEquals("ips"u8))
            {
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                var list = reader.TokenType == JsonTokenType.StartArray;
                reader.Skip();
                r.DnsAnswers = list ? Json.NullIfEmpty(_dnsAnswers.GetOrAdd(message[start..(int)reader.BytesConsumed], _values, AddressesFactory)) : null;
            }
            else { reader.Read(); reader.Skip(); }
        }

        r.DnsQuery ??= name;
    }

    private void ReadStats(ref Utf8JsonReader reader, ref TetragonRecord r)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("bytes_received"u8)) { reader.Read(); r.BytesReceived = TetragonValues.Long(ref reader); }
            else if (reader.ValueTextEquals("bytes_sent"u8)) { reader.Read(); r.BytesSent = TetragonValues.Long(ref reader); }
            else { reader.Read(); reader.Skip(); }
        }
    }

    /// <summary>A list of addresses (at most 16 valid ones), comma-separated.</summary>
    private static string ParseAddresses(ReadOnlySpan<byte> raw, TetragonValues values)
    {
        var reader = new Utf8JsonReader(raw, TetragonValues.ReaderOptions);
        reader.Read();
        var valid = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var ip = reader.TokenType == JsonTokenType.String ? values.Str(ref reader) : null;
            reader.Skip();
            if (ip is not null && valid.Count < 16 && System.Net.IPAddress.TryParse(ip, out _))
            {
                valid.Add(ip);
            }
        }

        return string.Join(',', valid);
    }
}
