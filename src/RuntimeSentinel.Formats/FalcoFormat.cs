using System.Text.Json;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats;

/// <summary>
/// Falco alerts as falcosidekick forwards them (<c>rule</c>, <c>priority</c>, <c>time</c>, <c>output_fields</c> with
/// <c>proc.*</c>, <c>fd.*</c>, <c>container.*</c>, <c>k8s.*</c>, <c>evt.*</c>). Each alert becomes the behaviour it
/// describes (an exec, a file open, a connection); rule, priority and tags travel as event labels. Alerts from the
/// <c>k8s_audit</c> source and Falco's internal metrics snapshots describe no container behaviour and are ignored.
/// </summary>
internal sealed class FalcoFormat : JsonTapeFormat
{
    private readonly BoundedCache<(string Rule, string? Priority, string? Source, string? Tags, bool Finding), LabelSet> _labels = new(1024);
    private readonly BoundedCache<string, string?> _exes = new(4096, StringComparer.Ordinal);
    private readonly BoundedCache<(string Repository, string Tag), string> _images = new(1024);

    public override string Name => "falco";

    protected override DecodeStatus Decode(JsonNode root, out RuntimeEvent evt, out DecodeError error, out string? note)
    {
        if (root.Get("output_fields") is not { ValueKind: JsonValueKind.Object } f)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "output_fields", "a Falco alert carries its fields in output_fields");
        }

        var rule = root.Str("rule");
        if (rule is null)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "rule", "required");
        }

        var source = root.Str("source") ?? Field(f, "evt.source");
        if (source is "k8s_audit" or "k8saudit" or "k8saudit-eks" or "k8saudit-gke" or "k8saudit-aks" or "aws_cloudtrail" or "okta" or "github" or "gcpaudit" or "gcp_auditlog" or "azure_platformlogs" or "cloudtrail")
        {
            return Json.Ignore(out evt, out error, out note, "falco_" + source.Replace('-', '_'));
        }


        if (source == "internal" || rule.StartsWith("Falco internal", StringComparison.Ordinal))
        {
            return Json.Ignore(out evt, out error, out note, "falco_internal");
        }
        if (source is not null and not ("syscall" or "syscalls") && Field(f, "container.id") is null && Field(f, "k8s.pod.name") is null && Field(f, "proc.name") is null)
        {
            // Another plugin's events (cloud, SaaS, audit logs) describe no container behaviour on a node.
            return Json.Ignore(out evt, out error, out note, "falco_plugin_source");
        }

        // falcosidekick's time (RFC 3339, with or without fractional seconds), else the event's own: evt.time (ns; the
        // 2016-era output named it evt.time.iso8601), evt.rawtime (ns).
        var ts = Json.Time(root.Get("time")) ?? Json.Time(f.Get("evt.time")) ?? Json.Time(f.Get("evt.time.iso8601")) ?? Json.Time(f.Get("evt.rawtime"));
        if (ts is null)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "time", "no alert time (time, output_fields evt.time, evt.time.iso8601 or evt.rawtime)");
        }

        var node = root.Str("hostname") ?? Field(f, "evt.hostname");
        var cmdline = Field(f, "proc.cmdline");
        var exe = Field(f, "proc.exepath") ?? Field(f, "proc.exe") ?? CachedExe(cmdline) ?? Field(f, "proc.name");
        var parent = Field(f, "proc.pexepath") ?? Field(f, "proc.pname");
        var e = new RuntimeEvent
        {
            Timestamp = ts.Value,
            Node = node,
            Workload = Identity(f, node),
            Process = new ProcessInfo(f.Int("proc.pid"), f.Int("proc.ppid"), f.Int("user.uid"), exe, cmdline, parent),
            Labels = Labels(root, rule, source, finding: false),
        };

        var evtType = Field(f, "evt.type");
        // fd.name names a file or a connection (client:port->server:port, a new one per ephemeral port): read as bytes,
        // made a string only when it is a path.
        var fdNode = f.Get("fd.name");
        var fd = fdNode is { ValueKind: JsonValueKind.String } fdText ? fdText.Utf8 : default;
        if (evtType is "connect" or "accept" or "accept4" or "listen" or "bind" or "sendto" or "sendmsg" || fd.IndexOf("->"u8) >= 0 || Field(f, "fd.sip") is not null || Field(f, "fd.rip") is not null)
        {
            if (Connection(f, fd, evtType) is { } net)
            {
                // Outputs that print addresses without ports (fd.sip alone, fd.rip) still name a connection: its port is
                // unknown (0), not a reason to dead-letter a valid alert.
                var (kind, n) = net;
                if (kind == EventKind.NetConnect && n.RemotePort < 0)
                {
                    n = n with { RemotePort = 0 };
                }
                else if (kind == EventKind.NetAccept && n.LocalPort < 0)
                {
                    kind = EventKind.NetFlow;
                }

                return Json.Accept(e with { Kind = kind, Net = n }, out evt, out error, out note);
            }
        }

        if (fd.StartsWith("/"u8))
        {
            return Json.Accept(e with { Kind = EventKind.FileOpen, FilePath = fdNode!.Value.GetString(), FileFlags = Field(f, "evt.arg.flags") ?? Field(f, "evt.arg[2]"), SyscallName = evtType }, out evt, out error, out note);
        }

        if (evtType is not null and not ("execve" or "execveat") && exe is null)
        {
            return Json.Accept(e with { Kind = EventKind.Syscall, SyscallName = evtType }, out evt, out error, out note);
        }

        if (exe is null)
        {
            // A rule that fired without naming a process, file or connection (rule-only output, plugin sources): still
            // a finding for the workload, with Falco as its detector.
            return Json.Accept(e with { Kind = EventKind.SensorAlert, Labels = Labels(root, rule, source, finding: true) }, out evt, out error, out note);
        }

        // Shell spawned, binary dropped and run, ...: the alert is about a process starting.
        return Json.Accept(e with { Kind = EventKind.ProcessExec }, out evt, out error, out note);
    }

    private string? CachedExe(string? cmdline) =>
        cmdline is null ? null : _exes.GetOrAdd(cmdline, cmdline.Length, 0, static (c, _) => ExeFromCmdline(c));

    private static string? ExeFromCmdline(string? cmdline)
    {
        if (string.IsNullOrWhiteSpace(cmdline))
        {
            return null;
        }

        var first = cmdline.TrimStart().Split(' ', 2)[0];
        return first.Length == 0 ? null : first;
    }

    /// <summary>
    /// A socket event seen from the alerting process. Falco names a connection client first, whatever side the
    /// process is on: <c>fd.name</c> is <c>cip:cport-&gt;sip:sport</c> (also <c>fd.cip</c>, <c>fd.sip</c>, ...). So
    /// <c>connect</c> is outbound to the server, <c>accept</c> inbound from the client on the service port
    /// <c>sport</c>, <c>listen</c>/<c>bind</c> a listening port, a datagram <c>sendto</c>/<c>sendmsg</c> to a service port
    /// an outbound flow, and any other call on a connected socket traffic on it (side from <c>fd.is_server</c> or,
    /// without it, from which port is ephemeral).
    /// </summary>
    private (EventKind Kind, NetInfo Net)? Connection(JsonNode f, ReadOnlySpan<byte> fd, string? evtType)
    {
        var proto = Protocol(Field(f, "fd.l4proto") ?? Field(f, "fd.type"));
        string? cip = Field(f, "fd.cip"), sip = Field(f, "fd.sip");
        int cport = f.Get("fd.cport") is null ? -1 : f.Int("fd.cport"), sport = f.Get("fd.sport") is null ? -1 : f.Int("fd.sport");
        if (!fd.IsEmpty)
        {
            var arrow = fd.IndexOf("->"u8);
            if (arrow > 0 && Split(fd[..arrow], out var a, out var ap) && Split(fd[(arrow + 2)..], out var b, out var bp))
            {
                (cip, cport, sip, sport) = (cip ?? a, cport >= 0 ? cport : ap, sip ?? b, sport >= 0 ? sport : bp);
            }
            else if (arrow < 0 && Split(fd, out var only, out var onlyPort))
            {
                // A listening or bound socket: one address, its own.
                (sip, sport) = (sip ?? only, sport >= 0 ? sport : onlyPort);
            }
        }

        if (evtType is "listen" or "bind")
        {
            return sport >= 0 ? (EventKind.NetListen, new NetInfo(proto ?? "tcp", sip, sport, null, -1, 0, 0)) : null;
        }

        if (sip is null && cip is null && Field(f, "fd.rip") is { } rip && IsIp(rip))
        {
            return BySide(f, evtType, proto, rip);
        }

        if (sip is null || cip is null)
        {
            return sip is null ? null : (EventKind.NetConnect, new NetInfo(proto ?? "tcp", null, -1, sip, sport, 0, 0) { Direction = NetDirection.Outbound });
        }

        var outbound = new NetInfo(proto ?? "tcp", cip, cport, sip, sport, 0, 0) { Direction = NetDirection.Outbound };
        var inbound = new NetInfo(proto ?? "tcp", sip, sport, cip, cport, 0, 0) { Direction = NetDirection.Inbound };
        switch (evtType)
        {
            case "connect":
                return (EventKind.NetConnect, outbound);
            case "accept" or "accept4":
                return (EventKind.NetAccept, inbound);
            case "sendto" or "sendmsg" when proto == "udp" && !ConnectionSides.IsEphemeral(sport):
                return (EventKind.NetConnect, outbound);
        }

        bool? server = f.Get("fd.is_server") is { } isServer ? isServer.ValueKind == JsonValueKind.True || isServer.ToString() == "true" : null;
        if (server is null)
        {
            // Without fd.is_server, an old-style alert on a connection is about the client's connection to the server.
            return (evtType is null or "connect" ? EventKind.NetConnect : EventKind.NetFlow, outbound);
        }

        return (EventKind.NetFlow, server.Value ? inbound : outbound);
    }

    /// <summary>
    /// A connection printed from the process's side (<c>fd.lip:fd.lport</c> local, <c>fd.rip:fd.rport</c> remote) instead of
    /// client/server: accept is inbound, connect outbound, any other call traffic on the socket.
    /// </summary>
    private static (EventKind Kind, NetInfo Net)? BySide(JsonNode f, string? evtType, string? proto, string rip)
    {
        var lip = Field(f, "fd.lip");
        int lport = f.Get("fd.lport") is null ? -1 : f.Int("fd.lport"), rport = f.Get("fd.rport") is null ? -1 : f.Int("fd.rport");
        if (evtType is "listen" or "bind")
        {
            return lport >= 0 ? (EventKind.NetListen, new NetInfo(proto ?? "tcp", lip, lport, null, -1, 0, 0)) : null;
        }

        var inbound = evtType is "accept" or "accept4" || f.Get("fd.is_server")?.ValueKind == JsonValueKind.True;
        var net = new NetInfo(proto ?? "tcp", lip, lport, rip, rport, 0, 0) { Direction = inbound ? NetDirection.Inbound : NetDirection.Outbound };
        var kind = evtType switch
        {
            "accept" or "accept4" => EventKind.NetAccept,
            null or "connect" => inbound ? EventKind.NetFlow : EventKind.NetConnect,
            _ => EventKind.NetFlow,
        };
        return (kind, net);
    }

    /// <summary>An output field; older Falco releases printed a missing value as the text <c>&lt;NA&gt;</c>, newer ones write null.</summary>
    private static string? Field(JsonNode fields, string name) => fields.Str(name) is { } v && v != "<NA>" ? v : null;

    private static string? Protocol(string? p) => p?.ToLowerInvariant() switch
    {
        null => null,
        var x when x.Contains("tcp", StringComparison.Ordinal) => "tcp",
        var x when x.Contains("udp", StringComparison.Ordinal) => "udp",
        "ipv4" or "ipv6" => null,
        var x => x,
    };

    /// <summary><c>ip:port</c> or <c>[ip]:port</c> from UTF-8; the address interned.</summary>
    private bool Split(ReadOnlySpan<byte> endpoint, out string? ip, out int port)
    {
        var colon = endpoint.LastIndexOf((byte)':');
        ip = null;
        port = -1;
        if (colon <= 0 || !int.TryParse(endpoint[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port > 65535)
        {
            return false;
        }

        var host = endpoint[..colon].Trim("[]"u8);
        ip = host.IsEmpty ? string.Empty : Strings.Get(host);
        return IsIp(ip);
    }

    private WorkloadRef Identity(JsonNode f, string? node)
    {
        var id = Field(f, "container.id");
        var pod = Field(f, "k8s.pod.name");
        if ((id is null || id == "host") && pod is null)
        {
            return Json.Host(node);
        }

        var repo = Field(f, "container.image.repository");
        var tag = Field(f, "container.image.tag");
        var image = Field(f, "container.image") ?? (repo is null ? null : tag is null ? repo : _images.GetOrAdd((repo, tag), repo.Length + tag.Length, 0, static (k, _) => k.Repository + ":" + k.Tag));
        return new WorkloadRef(null, Field(f, "k8s.ns.name"), pod, Field(f, "container.name"), id, image, Field(f, "container.image.digest"), null, null, LabelSet.Empty);
    }

    /// <summary>Rule, priority, source and tags as labels; a finding (no process, file or connection) also as the sensor's verdict.</summary>
    private LabelSet Labels(JsonNode root, string rule, string? source, bool finding)
    {
        var priority = root.Str("priority");
        var tags = root.Get("tags") is { ValueKind: JsonValueKind.Array } t ? t.GetRawText() : null;
        var key = (rule, priority, source, tags, finding);
        return _labels.GetOrAdd(key, rule.Length + (priority?.Length ?? 0) + (source?.Length ?? 0) + (tags?.Length ?? 0), root, BuildLabels);
    }

    private static LabelSet BuildLabels((string Rule, string? Priority, string? Source, string? Tags, bool Finding) key, JsonNode root)
    {
        var items = new List<KeyValuePair<string, string>> { KeyValuePair.Create("source", "falco"), KeyValuePair.Create("falco.rule", key.Rule) };
        if (key.Priority is { } p)
        {
            items.Add(KeyValuePair.Create("falco.priority", p));
        }

        if (key.Source is not null)
        {
            items.Add(KeyValuePair.Create("falco.source", key.Source));
        }

        if (root.Get("tags") is { ValueKind: JsonValueKind.Array } tags)
        {
            var text = new List<string>();
            foreach (var tag in tags.EnumerateArray())
            {
                text.Add(tag.ToString());
            }

            items.Add(KeyValuePair.Create("falco.tags", string.Join(",", text)));
        }

        if (key.Finding)
        {
            items.Add(KeyValuePair.Create(EventLabels.SensorRule, key.Rule.Length > 256 ? key.Rule[..256] : key.Rule));
            items.Add(KeyValuePair.Create(EventLabels.SensorPriority, key.Priority ?? "Warning"));
        }

        return new LabelSet(items.ToArray());
    }
}
