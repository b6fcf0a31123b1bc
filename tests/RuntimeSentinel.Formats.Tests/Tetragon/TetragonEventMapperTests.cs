using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Formats.Tetragon;

namespace RuntimeSentinel.Formats.Tests.Tetragon;

public class TetragonEventMapperTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 10, 0, 0, TimeSpan.Zero);

    private readonly TetragonEventMapper _mapper = new();

    private static TetragonRecord Probe(string function, NetInfo? net = null, long size = -1, string? path = null)
    {
        var r = TetragonRecord.Unread();
        r.Type = "process_kprobe";
        r.Time = T0;
        r.Process.Present = true;
        r.Process.Pid = 10;
        r.Process.Binary = "/usr/bin/app";
        r.Function = function;
        r.Net = net;
        r.Size = size;
        r.Path = path;
        return r;
    }

    private RuntimeEvent Map(TetragonRecord r)
    {
        Assert.Equal(DecodeStatus.Event, _mapper.Map(ref r, out var e, out var error, out _));
        Assert.Equal(default, error);
        return e;
    }

    [Fact]
    public void Map_NoType_IsRejectedAsUnknownKind()
    {
        var r = TetragonRecord.Unread();
        Assert.Equal(DecodeStatus.Rejected, _mapper.Map(ref r, out _, out var error, out _));
        Assert.Equal(DecodeErrorCode.UnknownKind, error.Code);
    }

    [Fact]
    public void Map_NoTimeAnywhere_IsRejectedNamingTime()
    {
        var r = Probe("tcp_connect");
        r.Time = null;
        Assert.Equal(DecodeStatus.Rejected, _mapper.Map(ref r, out _, out var error, out _));
        Assert.Equal((DecodeErrorCode.MissingField, "time"), (error.Code, error.Field));
    }

    [Fact]
    public void Map_Throttle_IsIgnoredWithItsReason()
    {
        var r = TetragonRecord.Unread();
        r.Type = "process_throttle";
        Assert.Equal(DecodeStatus.Ignored, _mapper.Map(ref r, out _, out _, out var note));
        Assert.Equal("tetragon_process_throttle", note);
    }

    [Fact]
    public void Map_UdpReplyFromAServicePort_IsAnInboundFlow()
    {
        var e = Map(Probe("udp_sendmsg", new NetInfo("udp", "10.0.0.9", 53, "10.0.0.5", 41000, 0, 0), size: 120));
        Assert.Equal(EventKind.NetFlow, e.Kind);
        Assert.Equal((NetDirection.Inbound, 120L), (e.Net.Direction, e.Net.BytesOut));
    }

    [Fact]
    public void Map_UdpDatagramToAServicePort_IsAnOutboundConnect()
    {
        var e = Map(Probe("udp_sendmsg", new NetInfo("udp", "10.0.0.5", 41000, "10.0.0.9", 53, 0, 0), size: 40));
        Assert.Equal(EventKind.NetConnect, e.Kind);
        Assert.Equal((NetDirection.Outbound, 40L), (e.Net.Direction, e.Net.BytesOut));
    }

    [Fact]
    public void Map_ReceiveOnAServerSocket_IsAnInboundFlowWithBytesIn()
    {
        var e = Map(Probe("tcp_recvmsg", new NetInfo("tcp", "10.0.0.9", 5432, "10.0.0.5", 41000, 0, 0), size: 300));
        Assert.Equal(EventKind.NetFlow, e.Kind);
        Assert.Equal((NetDirection.Inbound, 300L, 0L, "tcp_recvmsg"), (e.Net.Direction, e.Net.BytesIn, e.Net.BytesOut, e.SyscallName));
    }

    [Fact]
    public void Map_AcceptReturningTheSocket_IsAnInboundAccept()
    {
        var r = Probe("inet_csk_accept");
        r.ReturnSock = new TetragonSocket { Present = true, Protocol = "IPPROTO_TCP", Saddr = "10.0.0.9", Sport = 8080, Daddr = "10.0.0.5", Dport = 41000 };
        var e = Map(r);
        Assert.Equal(EventKind.NetAccept, e.Kind);
        Assert.Equal(new NetInfo("tcp", "10.0.0.9", 8080, "10.0.0.5", 41000, 0, 0) { Direction = NetDirection.Inbound }, e.Net);
    }

    [Fact]
    public void Map_FilePermissionWithMask_IsAFileOpenWithTheAccessAsFlags()
    {
        var e = Map(Probe("security_file_permission", size: 2, path: "/etc/passwd"));
        Assert.Equal(EventKind.FileOpen, e.Kind);
        Assert.Equal(("/etc/passwd", "O_WRONLY"), (e.FilePath, e.FileFlags));
    }

    [Fact]
    public void Map_TruncateHook_IsAWriteThatTruncates()
    {
        Assert.Equal("O_WRONLY|O_TRUNC", Map(Probe("security_path_truncate", path: "/var/log/app.log")).FileFlags);
    }

    [Fact]
    public void Map_UprobeWithoutArguments_IsASyscallOnTheProbedBinary()
    {
        var r = Probe("ignored");
        r.Type = "process_uprobe";
        r.Function = null;
        r.Symbol = "readline";
        r.ProbePath = "/bin/bash";
        var e = Map(r);
        Assert.Equal((EventKind.Syscall, "readline", "/bin/bash"), (e.Kind, e.SyscallName, e.FilePath));
    }

    [Fact]
    public void Map_ProcessAndParent_AreTheEventsProcessInfo()
    {
        var r = Probe("__x64_sys_setuid");
        r.Parent.Present = true;
        r.Parent.Pid = 1;
        r.Parent.Binary = "/sbin/init";
        var e = Map(r);
        Assert.Equal(new ProcessInfo(10, 1, -1, "/usr/bin/app", null, "/sbin/init"), e.Process);
        Assert.Equal((EventKind.Syscall, "setuid"), (e.Kind, e.SyscallName));
        Assert.Equal("process_kprobe", e.Labels["tetragon.type"]);
    }
}
