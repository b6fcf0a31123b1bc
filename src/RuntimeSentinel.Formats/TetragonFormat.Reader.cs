using System.Text.Json;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Text;

namespace RuntimeSentinel.Formats;

/// <summary>
/// One pass over a Tetragon message with <see cref="Utf8JsonReader"/>: the fields the decoder uses are gathered into
/// <see cref="Record"/> in whatever order they come, strings are interned (a node repeats the same pods, binaries and
/// functions), everything else is skipped. No document is built.
/// </summary>
internal sealed partial class TetragonFormat
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow };

    private static readonly Utf8Factory<TetragonFormat, LabelSet> PodLabelsFactory = static (utf8, self) => self.ParsePodLabels(utf8);
    private static readonly Utf8Factory<TetragonFormat, LabelSet> IdentityLabelsFactory = static (utf8, self) => self.ParseIdentityLabels(utf8);
    private static readonly Utf8Factory<TetragonFormat, string> AddressesFactory = static (utf8, self) => self.ParseAddresses(utf8);

    private readonly Utf8StringCache _strings = new(8192, 512);
    private readonly Utf8InternCache<LabelSet> _podLabels = new(1024, 8192);
    private readonly Utf8InternCache<string> _dnsAnswers = new(1024, BoundedCache<string, string>.MaxKeyLength);

    /// <summary>A process as Tetragon describes it (<c>process</c> or <c>parent</c>).</summary>
    private struct Proc
    {
        public bool Present;
        public int Pid, Uid;
        public string? Binary, Arguments, ExecId, ParentExecId, Flags;
        public DateTimeOffset? StartTime;
        public bool HasPod, HasContainer, ContainerInit;
        public string? Namespace, PodName, Owner, OwnerKind, Container, ContainerId, ImageName, ImageId;
        public LabelSet PodLabels;

        /// <summary>The pod's Cilium identity labels (<c>labels</c>, <c>k8s:key=value</c>): older exports have no pod_labels.</summary>
        public LabelSet IdentityLabels;
    }

    /// <summary>A socket argument (<c>sock_arg</c>) or address (<c>sockaddr_arg</c>).</summary>
    private struct Sock
    {
        public bool Present;
        public string? Protocol, Type, Saddr, Daddr;
        public int Sport, Dport;

        public readonly NetInfo ToNet() => new(Protocol(Protocol ?? Type), Saddr, Sport, Daddr, Dport, 0, 0);
    }

    /// <summary>What one message says, gathered in one pass.</summary>
    private struct Record
    {
        public string? Type, Node, Function, Event, Subsys, Policy;

        // process_uprobe: the symbol in the binary at ProbePath. process_dns: the query and the answers' addresses.
        public string? Symbol, ProbePath, DnsQuery, DnsAnswers;
        public DateTimeOffset? Time;
        public bool HasBody;
        public Proc Process, Parent;
        public long? Return, Status;
        public Sock ReturnSock;

        // From args, the first of each (the policy's argument order); TextPath from a string argument that is a path.
        public string? Path, FileFlags, TextPath;
        public NetInfo? Net;
        public long Size;

        // Older connect/close/listen events.
        public string? LegacyProtocol, SourceIp, DestinationIp, Ip;
        public int SourcePort, DestinationPort, Port;
        public long? BytesReceived, BytesSent;
    }

    private void ReadRoot(ref Utf8JsonReader reader, ReadOnlySpan<byte> message, ref Record r)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (r.Type is null && !reader.ValueIsEscaped && reader.ValueSpan.StartsWith("process_"u8) && Recognises(reader.ValueSpan))
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
                r.Node = Str(ref reader);
            }
            else if (reader.ValueTextEquals("time"u8))
            {
                reader.Read();
                r.Time = Time(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private void ReadBody(ref Utf8JsonReader reader, ReadOnlySpan<byte> message, ref Record r)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("process"u8)) { reader.Read(); ReadProcess(ref reader, message, ref r.Process); }
            else if (reader.ValueTextEquals("parent"u8)) { reader.Read(); ReadProcess(ref reader, message, ref r.Parent); }
            else if (reader.ValueTextEquals("function_name"u8)) { reader.Read(); r.Function = Str(ref reader); }
            else if (reader.ValueTextEquals("args"u8)) { reader.Read(); ReadArgs(ref reader, ref r); }
            else if (reader.ValueTextEquals("return"u8)) { reader.Read(); ReadReturn(ref reader, ref r); }
            else if (reader.ValueTextEquals("policy_name"u8)) { reader.Read(); r.Policy = Str(ref reader); }
            else if (reader.ValueTextEquals("status"u8)) { reader.Read(); r.Status = Long(ref reader); }
            else if (reader.ValueTextEquals("event"u8)) { reader.Read(); r.Event = Str(ref reader); }
            else if (reader.ValueTextEquals("subsys"u8)) { reader.Read(); r.Subsys = Str(ref reader); }
            else if (reader.ValueTextEquals("protocol"u8)) { reader.Read(); r.LegacyProtocol = Str(ref reader); }
            else if (reader.ValueTextEquals("source_ip"u8)) { reader.Read(); r.SourceIp = Str(ref reader); }
            else if (reader.ValueTextEquals("source_port"u8)) { reader.Read(); r.SourcePort = Int(ref reader); }
            else if (reader.ValueTextEquals("destination_ip"u8)) { reader.Read(); r.DestinationIp = Str(ref reader); }
            else if (reader.ValueTextEquals("destination_port"u8)) { reader.Read(); r.DestinationPort = Int(ref reader); }
            else if (reader.ValueTextEquals("ip"u8)) { reader.Read(); r.Ip = Str(ref reader); }
            else if (reader.ValueTextEquals("port"u8)) { reader.Read(); r.Port = Int(ref reader); }
            else if (reader.ValueTextEquals("stats"u8)) { reader.Read(); ReadStats(ref reader, ref r); }
            else if (reader.ValueTextEquals("symbol"u8)) { reader.Read(); r.Symbol = Str(ref reader); }
            else if (reader.ValueTextEquals("path"u8)) { reader.Read(); r.ProbePath = Str(ref reader); }
            else if (reader.ValueTextEquals("dns"u8)) { reader.Read(); ReadDns(ref reader, message, ref r); }
            else { reader.Read(); reader.Skip(); }
        }
    }

    private void ReadProcess(ref Utf8JsonReader reader, ReadOnlySpan<byte> message, ref Proc p)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        p.Present = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("pid"u8)) { reader.Read(); p.Pid = UInt32Value(ref reader); }
            else if (reader.ValueTextEquals("uid"u8)) { reader.Read(); p.Uid = UInt32Value(ref reader); }
            else if (reader.ValueTextEquals("binary"u8)) { reader.Read(); p.Binary = Str(ref reader); }
            else if (reader.ValueTextEquals("arguments"u8)) { reader.Read(); p.Arguments = Str(ref reader); }
            else if (reader.ValueTextEquals("exec_id"u8)) { reader.Read(); p.ExecId = Str(ref reader); }
            else if (reader.ValueTextEquals("parent_exec_id"u8)) { reader.Read(); p.ParentExecId = Str(ref reader); }
            else if (reader.ValueTextEquals("flags"u8)) { reader.Read(); p.Flags = Str(ref reader); }
            else if (reader.ValueTextEquals("start_time"u8)) { reader.Read(); p.StartTime = Time(ref reader); }
            else if (reader.ValueTextEquals("pod"u8)) { reader.Read(); ReadPod(ref reader, message, ref p); }
            else { reader.Read(); reader.Skip(); }
        }
    }

    private void ReadPod(ref Utf8JsonReader reader, ReadOnlySpan<byte> message, ref Proc p)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        p.HasPod = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("namespace"u8)) { reader.Read(); p.Namespace = Str(ref reader); }
            else if (reader.ValueTextEquals("name"u8)) { reader.Read(); p.PodName = Str(ref reader); }
            else if (reader.ValueTextEquals("workload"u8)) { reader.Read(); p.Owner = Str(ref reader); }
            else if (reader.ValueTextEquals("workload_kind"u8)) { reader.Read(); p.OwnerKind = Str(ref reader); }
            else if (reader.ValueTextEquals("container"u8)) { reader.Read(); ReadContainer(ref reader, ref p); }
            else if (reader.ValueTextEquals("labels"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    p.IdentityLabels = _podLabels.GetOrAdd(message[start..(int)reader.BytesConsumed], this, IdentityLabelsFactory);
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("pod_labels"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    // Cached by the object's bytes: a pod's labels are the same in every event it sends.
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    p.PodLabels = _podLabels.GetOrAdd(message[start..(int)reader.BytesConsumed], this, PodLabelsFactory);
                }
                else
                {
                    reader.Skip();
                }
            }
            else { reader.Read(); reader.Skip(); }
        }
    }

    private void ReadContainer(ref Utf8JsonReader reader, ref Proc p)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        p.HasContainer = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8)) { reader.Read(); p.Container = Str(ref reader); }
            else if (reader.ValueTextEquals("id"u8)) { reader.Read(); p.ContainerId = Str(ref reader); }
            else if (reader.ValueTextEquals("pid"u8))
            {
                // A number, or protobuf's wrapper {"value": n}.
                reader.Read();
                var pid = reader.TokenType == JsonTokenType.StartObject ? Field(ref reader, "value"u8) : Long(ref reader);
                p.ContainerInit |= pid == 1;
            }
            else if (reader.ValueTextEquals("image"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    // Some exports name the image as one string.
                    p.ImageName ??= Str(ref reader);
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("id"u8)) { reader.Read(); p.ImageId = Str(ref reader); }
                    else if (reader.ValueTextEquals("name"u8)) { reader.Read(); p.ImageName = Str(ref reader); }
                    else { reader.Read(); reader.Skip(); }
                }
            }
            else { reader.Read(); reader.Skip(); }
        }
    }

    /// <summary>process_dns's <c>dns</c>: the query (else the first of <c>names</c>) and, for a response, the answers' <c>ips</c>.</summary>
    private void ReadDns(ref Utf8JsonReader reader, ReadOnlySpan<byte> message, ref Record r)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        string? name = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("query"u8)) { reader.Read(); r.DnsQuery = Str(ref reader); }
            else if (reader.ValueTextEquals("names"u8)) { reader.Read(); name ??= FirstString(ref reader); }
            else if (reader.ValueTextEquals("ips"u8))
            {
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                var list = reader.TokenType == JsonTokenType.StartArray;
                reader.Skip();
                r.DnsAnswers = list ? Json.NullIfEmpty(_dnsAnswers.GetOrAdd(message[start..(int)reader.BytesConsumed], this, AddressesFactory)) : null;
            }
            else { reader.Read(); reader.Skip(); }
        }

        r.DnsQuery ??= name;
    }

    private void ReadStats(ref Utf8JsonReader reader, ref Record r)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("bytes_received"u8)) { reader.Read(); r.BytesReceived = Long(ref reader); }
            else if (reader.ValueTextEquals("bytes_sent"u8)) { reader.Read(); r.BytesSent = Long(ref reader); }
            else { reader.Read(); reader.Skip(); }
        }
    }
}
