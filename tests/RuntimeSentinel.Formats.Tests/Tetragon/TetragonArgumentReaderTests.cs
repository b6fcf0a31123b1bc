using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Formats.Tetragon;
using static RuntimeSentinel.Formats.Tests.Tetragon.TetragonJson;

namespace RuntimeSentinel.Formats.Tests.Tetragon;

public class TetragonArgumentReaderTests
{
    private readonly TetragonArgumentReader _arguments = new(new TetragonValues());

    private TetragonRecord Args(string json)
    {
        var r = TetragonRecord.Unread();
        var reader = At(U(json));
        _arguments.ReadArgs(ref reader, ref r);
        return r;
    }

    [Fact]
    public void ReadArgs_TwoFileArguments_FirstPathAndPermissionWin()
    {
        var r = Args("""[{"file_arg":{"path":"/etc/shadow","permission":"-rw-r-----","flags":"x"}},{"path_arg":{"path":"/etc/passwd"}}]""");
        Assert.Equal("/etc/shadow", r.Path);
        Assert.Equal("-rw-r-----", r.FileFlags);
    }

    [Fact]
    public void ReadArgs_SockaddrAfterABareSocket_FillsThePeer()
    {
        // LSM socket_connect: the socket names only itself, the sockaddr the peer.
        var r = Args("""[{"sock_arg":{"protocol":"IPPROTO_TCP","saddr":"10.0.0.5","sport":40000}},{"sockaddr_arg":{"addr":"10.0.0.9","port":5432}}]""");
        Assert.Equal(new NetInfo("tcp", "10.0.0.5", 40000, "10.0.0.9", 5432, 0, 0), r.Net);
    }

    [Fact]
    public void ReadArgs_OlderSockaddr_ReadsSinAddrAndSinPort()
    {
        var r = Args("""[{"sockaddr_arg":{"sin_addr":"192.0.2.1","sin_port":53}}]""");
        Assert.Equal(new NetInfo(null, null, -1, "192.0.2.1", 53, 0, 0), r.Net);
    }

    [Fact]
    public void ReadArgs_SocketThenSize_SizeIsTheFirstSizedArgument()
    {
        var r = Args("""[{"sock_arg":{"protocol":"IPPROTO_UDP","daddr":"10.0.0.9","dport":53}},{"size_arg":"512"},{"int_arg":7}]""");
        Assert.Equal(512, r.Size);
        Assert.Equal("udp", r.Net!.Value.Protocol);
    }

    [Fact]
    public void ReadArgs_OneArgumentWithSeveralSizes_IntArgIsPreferred()
    {
        Assert.Equal(3, Args("""[{"long_arg":9,"uint_arg":8,"int_arg":3,"size_arg":4}]""").Size);
    }

    [Fact]
    public void ReadArgs_StringPathAndModule_ModuleNamesTheFileAndTextPathIsKept()
    {
        var r = Args("""[{"string_arg":"/lib/modules/x.ko"},{"module_arg":{"name":"nf_tables"}}]""");
        Assert.Equal("nf_tables", r.Path);
        Assert.Equal("/lib/modules/x.ko", r.TextPath);
    }

    [Fact]
    public void ReadArgs_StringThatIsNoPath_IsNotAFile()
    {
        Assert.Null(Args("""[{"string_arg":"eth0"}]""").TextPath);
    }

    [Fact]
    public void ReadReturn_SocketReturned_IsTheReturnSocket()
    {
        var r = TetragonRecord.Unread();
        var reader = At(U("""{"sock_arg":{"protocol":"IPPROTO_TCP","saddr":"10.0.0.9","sport":8080,"daddr":"10.0.0.5","dport":41000}}"""));
        _arguments.ReadReturn(ref reader, ref r);
        Assert.True(r.ReturnSock.Present);
        Assert.Equal(new NetInfo("tcp", "10.0.0.9", 8080, "10.0.0.5", 41000, 0, 0), r.ReturnSock.ToNet());
        Assert.Null(r.Return);
    }
}
