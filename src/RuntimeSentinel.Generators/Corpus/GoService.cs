namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// A Go HTTP service on a distroless image: one static binary as PID 1 (the shim its parent), no shell, requests
/// served on runtime threads (several thread ids), a database and a cache behind it, a SaaS API now and then.
/// </summary>
internal sealed class GoService : Archetype
{
    public override string Key => "go-http";

    public override string Summary => "Go HTTP service (distroless static binary, goroutine threads, SQL/document store + cache, a SaaS API)";

    public override string Kind => "Deployment";

    public override IReadOnlyList<string> Names => ["checkout", "inventory", "pricing", "geo", "search", "catalog", "shipping", "auth", "notifications"];

    public override IReadOnlyList<string> Namespaces => ["shop", "payments", "platform", "apps", "backend"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => $"{flavor.Registry}/{name}:v{Version(name, 1)}";

    public override int Port => 8080;

    public override int ServicePort => 80;

    public override IReadOnlyList<string> Offers => ["http"];

    public override IReadOnlyList<string> Needs => ["sql|doc", "cache", "saas", "http?"];

    public override bool RunLink => false;

    public override (int Min, int Max) Replicas => (2, 4);

    public override ProbeSpec Probe => ProbeSpec.Http(8080, 20);

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var server = w.Spawn(pod, $"/app/{d.W.Name}", $"--config={d.ConfigMount}/{d.ConfigFile} --listen=:8080", at, null, 65532, "/");
        pod.Processes.Add(server);
        if (seen)
        {
            w.Exec(server);
            var t = ReadAll(w, server, at.AddMilliseconds(3), ["/etc/ssl/certs/ca-certificates.crt", "/etc/nsswitch.conf", "/etc/resolv.conf", "/etc/hosts"]);
            ReadConfig(w, d, server, t);
        }
    }

    public override Proc Server(ClusterWorld w, Deployed d, CorpusPod pod) => ClusterWorld.Thread(pod.Main, w.R.Next(0, 6));

    public override Proc Worker(ClusterWorld w, Deployed d, CorpusPod pod) => ClusterWorld.Thread(pod.Main, w.R.Next(0, 6));

    public override DateTimeOffset Handle(ClusterWorld w, Deployed d, CorpusPod pod, Proc app, long request, DateTimeOffset t, int depth) =>
        Downstream(w, d, pod, app, t, depth, ("sql|doc", 0.75, 420, 2_600), ("cache", 0.45, 70, 600), ("http?", 0.3, 600, 1_800), ("saas", 0.03, 1_400, 900));

    public override long Response(ClusterWorld w) => 300 + w.R.Next(0, 4_000);

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
        if (Every(pod, s, 60) && Use(d, "sql|doc") is { } db)
        {
            // A background refresh of a lookup table every minute.
            Ask(w, d, pod, Worker(w, d, pod), db, w.Jitter(t), 300, 12_000);
        }
    }
}
