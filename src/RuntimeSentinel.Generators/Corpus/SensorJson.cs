using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>A process as the cluster runs it: what Tetragon reports about it in every event.</summary>
internal sealed class Proc
{
    public required int Pid { get; init; }

    /// <summary>Its pid inside the container's pid namespace (1 for the entrypoint).</summary>
    public int ContainerPid { get; init; }

    public required string Binary { get; init; }

    public string Args { get; init; } = "";

    public string Cwd { get; init; } = "/";

    public int Uid { get; init; }

    public required DateTimeOffset Start { get; init; }

    public required string ExecId { get; init; }

    public Proc? Parent { get; init; }

    public CorpusPod? Pod { get; init; }

    public string Flags { get; init; } = "execve clone";

    /// <summary>The thread that made the call (a JVM's or Go runtime's worker thread); the process's own pid when null.</summary>
    public int? Tid { get; init; }
}

/// <summary>
/// Writes sensor records in the shapes the sensors document: Tetragon's JSON export (<c>process_exec</c>,
/// <c>process_exit</c>, <c>process_kprobe</c> with <c>sock_arg</c>/<c>file_arg</c>/<c>int_arg</c> arguments and a
/// returned socket for <c>inet_csk_accept</c>), Hubble's <c>hubble observe -o json</c> flows (L7 DNS requests and
/// responses with their addresses), and Falco alerts as falcosidekick forwards them.
/// </summary>
internal static class SensorJson
{
    private static readonly JsonWriterOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    public static string ExecId(string node, DateTimeOffset start, int pid) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{node}:{start.ToUnixTimeMilliseconds() * 1_000_000 + (pid % 1000)}:{pid}"));

    public static byte[] Exec(Proc p, string node, DateTimeOffset time) => Write(w =>
    {
        w.WriteStartObject("process_exec");
        Process(w, "process", p);
        if (p.Parent is { } parent)
        {
            Process(w, "parent", parent);
        }

        w.WriteEndObject();
        w.WriteString("node_name", node);
        w.WriteString("time", Time(time));
    });

    public static byte[] Exit(Proc p, string node, DateTimeOffset time, int status = 0) => Write(w =>
    {
        w.WriteStartObject("process_exit");
        Process(w, "process", p);
        if (p.Parent is { } parent)
        {
            Process(w, "parent", parent);
        }

        if (status != 0)
        {
            w.WriteNumber("status", status);
        }

        w.WriteString("time", Time(time));
        w.WriteEndObject();
        w.WriteString("node_name", node);
        w.WriteString("time", Time(time));
    });

    /// <summary>A socket as Tetragon's <c>sock_arg</c> shows it: always local (saddr/sport) and remote (daddr/dport).</summary>
    public readonly record struct Sock(string Protocol, string Saddr, int Sport, string Daddr, int Dport, string State);

    public static byte[] Kprobe(Proc p, string node, DateTimeOffset time, string function, string policy, Action<Utf8JsonWriter> args, Sock? returned = null) => Write(w =>
    {
        w.WriteStartObject("process_kprobe");
        Process(w, "process", p);
        if (p.Parent is { } parent)
        {
            Process(w, "parent", parent);
        }

        w.WriteString("function_name", function);
        w.WriteStartArray("args");
        args(w);
        w.WriteEndArray();
        if (returned is { } r)
        {
            w.WriteStartObject("return");
            SockArg(w, r);
            w.WriteEndObject();
        }

        w.WriteString("action", "KPROBE_ACTION_POST");
        w.WriteString("policy_name", policy);
        if (returned is not null)
        {
            w.WriteString("return_action", "KPROBE_ACTION_POST");
        }

        w.WriteEndObject();
        w.WriteString("node_name", node);
        w.WriteString("time", Time(time));
    });

    public static void SockArg(Utf8JsonWriter w, Sock s)
    {
        w.WriteStartObject("sock_arg");
        w.WriteString("family", "AF_INET");
        w.WriteString("type", s.Protocol == "udp" ? "SOCK_DGRAM" : "SOCK_STREAM");
        w.WriteString("protocol", s.Protocol == "udp" ? "IPPROTO_UDP" : "IPPROTO_TCP");
        w.WriteNumber("mark", 0);
        w.WriteNumber("priority", 0);
        w.WriteString("saddr", s.Saddr);
        w.WriteString("daddr", s.Daddr);
        w.WriteNumber("sport", s.Sport);
        w.WriteNumber("dport", s.Dport);
        w.WriteString("cookie", StableHash($"{s.Saddr}:{s.Sport}>{s.Daddr}:{s.Dport}").ToString(CultureInfo.InvariantCulture));
        if (s.State.Length > 0)
        {
            w.WriteString("state", s.State);
        }

        w.WriteEndObject();
    }

