using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Lab.Recordings;

namespace RuntimeSentinel.Formats.Tests;

public class TraceeFormatTests
{
    [SkippableFact]
    public void Decode_V1Beta1Detection_IsFileOpenFromDetectedEvent()
    {
        var e = SampleFiles.Event("tracee", "tracee_events_from_docs.jsonl", 1, "tracee");
        Assert.Equal(EventKind.FileOpen, e.Kind);
        Assert.Equal("/etc/shadow", e.FilePath);
        Assert.Equal("/bin/cat", e.Process.Exe);
        Assert.Equal("/bin/bash", e.Process.ParentExe);
        Assert.Equal(67890, e.Process.Pid);
        Assert.Equal("sensitive_file_access", e.Labels["tracee.event"]);
    }

    [SkippableFact]
    public void Decode_LegacyTcpPacketWithoutDirection_IsTrafficNotANewEndpoint()
    {
        // A packet without metadata does not say whether it was sent or received (its syscall is only the context
        // it was captured in): traffic on a connection, of unknown direction, never a new peer by itself.
        var e = SampleFiles.Event("tracee", "tracee_events_from_docs.jsonl", 2, "tracee");
        Assert.Equal(EventKind.NetFlow, e.Kind);
        Assert.Equal(new NetInfo("tcp", "192.168.200.50", 40020, "70.42.73.30", 80, 0, 0), e.Net);
        Assert.Equal(("Host", "rugged"), (e.Workload.OwnerKind, e.Workload.OwnerName));
        Assert.Equal("vlc", e.Process.Exe);
        Assert.Equal(1014858, e.Process.Pid);
    }

    [SkippableFact]
    public void Decode_LegacyDnsPacket_IsDnsQueryWithQuestion()
    {
        var e = SampleFiles.Event("tracee", "tracee_events_from_docs.jsonl", 6, "tracee");
        Assert.Equal(EventKind.DnsQuery, e.Kind);
        Assert.Equal("www.zip.net", e.DnsName);
    }

    [SkippableFact]
    public void Decode_LegacyDnsResponse_CarriesTheAnswersAddresses()
    {
        var e = SampleFiles.Event("tracee", "tracee_events_from_docs.jsonl", 7, "tracee");
        Assert.Equal(("www.zip.net", "200.147.100.53"), (e.DnsName, e.DnsAnswers));
    }

    [Fact]
    public void Decode_DnsResponseWithoutQuestion_NamedByItsAnswer()
    {
        var json = """{"timestamp":1696255744409156387,"processId":472,"processName":"coredns","hostName":"n1","eventName":"net_packet_dns","args":[{"name":"src","value":"10.96.0.10"},{"name":"dst","value":"10.244.1.5"},{"name":"src_port","value":53},{"name":"dst_port","value":41000},{"name":"proto_dns","value":{"QR":1,"questions":[],"answers":[{"name":"api.paygate.example","type":"A","IP":"198.51.100.7"}]}}]}""";
        Assert.Equal(DecodeStatus.Event, EventFormats.Create("tracee").Decode(System.Text.Encoding.UTF8.GetBytes(json), out var e, out _, out _));
        Assert.Equal(("api.paygate.example", "198.51.100.7"), (e.DnsName, e.DnsAnswers));
    }

