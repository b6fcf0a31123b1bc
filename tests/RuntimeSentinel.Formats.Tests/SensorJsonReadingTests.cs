using System.Text;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Tests;

/// <summary>
/// How Falco, Tracee and Hubble messages are read (one pass onto a reused tape, fields looked up by name): escapes,
/// repeated names, one message never leaking into the next, and JSON that is not one object.
/// </summary>
public class SensorJsonReadingTests
{
    private const string FalcoShell = """{"rule":"Terminal shell in container","priority":"Notice","time":"2026-11-30T09:12:31.123456789Z","source":"syscall","hostname":"node-a","tags":["shell","T1059"],"output_fields":{"container.id":"58572e15b889","k8s.ns.name":"shop","k8s.pod.name":"frontend-1","proc.exepath":"/usr/bin/bash","proc.cmdline":"bash -il","proc.pid":31337,"proc.ppid":31300,"user.uid":0,"evt.type":"execve"}}""";

    [Fact]
    public void Decode_EscapedNamesAndValues_ReadAsTheirText()
    {
        var format = EventFormats.Create("falco");
        var escaped = FalcoShell
            .Replace("\"rule\"", "\"r\\u0075le\"", StringComparison.Ordinal)
            .Replace("/usr/bin/bash", "\\/usr\\/bin\\/b\\u0061sh", StringComparison.Ordinal)
            .Replace("\"frontend-1\"", "\"front\\u0065nd-1\"", StringComparison.Ordinal);

        var plain = Decode(format, FalcoShell);
        var e = Decode(format, escaped);

        Assert.Equal("Terminal shell in container", e.Labels["falco.rule"]);
        Assert.Equal("/usr/bin/bash", e.Process.Exe);
        Assert.Equal("frontend-1", e.Workload.Pod);
        Assert.Equal(plain, e);
    }

    [Fact]
    public void Decode_RepeatedFieldName_LastOneCounts()
    {
        var json = FalcoShell.Replace("\"proc.pid\":31337", "\"proc.pid\":1,\"proc.pid\":31337", StringComparison.Ordinal)
            .Replace("\"hostname\":\"node-a\"", "\"hostname\":\"decoy\",\"hostname\":\"node-a\"", StringComparison.Ordinal);

        var e = Decode(EventFormats.Create("falco"), json);

        Assert.Equal(31337, e.Process.Pid);
        Assert.Equal("node-a", e.Node);
    }

    [Fact]
    public void Decode_AfterAHugeMessage_NextMessageReadsOnlyItself()
    {
        // The tape grows for a large message and starts over for the next: nothing of the first may show in the second.
        var format = EventFormats.Create("hubble");
        var big = new StringBuilder("""{"flow":{"time":"2026-11-30T09:00:00Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"source_port":40000,"destination_port":443,"flags":{"SYN":true}}},"source":{"namespace":"big","pod_name":"big-1","labels":[""");
        for (var i = 0; i < 20_000; i++)
        {
            big.Append(i == 0 ? "" : ",").Append("\"k8s:l").Append(i).Append("=v\"");
        }

        big.Append("""],"workloads":[{"name":"big","kind":"Deployment"}]},"destination":{"namespace":"shop","pod_name":"db-0"},"traffic_direction":"EGRESS"}}""");
        var small = """{"flow":{"time":"2026-11-30T09:00:01Z","verdict":"FORWARDED","IP":{"source":"10.0.0.3","destination":"10.0.0.4"},"l4":{"UDP":{"source_port":41000,"destination_port":53}},"source":{"namespace":"shop","pod_name":"api-1","workloads":[{"name":"api","kind":"Deployment"}]},"traffic_direction":"EGRESS"}}""";

        var first = Decode(format, big.ToString());
        var second = Decode(format, small);

        Assert.Equal(64, first.Workload.Labels.Count);
        Assert.Equal("big", first.Workload.OwnerName);
        Assert.Equal(EventKind.NetConnect, second.Kind);
        Assert.Equal("api", second.Workload.OwnerName);
        Assert.Equal(0, second.Workload.Labels.Count);
        Assert.Equal(("10.0.0.3", 41000, "10.0.0.4", 53), (second.Net.LocalIp, second.Net.LocalPort, second.Net.RemoteIp, second.Net.RemotePort));
    }

    [Theory]
    [InlineData("falco", "{\"rule\":\"x\"} {\"rule\":\"y\"}")]
    [InlineData("falco", "{\"rule\":\"x\",}")]
    [InlineData("tracee", "{\"eventName\":\"openat\"")]
    [InlineData("hubble", "{\"flow\":{\"time\":\"2026-11-30T09:00:00Z\"}} trailing")]
    [InlineData("hubble", "   ")]
    public void Decode_NotOneJsonValue_IsMalformed(string format, string json)
    {
        Assert.Equal(DecodeStatus.Rejected, EventFormats.Create(format).Decode(Encoding.UTF8.GetBytes(json), out _, out var error, out _));
        Assert.Equal(DecodeErrorCode.MalformedJson, error.Code);
    }

    [Fact]
    public void Decode_NestedDeeperThan64_IsMalformedAndTheNextMessageDecodes()
    {
        var format = EventFormats.Create("tracee");
        var deep = "{\"eventName\":\"openat\",\"x\":" + new string('[', 70) + new string(']', 70) + "}";

        Assert.Equal(DecodeStatus.Rejected, format.Decode(Encoding.UTF8.GetBytes(deep), out _, out var error, out _));
        Assert.Equal(DecodeErrorCode.MalformedJson, error.Code);
        var e = Decode(format, """{"timestamp":1795597951123456789,"processId":7,"processName":"cat","hostName":"n1","eventName":"openat","args":[{"name":"pathname","value":"/etc/passwd"},{"name":"flags","value":"O_RDONLY"}]}""");
        Assert.Equal(EventKind.FileOpen, e.Kind);
        Assert.Equal("/etc/passwd", e.FilePath);
    }

    [Theory]
    [InlineData("falco", "[1,2,3]", "Array")]
    [InlineData("hubble", "\"flow\"", "String")]
    [InlineData("tracee", "42", "Number")]
    public void Decode_RootNotAnObject_SaysWhatItIs(string format, string json, string kind)
    {
        Assert.Equal(DecodeStatus.Rejected, EventFormats.Create(format).Decode(Encoding.UTF8.GetBytes(json), out _, out var error, out _));
        Assert.Equal(DecodeErrorCode.NotAnObject, error.Code);
        Assert.Contains(kind, error.Detail, StringComparison.Ordinal);
    }

    private static RuntimeEvent Decode(IEventFormat format, string json)
    {
        var status = format.Decode(Encoding.UTF8.GetBytes(json), out var e, out var error, out var note);
        Assert.True(status == DecodeStatus.Event, $"{status}: {error} {note}");
        return e;
    }
}
