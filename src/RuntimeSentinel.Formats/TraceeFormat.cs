using System.Text.Json;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Text;

namespace RuntimeSentinel.Formats;

/// <summary>
/// Tracee events in both shapes: the legacy flat one (<c>eventName</c>, <c>processName</c>, <c>args[{name,value}]</c>,
/// <c>container{}</c>/<c>kubernetes{}</c> or flat <c>containerId</c>/<c>podName</c>) and the current <c>v1beta1</c>
/// protobuf-JSON (<c>name</c>, <c>timestamp{seconds,nanos}</c>, <c>workload.process</c>, <c>data[]</c>). Events map by
/// name: exec → process_exec, file opens → file_open, DNS packets → dns_query, TCP/UDP packets and connects →
/// net_connect; any other event is a kernel call of that name (syscall).
/// </summary>
internal sealed partial class TraceeFormat : JsonTapeFormat
{
    /// <summary>Before this, a time is not a wall-clock one: Tracee's <c>relative-time</c> output option counts from boot.</summary>
    private static readonly DateTimeOffset EarliestWallClock = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly Arguments _args = new();
    private readonly BoundedCache<string, LabelSet> _labels = new(1024, StringComparer.Ordinal);
    private readonly Utf8InternCache<string> _argLists = new(4096, BoundedCache<string, string>.MaxKeyLength);
    private readonly TraceeDns _dns = new();

    public override string Name => "tracee";

