using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Formats.Tetragon;

namespace RuntimeSentinel.Formats.Tests;

public class TetragonFormatTests
{
    [SkippableFact]
    public void Decode_ProcessExec_MapsPodIdentityProcessAndParent()
    {
        var e = SampleFiles.Event("tetragon", "testdata_events.jsonl", 1, "tetragon");
        Assert.Equal(EventKind.ProcessExec, e.Kind);
        Assert.Equal("my-node", e.Node);
        Assert.Equal("default", e.Workload.Namespace);
        Assert.Equal("tiefighter", e.Workload.Pod);
        Assert.Equal("spaceship", e.Workload.Container);
        Assert.Equal("containerd://19a02291e106ce6227b684197be232ea57c4e1a5ab2604a12608c325d701c7f4", e.Workload.ContainerId);
        Assert.Equal("docker.io/tgraf/netperf:latest", e.Workload.Image);
        Assert.Equal("sha256:8e86f744bfea165fd4ce68caa05abc96500f40130b857773186401926af7e9e6", e.Workload.ImageDigest);
        Assert.Equal("empire", e.Workload.Labels["org"]);
        Assert.Equal(68790, e.Process.Pid);
        Assert.Equal(0, e.Process.Uid);
        Assert.Equal("/usr/bin/netserver", e.Process.Exe);
        Assert.Equal("-D", e.Process.Args);
        Assert.Equal("/usr/bin/containerd-shim-runc-v2", e.Process.ParentExe);
        Assert.Equal(68598, e.Process.Ppid);
        Assert.Equal("Z2tlLW1pY2hpLTIyMDM4LWRlZmF1bHQtcG9vbC00MzczMGZhYi1sOHpyOjEzNjYwNDgwNjUxNTk1OjY4NTk4", e.Labels["parent_exec_id"]);
    }

    [SkippableFact]
    public void Decode_ContainerPidOne_IsLabelledTheContainersEntrypoint()
    {
        // Tetragon's container.pid is the PID in the container's namespace: 1 is the entrypoint, whose exit stops it.
        Assert.Equal("true", SampleFiles.Event("tetragon", "testdata_events.jsonl", 1, "tetragon").Labels[EventLabels.ContainerInit]);
        Assert.Null(Kprobe("tcp_close", ServerSock).Labels[EventLabels.ContainerInit]);
    }

    [SkippableFact]
    public void Decode_DeploymentPod_ResolvesToDeploymentWorkload()
    {
        var e = SampleFiles.Event("tetragon", "testdata_events.jsonl", 2, "tetragon");
        Assert.Equal("c/default/Deployment/deathstar/deathstar", WorkloadResolver.Compute(e.Workload, "c").Value);
    }

    [SkippableFact]
    public void Decode_KprobeFilePermission_IsFileOpenWithPathAndPolicy()
    {
        var e = SampleFiles.Event("tetragon", "docs_current_format_events.jsonl", 4, "tetragon");
        Assert.Equal(EventKind.FileOpen, e.Kind);
        Assert.Equal("/etc/passwd", e.FilePath);
        Assert.Equal("/bin/vi", e.Process.Exe);
        Assert.Equal("/bin/sh", e.Process.ParentExe);
        Assert.Equal("file-monitoring", e.Labels["tetragon.policy"]);
        Assert.Equal("Pod", e.Workload.OwnerKind);
        Assert.Equal("file-access", e.Workload.OwnerName);
    }

    [SkippableFact]
    public void Decode_LegacyConnect_IsNetConnectWithEndpoints()
    {
        var e = SampleFiles.Event("tetragon", "security-observability-with-ebpf/00_process_lifecycle/nc_process_connect.json", 1, "tetragon");
        Assert.Equal(EventKind.NetConnect, e.Kind);
        Assert.Equal(new NetInfo("tcp", "10.88.0.6", 48416, "64.225.45.153", 443, 0, 0) { Direction = NetDirection.Outbound }, e.Net);
        Assert.Equal("/usr/bin/nc", e.Process.Exe);
        Assert.Equal("/usr/bin/sh", e.Process.ParentExe);
        Assert.Equal("tenant-jobs", e.Workload.Namespace);
        Assert.Equal("minikube", e.Node);
    }

