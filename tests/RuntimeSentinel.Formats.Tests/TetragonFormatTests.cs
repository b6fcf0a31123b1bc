using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Formats.Tests;

public class TetragonFormatTests
{
    [SkippableFact]
    public void Decode_ProcessExec_MapsPodIdentityProcessAndParent()
    {
        var e = SampleFiles.Event("tetragon", "testdata_events.jsonl", 1, "tetragon");
        Assert.Equal(EventKind.ProcessExec, e.Kind);
        Assert.Equal("my-node", e.Node);
        Assert.Equal("default", e.Workload.Namespace);
        Assert.Equal("tiefighter", e.Workload.Pod);
        Assert.Equal("spaceship", e.Workload.Container);
        Assert.Equal("containerd://19a02291e106ce6227b684197be232ea57c4e1a5ab2604a12608c325d701c7f4", e.Workload.ContainerId);
        Assert.Equal("docker.io/tgraf/netperf:latest", e.Workload.Image);
        Assert.Equal("sha256:8e86f744bfea165fd4ce68caa05abc96500f40130b857773186401926af7e9e6", e.Workload.ImageDigest);
        Assert.Equal("empire", e.Workload.Labels["org"]);
        Assert.Equal(68790, e.Process.Pid);
        Assert.Equal(0, e.Process.Uid);
        Assert.Equal("/usr/bin/netserver", e.Process.Exe);
        Assert.Equal("-D", e.Process.Args);
        Assert.Equal("/usr/bin/containerd-shim-runc-v2", e.Process.ParentExe);
        Assert.Equal(68598, e.Process.Ppid);
        Assert.Equal("Z2tlLW1pY2hpLTIyMDM4LWRlZmF1bHQtcG9vbC00MzczMGZhYi1sOHpyOjEzNjYwNDgwNjUxNTk1OjY4NTk4", e.Labels["parent_exec_id"]);
    }

    [SkippableFact]
    public void Decode_DeploymentPod_ResolvesToDeploymentWorkload()
    {
        var e = SampleFiles.Event("tetragon", "testdata_events.jsonl", 2, "tetragon");
        Assert.Equal("c/default/Deployment/deathstar/deathstar", WorkloadResolver.Compute(e.Workload, "c").Value);
    }

    [SkippableFact]
    public void Decode_KprobeFilePermission_IsFileOpenWithPathAndPolicy()
    {
        var e = SampleFiles.Event("tetragon", "docs_current_format_events.jsonl", 4, "tetragon");
        Assert.Equal(EventKind.FileOpen, e.Kind);
        Assert.Equal("/etc/passwd", e.FilePath);
        Assert.Equal("/bin/vi", e.Process.Exe);
        Assert.Equal("/bin/sh", e.Process.ParentExe);
        Assert.Equal("file-monitoring", e.Labels["tetragon.policy"]);
        Assert.Equal("Pod", e.Workload.OwnerKind);
        Assert.Equal("file-access", e.Workload.OwnerName);
    }

    [SkippableFact]
    public void Decode_LegacyConnect_IsNetConnectWithEndpoints()
    {
        var e = SampleFiles.Event("tetragon", "security-observability-with-ebpf/00_process_lifecycle/nc_process_connect.json", 1, "tetragon");
        Assert.Equal(EventKind.NetConnect, e.Kind);
        Assert.Equal(new NetInfo("tcp", "10.88.0.6", 48416, "64.225.45.153", 443, 0, 0), e.Net);
        Assert.Equal("/usr/bin/nc", e.Process.Exe);
        Assert.Equal("/usr/bin/sh", e.Process.ParentExe);
        Assert.Equal("tenant-jobs", e.Workload.Namespace);
        Assert.Equal("minikube", e.Node);
    }

    [SkippableFact]
    public void Decode_LegacyListen_IsNetListenOnPort()
    {
        var e = SampleFiles.Event("tetragon", "security-observability-with-ebpf/00_four_golden_signals/process_listen.json", 1, "tetragon");
        Assert.Equal(EventKind.NetListen, e.Kind);
        Assert.Equal(9080, e.Net.LocalPort);
        Assert.Equal("tcp", e.Net.Protocol);
    }

    [SkippableFact]
    public void Decode_Throttle_IsIgnoredNotRejected()
    {
        var r = SampleFiles.Read("tetragon", "docs_current_format_events.jsonl", "tetragon").First(x => x.Line == 1);
        Assert.Equal(DecodeStatus.Ignored, r.Status);
        Assert.Equal("tetragon_process_throttle", r.Note);
    }

    [SkippableFact]
    public void Decode_KernelModuleLoad_IsSyscallByFunctionName()
    {
        var all = SampleFiles.Read("tetragon", "docs_current_format_events.jsonl", "tetragon").Where(r => r.Status == DecodeStatus.Event).Select(r => r.Event).ToList();
        Assert.Contains(all, e => e.Kind == EventKind.Syscall && e.SyscallName == "do_init_module");
        Assert.Contains(all, e => e.Kind == EventKind.Syscall && e.SyscallName == "setuid");
    }

    [Theory]
    [InlineData("""{"process_exec":{"parent":{}},"time":"2024-01-01T00:00:00Z"}""", DecodeErrorCode.MissingField, "process_exec.process")]
    [InlineData("""{"process_exec":{"process":{"pid":1}},"time":"2024-01-01T00:00:00Z"}""", DecodeErrorCode.MissingField, "process_exec.process.binary")]
    [InlineData("""{"process_exec":{"process":{"binary":"/x"}}}""", DecodeErrorCode.MissingField, "time")]
    [InlineData("""{"something_else":{}}""", DecodeErrorCode.UnknownKind, "")]
    [InlineData("""{"process_exec": """, DecodeErrorCode.MalformedJson, "")]
    public void Decode_Invalid_RejectsWithReason(string json, DecodeErrorCode code, string field)
    {
        Assert.Equal(DecodeStatus.Rejected, EventFormats.Create("tetragon").Decode(System.Text.Encoding.UTF8.GetBytes(json), out _, out var error, out _));
        Assert.Equal(code, error.Code);
        Assert.Equal(field, error.Field);
    }
}
