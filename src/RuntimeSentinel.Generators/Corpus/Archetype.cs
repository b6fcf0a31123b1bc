namespace RuntimeSentinel.Generators.Corpus;

/// <summary>How the kubelet checks a container: an HTTP GET, a TCP connect, or a command run in it through runc.</summary>
internal sealed record ProbeSpec(string Kind, int Port, int Period, params string[] Command)
{
    public static ProbeSpec Http(int port, int period) => new("http", port, period);

    public static ProbeSpec Tcp(int port, int period) => new("tcp", port, period);

    /// <summary>
    /// An exec probe: the command line, then the programs it runs (each its own exec event); with a port, the last one
    /// connects to the server over loopback (a client asking its own server).
    /// </summary>
    public static ProbeSpec Exec(int period, int port, params string[] command) => new("exec", port, period, command);
}

/// <summary>
/// One kind of software real clusters run (a Go HTTP service, a Spring Boot app, a Celery worker, a log shipper, ...):
/// what Kubernetes object it is, how its container starts (entrypoint, the shim as parent of PID 1, config and
/// token reads), how the kubelet probes it, and what it does second by second. One file per archetype; the
/// catalogue (<see cref="Archetypes"/>) chooses by name, and the shape decides which ones a seed's cluster runs.
/// </summary>
internal abstract class Archetype
{
    /// <summary>Catalogue name (<c>go-http</c>, <c>spring-boot</c>, ...).</summary>
    public abstract string Key { get; }

    /// <summary>One line for the documentation and the corpus's printout.</summary>
    public abstract string Summary { get; }

    /// <summary>Tetragon's <c>workload_kind</c>.</summary>
    public abstract string Kind { get; }

    /// <summary>Names such a workload goes by (the shape picks one).</summary>
    public abstract IReadOnlyList<string> Names { get; }

    /// <summary>Namespaces it lives in (the shape picks one).</summary>
    public abstract IReadOnlyList<string> Namespaces { get; }

    /// <summary>How many flavours it has (database: MySQL, MongoDB, Kafka).</summary>
    public virtual int Variants => 1;

    public abstract string Image(string name, int variant, ClusterFlavor flavor);

    public virtual string Container(string name, int variant) => name;

    /// <summary>The container port it serves on (0: it serves nothing).</summary>
    public virtual int Port => 0;

    /// <summary>The Service's port (clients connect to the ClusterIP on it; kube-proxy maps it to <see cref="Port"/>).</summary>
    public virtual int ServicePort => Port;

    /// <summary>What it offers to others: <c>http</c>, <c>sql</c>, <c>doc</c>, <c>cache</c>, <c>broker</c>, <c>stream</c>, <c>dns</c>.</summary>
    public virtual IReadOnlyList<string> Offers => [];

    /// <summary>Roles it uses (alternatives with <c>|</c>): peers in the cluster, or managed services outside it.</summary>
    public virtual IReadOnlyList<string> Needs => [];

    /// <summary>The runtime's own DNS cache (the JVM keeps answers 30 s; glibc, musl, Go and Node keep none).</summary>
    public virtual int DnsCacheSeconds => 0;

    /// <summary>It talks to the API server with its projected service-account token.</summary>
    public virtual bool ApiClient => false;

    /// <summary>Its image makes /var/run a link to /run, so the token's path reads <c>/run/secrets/...</c>.</summary>
    public virtual bool RunLink => true;

    public virtual bool HostNetwork => false;

    public virtual (int Min, int Max) Replicas => (1, 3);

    /// <summary>Mesh injection may give it a sidecar.</summary>
    public virtual bool Meshable => Offers.Contains("http");

    public virtual ProbeSpec? Probe => null;

    /// <summary>The user an exec probe's command runs as (the container's user).</summary>
    public virtual int ProbeUid => 0;

    public virtual string ConfigMount(string name) => $"/etc/{name}";

    public virtual string ConfigFile => "config.yaml";

    public virtual Dictionary<string, string> Labels(string name, int variant) => new(StringComparer.Ordinal) { ["app.kubernetes.io/name"] = name, ["app.kubernetes.io/part-of"] = "platform" };

