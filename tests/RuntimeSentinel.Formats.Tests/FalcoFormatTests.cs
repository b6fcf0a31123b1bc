using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Tests;

public class FalcoFormatTests
{
    [SkippableFact]
    public void Decode_TerminalShell_IsProcessExecInThePodWithRuleLabels()
    {
        var e = SampleFiles.Event("falco", "falco_alerts_from_docs.jsonl", 21, "falco");
        Assert.Equal(EventKind.ProcessExec, e.Kind);
        Assert.Equal("Terminal shell in container", e.Labels["falco.rule"]);
        Assert.Equal("Critical", e.Labels["falco.priority"]);
        Assert.Equal("syscall", e.Labels["falco.source"]);
        Assert.NotNull(e.Workload.ContainerId);
        Assert.NotNull(e.Workload.Pod);
        Assert.NotNull(e.Workload.Namespace);
        Assert.NotNull(e.Process.Exe);
        Assert.NotNull(e.Node);
    }

    [SkippableFact]
    public void Decode_ContactApiServer_IsNetConnectToTheApiServer()
    {
        var events = SampleFiles.Read("falco", "falco_alerts_from_docs.jsonl", "falco").Where(r => r.Status == DecodeStatus.Event).Select(r => r.Event).ToList();
        var e = events.First(x => x.Labels["falco.rule"] == "Contact K8S API Server From Container");
        Assert.Equal(EventKind.NetConnect, e.Kind);
        Assert.NotNull(e.Net.RemoteIp);
        Assert.True(e.Net.RemotePort > 0);
    }

    [SkippableFact]
    public void Decode_WriteBelowBinaryDir_IsFileOpenOnTheHost()
    {
        var e = SampleFiles.Event("falco", "falco_alerts_from_docs.jsonl", 22, "falco");
        Assert.Equal(EventKind.FileOpen, e.Kind);
        Assert.StartsWith("/", e.FilePath, StringComparison.Ordinal);
        Assert.Equal("Host", e.Workload.OwnerKind);
    }

    [SkippableFact]
    public void Decode_AuditAndInternalSources_AreIgnored()
    {
        var records = SampleFiles.Read("falco", "falco_alerts_from_docs.jsonl", "falco");
        Assert.Equal(6, records.Count(r => r.Status == DecodeStatus.Ignored && r.Note == "falco_k8s_audit"));
        Assert.Equal(5, records.Count(r => r.Status == DecodeStatus.Ignored && r.Note == "falco_internal"));
        Assert.DoesNotContain(records, r => r.Status == DecodeStatus.Rejected);
    }

    [SkippableFact]
    public void Decode_2016Format_UsesIsoTimeAndCommandLine()
    {
        var e = SampleFiles.Event("falco", "falco_test_output_single_rule_with_cat_write.jsonl", 1, "falco");
        Assert.Equal("open_from_cat", e.Labels["falco.rule"]);
        Assert.Equal("cat", System.IO.Path.GetFileName(e.Process.Exe));
        Assert.True(e.Timestamp.Year >= 2016);
    }

