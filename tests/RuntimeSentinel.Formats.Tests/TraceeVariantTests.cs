using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Tests;

public class TraceeVariantTests
{
    private const string File = "tracee-variants.jsonl";

    [Theory]
    [InlineData(1, "dns_request", "example.com")]
    [InlineData(2, "dns_request", "updates.example.org")]
    [InlineData(3, "net_packet_dns_request", "api.paygate.example")]
    [InlineData(5, "net_packet_dns_request", "metadata.google.internal")]
    public void Decode_DnsRequestOfAnyVersion_IsTheQuestionsName(int line, string eventName, string name)
    {
        var e = VariantSamples.Event(File, line, "tracee");
        Assert.Equal((EventKind.DnsQuery, name, (string?)null), (e.Kind, e.DnsName, e.DnsAnswers));
        Assert.Equal(eventName, e.Labels["tracee.event"]);
    }

    [Theory]
    [InlineData(4, "cdn.example.net", "65.8.214.126,65.8.214.70")]
    [InlineData(6, "metadata.google.internal", "169.254.169.254")]
    [InlineData(7, "api.github.com", "140.82.112.6")]
    public void Decode_DnsResponseOfAnyVersion_IsTheQueryWithItsAddresses(int line, string name, string answers)
    {
        // CNAME answers are names, not addresses: only A/AAAA answers are kept.
        var e = VariantSamples.Event(File, line, "tracee");
        Assert.Equal((EventKind.DnsQuery, name, answers), (e.Kind, e.DnsName, e.DnsAnswers));
    }

    [Fact]
    public void Decode_LegacyDnsRequest_HasItsContainerPodAndTime()
    {
        var flat = VariantSamples.Event(File, 1, "tracee");
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1663842155218).AddTicks(3910), flat.Timestamp);
        Assert.Equal(("default", "debug-curl", "curl", "docker.io/curlimages/curl:7.85.0"), (flat.Workload.Namespace, flat.Workload.Pod, flat.Workload.Container, flat.Workload.Image));

        var nested = VariantSamples.Event(File, 3, "tracee");
        Assert.Equal(("shop", "api-f2xz46z557-pqqp6", "api"), (nested.Workload.Namespace, nested.Workload.Pod, nested.Workload.Container));
        Assert.Equal("/usr/local/bin/python3.11", nested.Process.Exe);

        var host = VariantSamples.Event(File, 2, "tracee");
        Assert.Equal(("Host", "ubuntu-dev"), (host.Workload.OwnerKind, host.Workload.OwnerName));
    }

    [Fact]
    public void Decode_V1Beta1DnsRequest_HasWorkloadProcessAndParent()
    {
        var e = VariantSamples.Event(File, 5, "tracee");
        Assert.Equal(new DateTimeOffset(2025, 3, 2, 10, 15, 30, TimeSpan.Zero).AddTicks(1234568), e.Timestamp);
        Assert.Equal(("default", "debug-6f7b9c8d5-x2x9p", "debug", "docker.io/curlimages/curl:8.6.0"), (e.Workload.Namespace, e.Workload.Pod, e.Workload.Container, e.Workload.Image));
        Assert.Equal(("/usr/bin/curl", "/bin/sh", 12), (e.Process.Exe, e.Process.ParentExe, e.Process.Pid));
        Assert.Equal("worker-3", e.Node);
    }

    [Theory]
    [InlineData(8, "198.51.100.23", 4444)]
    [InlineData(9, "2001:db8::10", 443)]
    [InlineData(10, "10.96.120.7", 5432)]
    public void Decode_ConnectOfAnyShape_IsAnOutboundConnection(int line, string ip, int port)
    {
        // The connect syscall's addr, the LSM hook's remote_addr (IPv6 here), and v1beta1's sockaddr value.
        var e = VariantSamples.Event(File, line, "tracee");
        Assert.Equal((EventKind.NetConnect, ip, port, NetDirection.Outbound), (e.Kind, e.Net.RemoteIp, e.Net.RemotePort, e.Net.Direction));
    }

    [Fact]
    public void Decode_ExecBothShapes_HasThePathAndArguments()
    {
        var legacy = VariantSamples.Event(File, 11, "tracee");
        Assert.Equal((EventKind.ProcessExec, "/usr/bin/dash", "sh -c id"), (legacy.Kind, legacy.Process.Exe, legacy.Process.Args));
        Assert.Equal(("shop", "api-f2xz46z557-pqqp6"), (legacy.Workload.Namespace, legacy.Workload.Pod));

        var current = VariantSamples.Event(File, 12, "tracee");
        Assert.Equal((EventKind.ProcessExec, "/usr/bin/curl", "curl -s http://169.254.169.254/latest/meta-data/"), (current.Kind, current.Process.Exe, current.Process.Args));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1740910600).AddTicks(10), current.Timestamp);
    }

    [Fact]
    public void Decode_AcceptSyscall_IsInboundTrafficFromTheClient()
    {
        var e = VariantSamples.Event(File, 13, "tracee");
        Assert.Equal((EventKind.NetFlow, "10.244.0.5", 51514, NetDirection.Inbound), (e.Kind, e.Net.RemoteIp, e.Net.RemotePort, e.Net.Direction));
    }

    [Fact]
    public void Decode_TsInsteadOfTimestamp_IsTheEventTime()
    {
        var json = """{"ts":1700000000000000000,"processId":7,"processName":"cat","hostName":"n1","eventName":"openat","args":[{"name":"pathname","value":"/etc/hosts"}]}""";
        Assert.Equal(DecodeStatus.Event, EventFormats.Create("tracee").Decode(System.Text.Encoding.UTF8.GetBytes(json), out var e, out _, out _));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000), e.Timestamp);
    }

    [Fact]
    public void Decode_OnlyThreadAndProcessStartTimes_IsRejectedAsNoEventTime()
    {
        var error = VariantSamples.Rejection("tracee", """{"threadStartTime":1695658999333342370,"processStartTime":1695658999333342370,"processId":472,"processName":"systemd-resolve","hostName":"rugged","eventName":"net_packet_dns_request","args":[{"name":"dns_questions","value":[{"query":"www.zip.net","query_type":"A","query_class":"IN"}]}]}""");
        Assert.Equal((DecodeErrorCode.MissingField, "timestamp"), (error.Code, error.Field));
        Assert.Contains("net_packet_dns_request has no event time", error.Detail, StringComparison.Ordinal);
        Assert.Contains("threadStartTime", error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_TimeSinceBoot_IsRejectedAsNotWallClock()
    {
        // `--output option:relative-time`: nanoseconds since boot (here about seven days).
        var error = VariantSamples.Rejection("tracee", """{"timestamp":620311624458929,"processId":1,"processName":"bash","hostName":"h","eventName":"openat","args":[{"name":"pathname","value":"/etc/passwd"}]}""");
        Assert.Equal((DecodeErrorCode.InvalidValue, "timestamp"), (error.Code, error.Field));
        Assert.Contains("relative-time", error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_DnsEventWithoutAnyName_IsIgnoredWithAReason()
    {
        var json = """{"timestamp":1696255905516744399,"processId":472,"processName":"systemd-resolve","hostName":"rugged","eventName":"net_packet_dns_request","args":[{"name":"dns_questions","value":[]}]}""";
        Assert.Equal(DecodeStatus.Ignored, EventFormats.Create("tracee").Decode(System.Text.Encoding.UTF8.GetBytes(json), out _, out _, out var note));
        Assert.Equal("tracee_dns_without_name", note);
    }
}
