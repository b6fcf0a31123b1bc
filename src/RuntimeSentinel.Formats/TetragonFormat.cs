using System.Text.Json;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats;

/// <summary>
/// Tetragon's JSON export (<c>tetra getevents -o json</c>, export files): one object whose single top-level key names
/// the event (<c>process_exec</c>, <c>process_exit</c>, <c>process_kprobe</c>, and the older <c>process_connect</c>,
/// <c>process_close</c>, <c>process_listen</c>, <c>process_dns</c>; the probes <c>process_tracepoint</c>,
/// <c>process_lsm</c> and <c>process_uprobe</c>), plus <c>node_name</c> and <c>time</c>. Identity comes from
/// <c>process.pod</c>; lineage from <c>parent</c> (and <c>exec_id</c>/<c>parent_exec_id</c>, kept as labels).
/// </summary>
internal sealed partial class TetragonFormat : IEventFormat
{
    private static readonly string[] Types = ["process_exec", "process_exit", "process_kprobe", "process_tracepoint", "process_uprobe", "process_lsm", "process_connect", "process_close", "process_listen", "process_dns", "process_throttle", "process_loader"];

    private static readonly byte[][] Utf8Types = Array.ConvertAll(Types, System.Text.Encoding.UTF8.GetBytes);

    private readonly Native.EventValidator _validator = new();

    public string Name => "tetragon";

    public int MaxMessageBytes { get; init; } = 1024 * 1024;

    /// <summary>Label on events that report state found at sensor start (an inventory), not something that happened then.</summary>
    public const string InventoryLabel = EventLabels.Inventory;

    public static bool Recognises(string topLevelKey) => Array.IndexOf(Types, topLevelKey) >= 0;

    /// <summary>The same check on the raw (unescaped) UTF-8 name, without decoding it (it may not be valid text).</summary>
    public static bool Recognises(ReadOnlySpan<byte> topLevelKey) => IndexOfType(topLevelKey) >= 0;

    private static int IndexOfType(ReadOnlySpan<byte> name)
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

