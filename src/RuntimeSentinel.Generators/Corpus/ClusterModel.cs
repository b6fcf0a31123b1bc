namespace RuntimeSentinel.Generators.Corpus;

/// <summary>A workload of the cluster corpus: its Kubernetes object, what kind of software it is, and whom it talks to.</summary>
internal sealed class Deployed
{
    public required CorpusWorkload W { get; init; }

    public required Archetype A { get; init; }

    /// <summary>Which flavour of its archetype (MySQL, MongoDB or Kafka for the database; npm or node as entrypoint).</summary>
    public int Variant { get; init; }

    /// <summary>Desired replicas (an HPA changes it).</summary>
    public int Replicas { get; set; }

    /// <summary>
    /// A second container in every pod: <c>istio-proxy</c> (transparent interception: the app still connects to the
    /// Service address, Envoy to the peers' pod addresses) or <c>envoy</c> (explicit egress: the app connects to
    /// 127.0.0.1:15001). Null without one.
    /// </summary>
    public string? Sidecar { get; set; }

    /// <summary>Peers by role (<c>sql</c>, <c>cache</c>, <c>broker</c>, <c>http</c>, ...): in the cluster or outside it.</summary>
    public Dictionary<string, Peer> Peers { get; } = new(StringComparer.Ordinal);

    /// <summary>How busy it is relative to its archetype's usual rate (chosen per seed).</summary>
    public double Rate { get; init; } = 1;

    /// <summary>Its ConfigMap volume's current timestamped directory (the kubelet's atomic writer).</summary>
    public string ConfigDir { get; set; } = "";

    /// <summary>Mount path of its ConfigMap volume, and the file it reads there.</summary>
    public string ConfigMount { get; init; } = "/etc/app";

    public string ConfigFile { get; init; } = "config.yaml";

    /// <summary>Minutes between CronJob runs (CronJobs only), and the minute of the hour the schedule starts at.</summary>
    public int Every { get; init; } = 5;

    public int Offset { get; init; }

    /// <summary>Second of the corpus a Job runs at (Jobs only).</summary>
    public int RunAt { get; set; } = -1;

    public bool Meshed => Sidecar is "istio-proxy" or "envoy";

    public string Id => W.Id;

    public IEnumerable<CorpusPod> Running => W.Running;
}

/// <summary>A peer: an in-cluster workload behind its Service, or a name outside the cluster whose addresses can move.</summary>
internal sealed class Peer
{
    public Deployed? Service { get; init; }

    public string Host { get; init; } = "";

    public string[] Ips { get; set; } = [];

    public int Port { get; init; }

    public int Ttl { get; init; } = 60;

    /// <summary>Seconds a kept-alive connection to it may stay unused before the client's pool closes it.</summary>
    public int Idle { get; init; } = 60;

    public bool External => Service is null;
}

/// <summary>What the node-level runtime holds for a pod: its shim, its token volume, its other containers.</summary>
internal sealed class PodRuntime
{
    public required Proc Shim { get; init; }

    public string TokenDir { get; set; } = "";

    public DateTimeOffset TokenIssued { get; set; }

    /// <summary>Sidecar, init and ephemeral containers (each its own container id and pid namespace).</summary>
    public List<CorpusPod> Others { get; } = [];

    public CorpusPod? Sidecar => Others.FirstOrDefault(o => o.ContainerName is "istio-proxy" or "envoy" or "nginx" && o.Alive);

    /// <summary>Other atomic-writer volumes (a second projected token, downward API files): their timestamped directories.</summary>
    public Dictionary<string, string> Volumes { get; } = new(StringComparer.Ordinal);

    /// <summary>Things a process of the pod already knows (pods whose metadata a log shipper fetched, ...).</summary>
    public HashSet<string> Known { get; } = new(StringComparer.Ordinal);

    /// <summary>When each name was last looked up (runtimes that cache answers ask again only after the TTL).</summary>
    public Dictionary<string, DateTimeOffset> Dns { get; } = new(StringComparer.Ordinal);
}
