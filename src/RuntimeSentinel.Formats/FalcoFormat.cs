using System.Text.Json;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats;

/// <summary>
/// Falco alerts as falcosidekick forwards them (<c>rule</c>, <c>priority</c>, <c>time</c>, <c>output_fields</c> with
/// <c>proc.*</c>, <c>fd.*</c>, <c>container.*</c>, <c>k8s.*</c>, <c>evt.*</c>). Each alert becomes the behaviour it
/// describes (an exec, a file open, a connection); rule, priority and tags travel as event labels. Alerts from the
/// <c>k8s_audit</c> source and Falco's internal metrics snapshots describe no container behaviour and are ignored.
/// </summary>
internal sealed class FalcoFormat : JsonDocumentFormat
{
    public override string Name => "falco";

    protected override DecodeStatus Decode(JsonElement root, out RuntimeEvent evt, out DecodeError error, out string? note)
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

        var source = root.Str("source") ?? f.Str("evt.source");
        if (source is "k8s_audit" or "k8saudit" or "k8saudit-eks" or "k8saudit-gke" or "k8saudit-aks" or "aws_cloudtrail" or "okta" or "github")
        {
            return Json.Ignore(out evt, out error, out note, "falco_" + source.Replace('-', '_'));
        }

        if (source == "internal" || rule.StartsWith("Falco internal", StringComparison.Ordinal))
        {
            return Json.Ignore(out evt, out error, out note, "falco_internal");
        }

        var ts = Json.Time(root.Get("time")) ?? Json.Time(f.Get("evt.time")) ?? Json.Time(f.Get("evt.time.iso8601"));
        if (ts is null)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "time", "no alert time (time, evt.time)");
        }

        var node = root.Str("hostname") ?? f.Str("evt.hostname");
        var cmdline = f.Str("proc.cmdline");
        var exe = f.Str("proc.exepath") ?? f.Str("proc.exe") ?? ExeFromCmdline(cmdline) ?? f.Str("proc.name");
        var parent = f.Str("proc.pexepath") ?? f.Str("proc.pname");
        var e = new RuntimeEvent
        {
            Timestamp = ts.Value,
            Node = node,
            Workload = Identity(f, node),
            Process = new ProcessInfo(f.Int("proc.pid"), f.Int("proc.ppid"), f.Int("user.uid"), exe, cmdline, parent),
            Labels = Labels(root, rule, source),
        };

        var evtType = f.Str("evt.type");
        var fd = f.Str("fd.name");
        if (evtType is "connect" or "accept" or "accept4" or "listen" or "sendto" || (fd is not null && fd.Contains("->", StringComparison.Ordinal)) || f.Str("fd.sip") is not null)
        {
            var net = Endpoints(f, fd);
            if (net.RemoteIp is not null || net.LocalPort >= 0)
            {
                var kind = evtType switch
                {
                    "accept" or "accept4" => EventKind.NetAccept,
                    "listen" => EventKind.NetListen,
                    _ => EventKind.NetConnect,
                };
                return Json.Accept(e with { Kind = kind, Net = net }, out evt, out error, out note);
            }
        }

        if (fd is not null && fd.StartsWith('/'))
        {
            return Json.Accept(e with { Kind = EventKind.FileOpen, FilePath = fd, FileFlags = f.Str("evt.arg.flags") ?? f.Str("evt.arg[2]"), SyscallName = evtType }, out evt, out error, out note);
        }

        if (evtType is not null and not ("execve" or "execveat") && exe is null)
        {
            return Json.Accept(e with { Kind = EventKind.Syscall, SyscallName = evtType }, out evt, out error, out note);
        }

        if (exe is null)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "output_fields.proc.cmdline", "the alert names neither a process, a file nor a connection");
        }

        // Shell spawned, binary dropped and run, ...: the alert is about a process starting.
        return Json.Accept(e with { Kind = EventKind.ProcessExec }, out evt, out error, out note);
    }

    private static string? ExeFromCmdline(string? cmdline)
    {
        if (string.IsNullOrWhiteSpace(cmdline))
        {
            return null;
        }

        var first = cmdline.TrimStart().Split(' ', 2)[0];
        return first.Length == 0 ? null : first;
    }

    /// <summary>Falco's <c>fd.name</c> for sockets is <c>cip:cport-&gt;sip:sport</c>.</summary>
    private static NetInfo Endpoints(JsonElement f, string? fd)
    {
        var proto = f.Str("fd.l4proto");
        if (f.Str("fd.sip") is { } sip)
        {
            return new NetInfo(proto, f.Str("fd.cip"), f.Int("fd.cport"), sip, f.Int("fd.sport"), 0, 0);
        }

        if (fd is not null)
        {
            var arrow = fd.IndexOf("->", StringComparison.Ordinal);
            if (arrow > 0 && Split(fd[..arrow], out var lip, out var lport) && Split(fd[(arrow + 2)..], out var rip, out var rport))
            {
                return new NetInfo(proto ?? "tcp", lip, lport, rip, rport, 0, 0);
            }
        }

        return NetInfo.None;
    }

    private static bool Split(string endpoint, out string? ip, out int port)
    {
        var colon = endpoint.LastIndexOf(':');
        ip = null;
        port = -1;
        if (colon <= 0 || !int.TryParse(endpoint.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port > 65535)
        {
            return false;
        }

        ip = endpoint[..colon].Trim('[', ']');
        return System.Net.IPAddress.TryParse(ip, out _);
    }

    private static WorkloadRef Identity(JsonElement f, string? node)
    {
        var id = f.Str("container.id");
        var pod = f.Str("k8s.pod.name");
        if ((id is null || id == "host") && pod is null)
        {
            return Json.Host(node);
        }

        var repo = f.Str("container.image.repository");
        var tag = f.Str("container.image.tag");
        var image = f.Str("container.image") ?? (repo is null ? null : tag is null ? repo : repo + ":" + tag);
        return new WorkloadRef(null, f.Str("k8s.ns.name"), pod, f.Str("container.name"), id, image, f.Str("container.image.digest"), null, null, LabelSet.Empty);
    }

    private static LabelSet Labels(JsonElement root, string rule, string? source)
    {
        var items = new List<KeyValuePair<string, string>> { KeyValuePair.Create("source", "falco"), KeyValuePair.Create("falco.rule", rule) };
        if (root.Str("priority") is { } p)
        {
            items.Add(KeyValuePair.Create("falco.priority", p));
        }

        if (source is not null)
        {
            items.Add(KeyValuePair.Create("falco.source", source));
        }

        if (root.Get("tags") is { ValueKind: JsonValueKind.Array } tags)
        {
            items.Add(KeyValuePair.Create("falco.tags", string.Join(",", tags.EnumerateArray().Select(t => t.ToString()))));
        }

        return new LabelSet(items.ToArray());
    }
}
