using System.Text.Json;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats;

/// <summary>
/// Tetragon's JSON export (<c>tetra getevents -o json</c>, export files): one object whose single top-level key names
/// the event (<c>process_exec</c>, <c>process_exit</c>, <c>process_kprobe</c>, and the older <c>process_connect</c>,
/// <c>process_close</c>, <c>process_listen</c>), plus <c>node_name</c> and <c>time</c>. Identity comes from
/// <c>process.pod</c>; lineage from <c>parent</c> (and <c>exec_id</c>/<c>parent_exec_id</c>, kept as labels).
/// </summary>
internal sealed class TetragonFormat : JsonDocumentFormat
{
    private static readonly string[] Types = ["process_exec", "process_exit", "process_kprobe", "process_tracepoint", "process_uprobe", "process_lsm", "process_connect", "process_close", "process_listen", "process_throttle", "process_loader"];

    private static readonly byte[][] Utf8Types = Array.ConvertAll(Types, System.Text.Encoding.UTF8.GetBytes);

    public override string Name => "tetragon";

    /// <summary>Label on events that report state found at sensor start (an inventory), not something that happened then.</summary>
    public const string InventoryLabel = EventLabels.Inventory;

    public static bool Recognises(string topLevelKey) => Array.IndexOf(Types, topLevelKey) >= 0;

    /// <summary>The same check on the raw (unescaped) UTF-8 name, without decoding it (it may not be valid text).</summary>
    public static bool Recognises(ReadOnlySpan<byte> topLevelKey)
    {
        foreach (var t in Utf8Types)
        {
            if (topLevelKey.SequenceEqual(t))
            {
                return true;
            }
        }

        return false;
    }

