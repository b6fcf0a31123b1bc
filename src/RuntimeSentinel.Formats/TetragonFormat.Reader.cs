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

    private readonly Utf8StringCache _strings = new(8192, 512);
    private readonly Utf8InternCache<LabelSet> _podLabels = new(1024, 8192);

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
        public DateTimeOffset? Time;
        public bool HasBody;
        public Proc Process, Parent;
        public long? Return, Status;
        public Sock ReturnSock;

        // From args, the first of each (the policy's argument order).
        public string? Path, FileFlags;
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
            if (reader.ValueTextEquals("pid"u8)) { reader.Read(); p.Pid = Int(ref reader); }
            else if (reader.ValueTextEquals("uid"u8)) { reader.Read(); p.Uid = Int(ref reader); }
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
                    reader.Skip();
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

    private void ReadArgs(ref Utf8JsonReader reader, ref Record r)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            // One argument: the first kind present wins, in this order (as Tetragon writes one kind per argument).
            string? filePath = null, fileFlags = null, binPath = null, module = null;
            bool file = false, binprm = false, mod = false;
            Sock sock = default, addr = default;
            long? size = null;
            var sizeRank = int.MaxValue;
            var sized = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("file_arg"u8) || reader.ValueTextEquals("path_arg"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject && !file)
                    {
                        file = true;
                        ReadFileArg(ref reader, out filePath, out fileFlags);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("sock_arg"u8)) { reader.Read(); ReadSock(ref reader, ref sock); }
                else if (reader.ValueTextEquals("sockaddr_arg"u8)) { reader.Read(); ReadSock(ref reader, ref addr); }
                else if (reader.ValueTextEquals("linux_binprm_arg"u8)) { reader.Read(); binprm |= reader.TokenType == JsonTokenType.StartObject; binPath ??= ObjectField(ref reader, "path"u8); }
                else if (reader.ValueTextEquals("module_arg"u8)) { reader.Read(); mod |= reader.TokenType == JsonTokenType.StartObject; module ??= ObjectField(ref reader, "name"u8); }
                else if (SizeRank(ref reader) is var rank and >= 0)
                {
                    reader.Read();
                    sized |= reader.TokenType != JsonTokenType.Null;
                    if (Long(ref reader) is { } v && rank < sizeRank)
                    {
                        (size, sizeRank) = (v, rank);
                    }
                }
                else { reader.Read(); reader.Skip(); }
            }

            if (file)
            {
                r.Path ??= filePath;
                r.FileFlags ??= fileFlags;
            }
            else if (sock.Present)
            {
                r.Net ??= sock.ToNet();
            }
            else if (addr.Present)
            {
                r.Net ??= new NetInfo(null, null, -1, addr.Daddr, addr.Dport, 0, 0);
            }
            else if (binprm)
            {
                r.Path ??= binPath;
            }
            else if (mod)
            {
                r.Path ??= module;
            }
            else if (r.Size < 0 && sized)
            {
                // The byte count of tcp_sendmsg / udp_sendmsg (size_t size): the policy's second argument.
                r.Size = size ?? -1;
            }
        }
    }

    /// <summary>int_arg, size_arg, uint_arg, long_arg: their order of preference when one argument has several; -1 otherwise.</summary>
    private static int SizeRank(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("int_arg"u8) ? 0 : reader.ValueTextEquals("size_arg"u8) ? 1 : reader.ValueTextEquals("uint_arg"u8) ? 2 : reader.ValueTextEquals("long_arg"u8) ? 3 : -1;

    private void ReadFileArg(ref Utf8JsonReader reader, out string? path, out string? flags)
    {
        path = null;
        string? permission = null, plain = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("path"u8)) { reader.Read(); path = Str(ref reader); }
            else if (reader.ValueTextEquals("permission"u8)) { reader.Read(); permission = Str(ref reader); }
            else if (reader.ValueTextEquals("flags"u8)) { reader.Read(); plain = Str(ref reader); }
            else { reader.Read(); reader.Skip(); }
        }

        flags = permission ?? plain;
    }

    private void ReadSock(ref Utf8JsonReader reader, ref Sock s)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        s = new Sock { Present = true, Sport = -1, Dport = -1 };
        int port = -1, sinPort = -1;
        bool hasPort = false;
        string? addr = null, sinAddr = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("protocol"u8)) { reader.Read(); s.Protocol = Str(ref reader); }
            else if (reader.ValueTextEquals("type"u8)) { reader.Read(); s.Type = Str(ref reader); }
            else if (reader.ValueTextEquals("saddr"u8)) { reader.Read(); s.Saddr = Str(ref reader); }
            else if (reader.ValueTextEquals("daddr"u8)) { reader.Read(); s.Daddr = Str(ref reader); }
            else if (reader.ValueTextEquals("sport"u8)) { reader.Read(); s.Sport = Int(ref reader); }
            else if (reader.ValueTextEquals("dport"u8)) { reader.Read(); s.Dport = Int(ref reader); }
            else if (reader.ValueTextEquals("addr"u8)) { reader.Read(); addr = Str(ref reader); }
            else if (reader.ValueTextEquals("sin_addr"u8)) { reader.Read(); sinAddr = Str(ref reader); }
            else if (reader.ValueTextEquals("port"u8)) { reader.Read(); hasPort |= reader.TokenType != JsonTokenType.Null; port = Int(ref reader); }
            else if (reader.ValueTextEquals("sin_port"u8)) { reader.Read(); sinPort = Int(ref reader); }
            else { reader.Read(); reader.Skip(); }
        }

        // sockaddr_arg names the peer as addr/port (older: sin_addr/sin_port); kept in the destination fields.
        if (addr is not null || sinAddr is not null || hasPort || sinPort >= 0)
        {
            s.Daddr ??= addr ?? sinAddr;
            s.Dport = s.Dport >= 0 ? s.Dport : hasPort ? port : sinPort;
        }
    }

    private void ReadReturn(ref Utf8JsonReader reader, ref Record r)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("int_arg"u8)) { reader.Read(); r.Return = Long(ref reader); }
            else if (reader.ValueTextEquals("sock_arg"u8)) { reader.Read(); ReadSock(ref reader, ref r.ReturnSock); }
            else { reader.Read(); reader.Skip(); }
        }
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
