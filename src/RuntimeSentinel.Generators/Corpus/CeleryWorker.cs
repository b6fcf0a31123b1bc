namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// A Python Celery worker (prefork pool): the main process holds the broker connection (heartbeats, deliveries, acks);
/// tasks run in forked children that ask the database, sometimes upload to object storage or run ImageMagick; a child
/// is replaced after its task quota. The chart's exec probe runs <c>celery inspect ping</c>, a whole Python process
/// that connects to the broker every minute.
/// </summary>
internal sealed class CeleryWorker : Archetype
{
    public override string Key => "celery-worker";

    public override string Summary => "Python Celery worker (prefork children, broker deliveries and acks, exec probe 'celery inspect ping' connecting to the broker, ImageMagick subprocesses)";

    public override string Kind => "Deployment";

    public override IReadOnlyList<string> Names => ["worker", "tasks", "thumbnailer", "mailer", "exporter"];

    public override IReadOnlyList<string> Namespaces => ["shop", "apps", "backend", "jobs"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => $"{flavor.Registry}/celery-{name}:{Version(name, 3)}";

    public override IReadOnlyList<string> Needs => ["broker", "sql|doc", "objectstore", "saas"];

    public override (int Min, int Max) Replicas => (1, 3);

    public override string ConfigMount(string name) => "/app/settings";

    public override string ConfigFile => "celeryconfig.py";

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var main = w.Spawn(pod, "/usr/local/bin/python3.12", "/usr/local/bin/celery -A app worker --loglevel=INFO --concurrency=4 --max-tasks-per-child=200", at, null, 1000, "/app");
        pod.Processes.Add(main);
        for (var i = 0; i < 4; i++)
        {
            pod.Processes.Add(w.Spawn(pod, "/usr/local/bin/python3.12", main.Args, at.AddMilliseconds(1_900 + i), main, 1000, "/app", "clone"));
        }

        if (seen)
        {
            w.Exec(main);
            var t = ReadAll(w, main, at.AddMilliseconds(40), ["/app/app/__init__.py", "/app/app/celery.py", "/app/app/tasks.py", "/usr/local/lib/python3.12/site-packages/celery/__init__.py", "/usr/local/lib/python3.12/site-packages/kombu/__init__.py", "/usr/local/lib/python3.12/site-packages/PIL/__init__.py", "/etc/ssl/certs/ca-certificates.crt"]);
            ReadConfig(w, d, main, t);
            if (Use(d, "broker") is { } broker)
            {
                Ask(w, d, pod, main, broker, t.AddMilliseconds(50), 420, 300);
            }
        }
    }

    public override Proc Worker(ClusterWorld w, Deployed d, CorpusPod pod) => pod.Processes[1 + w.R.Next(0, pod.Processes.Count - 1)];

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
        var broker = Use(d, "broker");
        if (broker is null)
        {
            return;
        }

        if (Every(pod, s, 30, 11))
        {
            // AMQP heartbeat both ways.
            Ask(w, d, pod, pod.Main, broker, w.Jitter(t), 8, 8);
        }

        if (Every(pod, s, 60, 4))
        {
            var at = w.Jitter(t);
            var probe = w.Kubelet.RunIn(pod, ["/bin/sh -c celery -A app inspect ping -d celery@$HOSTNAME", $"/usr/local/bin/python3.12 /usr/local/bin/celery -A app inspect ping -d celery@{pod.Name}"], at, 1000, 1_400);
            // The probe's Python process connects to the broker like any client.
            if (broker.Service is { } b)
            {
                w.Net.Call(pod, probe, b, at.AddMilliseconds(700), 600, 900, 1);
            }
        }

        var tasks = w.Poisson(0.12 * d.Rate * w.Load(t) / Math.Max(1, d.Replicas));
        for (var i = 0; i < tasks; i++)
        {
            var at = w.Jitter(t);
            var child = Worker(w, d, pod);
            Ask(w, d, pod, pod.Main, broker, at, 60, 1_200 + w.R.Next(0, 4_000));
            var done = Downstream(w, d, pod, child, at.AddMilliseconds(3), 1, ("sql|doc", 0.9, 450, 3_000), ("objectstore", 0.15, 180_000, 400), ("saas", 0.05, 2_000, 300));
            if (w.R.NextDouble() < 0.08)
            {
                var convert = w.Spawn(pod, "/usr/bin/convert", $"/tmp/{w.Token(10)}.jpg -resize 640x640 /tmp/{w.Token(10)}-640.jpg", done, child, 1000, "/app");
                w.Exec(convert);
                w.Exit(convert, done.AddMilliseconds(180 + w.R.Next(0, 400)));
                done = done.AddMilliseconds(600);
            }

            Ask(w, d, pod, pod.Main, broker, done, 40, 8);
        }

        if (w.R.NextDouble() < 0.002)
        {
            // --max-tasks-per-child: a child retires and the main process forks a new one.
            var idx = 1 + w.R.Next(0, pod.Processes.Count - 1);
            w.Exit(pod.Processes[idx], w.Jitter(t));
            pod.Processes[idx] = w.Spawn(pod, "/usr/local/bin/python3.12", pod.Main.Args, t.AddSeconds(1), pod.Main, 1000, "/app", "clone");
        }
    }
}
