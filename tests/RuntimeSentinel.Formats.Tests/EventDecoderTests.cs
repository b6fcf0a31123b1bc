using System.Text;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Formats.Native;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Formats.Tests;

public class EventDecoderTests
{
    private readonly EventDecoder _decoder = new();

    private static byte[] U(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void TryDecode_FullProcessExec_ReadsEveryField()
    {
        var json = """
            {"schema":1,"kind":"process_exec","ts":"2026-11-29T10:11:12.345678Z","node":"node-a",
             "workload":{"cluster":"prod","namespace":"shop","pod":"cart-7d9f8b6c5b-x2k4p","container":"cart",
               "container_id":"containerd://abc","image":"ghcr.io/acme/cart:1.4","image_digest":"sha256:01",
               "owner_kind":"ReplicaSet","owner_name":"cart-7d9f8b6c5b","labels":{"app":"cart","tier":"web"}},
             "process":{"pid":4711,"ppid":1,"uid":0,"exe":"/bin/sh","args":"sh -c id","parent_exe":"/usr/bin/node"},
             "labels":{"scenario":"attack:x"},"future_field":{"nested":[1,2,3]}}
            """;
        Assert.True(_decoder.TryDecode(U(json), out var e, out var err), err.ToString());
        Assert.Equal(EventKind.ProcessExec, e.Kind);
        Assert.Equal(new DateTimeOffset(2026, 11, 29, 10, 11, 12, 345, TimeSpan.Zero).AddTicks(6780), e.Timestamp);
        Assert.Equal("node-a", e.Node);
        Assert.Equal("shop", e.Workload.Namespace);
        Assert.Equal("cart-7d9f8b6c5b", e.Workload.OwnerName);
        Assert.Equal("web", e.Workload.Labels["tier"]);
        Assert.Equal(4711, e.Process.Pid);
        Assert.Equal(0, e.Process.Uid);
        Assert.Equal("/usr/bin/node", e.Process.ParentExe);
        Assert.Equal("attack:x", e.Labels["scenario"]);
    }

    [Fact]
    public void TryDecode_WriterOutput_RoundTripsEveryKind()
    {
        var events = new[]
        {
            Some.Exec("/bin/ls"), Some.FileOpen("/etc/passwd"), Some.Syscall("openat"), Some.Connect("10.1.2.3", 5432),
            Some.Dns("db.shop.svc"), Some.Listen(8080), Some.Resource(0.25, 1 << 20),
            Some.Event(EventKind.ProcessExit) with { Process = new ProcessInfo(5, 1, 0, "/bin/ls", null, null) },
            Some.Event(EventKind.NetAccept) with { Net = new NetInfo("tcp", "10.0.0.1", 80, "10.0.0.9", 5555, 1, 2) },
        };
        foreach (var original in events)
        {
            Assert.True(_decoder.TryDecode(Some.Json(original), out var decoded, out var err), err.ToString());
            Assert.Equal(original, decoded);
        }
    }

    [Fact]
    public void TryDecode_NanosecondIntegerTimestamp_IsAccepted()
    {
        var json = """{"kind":"syscall","ts":1631078867470891948,"workload":{"image":"apache"},"syscall":{"name":"read","ret":485}}""";
        Assert.True(_decoder.TryDecode(U(json), out var e, out _));
        Assert.Equal(1631078867470891948 / 100, (e.Timestamp - DateTimeOffset.UnixEpoch).Ticks);
        Assert.Equal(485, e.ReturnCode);
    }

    [Fact]
    public void TryDecode_EscapedStrings_AreUnescaped()
    {
        var json = """{"kind":"file_open","ts":"2026-11-29T00:00:00Z","workload":{"pod":"p"},"file":{"path":"/tmp/a\"b\u00e9"}}""";
        Assert.True(_decoder.TryDecode(U(json), out var e, out _));
        Assert.Equal("/tmp/a\"bé", e.FilePath);
    }

    [Fact]
    public void TryDecode_RepeatedValues_ReuseTheSameStringInstances()
    {
        var bytes = Some.Json(Some.Exec("/usr/bin/python3"));
        Assert.True(_decoder.TryDecode(bytes, out var a, out _));
        Assert.True(_decoder.TryDecode(bytes, out var b, out _));
        Assert.Same(a.Process.Exe, b.Process.Exe);
        Assert.Same(a.Workload.Labels, b.Workload.Labels);
    }

    [Theory]
    [InlineData("", DecodeErrorCode.Empty, "")]
    [InlineData("[1,2]", DecodeErrorCode.NotAnObject, "")]
    [InlineData("{\"kind\":\"syscall\"", DecodeErrorCode.MalformedJson, "")]
    [InlineData("{\"kind\":\"syscall\",}", DecodeErrorCode.MalformedJson, "")]
    [InlineData("not json", DecodeErrorCode.MalformedJson, "")]
    [InlineData("{\"schema\":2,\"kind\":\"syscall\"}", DecodeErrorCode.UnsupportedSchema, "schema")]
    [InlineData("{\"kind\":\"teleport\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"}}", DecodeErrorCode.UnknownKind, "kind")]
    [InlineData("{\"kind\":7,\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"}}", DecodeErrorCode.WrongType, "kind")]
    [InlineData("{\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"}}", DecodeErrorCode.MissingField, "kind")]
    [InlineData("{\"kind\":\"syscall\",\"workload\":{\"pod\":\"p\"},\"syscall\":{\"name\":\"read\"}}", DecodeErrorCode.MissingField, "ts")]
    [InlineData("{\"kind\":\"syscall\",\"ts\":\"yesterday\",\"workload\":{\"pod\":\"p\"}}", DecodeErrorCode.InvalidValue, "ts")]
    [InlineData("{\"kind\":\"syscall\",\"ts\":\"2026-11-29T00:00:00Z\",\"syscall\":{\"name\":\"read\"}}", DecodeErrorCode.MissingField, "workload")]
    [InlineData("{\"kind\":\"syscall\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"node\":\"n\"},\"syscall\":{\"name\":\"read\"}}", DecodeErrorCode.MissingField, "workload")]
    [InlineData("{\"kind\":\"syscall\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"}}", DecodeErrorCode.MissingField, "syscall.name")]
    [InlineData("{\"kind\":\"process_exec\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"},\"process\":{\"pid\":1}}", DecodeErrorCode.MissingField, "process.exe")]
    [InlineData("{\"kind\":\"process_exec\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"},\"process\":{\"pid\":\"1\",\"exe\":\"/x\"}}", DecodeErrorCode.WrongType, "process.pid")]
    [InlineData("{\"kind\":\"process_exec\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"},\"process\":{\"pid\":-5,\"exe\":\"/x\"}}", DecodeErrorCode.InvalidValue, "process.pid")]
    [InlineData("{\"kind\":\"process_exec\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"},\"process\":[1]}", DecodeErrorCode.WrongType, "process")]
    [InlineData("{\"kind\":\"net_connect\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"},\"net\":{\"remote_ip\":\"10.0.0.1\",\"remote_port\":70000}}", DecodeErrorCode.InvalidValue, "net.remote_port")]
    [InlineData("{\"kind\":\"net_connect\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"},\"net\":{\"remote_ip\":\"not-an-ip\",\"remote_port\":1}}", DecodeErrorCode.InvalidValue, "net.remote_ip")]
    [InlineData("{\"kind\":\"net_connect\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"},\"net\":{\"remote_port\":1}}", DecodeErrorCode.MissingField, "net.remote_ip")]
    [InlineData("{\"kind\":\"net_listen\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"},\"net\":{}}", DecodeErrorCode.MissingField, "net.local_port")]
    [InlineData("{\"kind\":\"dns_query\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"}}", DecodeErrorCode.MissingField, "dns.name")]
    [InlineData("{\"kind\":\"resource_usage\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"},\"resource\":{\"cpu_cores\":-1}}", DecodeErrorCode.InvalidValue, "resource.cpu_cores")]
    [InlineData("{\"kind\":\"resource_usage\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"}}", DecodeErrorCode.MissingField, "resource.cpu_cores")]
    [InlineData("{\"kind\":\"syscall\",\"kind\":\"syscall\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"}}", DecodeErrorCode.DuplicateField, "kind")]
    [InlineData("{\"kind\":\"syscall\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\",\"labels\":{\"a\":1}},\"syscall\":{\"name\":\"read\"}}", DecodeErrorCode.WrongType, "workload.labels")]
    [InlineData("{\"kind\":\"syscall\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":5},\"syscall\":{\"name\":\"read\"}}", DecodeErrorCode.WrongType, "workload.pod")]
    public void TryDecode_InvalidInput_RejectsWithCodeAndField(string json, DecodeErrorCode code, string field)
    {
        Assert.False(_decoder.TryDecode(U(json), out _, out var err));
        Assert.Equal(code, err.Code);
        Assert.Equal(field, err.Field);
        Assert.False(string.IsNullOrWhiteSpace(err.Detail));
    }

    [Fact]
    public void TryDecode_HugeField_RejectsAsFieldTooLarge()
    {
        var json = "{\"kind\":\"file_open\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"},\"file\":{\"path\":\"/" + new string('a', 5000) + "\"}}";
        Assert.False(_decoder.TryDecode(U(json), out _, out var err));
        Assert.Equal(DecodeErrorCode.FieldTooLarge, err.Code);
        Assert.Equal("file.path", err.Field);
        Assert.Contains("4096", err.Detail);
    }

    [Fact]
    public void TryDecode_HugeMessage_RejectsBeforeParsing()
    {
        var decoder = new EventDecoder(new EventDecoderOptions { MaxMessageBytes = 100 });
        Assert.False(decoder.TryDecode(new byte[101], out _, out var err));
        Assert.Equal(DecodeErrorCode.MessageTooLarge, err.Code);
    }

    [Fact]
    public void TryDecode_TooManyLabels_Rejects()
    {
        var labels = string.Join(",", Enumerable.Range(0, 100).Select(i => $"\"k{i}\":\"v\""));
        var json = "{\"kind\":\"dns_query\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"},\"dns\":{\"name\":\"a\"},\"labels\":{" + labels + "}}";
        Assert.False(_decoder.TryDecode(U(json), out _, out var err));
        Assert.Equal(DecodeErrorCode.FieldTooLarge, err.Code);
        Assert.Equal("labels", err.Field);
    }

    [Fact]
    public void TryDecode_SameBadLabelsTwice_RejectsBothTimes()
    {
        var json = U("{\"kind\":\"dns_query\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"},\"dns\":{\"name\":\"a\"},\"labels\":{\"a\":true}}");
        Assert.False(_decoder.TryDecode(json, out _, out var first));
        Assert.False(_decoder.TryDecode(json, out _, out var second));
        Assert.Equal(first, second);
        Assert.Equal(DecodeErrorCode.WrongType, second.Code);
    }

    [Fact]
    public void TryDecode_InvalidUtf8_RejectsAsMalformed()
    {
        var bytes = U("{\"kind\":\"dns_query\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"p\"},\"dns\":{\"name\":\"XX\"}}");
        var i = Array.IndexOf(bytes, (byte)'X');
        bytes[i] = 0xC3;
        bytes[i + 1] = 0x28;
        Assert.False(_decoder.TryDecode(bytes, out _, out var err));
        Assert.Equal(DecodeErrorCode.MalformedJson, err.Code);
    }

    [Fact]
    public void ToString_Error_NamesCodeFieldAndDetail()
    {
        var e = new DecodeError(DecodeErrorCode.MissingField, "process.exe", "required for process_exec");
        Assert.Equal("missing_field: process.exe: required for process_exec", e.ToString());
    }
}