    protected override DecodeStatus Decode(JsonElement root, out RuntimeEvent evt, out DecodeError error, out string? note)
    {
        string? type = null;
        JsonElement body = default;
        foreach (var p in root.EnumerateObject())
        {
            if (Recognises(p.Name))
            {
                type = p.Name;
                body = p.Value;
                break;
            }
        }

        if (type is null)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.UnknownKind, "", "no Tetragon event type (process_exec, process_kprobe, ...) at the top level");
        }

        if (type is "process_throttle" or "process_loader")
        {
            return Json.Ignore(out evt, out error, out note, "tetragon_" + type);
        }

        var node = root.Str("node_name");
        var ts = Json.Time(root.Get("time")) ?? Json.Time(body.Path("process", "start_time"));
        if (ts is null)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "time", "no event time");
        }

        if (body.Get("process") is not { } process)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, type + ".process", "required");
        }

        var parent = body.Get("parent");
        var e = new RuntimeEvent
        {
            Timestamp = ts.Value,
            Node = node,
            Workload = Identity(process, node),
            Process = new ProcessInfo(process.Int("pid"), parent?.Int("pid") ?? -1, process.Int("uid"), process.Str("binary"), process.Str("arguments"), parent?.Str("binary")),
            Labels = Lineage(process, type, body),
        };

        switch (type)
        {
            case "process_exec":
                if (e.Process.Exe is null)
                {
                    return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "process_exec.process.binary", "required");
                }

                return Json.Accept(e with { Kind = EventKind.ProcessExec }, out evt, out error, out note);
            case "process_exit":
                return Json.Accept(e with { Kind = EventKind.ProcessExit, ReturnCode = body.Long("status") }, out evt, out error, out note);
            case "process_connect":
                return Json.Accept(e with { Kind = EventKind.NetConnect, Net = Legacy(body) with { Direction = NetDirection.Outbound } }, out evt, out error, out note);
            case "process_listen":
                // The older listen event names the socket as ip/port (newer exports: source_ip/source_port).
                var listenPort = body.Int("port") is >= 0 and var lp ? lp : body.Int("source_port");
                return Json.Accept(e with { Kind = EventKind.NetListen, Net = new NetInfo(Protocol(body.Str("protocol")), body.Str("ip") ?? body.Str("source_ip"), listenPort, null, -1, 0, 0) }, out evt, out error, out note);
            case "process_close":
                // The older socket-close event: the end of a connection (with its byte counts), not a new endpoint.
                var closed = Legacy(body);
                return Json.Accept(e with { Kind = closed.RemoteIp is null ? EventKind.Syscall : EventKind.NetFlow, SyscallName = "close", Net = closed with { Direction = Direction(closed) } }, out evt, out error, out note);
            default:
                return Probe(body, e, out evt, out error, out note);
        }
    }

    private static DecodeStatus Probe(JsonElement body, RuntimeEvent e, out RuntimeEvent evt, out DecodeError error, out string? note)
    {
        var function = body.Str("function_name") ?? body.Str("event") ?? body.Str("subsys");
        if (function is null)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "function_name", "kprobe without a function name");
        }

        var name = SyscallName(function);
        var ret = body.Long("return", "int_arg");
        string? path = null;
        string? flags = null;
        NetInfo? net = null;
        long size = -1;
        if (body.Get("args") is { ValueKind: JsonValueKind.Array } args)
        {
            foreach (var a in args.EnumerateArray())
            {
                if ((a.Get("file_arg") ?? a.Get("path_arg")) is { } f)
                {
                    path ??= f.Str("path");
                    flags ??= f.Str("permission") ?? f.Str("flags");
                }
                else if (a.Get("sock_arg") is { } s)
                {
                    net ??= Sock(s);
                }
                else if (a.Get("sockaddr_arg") is { } sa)
                {
                    net ??= new NetInfo(null, null, -1, sa.Str("addr") ?? sa.Str("sin_addr"), sa.Get("port") is not null ? sa.Int("port") : sa.Int("sin_port"), 0, 0);
                }
                else if (a.Get("linux_binprm_arg") is { } b)
                {
                    path ??= b.Str("path");
                }
                else if (a.Get("module_arg") is { } m)
                {
                    path ??= m.Str("name");
                }
                else if (size < 0 && (a.Get("int_arg") ?? a.Get("size_arg") ?? a.Get("uint_arg") ?? a.Get("long_arg")) is not null)
                {
                    // The byte count of tcp_sendmsg / udp_sendmsg (size_t size): the policy's second argument.
                    size = a.Long("int_arg") ?? a.Long("size_arg") ?? a.Long("uint_arg") ?? a.Long("long_arg") ?? -1;
                }
            }
        }

        // inet_csk_accept and friends return the new socket: who connected to which service port.
        var returned = body.Path("return", "sock_arg") is { } rs ? Sock(rs) : (NetInfo?)null;
        var lower = function.ToLowerInvariant();
        switch (NetRole(lower))
        {
            case Role.Connect when net is { RemoteIp: not null } c:
                return Json.Accept(e with { Kind = EventKind.NetConnect, Net = c with { Direction = NetDirection.Outbound } }, out evt, out error, out note);
            case Role.Accept when (returned ?? net) is { } acc && acc.LocalPort >= 0:
                // The accepted socket seen from the server: its local port is the service, its remote address the client.
                return Json.Accept(e with { Kind = EventKind.NetAccept, Net = acc with { Direction = NetDirection.Inbound } }, out evt, out error, out note);
            case Role.Datagram when net is { RemoteIp: not null } d:
                // An outbound datagram starts (or continues) a flow to the peer's service port; a datagram from a
                // service port to an ephemeral one is the reply half of a flow someone else started.
                if (IsEphemeral(d.RemotePort) && !IsEphemeral(d.LocalPort) && d.LocalPort > 0)
                {
                    return Json.Accept(e with { Kind = EventKind.NetFlow, Net = d with { Direction = NetDirection.Inbound, BytesOut = Math.Max(0, size) } }, out evt, out error, out note);
                }

                return Json.Accept(e with { Kind = EventKind.NetConnect, Net = d with { Direction = NetDirection.Outbound, BytesOut = Math.Max(0, size) } }, out evt, out error, out note);
            case Role.Send or Role.Receive or Role.Close when net is { RemoteIp: not null } t:
                // Traffic on a connection that exists: bytes for the flow, never a new endpoint. Which side opened it
                // is read from the ports (a server's port is a service port, a client's is ephemeral).
                var direction = Direction(t);
                var bytes = Math.Max(0, size);
                var flow = lower.Contains("send", StringComparison.Ordinal) ? t with { BytesOut = bytes } : lower.Contains("recv", StringComparison.Ordinal) ? t with { BytesIn = bytes } : t;
                return Json.Accept(e with { Kind = EventKind.NetFlow, SyscallName = name, Net = flow with { Direction = direction } }, out evt, out error, out note);
            case Role.Listen when net is { } l:
                return Json.Accept(e with { Kind = EventKind.NetListen, Net = l with { LocalPort = Math.Max(l.LocalPort, 0) } }, out evt, out error, out note);
        }

        if (path is not null && (lower.Contains("file", StringComparison.Ordinal) || lower.Contains("open", StringComparison.Ordinal) || lower.Contains("fd_install", StringComparison.Ordinal) || lower.Contains("truncate", StringComparison.Ordinal)))
        {
            // security_file_permission(file, mask) and friends: the access asked for is the int mask (MAY_WRITE 2,
            // MAY_READ 4, MAY_APPEND 8), not the file's permission bits; say it the way open(2) flags do.
            var access = lower.Contains("truncate", StringComparison.Ordinal) ? "O_WRONLY|O_TRUNC" : size >= 0 && lower.Contains("permission", StringComparison.Ordinal) ? Mask(size) : null;
            return Json.Accept(e with { Kind = EventKind.FileOpen, FilePath = path, FileFlags = access ?? flags, SyscallName = name, ReturnCode = ret }, out evt, out error, out note);
        }

        // Everything else (module loads, credential changes, setns, capability checks) is a kernel call by name.
        return Json.Accept(e with { Kind = EventKind.Syscall, SyscallName = name, ReturnCode = ret, FilePath = path, Net = net ?? NetInfo.None }, out evt, out error, out note);
    }

    private static string? Mask(long mask) => (mask & 0xE) switch
    {
        0 => null,
        var m when (m & 8) != 0 => "O_WRONLY|O_APPEND",
        var m when (m & 2) != 0 => (m & 4) != 0 ? "O_RDWR" : "O_WRONLY",
        _ => "O_RDONLY",
    };

    private enum Role
    {
        None,
        Connect,
        Accept,
        Datagram,
        Send,
        Receive,
        Close,
        Listen,
    }

    /// <summary>What a hooked kernel function means for a connection (docs/formats.md, "Network semantics").</summary>
    private static Role NetRole(string f) => f switch
    {
        "tcp_connect" or "tcp_v4_connect" or "tcp_v6_connect" or "security_socket_connect" or "connect" or "__sys_connect" or "ip4_datagram_connect" => Role.Connect,
        "inet_csk_accept" or "security_socket_accept" or "accept" or "accept4" or "__sys_accept4" or "tcp_create_openreq_child" => Role.Accept,
        "udp_sendmsg" or "udpv6_sendmsg" => Role.Datagram,
        "tcp_sendmsg" or "tcp_sendmsg_locked" or "sock_sendmsg" or "security_socket_sendmsg" => Role.Send,
        "tcp_recvmsg" or "tcp_cleanup_rbuf" or "udp_recvmsg" or "udpv6_recvmsg" or "sock_recvmsg" or "security_socket_recvmsg" => Role.Receive,
        "tcp_close" or "tcp_set_state" or "tcp_fin" or "inet_release" => Role.Close,
        "inet_listen" or "security_socket_listen" or "listen" or "__sys_listen" => Role.Listen,
        _ when f.EndsWith("_sys_connect", StringComparison.Ordinal) => Role.Connect,
        _ when f.EndsWith("_sys_accept", StringComparison.Ordinal) || f.EndsWith("_sys_accept4", StringComparison.Ordinal) => Role.Accept,
        _ when f.EndsWith("_sys_listen", StringComparison.Ordinal) => Role.Listen,
        _ => Role.None,
    };

    private static NetInfo Sock(JsonElement s) => new(Protocol(s.Str("protocol") ?? s.Str("type")), s.Str("saddr"), s.Int("sport"), s.Str("daddr"), s.Int("dport"), 0, 0);

    /// <summary>Linux's default local port range: the client side of a connection has its port from it.</summary>
    internal static bool IsEphemeral(int port) => port is >= 32768 and <= 60999;

    /// <summary>Who opened a connection, from its ports: the side on the ephemeral port is the client.</summary>
    private static NetDirection Direction(in NetInfo n) =>
        (IsEphemeral(n.LocalPort), IsEphemeral(n.RemotePort)) switch
        {
            (true, false) => NetDirection.Outbound,
            (false, true) => NetDirection.Inbound,
            _ when n.LocalPort is > 0 and < 1024 && n.RemotePort >= 1024 => NetDirection.Inbound,
            _ when n.RemotePort is > 0 and < 1024 && n.LocalPort >= 1024 => NetDirection.Outbound,
            _ => NetDirection.Unknown,
        };

    /// <summary><c>__x64_sys_setuid</c> → <c>setuid</c>; kernel functions keep their name.</summary>
    internal static string SyscallName(string function)
    {
        foreach (var prefix in new[] { "__x64_sys_", "__arm64_sys_", "__ia32_sys_", "__se_sys_", "__do_sys_", "sys_" })
        {
            if (function.StartsWith(prefix, StringComparison.Ordinal))
            {
                return function[prefix.Length..];
            }
        }

        return function.Length > 64 ? function[..64] : function;
    }

    private static NetInfo Legacy(JsonElement body) => new(
        Protocol(body.Str("protocol")), body.Str("source_ip"), body.Int("source_port"), body.Str("destination_ip"), body.Int("destination_port"),
        Math.Max(0, body.Long("stats", "bytes_received") ?? 0), Math.Max(0, body.Long("stats", "bytes_sent") ?? 0));

    private static string? Protocol(string? p) => p?.ToLowerInvariant() switch
    {
        null => null,
        var x when x.Contains("tcp", StringComparison.Ordinal) => "tcp",
        var x when x.Contains("udp", StringComparison.Ordinal) => "udp",
        var x => x,
    };

    private static WorkloadRef Identity(JsonElement process, string? node)
    {
        if (process.Get("pod") is not { } pod)
        {
            return Json.Host(node);
        }

        var container = pod.Get("container");
        var (image, digest) = Json.SplitDigest(container?.Str("image", "id"));
        var labels = LabelSet.Empty;
        if (pod.Get("pod_labels") is { ValueKind: JsonValueKind.Object } pl)
        {
            labels = new LabelSet(pl.EnumerateObject().Take(64).Select(p => KeyValuePair.Create(p.Name, p.Value.ToString())).ToArray());
        }

        var kind = pod.Str("workload_kind");
        var owner = pod.Str("workload");
        return new WorkloadRef(
            null, pod.Str("namespace"), pod.Str("name"), container?.Str("name"), container?.Str("id"), container?.Str("image", "name") ?? image, digest,
            owner is null ? null : kind ?? "Deployment", owner, labels);
    }

    private static LabelSet Lineage(JsonElement process, string type, JsonElement body)
    {
        var items = new List<KeyValuePair<string, string>> { KeyValuePair.Create("source", "tetragon"), KeyValuePair.Create("tetragon.type", type) };
        if (process.Str("exec_id") is { } id)
        {
            items.Add(KeyValuePair.Create("exec_id", id));
        }

        // Processes found running when the sensor started: their start time is no event time (docs/formats.md).
        if (process.Str("flags") is { } procFlags && procFlags.Contains("procFS", StringComparison.Ordinal))
        {
            items.Add(KeyValuePair.Create(InventoryLabel, "procfs"));
        }

        // PID 1 of the container's namespace is its entrypoint: when it exits, the container stops (docs/formats.md).
        if (process.Get("pod") is { } pod && pod.Get("container") is { } container && (container.Int("pid", "value") == 1 || container.Int("pid") == 1))
        {
            items.Add(KeyValuePair.Create(EventLabels.ContainerInit, "true"));
        }

        if (process.Str("parent_exec_id") is { } pid)
        {
            items.Add(KeyValuePair.Create("parent_exec_id", pid));
        }

        if (body.Str("policy_name") is { } policy)
        {
            items.Add(KeyValuePair.Create("tetragon.policy", policy));
        }

        return new LabelSet(items.ToArray());
    }
}
