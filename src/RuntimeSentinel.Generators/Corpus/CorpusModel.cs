namespace RuntimeSentinel.Generators.Corpus;

/// <summary>A workload of the simulated cluster.</summary>
internal sealed class CorpusWorkload
{
    public required string Namespace { get; init; }

    public required string Name { get; init; }

    /// <summary>Tetragon's <c>workload_kind</c>: Deployment, StatefulSet, DaemonSet, CronJob.</summary>
    public required string Kind { get; init; }

    public required string Container { get; init; }

    public required string Image { get; set; }

    public required string Digest { get; set; }

    public required Dictionary<string, string> Labels { get; init; }

    /// <summary>Cilium security identity (one per label set).</summary>
    public int Identity { get; init; }

    public string? ServiceIp { get; init; }

    public int ServicePort { get; init; }

    public bool HostNetwork { get; init; }

    public List<CorpusPod> Pods { get; } = [];

    public IEnumerable<CorpusPod> Running => Pods.Where(p => p.Alive);

    /// <summary>How the analyst names it in labels: <c>namespace/Kind/name</c>.</summary>
    public string Id => $"{Namespace}/{Kind}/{Name}";
}

/// <summary>A pod: its address, node, container and the processes running in it.</summary>
internal sealed class CorpusPod
{
    public required CorpusWorkload Workload { get; init; }

    public required string Name { get; init; }

    public required string Ip { get; init; }

    public required CorpusNode Node { get; init; }

    public required string ContainerId { get; set; }

    public required DateTimeOffset ContainerStart { get; set; }

    public required string Image { get; set; }

    public required string Digest { get; set; }

    public int EndpointId { get; init; }

    /// <summary>
    /// Another container of the same pod (a sidecar, an init or ephemeral debug container): its own name, with its own
    /// container id, image and processes; null for the workload's main container.
    /// </summary>
    public string? ContainerName { get; init; }

    public bool Alive { get; set; } = true;

    /// <summary>Long-running processes: [0] is the container's entrypoint (pid 1 inside it).</summary>
    public List<Proc> Processes { get; } = [];

    public int NextContainerPid { get; set; } = 2;

    private int _ephemeral;

    /// <summary>Where this pod's ephemeral ports start (chosen by the generator's seeded random).</summary>
    public int EphemeralStart { init => _ephemeral = value; }

    /// <summary>The next local port from Linux's ephemeral range.</summary>
    public int EphemeralPort()
    {
        _ephemeral = _ephemeral >= 60999 ? 32768 : _ephemeral + 1 + (_ephemeral % 7);
        return Math.Min(_ephemeral, 60999);
    }

    public Proc Main => Processes[Math.Min(1, Processes.Count - 1)];
}

internal sealed class CorpusNode
{
    public required string Name { get; init; }

    public required string Ip { get; init; }

    /// <summary>Pod addresses on this node: <c>10.244.N.x</c>.</summary>
    public required string PodPrefix { get; init; }

    public int NextHostPid { get; set; } = 20_000;

    public int NextPodIp { get; set; } = 10;

    public required Proc Shim { get; init; }
}

/// <summary>One labelled scenario of the corpus (side file <c>labels.json</c>).</summary>
/// <param name="Kind"><c>attack-new</c> (does something the workload never does), <c>attack-stealthy</c> (only rate,
/// volume, ports or time change), or <c>benign-churn</c> (rollouts, scaling, restarts, CronJob runs, DNS rotation).</param>
public sealed record CorpusLabel(string Scenario, string Kind, string Workload, IReadOnlyList<string> Pods, DateTimeOffset Start, DateTimeOffset End, string Description)
{
    /// <summary>Other workloads the scenario acts on (the database a bulk copy reads from): seeing it there is seeing it.</summary>
    public IReadOnlyList<string> Related { get; init; } = [];
}