    [Fact]
    public void Decode_SocketEvents_ConnectAcceptAndUnixSocket()
    {
        var tracee = EventFormats.Create("tracee");
        const string head = "{\"timestamp\":1700000000000000000,\"processId\":7,\"processName\":\"app\",\"hostName\":\"n1\",\"containerId\":\"c1\",\"podName\":\"api-1\",\"podNamespace\":\"shop\",";
        var connect = head + """ "eventName":"security_socket_connect","args":[{"name":"sockfd","value":3},{"name":"remote_addr","value":{"sa_family":"AF_INET","sin_addr":"10.96.0.20","sin_port":"5432"}}]}""";
        Assert.Equal(DecodeStatus.Event, tracee.Decode(System.Text.Encoding.UTF8.GetBytes(connect), out var c, out _, out _));
        Assert.Equal((EventKind.NetConnect, "10.96.0.20", 5432, NetDirection.Outbound), (c.Kind, c.Net.RemoteIp, c.Net.RemotePort, c.Net.Direction));

        var accept = head + """ "eventName":"security_socket_accept","args":[{"name":"sockfd","value":3},{"name":"local_addr","value":{"sa_family":"AF_INET","sin_addr":"0.0.0.0","sin_port":"8080"}}]}""";
        Assert.Equal(DecodeStatus.Event, tracee.Decode(System.Text.Encoding.UTF8.GetBytes(accept), out var a, out _, out _));
        Assert.Equal((EventKind.NetAccept, 8080, NetDirection.Inbound), (a.Kind, a.Net.LocalPort, a.Net.Direction));

        // A UNIX socket has a path, not an address and port: the call is kept with its path, not rejected.
        var unix = head + """ "eventName":"security_socket_connect","args":[{"name":"sockfd","value":3},{"name":"remote_addr","value":{"sa_family":"AF_UNIX","sun_path":"/var/run/docker.sock"}}]}""";
        Assert.Equal(DecodeStatus.Event, tracee.Decode(System.Text.Encoding.UTF8.GetBytes(unix), out var u, out _, out _));
        Assert.Equal((EventKind.Syscall, "connect", "/var/run/docker.sock"), (u.Kind, u.SyscallName, u.FilePath));
    }

    [SkippableFact]
    public void Decode_LegacyFileOpen_HasPathAndFlags()
    {
        var e = SampleFiles.Event("tracee", "tracee_events_from_docs.jsonl", 11, "tracee");
        Assert.Equal(EventKind.FileOpen, e.Kind);
        Assert.Equal("/tmp/testing.txt", e.FilePath);
        Assert.Equal("O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE", e.FileFlags);
    }

    [SkippableFact]
    public void Decode_ExecBothShapes_AreProcessExec()
    {
        var legacy = SampleFiles.Event("tracee", "tracee_events_from_docs.jsonl", 19, "tracee");
        Assert.Equal((EventKind.ProcessExec, "/opt/cni/bin/bridge"), (legacy.Kind, legacy.Process.Exe));
        var current = SampleFiles.Event("tracee", "tracee_events_from_docs.jsonl", 17, "tracee");
        Assert.Equal((EventKind.ProcessExec, "/usr/bin/ls", "ls -la /tmp"), (current.Kind, current.Process.Exe, current.Process.Args));
        Assert.Equal(new DateTimeOffset(2024, 11, 24, 13, 20, 0, TimeSpan.Zero).AddTicks(1234567), current.Timestamp);
    }

    [Fact]
    public void Decode_NoEventName_Rejects()
    {
        Assert.Equal(DecodeStatus.Rejected, EventFormats.Create("tracee").Decode("""{"timestamp":1,"processId":1}"""u8, out _, out var error, out _));
        Assert.Equal("eventName", error.Field);
    }
}

public class HubbleFormatTests
{
    [SkippableFact]
    public void Decode_DnsRequest_IsDnsQueryOfTheRequestingPod()
    {
        var e = SampleFiles.Event("hubble", "basic-sample-5-dns-flows.jsonl", 1, "hubble");
        Assert.Equal(EventKind.DnsQuery, e.Kind);
        Assert.Equal("istiod-istio-1611.istio-system.svc.istio-system.svc.cluster.local", e.DnsName!.TrimEnd('.'));
        Assert.Equal("node-local-dns-88zrp", e.Workload.Pod);
        Assert.Equal("kube-system", e.Workload.Namespace);
        Assert.Equal("node-local-dns", e.Workload.Labels["k8s-app"]);
        Assert.Equal("FORWARDED", e.Labels["hubble.verdict"]);
    }

