using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Tests;

public class FalcoVariantTests
{
    private const string File = "falco-variants.jsonl";

    [Fact]
    public void Decode_NotAvailableValues_AreAbsentAndTheImageIsOneField()
    {
        // Older Falco printed a missing value as <NA>: not a pod, namespace or parent called "<NA>".
        var e = VariantSamples.Event(File, 1, "falco");
        Assert.Equal((EventKind.ProcessExec, "bash"), (e.Kind, e.Process.Exe));
        Assert.Equal(("3ad5b0fd5ae0", "web", "nginx:1.17"), (e.Workload.ContainerId, e.Workload.Container, e.Workload.Image));
        Assert.Equal(((string?)null, (string?)null, (string?)null), (e.Workload.Pod, e.Workload.Namespace, e.Process.ParentExe));
        Assert.Equal(new DateTimeOffset(2019, 10, 1, 12, 1, 33, TimeSpan.Zero).AddTicks(4123457), e.Timestamp);
    }

    [Fact]
    public void Decode_TimeWithoutFraction_ReadsTheFileOpen()
    {
        var e = VariantSamples.Event(File, 2, "falco");
        Assert.Equal(new DateTimeOffset(2023, 5, 10, 14, 9, 17, TimeSpan.Zero), e.Timestamp);
        Assert.Equal((EventKind.FileOpen, "/etc/shadow", "O_RDONLY", "openat"), (e.Kind, e.FilePath, e.FileFlags, e.SyscallName));
        Assert.Equal(("default", "alpine-shell", "docker.io/library/alpine:3.18"), (e.Workload.Namespace, e.Workload.Pod, e.Workload.Image));
        Assert.Equal(("/bin/busybox", "sh", 31337), (e.Process.Exe, e.Process.ParentExe, e.Process.Pid));
        Assert.Equal("worker-2", e.Node);
    }

    [Fact]
    public void Decode_ConnectionByLocalAndRemoteSide_IsAnOutboundConnect()
    {
        var e = VariantSamples.Event(File, 3, "falco");
        Assert.Equal(EventKind.NetConnect, e.Kind);
        Assert.Equal(new NetInfo("tcp", "10.244.0.11", 51805, "198.51.100.77", 8443, 0, 0) { Direction = NetDirection.Outbound }, e.Net);
        Assert.Equal(("shop", "api-f2xz46z557-pqqp6"), (e.Workload.Namespace, e.Workload.Pod));
    }

    [Fact]
    public void Decode_HostProcessWithoutTopLevelHostname_IsTheNodeFromEvtHostname()
    {
        var e = VariantSamples.Event(File, 4, "falco");
        Assert.Equal(("Host", "node-7", "node-7"), (e.Workload.OwnerKind, e.Workload.OwnerName, e.Node));
        Assert.Equal((EventKind.FileOpen, "/etc/cron.d/backdoor", "bash"), (e.Kind, e.FilePath, e.Process.ParentExe));
    }

    [Fact]
    public void Decode_OnlyEvtRawtime_IsTheAlertTime()
    {
        var e = VariantSamples.Event(File, 5, "falco");
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000).AddTicks(1234567), e.Timestamp);
        Assert.Equal((EventKind.ProcessExec, "/tmp/xmrig", "docker.io/library/alpine:3.19"), (e.Kind, e.Process.Exe, e.Workload.Image));
    }

    [Fact]
    public void Decode_NoTimeAnywhere_IsRejectedNamingTheFieldsLookedFor()
    {
        var error = VariantSamples.Rejection("falco", """{"rule":"Terminal shell in container","priority":"Notice","output_fields":{"container.id":"3ad5b0fd5ae0","proc.cmdline":"bash"}}""");
        Assert.Equal((DecodeErrorCode.MissingField, "time"), (error.Code, error.Field));
        Assert.Contains("evt.rawtime", error.Detail, StringComparison.Ordinal);
    }
}
