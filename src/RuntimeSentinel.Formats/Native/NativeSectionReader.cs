using System.Text.Json;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Native;

/// <summary>
/// Reads the sections of a native event (workload, process, syscall, file, net, dns, resource), each checking its
/// fields' types and limits and naming the field it rejects. Values come from <see cref="NativeValueReader"/>, label
/// objects from <see cref="NativeLabelReader"/>.
/// </summary>
internal sealed class NativeSectionReader(NativeValueReader values, NativeLabelReader labelReader, EventDecoderOptions options)
{
    public bool ReadWorkload(ref Utf8JsonReader reader, ReadOnlySpan<byte> utf8, out WorkloadRef workload, out DecodeError error)
    {
        workload = default;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = NativeErrors.WrongType("workload", "object", reader.TokenType);
            return false;
        }

        string? cluster = null, ns = null, pod = null, container = null, containerId = null, image = null, digest = null, ownerKind = null, ownerName = null;
        var labels = LabelSet.Empty;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            ref string? target = ref cluster;
            string name;
            if (reader.ValueTextEquals("cluster"u8)) { name = "workload.cluster"; target = ref cluster; }
            else if (reader.ValueTextEquals("namespace"u8)) { name = "workload.namespace"; target = ref ns; }
            else if (reader.ValueTextEquals("pod"u8)) { name = "workload.pod"; target = ref pod; }
            else if (reader.ValueTextEquals("container"u8)) { name = "workload.container"; target = ref container; }
            else if (reader.ValueTextEquals("container_id"u8)) { name = "workload.container_id"; target = ref containerId; }
            else if (reader.ValueTextEquals("image"u8)) { name = "workload.image"; target = ref image; }
            else if (reader.ValueTextEquals("image_digest"u8)) { name = "workload.image_digest"; target = ref digest; }
            else if (reader.ValueTextEquals("owner_kind"u8)) { name = "workload.owner_kind"; target = ref ownerKind; }
            else if (reader.ValueTextEquals("owner_name"u8)) { name = "workload.owner_name"; target = ref ownerName; }
            else if (reader.ValueTextEquals("labels"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Null && !labelReader.ReadLabels(ref reader, utf8, "workload.labels", out labels, out error))
                {
                    return false;
                }

                continue;
            }
            else
            {
                reader.Read();
                reader.Skip();
                continue;
            }

