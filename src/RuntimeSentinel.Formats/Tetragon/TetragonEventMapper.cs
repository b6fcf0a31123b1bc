using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Tetragon;

/// <summary>
/// Turns a <see cref="TetragonRecord"/> into a native event: the event type and, for probes, the hooked function
/// decide the kind (exec, exit, file open, connect, accept, flow, listen, DNS, syscall); identity and lineage come
/// from <see cref="TetragonIdentity"/>. Not thread-safe (it owns caches).
/// </summary>
internal sealed class TetragonEventMapper
{
    private readonly TetragonIdentity _identity = new();
    private readonly BoundedCache<string, string> _syscallNames = new(1024, StringComparer.Ordinal);

    /// <summary>The event a record describes; ignored (throttle and loader notices, a DNS event without a name) or rejected (no type, time, process or exec binary) otherwise.</summary>
    public DecodeStatus Map(ref TetragonRecord r, out RuntimeEvent evt, out DecodeError error, out string? note)
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
            Workload = _identity.Workload(ref process, r.Node),
            Process = new ProcessInfo(process.Pid, r.Parent.Present ? r.Parent.Pid : -1, process.Uid, process.Binary, process.Arguments, r.Parent.Binary),
            Labels = _identity.Lineage(ref process, type, r.Policy),
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
                return Json.Accept(e with { Kind = EventKind.NetListen, Net = new NetInfo(TetragonSocket.ProtocolName(r.LegacyProtocol), r.Ip ?? r.SourceIp, listenPort, null, -1, 0, 0) }, out evt, out error, out note);
            case "process_dns":
                // Early Tetragon's DNS sensor: the query (or the names) and, for a response, the addresses.
                return r.DnsQuery is null
                    ? Json.Ignore(out evt, out error, out note, "tetragon_dns_without_name")
                    : Json.Accept(e with { Kind = EventKind.DnsQuery, DnsName = r.DnsQuery, DnsAnswers = r.DnsAnswers }, out evt, out error, out note);
            case "process_close":
                // The older socket-close event: the end of a connection (with its byte counts), not a new endpoint.
                var closed = Legacy(ref r);
                return Json.Accept(e with { Kind = closed.RemoteIp is null ? EventKind.Syscall : EventKind.NetFlow, SyscallName = "close", Net = closed with { Direction = ConnectionSides.Direction(closed) } }, out evt, out error, out note);
            default:
                return Probe(ref r, e, out evt, out error, out note);
        }
    }

    private DecodeStatus Probe(ref TetragonRecord r, RuntimeEvent e, out RuntimeEvent evt, out DecodeError error, out string? note)
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
        var lower = KernelFunctions.Lower(function);
        switch (KernelFunctions.NetRole(lower))
        {
            case KernelFunctions.Role.Connect when net is { RemoteIp: not null } c:
                return Json.Accept(e with { Kind = EventKind.NetConnect, Net = c with { Direction = NetDirection.Outbound } }, out evt, out error, out note);
            case KernelFunctions.Role.Accept when (returned ?? net) is { } acc && acc.LocalPort >= 0:
                // The accepted socket seen from the server: its local port is the service, its remote address the client.
                return Json.Accept(e with { Kind = EventKind.NetAccept, Net = acc with { Direction = NetDirection.Inbound } }, out evt, out error, out note);
            case KernelFunctions.Role.Datagram when net is { RemoteIp: not null } d:
                // An outbound datagram starts (or continues) a flow to the peer's service port; a datagram from a
                // service port to an ephemeral one is the reply half of a flow someone else started.
                if (ConnectionSides.IsEphemeral(d.RemotePort) && !ConnectionSides.IsEphemeral(d.LocalPort) && d.LocalPort > 0)
                {
                    return Json.Accept(e with { Kind = EventKind.NetFlow, Net = d with { Direction = NetDirection.Inbound, BytesOut = Math.Max(0, size) } }, out evt, out error, out note);
                }

                return Json.Accept(e with { Kind = EventKind.NetConnect, Net = d with { Direction = NetDirection.Outbound, BytesOut = Math.Max(0, size) } }, out evt, out error, out note);
            case KernelFunctions.Role.Send or KernelFunctions.Role.Receive or KernelFunctions.Role.Close when net is { RemoteIp: not null } t:
                // Traffic on a connection that exists: bytes for the flow, never a new endpoint. Which side opened it
                // is read from the ports (a server's port is a service port, a client's is ephemeral).
                var direction = ConnectionSides.Direction(t);
                var bytes = Math.Max(0, size);
                var flow = lower.Contains("send", StringComparison.Ordinal) ? t with { BytesOut = bytes } : lower.Contains("recv", StringComparison.Ordinal) ? t with { BytesIn = bytes } : t;
                return Json.Accept(e with { Kind = EventKind.NetFlow, SyscallName = name, Net = flow with { Direction = direction } }, out evt, out error, out note);
            case KernelFunctions.Role.Listen when net is { } l:
                return Json.Accept(e with { Kind = EventKind.NetListen, Net = l with { LocalPort = Math.Max(l.LocalPort, 0) } }, out evt, out error, out note);
        }

        if (path is not null && (lower.Contains("file", StringComparison.Ordinal) || lower.Contains("open", StringComparison.Ordinal) || lower.Contains("fd_install", StringComparison.Ordinal) || lower.Contains("truncate", StringComparison.Ordinal)))
        {
            // security_file_permission(file, mask) and friends: the size argument is the access mask, not a size.
            var access = lower.Contains("truncate", StringComparison.Ordinal) ? "O_WRONLY|O_TRUNC" : size >= 0 && lower.Contains("permission", StringComparison.Ordinal) ? KernelFunctions.Access(size) : null;
            return Json.Accept(e with { Kind = EventKind.FileOpen, FilePath = path, FileFlags = access ?? flags, SyscallName = name, ReturnCode = ret }, out evt, out error, out note);
        }

        // Everything else (module loads, credential changes, setns, capability checks) is a kernel call by name.
        // A uprobe's path is the binary whose symbol ran.
        return Json.Accept(e with { Kind = EventKind.Syscall, SyscallName = name, ReturnCode = ret, FilePath = path ?? r.ProbePath, Net = net ?? NetInfo.None }, out evt, out error, out note);
    }

    private string CachedSyscallName(string function) => _syscallNames.GetOrAdd(function, function.Length, 0, static (f, _) => KernelFunctions.SyscallName(f));

    private static NetInfo Legacy(ref TetragonRecord r) => new(
        TetragonSocket.ProtocolName(r.LegacyProtocol), r.SourceIp, r.SourcePort, r.DestinationIp, r.DestinationPort, Math.Max(0, r.BytesReceived ?? 0), Math.Max(0, r.BytesSent ?? 0));
}