    protected override DecodeStatus Decode(JsonNode root, out RuntimeEvent evt, out DecodeError error, out string? note)
    {
        var legacy = root.Get("eventName") is not null;
        var name = legacy ? root.Str("eventName") : root.Str("name") ?? root.Str("id");
        if (name is null)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "eventName", "a Tracee event needs eventName (legacy) or name (v1beta1)");
        }

        // The event time is timestamp in every version (ns since the epoch in the legacy shape, a protobuf Timestamp in
        // v1beta1); ts is read as its alias. threadStartTime / processStartTime are when the thread or process started,
        // possibly days before: never this event's time (docs/formats.md).
        var time = root.Get("timestamp") ?? root.Get("ts");
        if (time is null)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "timestamp", $"{name} has no event time (timestamp); threadStartTime and processStartTime are when its thread and process started, not when it happened");
        }

        var ts = Json.Time(time);
        if (ts is null)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.InvalidValue, "timestamp", "not a time (ns since the epoch, RFC 3339, or {seconds, nanos})");
        }

        if (ts.Value < EarliestWallClock)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.InvalidValue, "timestamp", $"{name} at {ts.Value:yyyy-MM-dd}: a time since boot (Tracee's relative-time output option), not a wall-clock time");
        }

        var args = Args(root, legacy, _args);
        var e = legacy ? Legacy(root, ts.Value) : Current(root, ts.Value, args);
        e = e with { Labels = _labels.GetOrAdd(name, name.Length, 0, EventLabels) };

        // Detections (v1beta1 "threat") are named after the finding; the event they were detected from tells the behaviour.
        var behaviour = root.Str("detected_from", "event_name") ?? root.Str("detected_from", "name") ?? name;
        var path = Arg(args, "pathname") ?? Arg(args, "file_path") ?? Arg(args, "syscall_pathname");
        switch (behaviour)
        {
            case "execve" or "execveat" or "sched_process_exec" or "security_bprm_check":
                {
                    // The executed file is pathname; without it, cmdpath (sched_process_exec's path as invoked) names it.
                    var exe = path ?? Arg(args, "cmdpath") ?? e.Process.Exe;
                    if (exe is null)
                    {
                        return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "args.pathname", $"{name} without the executed path");
                    }

                    var argv = ArgList(args, "argv");
                    return Json.Accept(e with { Kind = EventKind.ProcessExec, Process = e.Process with { Exe = exe, Args = argv ?? e.Process.Args, ParentExe = e.Process.ParentExe ?? e.Process.Exe } }, out evt, out error, out note);
                }

            case "sched_process_exit":
                return Json.Accept(e with { Kind = EventKind.ProcessExit }, out evt, out error, out note);
            case "security_file_open" or "open" or "openat" or "openat2" or "magic_write":
                if (path is null)
                {
                    return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "args.pathname", $"{name} without a path");
                }

                return Json.Accept(e with { Kind = EventKind.FileOpen, FilePath = path, FileFlags = Arg(args, "flags"), SyscallName = root.Str("syscall") ?? behaviour }, out evt, out error, out note);
            case "net_packet_dns" or "net_packet_dns_request" or "net_packet_dns_response" or "dns_request" or "dns_response":
                {
                    var (question, answerName, answers) = Dns(args);
                    var q = question ?? answerName;
                    if (q is null)
                    {
                        // A response without a question and without named answers says nothing about who asked what.
                        return Json.Ignore(out evt, out error, out note, "tracee_dns_without_name");
                    }

                    return Json.Accept(e with { Kind = EventKind.DnsQuery, DnsName = q, DnsAnswers = answers }, out evt, out error, out note);
                }

            case "net_packet_tcp" or "net_packet_udp" or "net_packet_ipv4" or "net_packet_ipv6" or "net_packet_icmp" or "net_packet_icmpv6":
                return Packet(e, args, behaviour, out evt, out error, out note);
            case "security_socket_connect" or "connect" or "net_tcp_connect":
                {
                    // The LSM hook names the peer remote_addr; the connect syscall's own argument is addr.
                    var net = Address(args, "remote_addr") ?? Address(args, "addr") ?? Endpoints(args, behaviour.Contains("udp", StringComparison.Ordinal) ? "udp" : "tcp");
                    if (net.RemoteIp is null || net.RemotePort < 0)
                    {
                        // A UNIX socket (a path, no address or port): a local connection, kept as the call with its path.
                        var unix = UnixPath(args, "remote_addr") ?? UnixPath(args, "addr");
                        return Json.Accept(e with { Kind = EventKind.Syscall, SyscallName = "connect", FilePath = unix }, out evt, out error, out note);
                    }

                    return Json.Accept(e with { Kind = EventKind.NetConnect, Net = net with { Direction = NetDirection.Outbound } }, out evt, out error, out note);
                }

            case "security_socket_accept" or "accept" or "accept4":
                {
                    var local = Address(args, "local_addr");
                    if (local is not { LocalPort: >= 0 } l)
                    {
                        // The accept syscall names only the client (addr): traffic on an accepted connection whose
                        // service port the event does not say.
                        if (Address(args, "addr") is { RemoteIp: not null } client)
                        {
                            return Json.Accept(e with { Kind = EventKind.NetFlow, SyscallName = behaviour, Net = client with { Direction = NetDirection.Inbound } }, out evt, out error, out note);
                        }

                        return Json.Accept(e with { Kind = EventKind.Syscall, SyscallName = behaviour, FilePath = UnixPath(args, "local_addr") ?? UnixPath(args, "addr") }, out evt, out error, out note);
                    }

                    return Json.Accept(e with { Kind = EventKind.NetAccept, Net = l with { Direction = NetDirection.Inbound } }, out evt, out error, out note);
                }

            case "net_flow_tcp_begin" or "net_flow_tcp_end":
                {
                    // Tracee's flow events name the direction themselves (conn_direction incoming / outgoing).
                    var incoming = (Arg(args, "conn_direction") ?? Arg(args, "direction")) is "incoming" or "ingress";
                    var endpoints = Endpoints(args, "tcp");
                    var net = incoming
                        ? new NetInfo("tcp", endpoints.RemoteIp, endpoints.RemotePort, endpoints.LocalIp, endpoints.LocalPort, 0, 0) { Direction = NetDirection.Inbound }
                        : endpoints with { Direction = NetDirection.Outbound };
                    var kind = behaviour.EndsWith("_end", StringComparison.Ordinal) ? EventKind.NetFlow : incoming ? EventKind.NetAccept : EventKind.NetConnect;
                    return net.RemoteIp is null
                        ? Json.Ignore(out evt, out error, out note, "tracee_flow_without_address")
                        : Json.Accept(e with { Kind = kind, Net = net }, out evt, out error, out note);
                }

            case "security_socket_listen" or "listen":
                {
                    var net = Address(args, "local_addr") ?? Endpoints(args, "tcp");
                    var listening = net.LocalPort >= 0 ? net : new NetInfo("tcp", net.RemoteIp, net.RemotePort, null, -1, 0, 0);
                    return listening.LocalPort < 0
                        ? Json.Accept(e with { Kind = EventKind.Syscall, SyscallName = "listen", FilePath = UnixPath(args, "local_addr") }, out evt, out error, out note)
                        : Json.Accept(e with { Kind = EventKind.NetListen, Net = listening }, out evt, out error, out note);
                }
            default:
                return Json.Accept(e with { Kind = EventKind.Syscall, SyscallName = root.Str("syscall") is { } sc && legacy && behaviour.StartsWith("vfs_", StringComparison.Ordinal) ? sc : behaviour, ReturnCode = root.Long("returnValue"), FilePath = string.IsNullOrEmpty(path) ? null : path }, out evt, out error, out note);
        }
    }

    private static LabelSet EventLabels(string name, int unused) => new([KeyValuePair.Create("source", "tracee"), KeyValuePair.Create("tracee.event", name)]);

    private static RuntimeEvent Legacy(JsonNode r, DateTimeOffset ts)
    {
        var host = r.Str("hostName");
        var container = r.Get("container");
        var k8s = r.Get("kubernetes");
        var containerId = container?.Str("id") ?? r.Str("containerId");
        var pod = k8s?.Str("podName") ?? r.Str("podName");
        var workload = containerId is null && pod is null
            ? Json.Host(host)
            : new WorkloadRef(null, k8s?.Str("podNamespace") ?? r.Str("podNamespace"), pod, container?.Str("name") ?? r.Str("containerName"), containerId, container?.Str("image") ?? r.Str("containerImage"), container?.Str("imageDigest"), null, null, LabelSet.Empty);
        var exe = r.Str("executable", "path") ?? r.Str("processName");
        return new RuntimeEvent
        {
            Timestamp = ts,
            Node = host,
            Workload = workload,
            Process = new ProcessInfo(r.Int("processId"), r.Int("parentProcessId"), r.Int("userId"), exe, null, null),
        };
    }

    private static RuntimeEvent Current(JsonNode r, DateTimeOffset ts, Arguments args)
    {
        var w = r.Get("workload");
        var p = w?.Get("process");
        var container = w?.Get("container");
        var k8s = w?.Get("k8s");
        var node = r.Str("node", "name") ?? r.Str("hostName");
        var containerId = container?.Str("id");
        var pod = k8s?.Str("pod", "name");
        var exe = p?.Str("executable", "path") ?? p?.Str("thread", "name") ?? Arg(args, "executable");
        string? parent = null;
        if (p?.Get("ancestors") is { ValueKind: JsonValueKind.Array } ancestors && ancestors.GetArrayLength() > 0)
        {
            var first = ancestors[0];
            parent = first.Str("executable", "path") ?? first.Str("thread", "name");
        }

        var workload = containerId is null && pod is null
            ? Json.Host(node)
            : new WorkloadRef(null, k8s?.Str("namespace", "name"), pod, container?.Str("name"), containerId, container?.Str("image", "name"), container?.Str("image", "digest"), null, null, LabelSet.Empty);
        return new RuntimeEvent
        {
            Timestamp = ts,
            Node = node,
            Workload = workload,
            Process = new ProcessInfo(p?.Int("pid", "value") is >= 0 and var pid ? pid : p?.Int("pid") ?? -1, -1, p?.Int("real_user", "id", "value") ?? -1, exe, null, parent),
        };
    }

    /// <summary>
    /// A packet event (<c>net_packet_*</c>) seen from the traced process. The packet's src/dst are the packet's, not the
    /// process's: the local side is the destination of a received packet and the source of a sent one (from the
    /// <c>metadata</c> direction; without it the direction is unknown). The connection's opener is the side on
    /// the ephemeral port. A TCP SYN without ACK opens a connection; a datagram to a service port starts a flow;
    /// anything else is traffic on a connection.
    /// </summary>
    private DecodeStatus Packet(RuntimeEvent e, Arguments args, string behaviour, out RuntimeEvent evt, out DecodeError error, out string? note)
    {
        var protocol = behaviour.Contains("udp", StringComparison.Ordinal) ? "udp" : behaviour.Contains("icmp", StringComparison.Ordinal) ? "icmp" : "tcp";
        var packet = Endpoints(args, protocol);
        if (packet.LocalIp is null || packet.RemoteIp is null)
        {
            return Json.Ignore(out evt, out error, out note, "tracee_packet_without_address");
        }

        // Only the packet's metadata says whether it was sent or received (the syscall field is the context it was
        // captured in: a recvmsg can carry the ACK it sends). Without it, the packet is traffic of unknown direction.
        var direction = args.TryGetValue("metadata", out var meta) ? (meta.Get("value") ?? meta).Str("direction") : null;
        if (direction is null)
        {
            return Json.Accept(e with { Kind = EventKind.NetFlow, Net = packet }, out evt, out error, out note);
        }

        var received = direction.Equals("ingress", StringComparison.OrdinalIgnoreCase) || direction == "1";

        // packet: Local* = src, Remote* = dst. Seen from the process.
        var net = received
            ? new NetInfo(protocol, packet.RemoteIp, packet.RemotePort, packet.LocalIp, packet.LocalPort, packet.BytesOut, 0)
            : packet;
        var localClient = ConnectionSides.IsEphemeral(net.LocalPort) && !ConnectionSides.IsEphemeral(net.RemotePort);
        var localServer = ConnectionSides.IsEphemeral(net.RemotePort) && !ConnectionSides.IsEphemeral(net.LocalPort);
        net = net with { Direction = localClient ? NetDirection.Outbound : localServer ? NetDirection.Inbound : NetDirection.Unknown };
        var tcp = args.TryGetValue("proto_tcp", out var t) ? t.Get("value") ?? t : (JsonNode?)null;
        var syn = tcp is { } seg && seg.Long("SYN") == 1 && seg.Long("ACK") != 1;
        var opens = protocol == "tcp" ? syn : !received && localClient;
        var kind = (opens, net.Direction) switch
        {
            (true, NetDirection.Outbound) => EventKind.NetConnect,
            (true, NetDirection.Inbound) => EventKind.NetAccept,
            _ => EventKind.NetFlow,
        };
        return Json.Accept(e with { Kind = kind, Net = net }, out evt, out error, out note);
    }

    /// <summary>src/dst (or local/remote) addresses and ports as a packet has them: Local* = src, Remote* = dst.</summary>
    private NetInfo Endpoints(Arguments args, string protocol)
    {
        var src = Arg(args, "src") ?? Arg(args, "local_addr") ?? Arg(args, "src_addr");
        var dst = Arg(args, "dst") ?? Arg(args, "remote_addr") ?? Arg(args, "dst_addr");
        var sport = int.TryParse(Arg(args, "src_port"), out var sp) ? sp : -1;
        var dport = int.TryParse(Arg(args, "dst_port"), out var dp) ? dp : -1;
        return new NetInfo(protocol, IsIp(src) ? src : null, sport, IsIp(dst) ? dst : null, dport, 0, 0);
    }

    /// <summary>A sockaddr argument (<c>{sa_family, sin_addr, sin_port}</c> or the IPv6 form) as the remote side, or null.</summary>
    private static NetInfo? Address(Arguments args, string name)
    {
        if (!args.TryGetValue(name, out var a))
        {
            return null;
        }

        if (a.Get("value") is { ValueKind: JsonValueKind.Object } inner)
        {
            a = inner;
        }

        if (a.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var ip = a.Str("sin_addr") ?? a.Str("sin6_addr");
        var port = a.Get("sin_port") is not null ? a.Int("sin_port") : a.Int("sin6_port");
        if (ip is null || port < 0)
        {
            return null;
        }

        return name == "local_addr" ? new NetInfo("tcp", ip, port, null, -1, 0, 0) : new NetInfo("tcp", null, -1, ip, port, 0, 0);
    }

    private static string? UnixPath(Arguments args, string name)
    {
        if (!args.TryGetValue(name, out var a))
        {
            return null;
        }

        if (a.Get("value") is { ValueKind: JsonValueKind.Object } inner)
        {
            a = inner;
        }

        return a.ValueKind == JsonValueKind.Object ? Json.NullIfEmpty(a.Str("sun_path")) : null;
    }
}