            reader.Read();
            if (!values.ReadString(ref reader, name, options.MaxStringBytes, out target, out error))
            {
                return false;
            }
        }

        workload = new WorkloadRef(cluster, ns, pod, container, containerId, image, digest, ownerKind, ownerName, labels);
        error = default;
        return true;
    }

    public bool ReadProcess(ref Utf8JsonReader reader, out ProcessInfo process, out DecodeError error)
    {
        process = ProcessInfo.None;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = NativeErrors.WrongType("process", "object", reader.TokenType);
            return false;
        }

        int pid = -1, ppid = -1, uid = -1;
        string? exe = null, args = null, parentExe = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("pid"u8))
            {
                reader.Read();
                if (!NativeValueReader.ReadNonNegativeInt(ref reader, "process.pid", out pid, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("ppid"u8))
            {
                reader.Read();
                if (!NativeValueReader.ReadNonNegativeInt(ref reader, "process.ppid", out ppid, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("uid"u8))
            {
                reader.Read();
                if (!NativeValueReader.ReadNonNegativeInt(ref reader, "process.uid", out uid, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("exe"u8))
            {
                reader.Read();
                if (!values.ReadString(ref reader, "process.exe", options.MaxStringBytes, out exe, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("args"u8))
            {
                reader.Read();
                if (!values.ReadString(ref reader, "process.args", options.MaxArgsBytes, out args, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("parent_exe"u8))
            {
                reader.Read();
                if (!values.ReadString(ref reader, "process.parent_exe", options.MaxStringBytes, out parentExe, out error))
                {
                    return false;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        process = new ProcessInfo(pid, ppid, uid, exe, args, parentExe);
        error = default;
        return true;
    }

    public bool ReadSyscall(ref Utf8JsonReader reader, out string? name, out long? ret, out DecodeError error)
    {
        name = null;
        ret = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = NativeErrors.WrongType("syscall", "object", reader.TokenType);
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                if (!values.ReadString(ref reader, "syscall.name", 64, out name, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("ret"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var r))
                {
                    error = NativeErrors.WrongType("syscall.ret", "integer", reader.TokenType);
                    return false;
                }

                ret = r;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        error = default;
        return true;
    }

    public bool ReadFile(ref Utf8JsonReader reader, out string? path, out string? flags, out DecodeError error)
    {
        path = null;
        flags = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = NativeErrors.WrongType("file", "object", reader.TokenType);
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("path"u8))
            {
                reader.Read();
                if (!values.ReadString(ref reader, "file.path", options.MaxStringBytes, out path, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("flags"u8))
            {
                reader.Read();
                if (!values.ReadString(ref reader, "file.flags", 256, out flags, out error))
                {
                    return false;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        error = default;
        return true;
    }

    public bool ReadNet(ref Utf8JsonReader reader, out NetInfo net, out DecodeError error)
    {
        net = NetInfo.None;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = NativeErrors.WrongType("net", "object", reader.TokenType);
            return false;
        }

        string? protocol = null, localIp = null, remoteIp = null;
        int localPort = -1, remotePort = -1;
        long bytesIn = 0, bytesOut = 0;
        var direction = NetDirection.Unknown;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool ok;
            if (reader.ValueTextEquals("protocol"u8)) { reader.Read(); ok = values.ReadString(ref reader, "net.protocol", 16, out protocol, out error); }
            else if (reader.ValueTextEquals("local_ip"u8)) { reader.Read(); ok = values.ReadIp(ref reader, "net.local_ip", out localIp, out error); }
            else if (reader.ValueTextEquals("remote_ip"u8)) { reader.Read(); ok = values.ReadIp(ref reader, "net.remote_ip", out remoteIp, out error); }
            else if (reader.ValueTextEquals("local_port"u8)) { reader.Read(); ok = NativeValueReader.ReadPort(ref reader, "net.local_port", out localPort, out error); }
            else if (reader.ValueTextEquals("remote_port"u8)) { reader.Read(); ok = NativeValueReader.ReadPort(ref reader, "net.remote_port", out remotePort, out error); }
            else if (reader.ValueTextEquals("bytes_in"u8)) { reader.Read(); ok = NativeValueReader.ReadNonNegativeLong(ref reader, "net.bytes_in", out bytesIn, out error); }
            else if (reader.ValueTextEquals("bytes_out"u8)) { reader.Read(); ok = NativeValueReader.ReadNonNegativeLong(ref reader, "net.bytes_out", out bytesOut, out error); }
            else if (reader.ValueTextEquals("direction"u8)) { reader.Read(); ok = NativeValueReader.ReadDirection(ref reader, out direction, out error); }
            else
            {
                reader.Read();
                reader.Skip();
                continue;
            }

            if (!ok)
            {
                return false;
            }
        }

        net = new NetInfo(protocol, localIp, localPort, remoteIp, remotePort, bytesIn, bytesOut) { Direction = direction };
        error = default;
        return true;
    }

    public bool ReadDns(ref Utf8JsonReader reader, out string? name, out string? answers, out DecodeError error)
    {
        name = null;
        answers = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = NativeErrors.WrongType("dns", "object", reader.TokenType);
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                // 253 is the longest valid DNS name; allow a trailing dot.
                if (!values.ReadString(ref reader, "dns.name", 254, out name, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("answers"u8))
            {
                reader.Read();
                if (!ReadAnswers(ref reader, out answers, out error))
                {
                    return false;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        error = default;
        return true;
    }

    /// <summary>An array of up to 16 IP strings, kept as one comma-separated string (only DNS responses carry it).</summary>
    private bool ReadAnswers(ref Utf8JsonReader reader, out string? answers, out DecodeError error)
    {
        answers = null;
        error = default;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            error = NativeErrors.WrongType("dns.answers", "array", reader.TokenType);
            return false;
        }

        var list = new List<string>(4);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (!values.ReadIp(ref reader, "dns.answers", out var ip, out error))
            {
                return false;
            }

            if (ip is null || list.Count >= 16)
            {
                continue;
            }

            list.Add(ip);
        }

        answers = list.Count == 0 ? null : string.Join(',', list);
        return true;
    }

    public static bool ReadResource(ref Utf8JsonReader reader, out ResourceSample sample, out DecodeError error)
    {
        sample = ResourceSample.None;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = NativeErrors.WrongType("resource", "object", reader.TokenType);
            return false;
        }

        double cpu = -1;
        long mem = -1, ioRead = -1, ioWrite = -1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool ok;
            if (reader.ValueTextEquals("cpu_cores"u8))
            {
                reader.Read();
                ok = reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out cpu);
                if (!ok)
                {
                    error = NativeErrors.WrongType("resource.cpu_cores", "number", reader.TokenType);
                    return false;
                }

                if (cpu < 0 || !double.IsFinite(cpu))
                {
                    error = new DecodeError(DecodeErrorCode.InvalidValue, "resource.cpu_cores", "must be a finite number >= 0");
                    return false;
                }

                continue;
            }

            if (reader.ValueTextEquals("memory_bytes"u8)) { reader.Read(); ok = NativeValueReader.ReadNonNegativeLong(ref reader, "resource.memory_bytes", out mem, out error); }
            else if (reader.ValueTextEquals("io_read_bytes"u8)) { reader.Read(); ok = NativeValueReader.ReadNonNegativeLong(ref reader, "resource.io_read_bytes", out ioRead, out error); }
            else if (reader.ValueTextEquals("io_write_bytes"u8)) { reader.Read(); ok = NativeValueReader.ReadNonNegativeLong(ref reader, "resource.io_write_bytes", out ioWrite, out error); }
            else
            {
                reader.Read();
                reader.Skip();
                continue;
            }

            if (!ok)
            {
                return false;
            }
        }

        sample = new ResourceSample(cpu, mem, ioRead, ioWrite);
        error = default;
        return true;
    }
}