    /// <summary>
    /// FNV-1a of a text: the same in every process (string.GetHashCode and HashCode are seeded per process, which made
    /// the socket cookies, and so the corpus bytes, differ from run to run).
    /// </summary>
    public static uint StableHash(string text)
    {
        var h = 2166136261u;
        foreach (var c in text)
        {
            h = (h ^ c) * 16777619u;
        }

        return h;
    }

    public static Action<Utf8JsonWriter> SockArgs(Sock s, long? size = null) => w =>
    {
        w.WriteStartObject();
        SockArg(w, s);
        w.WriteEndObject();
        if (size is { } n)
        {
            w.WriteStartObject();
            w.WriteNumber("int_arg", n);
            w.WriteEndObject();
        }
    };

    /// <summary><c>security_file_permission(struct file *file, int mask)</c>: mask 2 = write, 4 = read.</summary>
    public static Action<Utf8JsonWriter> FileArgs(string path, bool write) => w =>
    {
        w.WriteStartObject();
        w.WriteStartObject("file_arg");
        w.WriteString("path", path);
        w.WriteString("permission", write ? "-rw-r--r--" : "-r--r--r--");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartObject();
        w.WriteNumber("int_arg", write ? 2 : 4);
        w.WriteEndObject();
    };

    public static Action<Utf8JsonWriter> IntArgs(params long[] values) => w =>
    {
        foreach (var v in values)
        {
            w.WriteStartObject();
            w.WriteNumber("int_arg", v);
            w.WriteEndObject();
        }
    };

    private static void Process(Utf8JsonWriter w, string name, Proc p)
    {
        w.WriteStartObject(name);
        w.WriteString("exec_id", p.ExecId);
        w.WriteNumber("pid", p.Pid);
        w.WriteNumber("uid", p.Uid);
        w.WriteString("cwd", p.Cwd);
        w.WriteString("binary", p.Binary);
        if (p.Args.Length > 0)
        {
            w.WriteString("arguments", p.Args);
        }

        w.WriteString("flags", p.Flags);
        w.WriteString("start_time", Time(p.Start));
        w.WriteNumber("auid", 4294967295);
        if (p.Pod is { } pod)
        {
            w.WriteStartObject("pod");
            w.WriteString("namespace", pod.Workload.Namespace);
            w.WriteString("name", pod.Name);
            w.WriteStartObject("container");
            w.WriteString("id", pod.ContainerId);
            w.WriteString("name", pod.ContainerName ?? pod.Workload.Container);
            w.WriteStartObject("image");
            w.WriteString("id", $"{pod.Image.Split(':')[0]}@{pod.Digest}");
            w.WriteString("name", pod.Image);
            w.WriteEndObject();
            w.WriteString("start_time", Time(pod.ContainerStart));
            w.WriteNumber("pid", p.ContainerPid);
            w.WriteEndObject();
            w.WriteStartObject("pod_labels");
            foreach (var (k, v) in pod.Workload.Labels)
            {
                w.WriteString(k, v);
            }

            w.WriteEndObject();
            w.WriteString("workload", pod.Workload.Name);
            w.WriteString("workload_kind", pod.Workload.Kind);
            w.WriteEndObject();
            w.WriteString("docker", pod.ContainerId["containerd://".Length..][..31]);
        }

        if (p.Parent is { } parent)
        {
            w.WriteString("parent_exec_id", parent.ExecId);
        }

        w.WriteNumber("tid", p.Tid ?? p.Pid);
        w.WriteEndObject();
    }