    /// <summary>Starts the container's processes; when <paramref name="seen"/>, emits the start-up as Tetragon sees it.</summary>
    public abstract void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen);

    /// <summary>Once a second for the workload as a whole (a CronJob's schedule, a Job's run), before its pods' ticks.</summary>
    public virtual void Schedule(ClusterWorld w, Deployed d, int s, DateTimeOffset t)
    {
    }

    /// <summary>One second of ordinary work of one pod.</summary>
    public abstract void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t);

    /// <summary>The process that accepts connections.</summary>
    public virtual Proc Server(ClusterWorld w, Deployed d, CorpusPod pod) => pod.Main;

    /// <summary>The process (or thread) that makes the next outbound call.</summary>
    public virtual Proc Worker(ClusterWorld w, Deployed d, CorpusPod pod) => pod.Main;

    /// <summary>Serves one request (its own calls to its peers); returns when the response is written.</summary>
    public virtual DateTimeOffset Handle(ClusterWorld w, Deployed d, CorpusPod pod, Proc app, long request, DateTimeOffset t, int depth) =>
        t.AddMilliseconds(1 + w.R.Next(0, 12));

    /// <summary>Where Prometheus scrapes it (0: it is not scraped).</summary>
    public virtual int MetricsPort => Offers.Contains("http") ? Port : 0;

    /// <summary>Answers a scrape (node-exporter reads the host's counters); returns when the page is written.</summary>
    public virtual DateTimeOffset Metrics(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset t) => t.AddMilliseconds(2 + w.R.Next(0, 10));

    /// <summary>The size of its metrics page.</summary>
    public virtual long MetricsBytes(ClusterWorld w) => 9_000 + w.R.Next(0, 4_000);

    /// <summary>The usual size of a response to one request.</summary>
    public virtual long Response(ClusterWorld w) => 400 + w.R.Next(0, 6_000);

    /// <summary>
    /// Serving a request usually means asking peers: each (role, probability, request bytes, typical response bytes)
    /// happens with its probability, one after the other. Returns when the last answer came back.
    /// </summary>
    protected static DateTimeOffset Downstream(ClusterWorld w, Deployed d, CorpusPod pod, Proc app, DateTimeOffset t, int depth, params (string Role, double P, long Request, long Response)[] calls)
    {
        var at = t.AddMilliseconds(1);
        foreach (var (role, p, request, response) in calls)
        {
            if (Use(d, role) is { } peer && w.R.NextDouble() < p)
            {
                var scale = 0.5 + w.R.NextDouble();
                Ask(w, d, pod, app, peer, at, (long)(request * scale), (long)(response * scale * scale), depth);
                at = at.AddMilliseconds(1 + w.R.Next(0, peer.External ? 60 : 6));
            }
        }

        return at.AddMilliseconds(1 + w.R.Next(0, 8));
    }

    /// <summary>Reads a list of files one after the other (a start-up's loading), a little time apart.</summary>
    public static DateTimeOffset ReadAll(ClusterWorld w, Proc p, DateTimeOffset t, IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            w.File(p, t, path, false);
            t = t.AddTicks(2_000 + w.R.Next(0, 30_000));
        }

        return t;
    }

    /// <summary>A version that depends only on a name (images are tagged; the digest comes from the seed).</summary>
    protected static string Version(string name, int major) => $"{major}.{name.Length % 9}.{name[0] % 7}";

    /// <summary>The peer it uses for a role, if it has one.</summary>
    public static Peer? Use(Deployed d, string role) => d.Peers.GetValueOrDefault(role);

    /// <summary>A request to a peer, in the cluster (through its Service) or outside it (HTTPS, pooled).</summary>
    public static void Ask(ClusterWorld w, Deployed d, CorpusPod pod, Proc proc, Peer peer, DateTimeOffset t, long request, long response, int depth = 0)
    {
        if (peer.Service is { } target)
        {
            w.Net.Call(pod, proc, target, t, request, response, 0.003, depth);
        }
        else
        {
            w.Net.External(pod, proc, peer, t, request);
        }
    }

    /// <summary>Reads a file through the ConfigMap volume (its ..data link resolves to the current timestamped directory).</summary>
    public static void ReadConfig(ClusterWorld w, Deployed d, Proc p, DateTimeOffset t, string? file = null) =>
        w.File(p, t, $"{d.ConfigMount}/{d.ConfigDir}/{file ?? d.ConfigFile}", false);

    /// <summary>Reads the projected service-account token (through ..data, so the path names the timestamped directory).</summary>
    public void ReadToken(ClusterWorld w, CorpusPod pod, Proc p, DateTimeOffset t) =>
        w.File(p, t, $"{(RunLink ? "/run" : "/var/run")}/secrets/kubernetes.io/serviceaccount/{w.Runtime(pod).TokenDir}/token", false);

    /// <summary>
    /// The API server through its Service address: one HTTP/2 connection kept open (watches, requests), replaced
    /// when the API server sends GOAWAY (managed control planes set a small <c>--goaway-chance</c>). Falco's default
    /// rule reports each new connection from a container whose image it does not list as a Kubernetes component.
    /// </summary>
    public static void Api(ClusterWorld w, CorpusPod pod, Proc p, DateTimeOffset t, long bytes)
    {
        var opened = w.Net.Stream(pod, p, w.Flavor.ApiServer, 443, bytes, t, reopen: w.R.NextDouble() < 0.01);
        if (opened > 0 && w.Of(pod).A.Key is not ("prometheus" or "fluent-bit" or "coredns"))
        {
            w.Falco.Alert("Contact K8S API Server From Container", "Notice", "Unexpected connection to K8s API Server from container", t.AddMilliseconds(1), pod, p, $"{pod.Ip}:{opened}->{w.Flavor.ApiServer}:443", "connect", "k8s", "network", "container", "mitre_discovery", "T1565");
        }
    }

    /// <summary>A periodic task: true once every <paramref name="period"/> seconds for this pod (pods are staggered).</summary>
    public static bool Every(CorpusPod pod, int s, int period, int offset = 0) => (s + pod.EndpointId + offset) % period == 0;
}
