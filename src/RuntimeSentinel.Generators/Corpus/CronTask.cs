namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// A CronJob that runs every few minutes: each run is a new pod and a new container (shell as PID 1 under a new shim,
/// its tools as children), it does its work and completes. Three kinds, chosen by name: a database dump uploaded to
/// object storage, a cache warmer that requests a service's pages, a report export.
/// </summary>
internal sealed class CronTask : Archetype
{
    public override string Key => "cronjob";

    public override string Summary => "CronJob every 2-10 minutes (new pod and container per run: db dump to object storage, cache warmer, report export)";

    public override string Kind => "CronJob";

    public override IReadOnlyList<string> Names => ["db-backup", "cache-warmer", "report-export"];

    public override IReadOnlyList<string> Namespaces => ["data", "shop", "jobs", "ops"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => name switch
    {
        "cache-warmer" => "docker.io/curlimages/curl:8.10.1",
        _ => $"{flavor.Registry}/{name}:{Version(name, 1)}",
    };

    public override IReadOnlyList<string> Needs => ["sql|doc", "objectstore", "http?"];

    public override bool Meshable => false;

    public override (int Min, int Max) Replicas => (0, 0);

    public static string Script(Deployed d) => d.W.Name switch
    {
        "cache-warmer" => "-c for p in / /catalog /search?q=top; do curl -s -o /dev/null -w '%{http_code}' http://$TARGET$p; done",
        "report-export" => "-c python3 /app/export.py --since=1h --out=/tmp/report.csv && aws s3 cp /tmp/report.csv s3://$BUCKET/reports/",
        _ => $"-c {Dump(d)} | gzip > /backup/dump.gz && aws s3 cp /backup/dump.gz s3://$BUCKET/{d.W.Namespace}/",
    };

    private static string Dump(Deployed d) => Use(d, "sql|doc")?.Service?.A.Key == "mongodb" ? "mongodump --uri=$MONGO_URI --archive" : "mysqldump --single-transaction -h $DB_HOST -u backup app";

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var sh = w.Spawn(pod, "/bin/sh", Script(d), at, null, 1000, d.W.Name == "cache-warmer" ? "/home/curl_user" : "/app");
        pod.Processes.Add(sh);
        w.Exec(sh);
    }

    public override void Schedule(ClusterWorld w, Deployed d, int s, DateTimeOffset t)
    {
        if (s % 60 == 0 && (s / 60) % d.Every == d.Offset % d.Every && !w.Suppressed.Contains((d.Id, s / 60)))
        {
            var (pod, end) = Run(w, d, t.AddSeconds(1 + w.R.Next(0, 3)), 1);
            if (t >= w.LearningEnds)
            {
                w.Label(new CorpusLabel($"cronjob-{d.W.Name}-{s / 60}", "churn-cronjob", d.Id, [pod.Name], t, end, "a scheduled CronJob run: a new pod and container that does its work and completes")
                {
                    Related = Use(d, "sql|doc")?.Service is { } db ? [db.Id] : [],
                });
            }
        }
    }

    /// <summary>One run (a new pod); <paramref name="scale"/> multiplies its volume. Returns the pod and when it ended.</summary>
    public static (CorpusPod Pod, DateTimeOffset End) Run(ClusterWorld w, Deployed d, DateTimeOffset t, int scale)
    {
        var pod = w.NewPod(d, t, 0, seen: true);
        var sh = pod.Main;
        var at = t.AddMilliseconds(15);
        switch (d.W.Name)
        {
            case "cache-warmer":
                if (Use(d, "http?")?.Service is { } target)
                {
                    foreach (var page in new[] { "/", "/catalog", "/search?q=top" })
                    {
                        var curl = w.Spawn(pod, "/usr/bin/curl", $"-s -o /dev/null -w %{{http_code}} http://{target.W.Name}.{target.W.Namespace}{page}", at, sh, 1000, "/home/curl_user");
                        w.Exec(curl);
                        w.Net.Call(pod, curl, target, at.AddMilliseconds(2), 180, 20_000 + w.R.Next(0, 60_000), 1);
                        w.Exit(curl, at.AddMilliseconds(60 + w.R.Next(0, 200)));
                        at = at.AddMilliseconds(300);
                    }
                }

                break;
            default:
                var report = d.W.Name == "report-export";
                var tool = report ? w.Spawn(pod, "/usr/local/bin/python3.12", "/app/export.py --since=1h --out=/tmp/report.csv", at, sh, 1000, "/app")
                    : w.Spawn(pod, Dump(d).StartsWith("mongo", StringComparison.Ordinal) ? "/usr/bin/mongodump" : "/usr/bin/mysqldump", Dump(d)[(Dump(d).IndexOf(' ', StringComparison.Ordinal) + 1)..], at, sh, 1000, "/backup");
                w.Exec(tool);
                Proc? gzip = null;
                if (!report)
                {
                    gzip = w.Spawn(pod, "/bin/gzip", "", at.AddMilliseconds(1), sh, 1000, "/backup");
                    w.Exec(gzip);
                }

                var volume = (report ? 300_000L : 2_500_000L + (d.W.Name.Length * 90_000)) * scale;
                if (Use(d, "sql|doc") is { } db)
                {
                    // The dump streams the tables: the database writes them to the job's connection.
                    Ask(w, d, pod, tool, db, at.AddMilliseconds(20), 400, volume);
                }

                var written = at.AddSeconds(2 + (scale * 2) + w.R.Next(0, 3));
                w.File(gzip ?? tool, written, report ? "/tmp/report.csv" : "/backup/dump.gz", true);
                w.Exit(tool, written.AddMilliseconds(5));
                if (gzip is not null)
                {
                    w.Exit(gzip, written.AddMilliseconds(6));
                }

                var aws = w.Spawn(pod, "/usr/local/bin/python3.12", $"/usr/local/bin/aws s3 cp {(report ? "/tmp/report.csv" : "/backup/dump.gz")} s3://$BUCKET/", written.AddMilliseconds(20), sh, 1000, "/app");
                w.Exec(aws);
                w.File(aws, aws.Start.AddMilliseconds(300), "/app/.aws/config", false);
                if (Use(d, "objectstore") is { } store)
                {
                    Ask(w, d, pod, aws, store, aws.Start.AddMilliseconds(400), volume / (report ? 1 : 4), 800);
                }

                w.Exit(aws, aws.Start.AddSeconds(2 + scale));
                at = aws.Start.AddSeconds(2 + scale);
                break;
        }

        var end = at.AddMilliseconds(50);
        w.Exit(sh, end);
        pod.Alive = false;
        return (pod, end);
    }

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
    }
}
