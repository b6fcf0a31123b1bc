using System.Text.Json;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Core.Alerts;

/// <summary>The ECS field sets of the incident's evidence and where it ran: process, file, network, DNS, container, orchestrator, host, related.</summary>
internal static class EcsEvidenceWriter
{
    public static void Write(Utf8JsonWriter w, Incident i, List<(Alert Alert, RuntimeEvent Event)> evidence)
    {
        var p = i.Primary;
        var events = evidence.Select(x => x.Event).ToList();
        if (events.FirstOrDefault(e => e.Process.Exe is not null || e.Process.Pid >= 0) is { Kind: not EventKind.Unknown } pe)
        {
            WriteProcess(w, pe);
        }

        if (events.FirstOrDefault(e => e.FilePath is not null) is { FilePath: { } path })
        {
            w.WriteStartObject("file");
            w.WriteString("path", path);
            w.WriteString("name", SiemFields.BaseName(path));
            if (SiemFields.Directory(path) is { } dir)
            {
                w.WriteString("directory", dir);
            }

            w.WriteEndObject();
        }

        if (events.FirstOrDefault(e => e.Net != NetInfo.None && (EcsAlertWriter.IsIp(e.Net.RemoteIp) || EcsAlertWriter.IsIp(e.Net.LocalIp))) is { Kind: not EventKind.Unknown } ne)
        {
            WriteNetwork(w, ne);
        }

        if (events.FirstOrDefault(e => e.DnsName is not null) is { DnsName: { } name } de)
        {
            w.WriteStartObject("dns");
            w.WriteStartObject("question");
            w.WriteString("name", name);
            w.WriteEndObject();
            var answers = de.DnsAnswers?.Split(',').Where(EcsAlertWriter.IsIp).ToList() ?? [];
            w.WriteString("type", answers.Count > 0 ? "answer" : "query");
            if (answers.Count > 0)
            {
                EcsAlertWriter.Strings(w, "resolved_ip", answers);
            }

            w.WriteEndObject();
        }

        WriteContainer(w, i, p.Identity);
        if (p.Node is { } node)
        {
            w.WriteStartObject("host");
            w.WriteString("name", node);
            w.WriteString("hostname", node);
            w.WriteEndObject();
        }

        WriteRelated(w, i, events);
    }

