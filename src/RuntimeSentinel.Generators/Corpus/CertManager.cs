namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// cert-manager's controller (an operator): a watch on the API server at its Service address, a leader-election lease
/// renewed every 15 s, the projected token re-read about once a minute (client-go's file token source). Renewing a
/// certificate (ACME with a DNS-01 challenge) talks to the ACME server and the DNS provider's API, then writes the
/// Secret.
/// </summary>
internal sealed class CertManager : Archetype
{
    public override string Key => "cert-manager";

    public override string Summary => "cert-manager controller (operator: API watch at 10.96.0.1:443-style Service address, lease renewals, token re-reads, ACME renewals)";

    public override string Kind => "Deployment";

    public override IReadOnlyList<string> Names => ["cert-manager"];

    public override IReadOnlyList<string> Namespaces => ["cert-manager"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => "quay.io/jetstack/cert-manager-controller:v1.16.1";

    public override string Container(string name, int variant) => "cert-manager-controller";

    public override IReadOnlyList<string> Needs => ["acme", "dnsapi"];

    public override bool Meshable => false;

    public override bool ApiClient => true;

    public override bool RunLink => false;

    public override int MetricsPort => 9402;

    public override (int Min, int Max) Replicas => (1, 1);

    public override ProbeSpec Probe => ProbeSpec.Http(9403, 30);

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var controller = w.Spawn(pod, "/app/cmd/controller/controller", "--v=2 --cluster-resource-namespace=$(POD_NAMESPACE) --leader-election-namespace=kube-system --acme-http01-solver-image=quay.io/jetstack/cert-manager-acmesolver:v1.16.1 --max-concurrent-challenges=60", at, null, 1000, "/");
        pod.Processes.Add(controller);
        if (seen)
        {
            w.Exec(controller);
            ReadToken(w, pod, controller, at.AddMilliseconds(20));
            Api(w, pod, controller, at.AddMilliseconds(25), 3_000);
        }
    }

    public override Proc Server(ClusterWorld w, Deployed d, CorpusPod pod) => ClusterWorld.Thread(pod.Main, w.R.Next(0, 3));

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
        if (Every(pod, s, 15, 6))
        {
            Api(w, pod, ClusterWorld.Thread(pod.Main, 4), w.Jitter(t), 520);
        }

        if (Every(pod, s, 60, 25))
        {
            ReadToken(w, pod, ClusterWorld.Thread(pod.Main, 4), w.Jitter(t));
        }
    }

    /// <summary>A certificate due for renewal: ACME order, DNS-01 record at the provider, finalize, the new Secret.</summary>
    public static void Renew(ClusterWorld w, Deployed d, DateTimeOffset t)
    {
        var pod = d.Running.First();
        var worker = ClusterWorld.Thread(pod.Main, 5);
        var at = t;
        foreach (var (role, sent) in new[] { ("acme", 1_400L), ("acme", 900L), ("dnsapi", 700L), ("acme", 600L), ("acme", 600L), ("acme", 1_800L), ("dnsapi", 500L) })
        {
            if (Use(d, role) is { } peer)
            {
                Ask(w, d, pod, worker, peer, at, sent, 2_000);
            }

            at = at.AddSeconds(2 + w.R.Next(0, 4));
        }

        Api(w, pod, worker, at, 6_500);
    }
}