    /// <summary>A Hubble L7 DNS flow (Cilium's DNS proxy) between a pod and the cluster DNS, request or response.</summary>
    public static byte[] HubbleDns(CorpusPod client, CorpusPod dns, string node, DateTimeOffset time, string query, int port, bool response, IReadOnlyList<string> ips) => Write(w =>
    {
        w.WriteStartObject("flow");
        w.WriteString("time", Time(time));
        w.WriteString("verdict", "FORWARDED");
        w.WriteStartObject("IP");
        w.WriteString("source", response ? dns.Ip : client.Ip);
        w.WriteString("destination", response ? client.Ip : dns.Ip);
        w.WriteString("ipVersion", "IPv4");
        w.WriteEndObject();
        w.WriteStartObject("l4");
        w.WriteStartObject("UDP");
        w.WriteNumber("source_port", response ? 53 : port);
        w.WriteNumber("destination_port", response ? port : 53);
        w.WriteEndObject();
        w.WriteEndObject();
        Endpoint(w, "source", response ? dns : client);
        Endpoint(w, "destination", response ? client : dns);
        w.WriteString("Type", "L7");
        w.WriteString("node_name", node);
        w.WriteStartObject("l7");
        w.WriteString("type", response ? "RESPONSE" : "REQUEST");
        if (response)
        {
            w.WriteNumber("latency_ns", 412_000);
        }

        w.WriteStartObject("dns");
        w.WriteString("query", query.EndsWith('.') ? query : query + ".");
        if (response)
        {
            w.WriteStartArray("ips");
            foreach (var ip in ips)
            {
                w.WriteStringValue(ip);
            }

            w.WriteEndArray();
            w.WriteNumber("ttl", 30);
        }

        w.WriteString("observation_source", "proxy");
        w.WriteStartArray("qtypes");
        w.WriteStringValue("A");
        w.WriteEndArray();
        if (response)
        {
            w.WriteStartArray("rrtypes");
            w.WriteStringValue("A");
            w.WriteEndArray();
        }

        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartObject("event_type");
        w.WriteNumber("type", 129);
        w.WriteEndObject();
        w.WriteString("traffic_direction", response ? "INGRESS" : "EGRESS");
        w.WriteBoolean("is_reply", response);
        w.WriteString("Summary", response ? $"DNS Answer \"{string.Join(",", ips)}\" TTL: 30 (Proxy {query}. A)" : $"DNS Query {query}. A");
        w.WriteEndObject();
        w.WriteString("node_name", node);
        w.WriteString("time", Time(time));
    });

    internal static void Endpoint(Utf8JsonWriter w, string name, CorpusPod pod)
    {
        w.WriteStartObject(name);
        w.WriteNumber("ID", pod.EndpointId);
        w.WriteNumber("identity", pod.Workload.Identity);
        w.WriteString("namespace", pod.Workload.Namespace);
        w.WriteStartArray("labels");
        foreach (var (k, v) in pod.Workload.Labels)
        {
            w.WriteStringValue($"k8s:{k}={v}");
        }

        w.WriteStringValue($"k8s:io.kubernetes.pod.namespace={pod.Workload.Namespace}");
        w.WriteEndArray();
        w.WriteString("pod_name", pod.Name);
        w.WriteStartArray("workloads");
        w.WriteStartObject();
        w.WriteString("name", pod.Workload.Name);
        w.WriteString("kind", pod.Workload.Kind);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>A Falco alert as falcosidekick posts it (rule, priority, output, output_fields).</summary>
    public static byte[] Falco(string rule, string priority, string output, DateTimeOffset time, string node, IReadOnlyDictionary<string, object?> fields, params string[] tags) => Write(w =>
    {
        w.WriteString("uuid", new Guid(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(rule + Time(time) + node)).AsSpan(0, 16)).ToString());
        w.WriteString("output", $"{time.UtcDateTime:HH:mm:ss.fffffff}: {priority} {output}");
        w.WriteString("priority", priority);
        w.WriteString("rule", rule);
        w.WriteString("time", Time(time));
        w.WriteString("source", "syscall");
        w.WriteStartObject("output_fields");
        foreach (var (k, v) in fields)
        {
            switch (v)
            {
                case null:
                    w.WriteNull(k);
                    break;
                case int i:
                    w.WriteNumber(k, i);
                    break;
                case long l:
                    w.WriteNumber(k, l);
                    break;
                default:
                    w.WriteString(k, v.ToString());
                    break;
            }
        }

        w.WriteEndObject();
        w.WriteStartArray("tags");
        foreach (var t in tags)
        {
            w.WriteStringValue(t);
        }

        w.WriteEndArray();
        w.WriteString("hostname", node);
    });

    internal static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(2048);
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
