namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// Prometheus: discovers pods through the API server (its token re-read every minute) and scrapes every target every
/// 30 s over a kept-alive connection to the pod's address (Istio's merged metrics on 15020 for meshed pods, the
/// node's address for node-exporter); appends to its WAL and head chunks.
/// </summary>
internal sealed class PrometheusServer : Archetype
{
    public override string Key => "prometheus";

    public override string Summary => "Prometheus server (Kubernetes service discovery, scrapes every pod's /metrics every 30 s, WAL writes)";

    public override string Kind => "StatefulSet";

    public override IReadOnlyList<string> Names => ["prometheus-k8s", "prometheus-server", "prometheus"];

    public override IReadOnlyList<string> Namespaces => ["monitoring", "observability"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => "quay.io/prometheus/prometheus:v2.55.1";

    public override string Container(string name, int variant) => "prometheus";

    public override int Port => 9090;

    public override bool Meshable => false;

    public override bool ApiClient => true;

    public override bool RunLink => false;

    public override int MetricsPort => 9090;

    public override (int Min, int Max) Replicas => (1, 1);

    public override ProbeSpec Probe => ProbeSpec.Http(9090, 30);

    public override string ConfigMount(string name) => "/etc/prometheus";

    public override string ConfigFile => "prometheus.yml";

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var prom = w.Spawn(pod, "/bin/prometheus", "--config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/prometheus --storage.tsdb.retention.time=15d --web.enable-lifecycle", at, null, 65534, "/prometheus");
        pod.Processes.Add(prom);
        if (seen)
        {
            w.Exec(prom);
            ReadConfig(w, d, prom, at.AddMilliseconds(3));
            var t = ReadAll(w, prom, at.AddMilliseconds(10), ["/prometheus/wal/checkpoint.00000041/00000000", "/prometheus/wal/00000042", "/prometheus/chunks_head/000012"]);
            ReadToken(w, pod, prom, t);
            Api(w, pod, prom, t.AddMilliseconds(2), 1_600);
        }
    }

    public override Proc Worker(ClusterWorld w, Deployed d, CorpusPod pod) => ClusterWorld.Thread(pod.Main, w.R.Next(0, 8));

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
        var prom = pod.Main;
        foreach (var target in w.Workloads)
        {
            foreach (var p in target.Running)
            {
                if ((s + p.EndpointId) % 30 != 0)
                {
                    continue;
                }

                var at = w.Jitter(t);
                if (target.Meshed && w.Runtime(p).Sidecar is { Processes.Count: > 0 } sc)
                {
                    w.Net.Scrape(pod, Worker(w, d, pod), target, sc, sc.Processes[0], 15020, at);
                }
                else if (target.A.MetricsPort > 0)
                {
                    w.Net.Scrape(pod, Worker(w, d, pod), target, p, target.A.Server(w, target, p), target.A.MetricsPort, at);
                }
            }
        }

        if (Every(pod, s, 10))
        {
            w.File(ClusterWorld.Thread(prom, 12), w.Jitter(t), "/prometheus/wal/00000042", true);
        }

        if (Every(pod, s, 120, 60))
        {
            w.File(ClusterWorld.Thread(prom, 13), w.Jitter(t), "/prometheus/chunks_head/000012", true);
        }

        if (Every(pod, s, 60, 17))
        {
            var at = w.Jitter(t);
            ReadToken(w, pod, ClusterWorld.Thread(prom, 14), at);
            Api(w, pod, ClusterWorld.Thread(prom, 14), at.AddMilliseconds(1), 300);
        }
    }
}
