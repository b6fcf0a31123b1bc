using System.Text.Json;

namespace RuntimeSentinel.Core.Events;

/// <summary>Writes events in native schema v1 (the exact shape the native decoder, <c>Formats.Native.EventDecoder</c>, reads). Absent fields are omitted.</summary>
public static class EventJsonWriter
{
    private static readonly JsonEncodedText Schema = JsonEncodedText.Encode("schema");
    private static readonly JsonEncodedText Kind = JsonEncodedText.Encode("kind");
    private static readonly JsonEncodedText Ts = JsonEncodedText.Encode("ts");
    private static readonly JsonEncodedText Node = JsonEncodedText.Encode("node");
    private static readonly JsonEncodedText Workload = JsonEncodedText.Encode("workload");
    private static readonly JsonEncodedText Process = JsonEncodedText.Encode("process");
    private static readonly JsonEncodedText Labels = JsonEncodedText.Encode("labels");

    public static byte[] ToUtf8(in RuntimeEvent e)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            Write(w, e);
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static void Write(Utf8JsonWriter w, in RuntimeEvent e)
    {
        w.WriteStartObject();
        w.WriteNumber(Schema, 1);
        w.WriteString(Kind, e.Kind.ToWire());
        w.WriteString(Ts, e.Timestamp.UtcDateTime);
        if (e.Node is not null)
        {
            w.WriteString(Node, e.Node);
        }

        var wl = e.Workload;
        w.WriteStartObject(Workload);
        Opt(w, "cluster", wl.Cluster);
        Opt(w, "namespace", wl.Namespace);
        Opt(w, "pod", wl.Pod);
        Opt(w, "container", wl.Container);
        Opt(w, "container_id", wl.ContainerId);
        Opt(w, "image", wl.Image);
        Opt(w, "image_digest", wl.ImageDigest);
        Opt(w, "owner_kind", wl.OwnerKind);
        Opt(w, "owner_name", wl.OwnerName);
        WriteLabels(w, "labels", wl.Labels);
        w.WriteEndObject();

        var p = e.Process;
        if (p != ProcessInfo.None)
        {
            w.WriteStartObject(Process);
            OptInt(w, "pid", p.Pid);
            OptInt(w, "ppid", p.Ppid);
            OptInt(w, "uid", p.Uid);
            Opt(w, "exe", p.Exe);
            Opt(w, "args", p.Args);
            Opt(w, "parent_exe", p.ParentExe);
            w.WriteEndObject();
        }

        if (e.SyscallName is not null || e.ReturnCode is not null)
        {
            w.WriteStartObject("syscall");
            Opt(w, "name", e.SyscallName);
            if (e.ReturnCode is { } rc)
            {
                w.WriteNumber("ret", rc);
            }

            w.WriteEndObject();
        }

        if (e.FilePath is not null || e.FileFlags is not null)
        {
            w.WriteStartObject("file");
            Opt(w, "path", e.FilePath);
            Opt(w, "flags", e.FileFlags);
            w.WriteEndObject();
        }

        var n = e.Net;
        if (n != NetInfo.None)
        {
            w.WriteStartObject("net");
            Opt(w, "protocol", n.Protocol);
            Opt(w, "local_ip", n.LocalIp);
            OptInt(w, "local_port", n.LocalPort);
            Opt(w, "remote_ip", n.RemoteIp);
            OptInt(w, "remote_port", n.RemotePort);
            if (n.BytesIn > 0)
            {
                w.WriteNumber("bytes_in", n.BytesIn);
            }

            if (n.BytesOut > 0)
            {
                w.WriteNumber("bytes_out", n.BytesOut);
            }

            if (n.Direction != NetDirection.Unknown)
            {
                w.WriteString("direction", n.Direction == NetDirection.Outbound ? "outbound" : "inbound");
            }

            w.WriteEndObject();
        }

        if (e.DnsName is not null)
        {
            w.WriteStartObject("dns");
            w.WriteString("name", e.DnsName);
            if (e.DnsAnswers is { Length: > 0 } answers)
            {
                w.WriteStartArray("answers");
                foreach (var a in answers.Split(','))
                {
                    w.WriteStringValue(a);
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        var r = e.Resource;
        if (r != ResourceSample.None)
        {
            w.WriteStartObject("resource");
            if (r.CpuCores >= 0)
            {
                w.WriteNumber("cpu_cores", Math.Round(r.CpuCores, 4));
            }

            OptLong(w, "memory_bytes", r.MemoryBytes);
            OptLong(w, "io_read_bytes", r.IoReadBytes);
            OptLong(w, "io_write_bytes", r.IoWriteBytes);
            w.WriteEndObject();
        }

        WriteLabels(w, Labels.Value, e.Labels);
        w.WriteEndObject();
    }

    private static void WriteLabels(Utf8JsonWriter w, string name, LabelSet labels)
    {
        if (labels.Count == 0)
        {
            return;
        }

        w.WriteStartObject(name);
        foreach (var kv in labels.Items)
        {
            w.WriteString(kv.Key, kv.Value);
        }

        w.WriteEndObject();
    }

    private static void Opt(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static void OptInt(Utf8JsonWriter w, string name, int value)
    {
        if (value >= 0)
        {
            w.WriteNumber(name, value);
        }
    }

    private static void OptLong(Utf8JsonWriter w, string name, long value)
    {
        if (value >= 0)
        {
            w.WriteNumber(name, value);
        }
    }
}
