using RuntimeSentinel.Formats.Tetragon;
using static RuntimeSentinel.Formats.Tests.Tetragon.TetragonJson;

namespace RuntimeSentinel.Formats.Tests.Tetragon;

public class TetragonRecordReaderTests
{
    private readonly TetragonRecordReader _reader = new();

    private TetragonRecord Read(string json)
    {
        var bytes = U(json);
        var r = TetragonRecord.Unread();
        var reader = At(bytes);
        _reader.Read(ref reader, bytes, ref r);
        return r;
    }

    [Fact]
    public void Read_ExecInAPod_GathersEnvelopeProcessAndContainer()
    {
        var r = Read("""
            {"process_exec":{"process":{"pid":{"value":4711},"uid":0,"binary":"/bin/sh","exec_id":"ZXhlYw==",
              "pod":{"namespace":"shop","name":"cart-1","workload":"cart","workload_kind":"Deployment",
                "container":{"name":"cart","id":"containerd://abc","pid":{"value":1},"image":{"id":"ghcr.io/acme/cart@sha256:01","name":"ghcr.io/acme/cart:1.4"}},
                "pod_labels":{"app":"cart"}}},
              "parent":{"pid":1,"binary":"/usr/bin/containerd-shim"}},
             "node_name":"node-a","time":"2026-11-29T10:11:12Z","unknown":[1,2]}
            """);
        Assert.Equal("process_exec", r.Type);
        Assert.True(r.HasBody);
        Assert.Equal("node-a", r.Node);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795947072), r.Time);
        Assert.Equal((4711, 0, "/bin/sh", "ZXhlYw=="), (r.Process.Pid, r.Process.Uid, r.Process.Binary, r.Process.ExecId));
        Assert.True(r.Process.HasPod && r.Process.HasContainer && r.Process.ContainerInit);
        Assert.Equal(("shop", "cart-1", "cart", "Deployment"), (r.Process.Namespace, r.Process.PodName, r.Process.Owner, r.Process.OwnerKind));
        Assert.Equal(("cart", "containerd://abc", "ghcr.io/acme/cart:1.4", "ghcr.io/acme/cart@sha256:01"), (r.Process.Container, r.Process.ContainerId, r.Process.ImageName, r.Process.ImageId));
        Assert.Equal("cart", r.Process.PodLabels["app"]);
        Assert.Equal((1, -1, "/usr/bin/containerd-shim"), (r.Parent.Pid, r.Parent.Uid, r.Parent.Binary));
    }

    [Fact]
    public void Read_TypeKeyWrittenWithEscapes_IsNoType()
    {
        Assert.Null(Read("""{"process\u005fexec":{"process":{"pid":1}}}""").Type);
    }

    [Fact]
    public void Read_TwoTypeKeys_TheFirstIsTheEvent()
    {
        var r = Read("""{"process_exit":{"status":3},"process_exec":{"status":9}}""");
        Assert.Equal("process_exit", r.Type);
        Assert.Equal(3, r.Status);
    }

    [Fact]
    public void Read_DnsWithoutQuery_NameIsTheFirstOfNamesAndOnlyValidAddressesKept()
    {
        var r = Read("""{"process_dns":{"dns":{"names":["api.example.","cdn.example."],"ips":["192.0.2.1","not-an-ip","2001:db8::1"]}}}""");
        Assert.Equal("api.example.", r.DnsQuery);
        Assert.Equal("192.0.2.1,2001:db8::1", r.DnsAnswers);
    }

    [Fact]
    public void Read_LegacyCloseWithStats_ReadsEndpointsAndByteCounts()
    {
        var r = Read("""{"process_close":{"protocol":"TCP","source_ip":"10.0.0.5","source_port":41000,"destination_ip":"10.0.0.9","destination_port":"443","stats":{"bytes_received":"100","bytes_sent":20}}}""");
        Assert.Equal(("TCP", "10.0.0.5", 41000, "10.0.0.9", 443), (r.LegacyProtocol, r.SourceIp, r.SourcePort, r.DestinationIp, r.DestinationPort));
        Assert.Equal((100L, 20L), (r.BytesReceived, r.BytesSent));
    }

    [Fact]
    public void Read_KprobeWithArgsAndReturn_HandsThemToTheArgumentReader()
    {
        var r = Read("""{"process_kprobe":{"function_name":"security_file_permission","policy_name":"files","args":[{"file_arg":{"path":"/etc/passwd"}},{"int_arg":4}],"return":{"int_arg":0}}}""");
        Assert.Equal(("security_file_permission", "files", "/etc/passwd", 4L, 0L), (r.Function, r.Policy, r.Path, r.Size, r.Return));
    }

    [Theory]
    [InlineData("process_exec", 0)]
    [InlineData("process_loader", 11)]
    [InlineData("process_other", -1)]
    public void IndexOfType_RawName_IsItsIndexOrMinusOne(string name, int expected)
    {
        Assert.Equal(expected, TetragonRecordReader.IndexOfType(U(name)));
    }
}
