namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// CoreDNS (kube-system): answers every pod's lookups (see <see cref="ClusterNet.Resolve"/>), forwards what is not in
/// the cluster to the node's resolver, watches the API server for Services and endpoints, re-reads its Corefile every
/// 30 s (the reload plugin, through the ConfigMap's ..data link) and its token once a minute.
/// </summary>
internal sealed class CoreDnsServer : Archetype
{
    public override string Key => "coredns";

    public override string Summary => "CoreDNS (always present): answers and forwards lookups, watches the API, re-reads its Corefile every 30 s through the ConfigMap volume";

    public override string Kind => "Deployment";

    public override IReadOnlyList<string> Names => ["coredns"];

    public override IReadOnlyList<string> Namespaces => ["kube-system"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => "registry.k8s.io/coredns/coredns:v1.11.3";

    public override int Port => 53;

    public override IReadOnlyList<string> Offers => ["dns"];

    public override bool Meshable => false;

    public override int MetricsPort => 9153;

    public override bool ApiClient => true;

    public override bool RunLink => false;

    public override (int Min, int Max) Replicas => (2, 2);

    public override ProbeSpec Probe => ProbeSpec.Http(8080, 20);

    public override string ConfigMount(string name) => "/etc/coredns";

    public override string ConfigFile => "Corefile";

    public override Dictionary<string, string> Labels(string name, int variant) => new(StringComparer.Ordinal) { ["k8s-app"] = "kube-dns" };

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var coredns = w.Spawn(pod, "/coredns", "-conf /etc/coredns/Corefile", at, null, 65532, "/");
        pod.Processes.Add(coredns);
        if (seen)
        {
            w.Exec(coredns);
            ReadConfig(w, d, coredns, at.AddMilliseconds(2));
            ReadToken(w, pod, coredns, at.AddMilliseconds(5));
            Api(w, pod, coredns, at.AddMilliseconds(8), 900);
        }
    }

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
        var coredns = pod.Main;
        if (Every(pod, s, 30, 9))
        {
            ReadConfig(w, d, ClusterWorld.Thread(coredns, 2), w.Jitter(t));
        }

        if (Every(pod, s, 60, 21))
        {
            var at = w.Jitter(t);
            ReadToken(w, pod, ClusterWorld.Thread(coredns, 3), at);
            Api(w, pod, ClusterWorld.Thread(coredns, 3), at.AddMilliseconds(1), 120);
        }

        if (Every(pod, s, 20, 4))
        {
            // The readiness probe on :8181/ready.
            w.Net.Inbound(pod, coredns, 8181, pod.Node.Ip, w.Jitter(t), 130);
        }
    }
}
