using System.Text.Json;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats;

/// <summary>
/// Tracee events in both shapes: the legacy flat one (<c>eventName</c>, <c>processName</c>, <c>args[{name,value}]</c>,
/// <c>container{}</c>/<c>kubernetes{}</c> or flat <c>containerId</c>/<c>podName</c>) and the current <c>v1beta1</c>
/// protobuf-JSON (<c>name</c>, <c>timestamp{seconds,nanos}</c>, <c>workload.process</c>, <c>data[]</c>). Events map by
/// name: exec → process_exec, file opens → file_open, DNS packets → dns_query, TCP/UDP packets and connects →
/// net_connect; any other event is a kernel call of that name (syscall).
/// </summary>
internal sealed class TraceeFormat : JsonDocumentFormat
{
    public override string Name => "tracee";

    protected override DecodeStatus Decode(JsonElement root, out RuntimeEvent evt, out DecodeError error, out string? note)
    {
        var legacy = root.Get("eventName") is not null;
        var name = legacy ? root.Str("eventName") : root.Str("name") ?? root.Str("id");
        if (name is null)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "eventName", "a Tracee event needs eventName (legacy) or name (v1beta1)");
        }

        var ts = Json.Time(root.Get("timestamp"));
        if (ts is null)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "timestamp", "required");
        }

        var args = Args(root, legacy);
        var e = legacy ? Legacy(root, ts.Value) : Current(root, ts.Value, args);
        e = e with { Labels = new LabelSet([KeyValuePair.Create("source", "tracee"), KeyValuePair.Create("tracee.event", name)]) };

        // Detections (v1beta1 "threat") are named after the finding; the event they were detected from tells the behaviour.
        var behaviour = root.Str("detected_from", "event_name") ?? root.Str("detected_from", "name") ?? name;
        var path = Arg(args, "pathname") ?? Arg(args, "file_path") ?? Arg(args, "syscall_pathname");
        switch (behaviour)
        {
            case "execve" or "execveat" or "sched_process_exec" or "security_bprm_check":
                {
                    var exe = path ?? e.Process.Exe;
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
            case "net_packet_dns" or "net_packet_dns_request" or "net_packet_dns_response":
                {
                    var q = DnsQuestion(args);
                    if (q is null)
                    {
                        return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "args.proto_dns.questions", "DNS packet without a question");
                    }

                    return Json.Accept(e with { Kind = EventKind.DnsQuery, DnsName = q }, out evt, out error, out note);
                }

            case "net_packet_tcp" or "net_packet_udp" or "security_socket_connect" or "connect" or "net_tcp_connect":
                return Json.Accept(e with { Kind = EventKind.NetConnect, Net = Packet(args, behaviour.Contains("udp", StringComparison.Ordinal) ? "udp" : "tcp") }, out evt, out error, out note);
            case "security_socket_listen" or "listen":
                return Json.Accept(e with { Kind = EventKind.NetListen, Net = Packet(args, "tcp") }, out evt, out error, out note);
            default:
                return Json.Accept(e with { Kind = EventKind.Syscall, SyscallName = root.Str("syscall") is { } sc && legacy && behaviour.StartsWith("vfs_", StringComparison.Ordinal) ? sc : behaviour, ReturnCode = root.Long("returnValue"), FilePath = string.IsNullOrEmpty(path) ? null : path }, out evt, out error, out note);
        }
    }

    private static RuntimeEvent Legacy(JsonElement r, DateTimeOffset ts)
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

    private static RuntimeEvent Current(JsonElement r, DateTimeOffset ts, Dictionary<string, JsonElement> args)
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

    /// <summary>Arguments by name: legacy <c>args[{name, value}]</c>, v1beta1 <c>data[{name, str|int|...}]</c> or <c>data{}</c>.</summary>
    private static Dictionary<string, JsonElement> Args(JsonElement root, bool legacy)
    {
        var result = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var list = legacy ? root.Get("args") : root.Get("data");
        if (list is { ValueKind: JsonValueKind.Array } arr)
        {
            foreach (var a in arr.EnumerateArray())
            {
                if (a.Str("name") is not { } n)
                {
                    continue;
                }

                foreach (var p in a.EnumerateObject())
                {
                    if (p.Name != "name" && p.Name != "type")
                    {
                        result[n] = p.Value;
                        break;
                    }
                }
            }
        }
        else if (list is { ValueKind: JsonValueKind.Object } obj)
        {
            foreach (var p in obj.EnumerateObject())
            {
                result[p.Name] = p.Value;
            }
        }

        return result;
    }

    private static string? Arg(Dictionary<string, JsonElement> args, string name) =>
        args.TryGetValue(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => Json.NullIfEmpty(v.GetString()),
            JsonValueKind.Number => v.GetRawText(),
            JsonValueKind.Object => v.Str("value"),
            _ => null,
        } : null;

    private static string? ArgList(Dictionary<string, JsonElement> args, string name)
    {
        if (!args.TryGetValue(name, out var v))
        {
            return null;
        }

        if (v.ValueKind == JsonValueKind.Object && v.Get("value") is { } inner)
        {
            v = inner;
        }

        return v.ValueKind == JsonValueKind.Array ? string.Join(' ', v.EnumerateArray().Select(x => x.ToString())) : Arg(args, name);
    }

    private static string? DnsQuestion(Dictionary<string, JsonElement> args)
    {
        foreach (var key in new[] { "proto_dns", "dns_questions", "dns" })
        {
            if (args.TryGetValue(key, out var v) && v.Get("questions") is { ValueKind: JsonValueKind.Array } qs && qs.GetArrayLength() > 0)
            {
                return qs[0].Str("name");
            }
        }

        return null;
    }

    private static NetInfo Packet(Dictionary<string, JsonElement> args, string protocol)
    {
        var src = Arg(args, "src") ?? Arg(args, "local_addr");
        var dst = Arg(args, "dst") ?? Arg(args, "remote_addr");
        var sport = int.TryParse(Arg(args, "src_port"), out var sp) ? sp : -1;
        var dport = int.TryParse(Arg(args, "dst_port"), out var dp) ? dp : -1;
        if (args.TryGetValue("remote_addr", out var ra) && ra.ValueKind == JsonValueKind.Object)
        {
            dst = ra.Str("sin_addr") ?? ra.Str("sin6_addr");
            dport = ra.Int("sin_port") is >= 0 and var p ? p : ra.Int("sin6_port");
        }

        return new NetInfo(protocol, src, sport, dst, dport, 0, 0);
    }
}
