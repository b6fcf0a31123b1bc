namespace RuntimeSentinel.Core.Events;

/// <summary>What happened. The wire names (snake_case) are in <see cref="EventKindNames"/> and docs/events.md.</summary>
public enum EventKind : byte
{
    Unknown = 0,
    ProcessExec,
    ProcessExit,
    FileOpen,
    Syscall,
    NetConnect,
    NetAccept,
    NetListen,
    DnsQuery,
    ResourceUsage,

    /// <summary>Traffic on a connection that already exists (bytes sent or received, close): never a new endpoint by itself.</summary>
    NetFlow,

    /// <summary>
    /// A sensor's own finding that names no behaviour we can baseline (a Falco rule whose output carries no process,
    /// a plugin source): labels <c>sensor.rule</c>, <c>sensor.priority</c> and <c>source</c> say what fired.
    /// </summary>
    SensorAlert,
}

/// <summary>Who opened a connection, seen from the event's workload: it did (outbound) or its peer did (inbound).</summary>
public enum NetDirection : byte
{
    Unknown,
    Outbound,
    Inbound,
}

/// <summary>The Kubernetes (or container runtime) identity an event was observed in, as the sensor reported it.</summary>
public readonly record struct WorkloadRef(
    string? Cluster,
    string? Namespace,
    string? Pod,
    string? Container,
    string? ContainerId,
    string? Image,
    string? ImageDigest,
    string? OwnerKind,
    string? OwnerName,
    LabelSet Labels);

/// <summary>The process that caused the event. Numeric fields are -1 when the sensor did not report them.</summary>
public readonly record struct ProcessInfo(int Pid, int Ppid, int Uid, string? Exe, string? Args, string? ParentExe)
{
    public static ProcessInfo None { get; } = new(-1, -1, -1, null, null, null);
}

/// <summary>Network endpoint fields of net_* and dns_query events. Ports are -1 when absent.</summary>
public readonly record struct NetInfo(string? Protocol, string? LocalIp, int LocalPort, string? RemoteIp, int RemotePort, long BytesIn, long BytesOut)
{
    public static NetInfo None { get; } = new(null, null, -1, null, -1, 0, 0);

    /// <summary>Who opened the connection; the peer is always the remote side and the service port is the server's port.</summary>
    public NetDirection Direction { get; init; }

    /// <summary>The server's port of the connection: the remote port of an outbound one, the local port of an inbound one.</summary>
    public int ServicePort => Direction == NetDirection.Inbound ? LocalPort : RemotePort;
}

/// <summary>A per-container resource sample. Negative values mean "not reported".</summary>
public readonly record struct ResourceSample(double CpuCores, long MemoryBytes, long IoReadBytes, long IoWriteBytes)
{
    public static ResourceSample None { get; } = new(-1, -1, -1, -1);
}

/// <summary>
/// One decoded runtime event (schema v1, docs/events.md). A value type so that the hot path (decode → shard
/// channel → baseline) does not allocate per event; strings come from the decoder's intern cache.
/// </summary>
public readonly record struct RuntimeEvent
{
    public EventKind Kind { get; init; }
    public DateTimeOffset Timestamp { get; init; }
    public string? Node { get; init; }
    public WorkloadRef Workload { get; init; }
    public ProcessInfo Process { get; init; }

    /// <summary>syscall: name of the call; file_open: the call that opened (open/openat) when known.</summary>
    public string? SyscallName { get; init; }

    /// <summary>Return code of the call; null when not reported. Negative values are -errno.</summary>
    public long? ReturnCode { get; init; }

    public string? FilePath { get; init; }
    public string? FileFlags { get; init; }
    public NetInfo Net { get; init; }
    public string? DnsName { get; init; }

    /// <summary>dns_query: the addresses the answer gave, comma-separated (at most 16), when the sensor saw the response.</summary>
    public string? DnsAnswers { get; init; }
    public ResourceSample Resource { get; init; }

    /// <summary>Free-form annotations on the event itself (e.g. ground-truth <c>scenario</c> in generated or replayed data).</summary>
    public LabelSet Labels { get; init; }

    public RuntimeEvent()
    {
        Process = ProcessInfo.None;
        Net = NetInfo.None;
        Resource = ResourceSample.None;
        Labels = LabelSet.Empty;
        Workload = new WorkloadRef(null, null, null, null, null, null, null, null, null, LabelSet.Empty);
    }
}
