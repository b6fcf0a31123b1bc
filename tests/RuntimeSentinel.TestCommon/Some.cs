using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.TestCommon;

/// <summary>Builders for test data: plausible defaults, override only what a test is about.</summary>
public static class Some
{
    public static readonly DateTimeOffset Time = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    public static WorkloadRef Workload(string ns = "shop", string owner = "cart", string pod = "cart-7d9f8b6c5b-x2k4p", string container = "cart") =>
        new("prod", ns, pod, container, "containerd://0123456789abcdef0123", "ghcr.io/acme/cart:1.4", "sha256:abc", "ReplicaSet", owner + "-7d9f8b6c5b", LabelSet.Of(("app", owner)));

    public static RuntimeEvent Event(EventKind kind, WorkloadRef? workload = null, string? scenario = "normal") => new()
    {
        Kind = kind,
        Timestamp = Time,
        Node = "node-a",
        Workload = workload ?? Workload(),
        Labels = scenario is null ? LabelSet.Empty : LabelSet.Of(("scenario", scenario)),
    };

    public static RuntimeEvent Exec(string exe, string? parent = "/usr/bin/node", WorkloadRef? workload = null, string scenario = "normal") =>
        Event(EventKind.ProcessExec, workload, scenario) with { Process = new ProcessInfo(100, 1, 1000, exe, exe + " --flag", parent) };

    public static RuntimeEvent FileOpen(string path, string flags = "O_RDONLY", WorkloadRef? workload = null, string scenario = "normal") =>
        Event(EventKind.FileOpen, workload, scenario) with { Process = new ProcessInfo(100, 1, 1000, "/usr/bin/node", null, null), FilePath = path, FileFlags = flags };

    public static RuntimeEvent Syscall(string name, WorkloadRef? workload = null, string scenario = "normal") =>
        Event(EventKind.Syscall, workload, scenario) with { Process = new ProcessInfo(100, 1, 1000, "/usr/bin/node", null, null), SyscallName = name, ReturnCode = 0 };

    public static RuntimeEvent Connect(string ip, int port, WorkloadRef? workload = null, string scenario = "normal") =>
        Event(EventKind.NetConnect, workload, scenario) with { Process = new ProcessInfo(100, 1, 1000, "/usr/bin/node", null, null), Net = new NetInfo("tcp", "10.0.0.5", 40000, ip, port, 10, 20) };

    public static RuntimeEvent Dns(string name, WorkloadRef? workload = null, string scenario = "normal") =>
        Event(EventKind.DnsQuery, workload, scenario) with { DnsName = name };

    public static RuntimeEvent Listen(int port, WorkloadRef? workload = null, string scenario = "normal") =>
        Event(EventKind.NetListen, workload, scenario) with { Net = new NetInfo("tcp", "0.0.0.0", port, null, -1, 0, 0) };

    public static RuntimeEvent Resource(double cpu, long memoryBytes, WorkloadRef? workload = null, string scenario = "normal") =>
        Event(EventKind.ResourceUsage, workload, scenario) with { Resource = new ResourceSample(cpu, memoryBytes, 0, 0) };

    public static byte[] Json(in RuntimeEvent e) => EventJsonWriter.ToUtf8(e);
}
