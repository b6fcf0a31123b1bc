using System.Globalization;
using System.Net;
using System.Text.Json;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Core.Alerts;

/// <summary>
/// The evidence side of a Detection Finding: one <c>evidences</c> entry per evidence event (the process with its
/// parent, the file, the endpoints and connection, the DNS query, the container), and the <c>observables</c> that point
/// into them. A value the sensor reported malformed (an address that is no IP, a port out of range) is left out of
/// the typed attribute and kept in the entry's <c>data</c>, so a hostile event cannot make the document invalid.
/// </summary>
internal static class OcsfEvidenceWriter
{
    /// <summary>Observables listed per document (each evidence adds a handful).</summary>
    public const int MaxObservables = 64;

    public static void WriteEvidences(Utf8JsonWriter w, List<(Alert Alert, RuntimeEvent Event)> evidence, List<OcsfObservable> observables)
    {
        if (evidence.Count == 0)
        {
            return;
        }

        w.WriteStartArray("evidences");
        for (var n = 0; n < evidence.Count; n++)
        {
            var (alert, e) = evidence[n];
            var at = $"evidences[{n}]";
            w.WriteStartObject();
            w.WriteString("uid", alert.Id);
            w.WriteString("name", e.Kind.ToWire());
            WriteProcess(w, e.Process, e, at, observables);
            if (e.FilePath is { } path)
            {
                w.WriteStartObject("file");
                w.WriteString("name", SiemFields.BaseName(path));
                w.WriteString("path", path);
                // The sensor reports a path opened, not what it is: a regular file, a socket or a device alike.
                w.WriteNumber("type_id", 0);
                w.WriteString("type", "Unknown");
                w.WriteEndObject();
                observables.Add(new($"{at}.file.path", 45, "File Path", path));
            }

            WriteNetwork(w, e, at, observables);
            if (e.DnsName is { } dns)
            {
                w.WriteStartObject("query");
                w.WriteString("hostname", dns);
                w.WriteEndObject();
                observables.Add(new($"{at}.query.hostname", 1, "Hostname", dns));
            }

            if (HasContainer(e.Workload))
            {
                w.WritePropertyName("container");
                WriteContainer(w, e.Workload, alert.Workload.Container);
            }

            WriteData(w, e);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    public static bool HasContainer(WorkloadRef r) => r.ContainerId is not null || r.Container is not null;

    /// <summary>An OCSF container object (at least a name or uid: callers check <see cref="HasContainer"/>).</summary>
    public static void WriteContainer(Utf8JsonWriter w, WorkloadRef r, string fallbackName)
    {
        w.WriteStartObject();
        w.WriteString("name", r.Container ?? fallbackName);
        if (r.ContainerId is { } cid)
        {
            var (runtime, id) = SiemFields.ContainerIdParts(cid);
            w.WriteString("uid", id);
            if (runtime is not null)
            {
                w.WriteString("runtime", runtime);
            }
        }

        if (r.Image is { } image)
        {
            w.WriteStartObject("image");
            w.WriteString("name", image);
            // The image's unique id is its digest; an image reported without one is identified by its reference.
            w.WriteString("uid", r.ImageDigest ?? image);
            w.WriteEndObject();
        }

        if (r.Pod is not null || r.Namespace is not null)
        {
            w.WriteString("orchestrator", "Kubernetes");
        }

        w.WriteEndObject();
    }

    private static void WriteProcess(Utf8JsonWriter w, ProcessInfo p, in RuntimeEvent e, string at, List<OcsfObservable> observables)
    {
        var execId = e.Labels["exec_id"];
        if (p.Pid < 0 && execId is null)
        {
            return; // OCSF identifies a process by pid or uid: an event without either names none.
        }

        w.WriteStartObject("process");
        if (p.Pid >= 0)
        {
            w.WriteNumber("pid", p.Pid);
        }

        if (execId is not null)
        {
            w.WriteString("uid", execId);
        }

        if (p.Exe is { } exe)
        {
            var name = SiemFields.BaseName(exe);
            w.WriteString("name", name);
            w.WriteString("path", exe);
            w.WriteString("cmd_line", SiemFields.CommandLine(p));
            w.WriteStartObject("file");
            w.WriteString("name", name);
            w.WriteString("path", exe);
            w.WriteNumber("type_id", 1); // it was executed: a regular file
            w.WriteString("type", "Regular File");
            w.WriteEndObject();
            observables.Add(new($"{at}.process.name", 9, "Process Name", name));
            observables.Add(new($"{at}.process.cmd_line", 13, "Command Line", SiemFields.CommandLine(p)!));
        }

        if (e.Kind == EventKind.ProcessExec)
        {
            w.WriteNumber("created_time", SiemFields.EpochMs(e.Timestamp));
        }

        if (p.Uid >= 0)
        {
            w.WriteStartObject("user");
            w.WriteString("uid", p.Uid.ToString(CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }

        var parentExecId = e.Labels["parent_exec_id"];
        if (p.Ppid >= 0 || parentExecId is not null)
        {
            w.WriteStartObject("parent_process");
            if (p.Ppid >= 0)
            {
                w.WriteNumber("pid", p.Ppid);
            }

            if (parentExecId is not null)
            {
                w.WriteString("uid", parentExecId);
            }

            if (p.ParentExe is { } parent)
            {
                w.WriteString("name", SiemFields.BaseName(parent));
                w.WriteString("path", parent);
                observables.Add(new($"{at}.process.parent_process.name", 9, "Process Name", SiemFields.BaseName(parent)));
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    /// <summary>
    /// The destination is the server side whoever opened the connection: the peer of an outbound connection, this
    /// workload's own address for an inbound one or a listening socket.
    /// </summary>
    private static void WriteNetwork(Utf8JsonWriter w, in RuntimeEvent e, string at, List<OcsfObservable> observables)
    {
        var n = e.Net;
        if (n == NetInfo.None)
        {
            return;
        }

        var peer = e.Labels["peer.workload"];
        var inbound = n.Direction == NetDirection.Inbound;
        (string? Ip, int Port, string? Service) local = (n.LocalIp, n.LocalPort, null);
        (string? Ip, int Port, string? Service) remote = (n.RemoteIp, n.RemotePort, peer);
        (string? Ip, int Port, string? Service) none = (null, -1, null);
        var listen = e.Kind == EventKind.NetListen;
        var src = listen ? none : inbound ? remote : local;
        var dst = listen || inbound ? local : remote;
        var wroteSrc = WriteEndpoint(w, "src_endpoint", src, $"{at}.src_endpoint", observables);
        var wroteDst = WriteEndpoint(w, "dst_endpoint", dst, $"{at}.dst_endpoint", observables);
        if ((wroteSrc || wroteDst) && e.Kind != EventKind.NetListen)
        {
            var (id, caption) = peer is not null ? (3, "Lateral") : n.Direction switch
            {
                NetDirection.Outbound => (2, "Outbound"),
                NetDirection.Inbound => (1, "Inbound"),
                _ => (0, "Unknown"),
            };
            w.WriteStartObject("connection_info");
            w.WriteNumber("direction_id", id);
            w.WriteString("direction", caption);
            if (n.Protocol is { } protocol)
            {
                w.WriteString("protocol_name", protocol);
            }

            w.WriteEndObject();
        }
    }

    private static bool WriteEndpoint(Utf8JsonWriter w, string name, (string? Ip, int Port, string? Service) ep, string at, List<OcsfObservable> observables)
    {
        var ip = ep.Ip is not null && IPAddress.TryParse(ep.Ip, out _) ? ep.Ip : null;
        if (ip is null && ep.Service is null)
        {
            return false; // an endpoint needs an address or a name; a port alone identifies nothing
        }

        w.WriteStartObject(name);
        if (ip is not null)
        {
            w.WriteString("ip", ip);
            observables.Add(new($"{at}.ip", 2, "IP Address", ip));
        }

        if (ep.Port is >= 0 and <= 65535)
        {
            w.WriteNumber("port", ep.Port);
        }

        if (ep.Service is not null)
        {
            w.WriteString("svc_name", ep.Service);
        }

        w.WriteEndObject();
        return true;
    }

    /// <summary>The event's fields OCSF has no typed attribute for, as the native event schema names them.</summary>
    private static void WriteData(Utf8JsonWriter w, in RuntimeEvent e)
    {
        w.WriteStartObject("data");
        w.WriteString("kind", e.Kind.ToWire());
        w.WriteString("time", e.Timestamp.UtcDateTime);
        if (e.Node is not null)
        {
            w.WriteString("node", e.Node);
        }

        if (e.Workload.Pod is not null)
        {
            w.WriteString("pod", e.Workload.Pod);
        }

        if (e.SyscallName is not null)
        {
            w.WriteString("syscall", e.SyscallName);
        }

        if (e.ReturnCode is { } rc)
        {
            w.WriteNumber("return_code", rc);
        }

        if (e.FileFlags is not null)
        {
            w.WriteString("file_flags", e.FileFlags);
        }

        var n = e.Net;
        if (n != NetInfo.None)
        {
            // As reported, also when malformed (then only here).
            if (n.LocalIp is not null)
            {
                w.WriteString("local_ip", n.LocalIp);
            }

            if (n.RemoteIp is not null)
            {
                w.WriteString("remote_ip", n.RemoteIp);
            }

            if (n.BytesOut > 0)
            {
                w.WriteNumber("bytes_out", n.BytesOut);
            }

            if (n.BytesIn > 0)
            {
                w.WriteNumber("bytes_in", n.BytesIn);
            }
        }

        if (e.DnsAnswers is { Length: > 0 } answers)
        {
            w.WriteStartArray("dns_answers");
            foreach (var a in answers.Split(','))
            {
                w.WriteStringValue(a);
            }

            w.WriteEndArray();
        }

        var r = e.Resource;
        if (r.CpuCores >= 0)
        {
            w.WriteNumber("cpu_cores", Math.Round(r.CpuCores, 4));
        }

        if (r.MemoryBytes >= 0)
        {
            w.WriteNumber("memory_bytes", r.MemoryBytes);
        }

        if (e.Labels.Count > 0)
        {
            w.WriteStartObject("labels");
            foreach (var kv in e.Labels.Items)
            {
                w.WriteString(kv.Key, kv.Value);
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    /// <summary>Observables in document order, one per (name, value), at most <see cref="MaxObservables"/>.</summary>
    public static void WriteObservables(Utf8JsonWriter w, List<OcsfObservable> observables)
    {
        if (observables.Count == 0)
        {
            return;
        }

        w.WriteStartArray("observables");
        foreach (var o in observables.DistinctBy(o => (o.Name, o.Value)).Take(MaxObservables))
        {
            w.WriteStartObject();
            w.WriteString("name", o.Name);
            w.WriteNumber("type_id", o.TypeId);
            w.WriteString("type", o.Type);
            w.WriteString("value", o.Value);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }
}
