namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// A Go consumer of a queue or stream, scaled by an HPA on queue depth: each pod pulls messages, writes the result to
/// a store or a webhook, acknowledges; pods come and go with load.
/// </summary>
internal sealed class QueueConsumer : Archetype
{
    public override string Key => "queue-consumer";

    public override string Summary => "Go task-queue consumer scaled by an HPA (pull, write to a store or a webhook, ack; replicas come and go)";

    public override string Kind => "Deployment";

    public override IReadOnlyList<string> Names => ["order-events", "indexer", "sync-worker", "webhook-dispatcher", "ledger-writer"];

    public override IReadOnlyList<string> Namespaces => ["shop", "backend", "jobs", "platform"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => $"{flavor.Registry}/{name}:v{Version(name, 0)}";

    public override IReadOnlyList<string> Needs => ["broker|stream", "sql|doc", "saas"];

    public override (int Min, int Max) Replicas => (2, 3);

    public override int MetricsPort => 8081;

    public override ProbeSpec Probe => ProbeSpec.Http(8081, 30);

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var main = w.Spawn(pod, $"/usr/local/bin/{d.W.Name}", "consume --health-addr=:8081", at, null, 10001, "/");
        pod.Processes.Add(main);
        if (seen)
        {
            w.Exec(main);
            var t = ReadAll(w, main, at.AddMilliseconds(2), ["/etc/resolv.conf", "/etc/ssl/certs/ca-certificates.crt"]);
            ReadConfig(w, d, main, t);
        }
    }

    public override Proc Server(ClusterWorld w, Deployed d, CorpusPod pod) => ClusterWorld.Thread(pod.Main, w.R.Next(0, 4));

    public override Proc Worker(ClusterWorld w, Deployed d, CorpusPod pod) => ClusterWorld.Thread(pod.Main, w.R.Next(0, 4));

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
        if (Use(d, "broker|stream") is not { } queue)
        {
            return;
        }

        if (Every(pod, s, 20))
        {
            // A long poll (20 s, as SQS and most queue clients do) that returns whatever arrived.
            Ask(w, d, pod, Worker(w, d, pod), queue, w.Jitter(t), 120, 300);
        }

        var messages = w.Poisson(0.12 * d.Rate * w.Load(t) / Math.Max(1, d.W.Running.Count()));
        for (var i = 0; i < messages; i++)
        {
            var at = w.Jitter(t);
            var worker = Worker(w, d, pod);
            Ask(w, d, pod, worker, queue, at, 90, 900 + w.R.Next(0, 3_000));
            var done = Downstream(w, d, pod, worker, at.AddMilliseconds(2), 1, ("sql|doc", 0.8, 900, 200), ("saas", 0.2, 1_500, 200));
            Ask(w, d, pod, worker, queue, done, 60, 20);
        }
    }
}