    [SkippableFact]
    public void Decode_LegacyListen_IsNetListenOnPort()
    {
        var e = SampleFiles.Event("tetragon", "security-observability-with-ebpf/00_four_golden_signals/process_listen.json", 1, "tetragon");
        Assert.Equal(EventKind.NetListen, e.Kind);
        Assert.Equal(9080, e.Net.LocalPort);
        Assert.Equal("tcp", e.Net.Protocol);
    }

    [SkippableFact]
    public void Decode_Throttle_IsIgnoredNotRejected()
    {
        var r = SampleFiles.Read("tetragon", "docs_current_format_events.jsonl", "tetragon").First(x => x.Line == 1);
        Assert.Equal(DecodeStatus.Ignored, r.Status);
        Assert.Equal("tetragon_process_throttle", r.Note);
    }

    [SkippableFact]
    public void Decode_KernelModuleLoad_IsSyscallByFunctionName()
    {
        var all = SampleFiles.Read("tetragon", "docs_current_format_events.jsonl", "tetragon").Where(r => r.Status == DecodeStatus.Event).Select(r => r.Event).ToList();
        Assert.Contains(all, e => e.Kind == EventKind.Syscall && e.SyscallName == "do_init_module");
        Assert.Contains(all, e => e.Kind == EventKind.Syscall && e.SyscallName == "setuid");
    }

    [Theory]
    [InlineData("""{"process_exec":{"parent":{}},"time":"2024-01-01T00:00:00Z"}""", DecodeErrorCode.MissingField, "process_exec.process")]
    [InlineData("""{"process_exec":{"process":{"pid":1}},"time":"2024-01-01T00:00:00Z"}""", DecodeErrorCode.MissingField, "process_exec.process.binary")]
    [InlineData("""{"process_exec":{"process":{"binary":"/x"}}}""", DecodeErrorCode.MissingField, "time")]
    [InlineData("""{"something_else":{}}""", DecodeErrorCode.UnknownKind, "")]
    [InlineData("""{"process_exec": """, DecodeErrorCode.MalformedJson, "")]
    [InlineData("""{"process_exec":{"process":{"binary":"/x"}},"time":"2024-01-01T00:00:00Z"} {"more":1}""", DecodeErrorCode.MalformedJson, "")]
    [InlineData("""{"process_exec":{"process":{"binary":"/x"}},"time":"2024-01-01T00:00:00Z",}""", DecodeErrorCode.MalformedJson, "")]
    [InlineData("""[{"process_exec":{}}]""", DecodeErrorCode.NotAnObject, "")]
    [InlineData("""{"process_kprobe":{"process":{"binary":"/x","pod":{"name":"p","namespace":"n"}},"function_name":"tcp_connect","args":[{"sock_arg":{"saddr":"10.0.0.1","daddr":"not-an-ip","sport":40000,"dport":443}}]},"time":"2024-01-01T00:00:00Z"}""", DecodeErrorCode.InvalidValue, "net.remote_ip")]
    [InlineData("""{"process_kprobe":{"process":{"binary":"/x","pod":{"name":"p","namespace":"n"}},"function_name":"tcp_connect","args":[{"sock_arg":{"saddr":"10.0.0.1","daddr":"10.0.0.2","sport":40000,"dport":70000}}]},"time":"2024-01-01T00:00:00Z"}""", DecodeErrorCode.InvalidValue, "net.remote_port")]
    public void Decode_Invalid_RejectsWithReason(string json, DecodeErrorCode code, string field)
    {
        Assert.Equal(DecodeStatus.Rejected, EventFormats.Create("tetragon").Decode(System.Text.Encoding.UTF8.GetBytes(json), out _, out var error, out _));
        Assert.Equal(code, error.Code);
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void Decode_FieldsInAnyOrderAndWrongTypes_ReadTheSameAndWrongTypesAsAbsent()
    {
        // Time and node before the body, pid as a protobuf string, uid as an object (absent), a nanosecond time.
        var json = """
            {"time":"2026-12-01T10:00:00.123456789Z","node_name":"n1","process_kprobe":{"policy_name":"p","args":[{"int_arg":"12"},{"sock_arg":{"saddr":"10.0.0.1","daddr":"10.0.0.2","sport":41000,"dport":443,"protocol":"IPPROTO_TCP"}}],
             "function_name":"tcp_connect","process":{"uid":{"x":1},"pid":"77","binary":"/bin/curl","pod":{"workload":"w","namespace":"ns","name":"w-1"}}}}
            """;
        Assert.Equal(DecodeStatus.Event, EventFormats.Create("tetragon").Decode(System.Text.Encoding.UTF8.GetBytes(json.ReplaceLineEndings("")), out var e, out var error, out _));
        Assert.True(error == default, error.ToString());
        Assert.Equal((EventKind.NetConnect, 77, -1, "/bin/curl"), (e.Kind, e.Process.Pid, e.Process.Uid, e.Process.Exe));
        Assert.Equal(("10.0.0.2", 443, "tcp", NetDirection.Outbound), (e.Net.RemoteIp, e.Net.RemotePort, e.Net.Protocol, e.Net.Direction));
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero).AddTicks(1234568), e.Timestamp); // rounded to the nearest tick
        Assert.Equal(("n1", "Deployment", "w"), (e.Node, e.Workload.OwnerKind, e.Workload.OwnerName));

