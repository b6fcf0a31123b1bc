using static RuntimeSentinel.Generators.Corpus.SensorJson;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// PHP-FPM behind nginx in the same pod (two containers): nginx accepts on 8080 and opens a FastCGI connection to
/// 127.0.0.1:9000 for every request (no keep-alive by default); a pool worker (www-data) runs the script, asks MySQL
/// and the cache, reads templates and writes uploads; the master forks and reaps workers as load changes.
/// </summary>
internal sealed class PhpFpm : Archetype
{
    public override string Key => "php-fpm";

    public override string Summary => "PHP-FPM + nginx container in one pod (FastCGI over 127.0.0.1:9000 per request, pool workers forked and reaped, uploads written)";

    public override string Kind => "Deployment";

    public override IReadOnlyList<string> Names => ["wordpress", "blog", "legacy-portal", "shop-php", "forum"];

    public override IReadOnlyList<string> Namespaces => ["web", "cms", "apps", "marketing"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => $"{flavor.Registry}/{name}:{Version(name, 8)}-fpm-alpine";

    public override string Container(string name, int variant) => "php-fpm";

    public override int Port => 8080;

    public override int ServicePort => 80;

    public override IReadOnlyList<string> Offers => ["http"];

    public override IReadOnlyList<string> Needs => ["sql", "cache?", "saas"];

    public override bool Meshable => false;

    public override int MetricsPort => 0;

    public override (int Min, int Max) Replicas => (1, 3);

    public override ProbeSpec Probe => ProbeSpec.Http(8080, 20);

    public override string ConfigMount(string name) => "/usr/local/etc/php-fpm.d";

    public override string ConfigFile => "www.conf";

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var entry = w.Spawn(pod, "/usr/local/bin/docker-php-entrypoint", "php-fpm", at, null, 0, "/var/www/html");
        var master = w.Replace(entry, "/usr/local/sbin/php-fpm", "", at.AddMilliseconds(3));
        pod.Processes.Add(master);
        for (var i = 0; i < 3; i++)
        {
            pod.Processes.Add(w.Spawn(pod, "/usr/local/sbin/php-fpm", "", at.AddMilliseconds(40 + i), master, 82, "/var/www/html", "clone"));
        }

        if (seen)
        {
            w.Exec(entry);
            w.Exec(master);
            var t = ReadAll(w, master, at.AddMilliseconds(5), ["/usr/local/etc/php-fpm.conf", "/usr/local/etc/php/php.ini", "/usr/local/etc/php/conf.d/docker-php-ext-opcache.ini"]);
            ReadConfig(w, d, master, t);
        }
    }

    /// <summary>nginx (the other container) accepts the clients.</summary>
    public override Proc Server(ClusterWorld w, Deployed d, CorpusPod pod) =>
        w.Runtime(pod).Others.FirstOrDefault(o => o.ContainerName == "nginx" && o.Alive) is { Processes.Count: > 2 } nginx ? nginx.Processes[1 + w.R.Next(0, 2)] : pod.Main;

    public override Proc Worker(ClusterWorld w, Deployed d, CorpusPod pod) => pod.Processes[1 + w.R.Next(0, pod.Processes.Count - 1)];

    public override DateTimeOffset Handle(ClusterWorld w, Deployed d, CorpusPod pod, Proc app, long request, DateTimeOffset t, int depth)
    {
        var php = Worker(w, d, pod);
        if (app.Pod?.ContainerName == "nginx")
        {
            // FastCGI: a connection per request from nginx to the pool, closed when the script ends.
            var conn = new Sock("tcp", "127.0.0.1", app.Pod.EphemeralPort(), "127.0.0.1", 9000, "TCP_SYN_SENT");
            w.Tetragon(t, Kprobe(app, pod.Node.Name, t, "tcp_connect", "network-observability", SockArgs(conn)));
            var accepted = new Sock("tcp", "127.0.0.1", 9000, "127.0.0.1", conn.Sport, "TCP_ESTABLISHED");
            w.Tetragon(t.AddTicks(2_000), Kprobe(php, pod.Node.Name, t.AddTicks(2_000), "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", 9000, "0.0.0.0", 0, "TCP_LISTEN")), accepted));
            w.Net.Send(app, conn, request + 600, t.AddTicks(4_000));
            var done = Downstream(w, d, pod, php, t.AddMilliseconds(1), depth, ("sql", 0.95, 300, 2_400), ("sql", 0.6, 280, 6_000), ("cache?", 0.3, 60, 400), ("saas", 0.01, 800, 500));
            if (w.R.NextDouble() < 0.01)
            {
                w.File(php, done, $"/var/www/html/wp-content/uploads/2026/11/{w.Token(8)}.jpg", true);
            }

            w.Net.Send(php, accepted, Response(w), done);
            w.Tetragon(done.AddTicks(3_000), Kprobe(app, pod.Node.Name, done.AddTicks(3_000), "tcp_close", "network-observability", SockArgs(conn with { State = "TCP_ESTABLISHED" })));
            return done.AddTicks(5_000);
        }

        return Downstream(w, d, pod, php, t, depth, ("sql", 0.9, 300, 2_400));
    }

    public override long Response(ClusterWorld w) => 3_000 + w.R.Next(0, 45_000);

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
        if (Every(pod, s, 20, 3))
        {
            // The container's own liveness: a TCP probe to the pool's port, accepted by a worker and closed.
            var at = w.Jitter(t);
            var conn = new Sock("tcp", pod.Ip, 9000, pod.Node.Ip, 32768 + w.R.Next(0, 28000), "TCP_ESTABLISHED");
            var worker = Worker(w, d, pod);
            w.Tetragon(at, Kprobe(worker, pod.Node.Name, at, "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", 9000, "0.0.0.0", 0, "TCP_LISTEN")), conn));
            w.Tetragon(at.AddMilliseconds(1), Kprobe(worker, pod.Node.Name, at.AddMilliseconds(1), "tcp_close", "network-observability", SockArgs(conn)));
        }

        if (w.R.NextDouble() < 0.004 && pod.Processes.Count > 2)
        {
            // pm = dynamic: an idle worker is reaped and another forked later.
            var old = pod.Processes[^1];
            w.Exit(old, w.Jitter(t));
            pod.Processes.RemoveAt(pod.Processes.Count - 1);
            var fresh = w.Spawn(pod, "/usr/local/sbin/php-fpm", "", t.AddSeconds(1), pod.Processes[0], 82, "/var/www/html", "clone");
            pod.Processes.Add(fresh);
        }
    }
}
