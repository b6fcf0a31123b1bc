namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// fluent-bit as a log-shipper DaemonSet: tails /var/log/containers/*.log on its node (links that resolve to
/// /var/log/pods/&lt;ns&gt;_&lt;pod&gt;_&lt;uid&gt;/&lt;container&gt;/0.log, so every new pod is a new path), keeps
/// its offsets in SQLite, asks the API server for each new pod's metadata, and flushes to an external collector
/// every 10 s.
/// </summary>
internal sealed class FluentBit : Archetype
{
    public override string Key => "fluent-bit";

    public override string Summary => "fluent-bit log-shipper DaemonSet (tails every container log on its node, SQLite offsets, API lookups for new pods, flushes to an external collector)";

    public override string Kind => "DaemonSet";

    public override IReadOnlyList<string> Names => ["fluent-bit"];

    public override IReadOnlyList<string> Namespaces => ["logging", "observability"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => "cr.fluentbit.io/fluent/fluent-bit:3.1.9";

    public override int Port => 2020;

    public override IReadOnlyList<string> Needs => ["logsink"];

    public override bool Meshable => false;

    public override bool ApiClient => true;

    public override bool RunLink => false;

    public override int MetricsPort => 2020;

    public override ProbeSpec Probe => ProbeSpec.Http(2020, 30);

    public override string ConfigMount(string name) => "/fluent-bit/etc/conf";

    public override string ConfigFile => "fluent-bit.conf";

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var fb = w.Spawn(pod, "/fluent-bit/bin/fluent-bit", "-c /fluent-bit/etc/conf/fluent-bit.conf", at, null, 0, "/");
        pod.Processes.Add(fb);
        if (seen)
        {
            w.Exec(fb);
            ReadConfig(w, d, fb, at.AddMilliseconds(2));
            ReadConfig(w, d, fb, at.AddMilliseconds(3), "custom_parsers.conf");
            w.File(fb, at.AddMilliseconds(8), "/var/fluent-bit/state/flb_container.db", true);
            ReadToken(w, pod, fb, at.AddMilliseconds(10));
        }
    }

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
        var fb = pod.Main;
        var rt = w.Runtime(pod);
        if (Every(pod, s, 600, 33))
        {
            // kube_token_ttl: the token is read again every 10 minutes.
            ReadToken(w, pod, fb, w.Jitter(t));
        }

        if (!Every(pod, s, 10))
        {
            return;
        }

        var at = w.Jitter(t);
        var local = w.Workloads.SelectMany(x => x.Running).Where(p => p.Node == pod.Node).SelectMany(p => w.Runtime(p).Others.Where(o => o.Alive && o.ContainerName != "istio-init").Prepend(p)).ToList();
        if (local.Count == 0)
        {
            return;
        }

        long bytes = 0;
        foreach (var c in local.OrderBy(_ => w.R.Next()).Take(1))
        {
            var path = ClusterWorld.LogPath(c);
            if (rt.Known.Add(c.Name))
            {
                // A pod it has not seen: its metadata comes from the API server (the kubernetes filter).
                Api(w, pod, ClusterWorld.Thread(fb, 2), at, 420);
            }

            w.File(ClusterWorld.Thread(fb, 1), at.AddMilliseconds(1), path, false);
            bytes += 600 + w.R.Next(0, 8_000);
            at = at.AddMilliseconds(2);
        }

        w.File(ClusterWorld.Thread(fb, 1), at, "/var/fluent-bit/state/flb_container.db-wal", true);
        if (Use(d, "logsink") is { } sink)
        {
            Ask(w, d, pod, ClusterWorld.Thread(fb, 3), sink, at.AddMilliseconds(3), bytes * local.Count / 2, 80);
        }
    }
}