    [Theory]
    [InlineData("""{"rule":"x","time":"2024-01-01T00:00:00Z"}""", DecodeErrorCode.MissingField, "output_fields")]
    [InlineData("""{"output_fields":{},"time":"2024-01-01T00:00:00Z"}""", DecodeErrorCode.MissingField, "rule")]
    [InlineData("""{"rule":"x","output_fields":{"container.id":"abc"}}""", DecodeErrorCode.MissingField, "time")]
    public void Decode_Invalid_RejectsWithReason(string json, DecodeErrorCode code, string field)
    {
        Assert.Equal(DecodeStatus.Rejected, EventFormats.Create("falco").Decode(System.Text.Encoding.UTF8.GetBytes(json), out _, out var error, out _));
        Assert.Equal(code, error.Code);
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void Decode_RuleOnlyAlert_IsASensorFindingForItsWorkload()
    {
        // A rule whose output names only the container (no process, file or connection) is still Falco's finding.
        var json = """{"rule":"Drift Detected (chmod)","priority":"Error","time":"2024-01-01T00:00:00Z","source":"syscall","output_fields":{"container.id":"abc123def456","k8s.ns.name":"shop","k8s.pod.name":"api-7d9f8b6c5b-x2k4p","container.name":"api"}}""";
        Assert.Equal(DecodeStatus.Event, EventFormats.Create("falco").Decode(System.Text.Encoding.UTF8.GetBytes(json), out var e, out _, out _));
        Assert.Equal(EventKind.SensorAlert, e.Kind);
        Assert.Equal(("Drift Detected (chmod)", "Error", "falco"), (e.Labels[EventLabels.SensorRule], e.Labels[EventLabels.SensorPriority], e.Labels[EventLabels.Source]));
        Assert.Equal("api-7d9f8b6c5b-x2k4p", e.Workload.Pod);
    }

    [Fact]
    public void Decode_PluginSourceWithoutContainer_IsIgnoredWithAReason()
    {
        var json = """{"rule":"Console Login Without MFA","priority":"Critical","time":"2024-01-01T00:00:00Z","source":"aws_cloudtrail","output_fields":{"ct.user":"alice"}}""";
        Assert.Equal(DecodeStatus.Ignored, EventFormats.Create("falco").Decode(System.Text.Encoding.UTF8.GetBytes(json), out _, out _, out var note));
        Assert.Equal("falco_aws_cloudtrail", note);
        var other = """{"rule":"Repo made public","priority":"Warning","time":"2024-01-01T00:00:00Z","source":"gitlab","output_fields":{"gitlab.repo":"x"}}""";
        Assert.Equal(DecodeStatus.Ignored, EventFormats.Create("falco").Decode(System.Text.Encoding.UTF8.GetBytes(other), out _, out _, out note));
        Assert.Equal("falco_plugin_source", note);
    }

    [Fact]
    public void Decode_AcceptEvent_ServerSideWithTheClientAsPeer()
    {
        // Falco names the client first: for an accept, the process is the server on fd.sport.
        var json = """{"rule":"Unexpected inbound connection","priority":"Notice","time":"2024-01-01T00:00:00Z","output_fields":{"container.id":"abc123def456","k8s.pod.name":"db-0","k8s.ns.name":"data","evt.type":"accept","fd.name":"10.244.1.7:51234->10.244.2.9:5432","proc.exepath":"/usr/lib/postgresql/16/bin/postgres","proc.pid":77}}""";
        Assert.Equal(DecodeStatus.Event, EventFormats.Create("falco").Decode(System.Text.Encoding.UTF8.GetBytes(json), out var e, out _, out _));
        Assert.Equal((EventKind.NetAccept, NetDirection.Inbound, 5432, "10.244.1.7"), (e.Kind, e.Net.Direction, e.Net.LocalPort, e.Net.RemoteIp));
    }

    [Fact]
    public void Decode_ConnectionWithoutPorts_IsDecodedWithAnUnknownPort()
    {
        // Rules whose output prints fd.sip (or fd.rip) without a port are valid alerts: never dead-lettered.
        var json = """{"rule":"Outbound Connection to C2 Servers","priority":"Warning","time":"2024-01-01T00:00:00Z","source":"syscall","output_fields":{"container.id":"abc123def456","k8s.pod.name":"web-1","k8s.ns.name":"shop","evt.type":"connect","fd.sip":"93.184.216.34","proc.exepath":"/usr/bin/curl"}}""";
        Assert.Equal(DecodeStatus.Event, EventFormats.Create("falco").Decode(System.Text.Encoding.UTF8.GetBytes(json), out var e, out var error, out _));
        Assert.True(error == default, error.ToString());
        Assert.Equal((EventKind.NetConnect, "93.184.216.34", 0), (e.Kind, e.Net.RemoteIp, e.Net.RemotePort));

        var accept = json.Replace("\"connect\"", "\"accept\"", StringComparison.Ordinal).Replace("\"fd.sip\":\"93.184.216.34\"", "\"fd.cip\":\"10.244.1.7\",\"fd.sip\":\"10.244.2.9\"", StringComparison.Ordinal);
        Assert.Equal(DecodeStatus.Event, EventFormats.Create("falco").Decode(System.Text.Encoding.UTF8.GetBytes(accept), out e, out error, out _));
        Assert.True(error == default, error.ToString());
        Assert.Equal((EventKind.NetFlow, NetDirection.Inbound, "10.244.1.7"), (e.Kind, e.Net.Direction, e.Net.RemoteIp));
    }
}