    [SkippableFact]
    public void Decode_HttpEgress_IsOutboundTrafficFromSourcePod()
    {
        // An L7 request on an established connection: traffic on the pod's outbound connection to the peer.
        var e = SampleFiles.Event("hubble", "basic-sample-5-http-flows.jsonl", 1, "hubble");
        Assert.Equal(EventKind.NetFlow, e.Kind);
        Assert.Equal("prometheus-6655946b9f-6xcpf", e.Workload.Pod);
        Assert.Equal(new NetInfo("tcp", "10.156.2.7", 48532, "10.128.0.4", 9990, 0, 0) { Direction = NetDirection.Outbound }, e.Net);
        Assert.Equal("GET", e.Labels["http.method"]);
    }

    [SkippableFact]
    public void Decode_IngressReplyToHost_IsTheNodesOutboundTraffic()
    {
        // reviews:15020 -> host, INGRESS, reply: the node (kubelet probe) opened the connection to reviews:15020.
        var e = SampleFiles.Event("hubble", "basic-sample-10-flows.jsonl", 1, "hubble");
        Assert.Equal(("Host", EventKind.NetFlow, NetDirection.Outbound), (e.Workload.OwnerKind, e.Kind, e.Net.Direction));
        Assert.Equal(("10.0.2.16", 15020), (e.Net.RemoteIp, e.Net.RemotePort));
    }

    [SkippableFact]
    public void Decode_TcpFlows_OnlyTheFirstSynOpensAConnectionAndPeersAreNamedByWorkload()
    {
        var records = SampleFiles.Read("hubble", "basic-sample-400-tcp-flows.jsonl", "hubble");
        var syn = records.Where(r => r.Raw is { } raw && System.Text.Encoding.UTF8.GetString(raw).Contains("\"flags\":{\"SYN\":true}", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(syn);
        Assert.All(syn, r => Assert.Contains(r.Event.Kind, new[] { EventKind.NetConnect, EventKind.NetAccept }));
        var others = records.Except(syn).ToList();
        Assert.All(others, r => Assert.Equal(EventKind.NetFlow, r.Event.Kind));
        Assert.All(records, r => Assert.NotEqual(NetDirection.Unknown, r.Event.Net.Direction));
    }

    [SkippableFact]
    public void Decode_AllSamples_NoRejections()
    {
        foreach (var file in Directory.GetFiles(SampleFiles.Dir("hubble"), "*.jsonl"))
        {
            var records = EventSources.Read(file, "hubble").ToList();
            Assert.All(records, r => Assert.True(r.Status == DecodeStatus.Event, $"{r.Source}:{r.Line}: {r.Error}"));
        }
    }

    [Fact]
    public void Decode_NoIp_IsIgnoredWithAReason()
    {
        // An L2-only flow (ARP): valid for Hubble, but it names no IP peer.
        Assert.Equal(DecodeStatus.Ignored, EventFormats.Create("hubble").Decode("""{"flow":{"time":"2021-01-01T00:00:00Z","verdict":"DROPPED"}}"""u8, out _, out _, out var note));
        Assert.Equal("hubble_flow_without_ip", note);
    }

    [Fact]
    public void Decode_BareFlowWithoutTime_IsDecodedAndMarked()
    {
        var json = """{"verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"UDP":{"source_port":40000,"destination_port":53}},"source":{"namespace":"shop","pod_name":"api-1","workloads":[{"name":"api","kind":"Deployment"}]},"destination":{"namespace":"kube-system","pod_name":"coredns-1","workloads":[{"name":"coredns","kind":"Deployment"}]},"traffic_direction":"EGRESS"}""";
        Assert.Equal(DecodeStatus.Event, EventFormats.Create("auto").Decode(System.Text.Encoding.UTF8.GetBytes(json), out var e, out _, out _));
        Assert.Equal((EventKind.NetConnect, "arrival", "kube-system/Deployment/coredns"), (e.Kind, e.Labels["time"], e.Labels["peer.workload"]));
    }
}