        // A label whose value is an object is kept as its JSON text; unknown top-level fields are skipped.
        var odd = """{"process_exec":{"process":{"binary":"/x","pod":{"name":"p","namespace":"n","pod_labels":{"a":{"deep":[1,{"x":"y"}]}}}}},"time":"2024-01-01T00:00:00Z","x":"\u00e9"}""";
        Assert.Equal(DecodeStatus.Event, EventFormats.Create("tetragon").Decode(System.Text.Encoding.UTF8.GetBytes(odd), out e, out error, out _));
        Assert.Equal("""{"deep":[1,{"x":"y"}]}""", e.Workload.Labels["a"]);
    }

    [Fact]
    public void Decode_SameProcessRepeated_ReusesStringsAndLabels()
    {
        var format = EventFormats.Create("tetragon");
        var first = Kprobe("tcp_sendmsg", ServerSock + ",{\"int_arg\":100}", format: format);
        var second = Kprobe("tcp_sendmsg", ServerSock + ",{\"int_arg\":200}", format: format);
        Assert.Same(first.Process.Exe, second.Process.Exe);
        Assert.Same(first.Labels, second.Labels);
        Assert.Equal((100L, 200L), (first.Net.BytesIn + first.Net.BytesOut, second.Net.BytesIn + second.Net.BytesOut));
    }

    private static RuntimeEvent Kprobe(string function, string args, string? ret = null, string flags = "execve clone", IEventFormat? format = null)
    {
        const string process = """
            "process":{"exec_id":"eA==","pid":812,"uid":999,"binary":"/usr/lib/postgresql/16/bin/postgres","start_time":"2026-11-30T08:00:00Z",
             "pod":{"namespace":"data","name":"postgres-0","container":{"id":"containerd://ab12","name":"postgres","image":{"id":"docker.io/library/postgres@sha256:11aa","name":"docker.io/library/postgres:16"}},"workload":"postgres","workload_kind":"StatefulSet"},
            """;
        var json = "{\"process_kprobe\":{" + process + "\"flags\":\"" + flags + "\"},\"function_name\":\"" + function + "\",\"args\":[" + args + "]"
            + (ret is null ? "" : ",\"return\":" + ret) + ",\"action\":\"KPROBE_ACTION_POST\",\"policy_name\":\"network\"},\"node_name\":\"node-b\",\"time\":\"2026-12-01T10:00:00.123Z\"}";
        Assert.Equal(DecodeStatus.Event, (format ?? EventFormats.Create("tetragon")).Decode(System.Text.Encoding.UTF8.GetBytes(json.ReplaceLineEndings("")), out var e, out var error, out _));
        Assert.True(error == default, error.ToString());
        return e;
    }

    private const string ServerSock = """{"sock_arg":{"family":"AF_INET","type":"SOCK_STREAM","protocol":"IPPROTO_TCP","saddr":"10.244.2.7","daddr":"10.244.1.11","sport":5432,"dport":56908,"cookie":"1","state":"TCP_ESTABLISHED"}}""";

    [Fact]
    public void Decode_TcpConnect_IsOutboundToTheServicePort()
    {
        var e = Kprobe("tcp_connect", """{"sock_arg":{"family":"AF_INET","type":"SOCK_STREAM","protocol":"IPPROTO_TCP","saddr":"10.244.2.7","daddr":"10.96.0.20","sport":41234,"dport":6379,"state":"TCP_SYN_SENT"}}""");
        Assert.Equal((EventKind.NetConnect, NetDirection.Outbound, "10.96.0.20", 6379, "10.244.2.7"), (e.Kind, e.Net.Direction, e.Net.RemoteIp, e.Net.ServicePort, e.Net.LocalIp));
    }

    [Fact]
    public void Decode_InetCskAccept_IsInboundOnTheServicePortFromTheReturnedSocket()
    {
        var e = Kprobe("inet_csk_accept", """{"sock_arg":{"family":"AF_INET","type":"SOCK_STREAM","protocol":"IPPROTO_TCP","saddr":"0.0.0.0","sport":5432,"state":"TCP_LISTEN"}}""", ServerSock);
        Assert.Equal((EventKind.NetAccept, NetDirection.Inbound, 5432, "10.244.1.11"), (e.Kind, e.Net.Direction, e.Net.LocalPort, e.Net.RemoteIp));
        Assert.Equal(5432, e.Net.ServicePort);
    }

    [Fact]
    public void Decode_TcpSendmsgOnAnAcceptedSocket_IsInboundTrafficNeverAConnectToTheClientsPort()
    {
        // The false-positive storm: the server's send on a socket it accepted named the client's ephemeral port.
        var e = Kprobe("tcp_sendmsg", ServerSock + """,{"int_arg":1448}""");
        Assert.Equal((EventKind.NetFlow, NetDirection.Inbound, 1448L, 5432), (e.Kind, e.Net.Direction, e.Net.BytesOut, e.Net.ServicePort));
        var close = Kprobe("tcp_close", ServerSock);
        Assert.Equal((EventKind.NetFlow, NetDirection.Inbound), (close.Kind, close.Net.Direction));
    }

    [Fact]
    public void Decode_UdpSendmsg_ToDnsIsAnOutboundFlowAndAReplyIsTraffic()
    {
        var query = Kprobe("udp_sendmsg", """{"sock_arg":{"family":"AF_INET","type":"SOCK_DGRAM","protocol":"IPPROTO_UDP","saddr":"10.244.2.7","daddr":"10.96.0.10","sport":45729,"dport":53}},{"int_arg":69}""");
        Assert.Equal((EventKind.NetConnect, "udp", 53, 69L), (query.Kind, query.Net.Protocol, query.Net.ServicePort, query.Net.BytesOut));
        var reply = Kprobe("udp_sendmsg", """{"sock_arg":{"family":"AF_INET","type":"SOCK_DGRAM","protocol":"IPPROTO_UDP","saddr":"10.244.0.30","daddr":"10.244.2.7","sport":53,"dport":45729}},{"int_arg":120}""");
        Assert.Equal((EventKind.NetFlow, NetDirection.Inbound), (reply.Kind, reply.Net.Direction));
    }

    [Fact]
    public void Decode_ProcfsInventory_IsLabelledSoItsOldTimeIsNotTakenAsEventTime()
    {
        var e = Kprobe("tcp_close", ServerSock, flags: "procFS auid rootcwd");
        Assert.Equal("procfs", e.Labels[TetragonFormat.InventoryLabel]);
        Assert.Null(Kprobe("tcp_close", ServerSock).Labels[TetragonFormat.InventoryLabel]);
    }
}
