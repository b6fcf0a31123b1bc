using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Tests;

public class TetragonVariantTests
{
    private const string File = "tetragon-variants.jsonl";

    [Fact]
    public void Decode_OpenatTracepoint_IsAFileOpenOfItsStringArgument()
    {
        var e = VariantSamples.Event(File, 1, "tetragon");
        Assert.Equal((EventKind.FileOpen, "/etc/shadow", "openat"), (e.Kind, e.FilePath, e.SyscallName));
        Assert.Equal(("default", "xwing", "spaceship", "Pod", "xwing"), (e.Workload.Namespace, e.Workload.Pod, e.Workload.Container, e.Workload.OwnerKind, e.Workload.OwnerName));
        Assert.Equal(("/usr/bin/cat", "/bin/bash", 52699), (e.Process.Exe, e.Process.ParentExe, e.Process.Pid));
        Assert.Equal(("process_tracepoint", "sys-openat"), (e.Labels["tetragon.type"], e.Labels["tetragon.policy"]));
    }

    [Fact]
    public void Decode_FileOpenLsmHook_IsAFileOpen()
    {
        var e = VariantSamples.Event(File, 2, "tetragon");
        Assert.Equal((EventKind.FileOpen, "/etc/passwd", "file_open"), (e.Kind, e.FilePath, e.SyscallName));
        Assert.Equal("process_lsm", e.Labels["tetragon.type"]);
    }

    [Fact]
    public void Decode_SocketConnectLsmHook_IsAConnectionToTheSockaddr()
    {
        // The socket argument names only the socket's type; the sockaddr after it names the peer.
        var e = VariantSamples.Event(File, 3, "tetragon");
        Assert.Equal((EventKind.NetConnect, "tcp", "198.51.100.5", 443, NetDirection.Outbound), (e.Kind, e.Net.Protocol, e.Net.RemoteIp, e.Net.RemotePort, e.Net.Direction));
    }

    [Fact]
    public void Decode_Uprobe_IsACallOfTheSymbolInItsBinary()
    {
        var e = VariantSamples.Event(File, 4, "tetragon");
        Assert.Equal((EventKind.Syscall, "readline", "/usr/bin/bash"), (e.Kind, e.SyscallName, e.FilePath));
        Assert.Equal("process_uprobe", e.Labels["tetragon.type"]);
    }

    [Fact]
    public void Decode_OldExecWithCiliumLabelList_HasThePodsOwnLabels()
    {
        var e = VariantSamples.Event(File, 5, "tetragon");
        Assert.Equal((EventKind.ProcessExec, "/bin/bash", "-il"), (e.Kind, e.Process.Exe, e.Process.Args));
        Assert.Equal(("xwing", "alliance", 2), (e.Workload.Labels["class"], e.Workload.Labels["org"], e.Workload.Labels.Count));
        Assert.Equal(("docker://e5b0c3f1a2d4", "docker.io/tgraf/netperf:latest"), (e.Workload.ContainerId, e.Workload.Image));
    }

    [Fact]
    public void Decode_ProcessDns_IsTheQueryWithItsAddresses()
    {
        var e = VariantSamples.Event(File, 6, "tetragon");
        Assert.Equal((EventKind.DnsQuery, "api.github.com.", "140.82.112.6"), (e.Kind, e.DnsName, e.DnsAnswers));
        Assert.Equal("xwing", e.Workload.Pod);
    }

    [Fact]
    public void Decode_WrappedNumbersAndAnImageString_AreRead()
    {
        // Go's encoding/json writes a protobuf UInt32Value as {"value": n} (protojson: the bare number); an image named
        // by one string is its name.
        var json = """{"process_exec":{"process":{"pid":{"value":4242},"uid":{"value":1000},"binary":"/usr/bin/id","start_time":"2023-05-01T10:00:00Z","pod":{"namespace":"shop","name":"api-1","container":{"id":"containerd://c1","name":"api","image":"nginx:1.25"}}}},"node_name":"n1","time":"2023-05-01T10:00:00Z"}""";
        Assert.Equal(DecodeStatus.Event, EventFormats.Create("tetragon").Decode(System.Text.Encoding.UTF8.GetBytes(json), out var e, out _, out _));
        Assert.Equal((4242, 1000, "nginx:1.25"), (e.Process.Pid, e.Process.Uid, e.Workload.Image));
    }

    [Theory]
    [InlineData("""{"process_uprobe":{"process":{"pid":1,"binary":"/usr/bin/bash"},"policy_name":"p"},"time":"2023-05-01T10:00:00Z"}""", DecodeErrorCode.MissingField, "process_uprobe without the function, event or symbol it hooked")]
    [InlineData("""{"process_exec":{"process":{"pid":1,"binary":"/usr/bin/bash"}},"node_name":"n1"}""", DecodeErrorCode.MissingField, "no event time")]
    public void Decode_UnusableRecord_IsRejectedWithTheReason(string json, DecodeErrorCode code, string detail)
    {
        var error = VariantSamples.Rejection("tetragon", json);
        Assert.Equal((code, detail), (error.Code, error.Detail));
    }

    [Fact]
    public void Decode_DnsWithoutAName_IsIgnoredWithAReason()
    {
        var json = """{"process_dns":{"process":{"pid":1,"binary":"/usr/bin/curl"},"dns":{"ips":["1.2.3.4"]}},"time":"2023-05-01T10:00:00Z"}""";
        Assert.Equal(DecodeStatus.Ignored, EventFormats.Create("tetragon").Decode(System.Text.Encoding.UTF8.GetBytes(json), out _, out _, out var note));
        Assert.Equal("tetragon_dns_without_name", note);
    }
}