    private static void WriteProcess(Utf8JsonWriter w, in RuntimeEvent e)
    {
        var p = e.Process;
        w.WriteStartObject("process");
        if (p.Pid >= 0)
        {
            w.WriteNumber("pid", p.Pid);
        }

        if (p.Exe is { } exe)
        {
            w.WriteString("executable", exe);
            w.WriteString("name", SiemFields.BaseName(exe));
            w.WriteString("command_line", SiemFields.CommandLine(p));
        }

        if (e.Labels["exec_id"] is { } execId)
        {
            w.WriteString("entity_id", execId);
        }

        if (e.Kind == EventKind.ProcessExec)
        {
            w.WriteString("start", e.Timestamp.UtcDateTime);
        }

        if (p.Uid >= 0)
        {
            w.WriteStartObject("user");
            w.WriteString("id", EcsAlertWriter.Invariant(p.Uid));
            w.WriteEndObject();
        }

        if (p.Ppid >= 0 || p.ParentExe is not null)
        {
            w.WriteStartObject("parent");
            if (p.Ppid >= 0)
            {
                w.WriteNumber("pid", p.Ppid);
            }

            if (p.ParentExe is { } parent)
            {
                w.WriteString("executable", parent);
                w.WriteString("name", SiemFields.BaseName(parent));
            }

            if (e.Labels["parent_exec_id"] is { } parentId)
            {
                w.WriteString("entity_id", parentId);
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    /// <summary>The connection from the container's point of view: source is who opened it (ECS host-based <c>ingress</c>/<c>egress</c>).</summary>
    private static void WriteNetwork(Utf8JsonWriter w, in RuntimeEvent e)
    {
        var n = e.Net;
        var inbound = n.Direction == NetDirection.Inbound || e.Kind == EventKind.NetListen;
        (string? Ip, int Port) local = (n.LocalIp, n.LocalPort), remote = (n.RemoteIp, n.RemotePort);
        Endpoint(w, "source", e.Kind == EventKind.NetListen ? (null, -1) : inbound ? remote : local);
        Endpoint(w, "destination", inbound ? local : remote);
        w.WriteStartObject("network");
        if (n.Protocol is { } protocol)
        {
            w.WriteString("transport", protocol.ToLowerInvariant());
        }

        if (n.Direction != NetDirection.Unknown && e.Kind != EventKind.NetListen)
        {
            w.WriteString("direction", n.Direction == NetDirection.Inbound ? "ingress" : "egress");
        }

        if (n.BytesOut > 0 || n.BytesIn > 0)
        {
            w.WriteNumber("bytes", n.BytesOut + n.BytesIn);
        }

        w.WriteEndObject();

        static void Endpoint(Utf8JsonWriter w, string name, (string? Ip, int Port) ep)
        {
            if (!EcsAlertWriter.IsIp(ep.Ip))
            {
                return;
            }

            w.WriteStartObject(name);
            w.WriteString("ip", ep.Ip);
            if (ep.Port is >= 0 and <= 65535)
            {
                w.WriteNumber("port", ep.Port);
            }

            w.WriteEndObject();
        }
    }

    private static void WriteContainer(Utf8JsonWriter w, Incident i, WorkloadRef r)
    {
        var k = i.Workload;
        w.WriteStartObject("container");
        w.WriteString("name", r.Container ?? k.Container);
        if (r.ContainerId is { } cid)
        {
            var (runtime, id) = SiemFields.ContainerIdParts(cid);
            w.WriteString("id", id);
            if (runtime is not null)
            {
                w.WriteString("runtime", runtime);
            }
        }

        if (r.Image is { } image)
        {
            var (name, tag) = SiemFields.ImageParts(image);
            w.WriteStartObject("image");
            w.WriteString("name", name);
            if (tag is not null)
            {
                EcsAlertWriter.Strings(w, "tag", [tag]);
            }

            if (r.ImageDigest is { } digest)
            {
                w.WriteStartObject("hash");
                EcsAlertWriter.Strings(w, "all", [digest]);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteStartObject("orchestrator");
        w.WriteString("type", "kubernetes");
        w.WriteString("namespace", k.Namespace);
        w.WriteStartObject("cluster");
        w.WriteString("name", k.Cluster);
        w.WriteEndObject();
        w.WriteStartObject("resource");
        if (r.Pod is { } pod)
        {
            w.WriteString("type", "pod");
            w.WriteString("name", pod);
        }

        w.WriteStartObject("parent");
        w.WriteString("type", k.OwnerKind);
        w.WriteEndObject();
        if (r.Labels.Count > 0)
        {
            var labels = new List<string>();
            foreach (var kv in r.Labels.Items)
            {
                labels.Add($"{kv.Key}:{kv.Value}");
            }

            EcsAlertWriter.Strings(w, "label", labels);
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>Every address, host name and image digest the evidence names, for pivoting (ECS <c>related.*</c>).</summary>
    private static void WriteRelated(Utf8JsonWriter w, Incident i, List<RuntimeEvent> events)
    {
        var ips = events.SelectMany(e => new[] { e.Net.LocalIp, e.Net.RemoteIp }.Concat(e.DnsAnswers?.Split(',') ?? []))
            .Where(EcsAlertWriter.IsIp).Select(s => s!).Distinct(StringComparer.Ordinal).Take(SiemFields.MaxEvidence).ToList();
        var hosts = i.Nodes.Take(SiemFields.MaxNodes).Concat(events.Select(e => e.DnsName).OfType<string>()).Distinct(StringComparer.Ordinal).Take(SiemFields.MaxEvidence).ToList();
        var hashes = events.Select(e => e.Workload.ImageDigest).Prepend(i.Primary.Identity.ImageDigest).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        if (ips.Count + hosts.Count + hashes.Count == 0)
        {
            return;
        }

        w.WriteStartObject("related");
        if (ips.Count > 0)
        {
            EcsAlertWriter.Strings(w, "ip", ips);
        }

        if (hosts.Count > 0)
        {
            EcsAlertWriter.Strings(w, "hosts", hosts);
        }

        if (hashes.Count > 0)
        {
            EcsAlertWriter.Strings(w, "hash", hashes);
        }

        w.WriteEndObject();
    }
}
