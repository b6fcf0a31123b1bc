namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// istiod, present when the mesh is: every istio-proxy keeps an xDS stream to it on 15012 (closed after 30 minutes by
/// its max connection age, and reopened), it pushes configuration when endpoints change, signs the proxies'
/// certificates, and the API server calls its injection webhook when pods are created.
/// </summary>
internal sealed class Istiod : Archetype
{
    public override string Key => "istiod";

    public override string Summary => "istiod (with the mesh only: xDS streams from every proxy, pushes on endpoint changes, certificate signing, the injection webhook)";

    public override string Kind => "Deployment";

    public override IReadOnlyList<string> Names => ["istiod"];

    public override IReadOnlyList<string> Namespaces => ["istio-system"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => "docker.io/istio/pilot:1.23.2";

    public override string Container(string name, int variant) => "discovery";

    public override int Port => 15012;

    public override bool Meshable => false;

    public override bool ApiClient => true;

    public override bool RunLink => false;

    public override int MetricsPort => 15014;

    public override (int Min, int Max) Replicas => (1, 1);

    public override ProbeSpec Probe => ProbeSpec.Http(8080, 30);

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var pilot = w.Spawn(pod, "/usr/local/bin/pilot-discovery", "discovery --monitoringAddr=:15014 --log_output_level=default:info --domain cluster.local --keepaliveMaxServerConnectionAge 30m", at, null, 1337, "/");
        pod.Processes.Add(pilot);
        if (seen)
        {
            w.Exec(pilot);
            ReadToken(w, pod, pilot, at.AddMilliseconds(10));
            Api(w, pod, pilot, at.AddMilliseconds(12), 4_000);
            w.File(pilot, at.AddMilliseconds(30), "/var/run/secrets/istiod/tls/tls.crt", false);
        }
    }

    public override Proc Server(ClusterWorld w, Deployed d, CorpusPod pod) => ClusterWorld.Thread(pod.Main, w.R.Next(0, 6));

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
        if (Every(pod, s, 60, 8))
        {
            var at = w.Jitter(t);
            ReadToken(w, pod, ClusterWorld.Thread(pod.Main, 7), at);
            Api(w, pod, ClusterWorld.Thread(pod.Main, 7), at.AddMilliseconds(1), 350);
        }
    }

    /// <summary>Endpoints changed: istiod pushes the new EDS to every connected proxy.</summary>
    public static void Push(ClusterWorld w, DateTimeOffset t)
    {
        foreach (var d in w.Workloads.Where(x => x.Sidecar == "istio-proxy"))
        {
            foreach (var pod in d.Running)
            {
                if (w.Runtime(pod).Sidecar is { Processes.Count: > 0 } sc)
                {
                    w.Net.Push(sc, sc.Processes[0], w.Find("istiod")!.W.ServiceIp!, 15012, 3_000 + w.R.Next(0, 9_000), t.AddMilliseconds(w.R.Next(100, 1_100)));
                }
            }
        }
    }
}