    public DecodeStatus Decode(ReadOnlySpan<byte> utf8, out RuntimeEvent evt, out DecodeError error, out string? note)
    {
        if (utf8.IsEmpty)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.Empty, "", "message has no bytes");
        }

        if (utf8.Length > MaxMessageBytes)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MessageTooLarge, "", $"{utf8.Length} bytes exceeds the {MaxMessageBytes}-byte limit");
        }

        var r = new Record { Size = -1, SourcePort = -1, DestinationPort = -1, Port = -1 };
        r.Process.Pid = r.Process.Uid = r.Parent.Pid = r.Parent.Uid = -1;
        try
        {
            var reader = new Utf8JsonReader(utf8, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return Json.Reject(out evt, out error, out note, DecodeErrorCode.NotAnObject, "", $"expected a JSON object, got {reader.TokenType}");
            }

            ReadRoot(ref reader, utf8, ref r);
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return Json.Reject(out evt, out error, out note, DecodeErrorCode.MalformedJson, "", $"invalid JSON at byte {reader.BytesConsumed}");
            }
        }
        catch (JsonException ex)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MalformedJson, "", $"invalid JSON at byte {ex.BytePositionInLine}");
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.WrongType, "", ex.Message);
        }

        var status = Decode(ref r, out evt, out error, out note);
        if (status != DecodeStatus.Event)
        {
            return status;
        }

        // Whatever a sensor sent, what leaves here must be valid native schema v1 (sizes, addresses, required fields).
        return _validator.Validate(evt, out error) ? DecodeStatus.Event : Json.Reject(out evt, out error, out note, error.Code, error.Field, error.Detail);
    }

    private DecodeStatus Decode(ref Record r, out RuntimeEvent evt, out DecodeError error, out string? note)
    {
        if (r.Type is not { } type)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.UnknownKind, "", "no Tetragon event type (process_exec, process_kprobe, ...) at the top level");
        }

        if (type is "process_throttle" or "process_loader")
        {
            return Json.Ignore(out evt, out error, out note, type == "process_throttle" ? "tetragon_process_throttle" : "tetragon_process_loader");
        }

        var ts = r.Time ?? r.Process.StartTime;
        if (ts is null)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "time", "no event time");
        }

        if (!r.Process.Present)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, type + ".process", "required");
        }

        ref var process = ref r.Process;
        var e = new RuntimeEvent
        {
            Timestamp = ts.Value,
            Node = r.Node,
            Workload = Identity(ref process, r.Node),
            Process = new ProcessInfo(process.Pid, r.Parent.Present ? r.Parent.Pid : -1, process.Uid, process.Binary, process.Arguments, r.Parent.Binary),
            Labels = Lineage(ref process, type, r.Policy),
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
                return Json.Accept(e with { Kind = EventKind.ProcessExit, ReturnCode = r.Status }, out evt, out error, out note);
            case "process_connect":
                return Json.Accept(e with { Kind = EventKind.NetConnect, Net = Legacy(ref r) with { Direction = NetDirection.Outbound } }, out evt, out error, out note);
            case "process_listen":
                // The older listen event names the socket as ip/port (newer exports: source_ip/source_port).
                var listenPort = r.Port >= 0 ? r.Port : r.SourcePort;
                return Json.Accept(e with { Kind = EventKind.NetListen, Net = new NetInfo(Protocol(r.LegacyProtocol), r.Ip ?? r.SourceIp, listenPort, null, -1, 0, 0) }, out evt, out error, out note);
            case "process_dns":
                // Early Tetragon's DNS sensor: the query (or the names) and, for a response, the addresses.
                return r.DnsQuery is null
                    ? Json.Ignore(out evt, out error, out note, "tetragon_dns_without_name")
                    : Json.Accept(e with { Kind = EventKind.DnsQuery, DnsName = r.DnsQuery, DnsAnswers = r.DnsAnswers }, out evt, out error, out note);
            case "process_close":
                // The older socket-close event: the end of a connection (with its byte counts), not a new endpoint.
                var closed = Legacy(ref r);
                return Json.Accept(e with { Kind = closed.RemoteIp is null ? EventKind.Syscall : EventKind.NetFlow, SyscallName = "close", Net = closed with { Direction = Direction(closed) } }, out evt, out error, out note);
            default:
                return Probe(ref r, e, out evt, out error, out note);
        }
    }

    private DecodeStatus Probe(ref Record r, RuntimeEvent e, out RuntimeEvent evt, out DecodeError error, out string? note)
    {
        // kprobes and LSM hooks name a function, tracepoints an event (sys_enter_openat), uprobes a symbol of a binary.
        var function = r.Function ?? r.Event ?? r.Subsys ?? r.Symbol;
        if (function is null)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "function_name", $"{r.Type} without the function, event or symbol it hooked");
        }

        var name = CachedSyscallName(function);
        var ret = r.Return;
        var path = r.Path ?? r.TextPath;
        var flags = r.FileFlags;
        var net = r.Net;
        var size = r.Size;

        // inet_csk_accept and friends return the new socket: who connected to which service port.
        var returned = r.ReturnSock.Present ? r.ReturnSock.ToNet() : (NetInfo?)null;
        var lower = Lower(function);
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
        // A uprobe's path is the binary whose symbol ran.
        return Json.Accept(e with { Kind = EventKind.Syscall, SyscallName = name, ReturnCode = ret, FilePath = path ?? r.ProbePath, Net = net ?? NetInfo.None }, out evt, out error, out note);
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

        // LSM hooks (process_lsm) are named without the security_ prefix.
        "socket_connect" => Role.Connect,
        "socket_accept" => Role.Accept,
        "socket_listen" => Role.Listen,
        "socket_sendmsg" => Role.Send,
        "socket_recvmsg" => Role.Receive,
        _ when f.EndsWith("_sys_connect", StringComparison.Ordinal) => Role.Connect,
        _ when f.EndsWith("_sys_accept", StringComparison.Ordinal) || f.EndsWith("_sys_accept4", StringComparison.Ordinal) => Role.Accept,
        _ when f.EndsWith("_sys_listen", StringComparison.Ordinal) => Role.Listen,
        _ => Role.None,
    };

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

    /// <summary><c>__x64_sys_setuid</c> → <c>setuid</c>, the tracepoint <c>sys_enter_openat</c> → <c>openat</c>; kernel functions keep their name.</summary>
    private static readonly string[] SyscallPrefixes = ["__x64_sys_", "__arm64_sys_", "__ia32_sys_", "__se_sys_", "__do_sys_", "sys_enter_", "sys_exit_", "sys_"];

    internal static string SyscallName(string function)
    {
        foreach (var prefix in SyscallPrefixes)
        {
            if (function.StartsWith(prefix, StringComparison.Ordinal))
            {
                return function[prefix.Length..];
            }
        }

        return function.Length > 64 ? function[..64] : function;
    }

    private static NetInfo Legacy(ref Record r) => new(
        Protocol(r.LegacyProtocol), r.SourceIp, r.SourcePort, r.DestinationIp, r.DestinationPort, Math.Max(0, r.BytesReceived ?? 0), Math.Max(0, r.BytesSent ?? 0));

    /// <summary>Function names are lower case already; only one that is not costs a new string.</summary>
    private static string Lower(string function)
    {
        foreach (var c in function)
        {
            if (char.IsUpper(c))
            {
                return function.ToLowerInvariant();
            }
        }

        return function;
    }

    private static string? Protocol(string? p) => p switch
    {
        null => null,
        _ when p.Contains("tcp", StringComparison.OrdinalIgnoreCase) => "tcp",
        _ when p.Contains("udp", StringComparison.OrdinalIgnoreCase) => "udp",
        _ => Lower(p),
    };
}
