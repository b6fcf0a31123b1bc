namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// A schema-migration Job (a Helm pre-upgrade hook): one pod that runs the app's migration tool against its database
/// and completes. Each release creates a new Job (<c>&lt;app&gt;-migrate-&lt;revision&gt;</c>), which Tetragon reports
/// as its own workload. The tool follows the app's language: Flyway, Alembic, Rails, golang-migrate or Laravel.
/// </summary>
internal sealed class MigrationJob : Archetype
{
    public override string Key => "job";

    public override string Summary => "schema-migration Job (Helm hook; a new Job name per release; the app's migration tool against its database)";

    public override string Kind => "Job";

    public override IReadOnlyList<string> Names => ["migrate"];

    public override IReadOnlyList<string> Namespaces => ["shop"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => $"{flavor.Registry}/{name[..name.LastIndexOf("-migrate", StringComparison.Ordinal)]}-migrations:{Version(name, 1)}";

    public override string Container(string name, int variant) => "migrate";

    public override IReadOnlyList<string> Needs => ["sql"];

    public override bool Meshable => false;

    public override (int Min, int Max) Replicas => (0, 0);

    /// <summary>The migration tool of the app the Job belongs to (its peer <c>owner</c>).</summary>
    private static (string Binary, string Args) Tool(Deployed d) => Use(d, "owner")?.Service?.A.Key switch
    {
        "spring-boot" => ("/opt/java/openjdk/bin/java", "-cp /flyway/lib/* org.flywaydb.commandline.Main -url=jdbc:mysql://$DB_HOST/app -locations=filesystem:/flyway/sql migrate"),
        "puma" => ("/usr/local/bin/ruby", "/usr/local/bundle/bin/rails db:migrate"),
        "php-fpm" => ("/usr/local/bin/php", "artisan migrate --force"),
        "celery-worker" => ("/usr/local/bin/python3.12", "/usr/local/bin/alembic upgrade head"),
        _ => ("/usr/local/bin/migrate", "-path /migrations -database mysql://$DB_USER@tcp($DB_HOST:3306)/app up"),
    };

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var sh = w.Spawn(pod, "/bin/sh", "-c exec " + string.Join(' ', Tool(d).Binary, Tool(d).Args), at, null, 1000, "/app");
        var tool = w.Replace(sh, Tool(d).Binary, Tool(d).Args, at.AddMilliseconds(3));
        pod.Processes.Add(tool);
        w.Exec(sh);
        w.Exec(tool);
    }

    public override void Schedule(ClusterWorld w, Deployed d, int s, DateTimeOffset t)
    {
        if (s == d.RunAt)
        {
            Run(w, d, t.AddSeconds(2));
        }
    }

    public static (CorpusPod Pod, DateTimeOffset End) Run(ClusterWorld w, Deployed d, DateTimeOffset t)
    {
        var pod = w.NewPod(d, t, 0, seen: true);
        var tool = pod.Main;
        var at = ReadAll(w, tool, t.AddMilliseconds(300), Enumerable.Range(1, 4).Select(i => $"/migrations/{20261100 + (i * 7)}_{w.Token(6)}.sql"));
        if (Use(d, "sql") is { } db)
        {
            for (var i = 0; i < 6; i++)
            {
                Ask(w, d, pod, tool, db, at, 600 + w.R.Next(0, 3_000), 200);
                at = at.AddMilliseconds(150 + w.R.Next(0, 900));
            }
        }

        w.Exit(tool, at.AddMilliseconds(40));
        pod.Alive = false;
        return (pod, at.AddMilliseconds(40));
    }

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
    }
}
