using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Benchmarks;

/// <summary>Representative messages (native schema v1), serialised once.</summary>
public static class Samples
{
    private static readonly WorkloadRef Workload = new(
        "prod", "shop", "cart-7d9f8b6c5b-x2k4p", "cart", "containerd://0123456789abcdef0123456789abcdef", "ghcr.io/acme/cart:1.4.2",
        "sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac", "ReplicaSet", "cart-7d9f8b6c5b",
        LabelSet.Of(("app", "cart"), ("pod-template-hash", "7d9f8b6c5b"), ("team", "payments")));

    private static readonly DateTimeOffset Ts = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    public static RuntimeEvent ExecEvent { get; } = new()
    {
        Kind = EventKind.ProcessExec,
        Timestamp = Ts,
        Node = "node-a",
        Workload = Workload,
        Process = new ProcessInfo(4711, 1, 1000, "/usr/bin/node", "node /app/server.js --port 8080", "/usr/bin/tini"),
        Labels = LabelSet.Of(("scenario", "normal")),
    };

    public static RuntimeEvent FileEvent { get; } = new()
    {
        Kind = EventKind.FileOpen,
        Timestamp = Ts,
        Node = "node-a",
        Workload = Workload,
        Process = new ProcessInfo(4711, 1, 1000, "/usr/bin/node", null, null),
        FilePath = "/app/node_modules/express/lib/router/index.js",
        FileFlags = "O_RDONLY|O_CLOEXEC",
    };

    public static RuntimeEvent ConnectEvent { get; } = new()
    {
        Kind = EventKind.NetConnect,
        Timestamp = Ts,
        Node = "node-a",
        Workload = Workload,
        Process = new ProcessInfo(4711, 1, 1000, "/usr/bin/node", null, null),
        Net = new NetInfo("tcp", "10.244.1.15", 40122, "10.96.40.10", 5432, 900, 350),
    };

    public static byte[] Exec { get; } = EventJsonWriter.ToUtf8(ExecEvent);

    public static byte[] File { get; } = EventJsonWriter.ToUtf8(FileEvent);

    public static byte[] Connect { get; } = EventJsonWriter.ToUtf8(ConnectEvent);
}
