using RuntimeSentinel.Core.Events;

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
    public void Decode_LegacyTcpPacket_IsNetConnectOnTheHost()
    {
        var e = SampleFiles.Event("tracee", "tracee_events_from_docs.jsonl", 2, "tracee");
        Assert.Equal(EventKind.NetConnect, e.Kind);
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
    public void Decode_HttpEgress_IsNetConnectFromSourcePod()
    {
        var e = SampleFiles.Event("hubble", "basic-sample-5-http-flows.jsonl", 1, "hubble");
        Assert.Equal(EventKind.NetConnect, e.Kind);
        Assert.Equal("prometheus-6655946b9f-6xcpf", e.Workload.Pod);
        Assert.Equal(new NetInfo("tcp", "10.156.2.7", 48532, "10.128.0.4", 9990, 0, 0), e.Net);
        Assert.Equal("GET", e.Labels["http.method"]);
    }

    [SkippableFact]
    public void Decode_IngressReplyToHost_IsTheNodesConnection()
    {
        // reviews:15020 -> host, INGRESS, reply: the node (kubelet probe) opened the connection to reviews:15020.
        var e = SampleFiles.Event("hubble", "basic-sample-10-flows.jsonl", 1, "hubble");
        Assert.Equal(("Host", EventKind.NetConnect), (e.Workload.OwnerKind, e.Kind));
        Assert.Equal(("10.0.2.16", 15020), (e.Net.RemoteIp, e.Net.RemotePort));
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
    public void Decode_NoIp_Rejects()
    {
        Assert.Equal(DecodeStatus.Rejected, EventFormats.Create("hubble").Decode("""{"flow":{"time":"2021-01-01T00:00:00Z","verdict":"DROPPED"}}"""u8, out _, out var error, out _));
        Assert.Equal("flow.IP", error.Field);
    }
}
