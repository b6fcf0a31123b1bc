namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// MySQL 8 (StatefulSet): the entrypoint drops to mysql with gosu; InnoDB's redo log and binary log are written as
/// transactions commit, pages flushed to the tables' .ibd files; the chart's exec probe runs <c>mysqladmin status</c>
/// through the Unix socket.
/// </summary>
internal sealed class MySqlDb : Archetype
{
    private static readonly string[] Tables = ["orders", "order_items", "customers", "payments", "products", "sessions", "audit_log"];

    public override string Key => "mysql";

    public override string Summary => "MySQL StatefulSet database (gosu at start, redo/binlog/.ibd writes with load, exec probe mysqladmin over the Unix socket)";

    public override string Kind => "StatefulSet";

    public override IReadOnlyList<string> Names => ["mysql", "mariadb", "orders-db"];

    public override IReadOnlyList<string> Namespaces => ["data", "databases"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => "docker.io/library/mysql:8.4.3";

    public override string Container(string name, int variant) => "mysql";

    public override int Port => 3306;

    public override IReadOnlyList<string> Offers => ["sql"];

    public override bool Meshable => false;

    public override (int Min, int Max) Replicas => (1, 1);

    public override ProbeSpec Probe => ProbeSpec.Exec(20, 0, "/bin/bash -ec password_aux=\"${MYSQL_ROOT_PASSWORD:-}\"; mysqladmin status -uroot -p\"${password_aux}\"", "/usr/bin/mysqladmin status -uroot -px xxxxxxxx");

    public override int ProbeUid => 999;

    public override string ConfigMount(string name) => "/etc/mysql/conf.d";

    public override string ConfigFile => "my.cnf";

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var entry = w.Spawn(pod, "/usr/local/bin/docker-entrypoint.sh", "mysqld", at, null, 0, "/");
        var gosu = w.Replace(entry, "/usr/local/bin/gosu", "mysql /usr/local/bin/docker-entrypoint.sh mysqld", at.AddMilliseconds(80));
        var mysqld = w.Replace(gosu, "/usr/sbin/mysqld", "", at.AddMilliseconds(200), 999, "/var/lib/mysql");
        pod.Processes.Add(mysqld);
        if (seen)
        {
            w.Exec(entry);
            w.Exec(gosu);
            w.Call(gosu, at.AddMilliseconds(90), "__x64_sys_setuid", "privileges", 999);
            w.Exec(mysqld);
            var t = ReadAll(w, mysqld, at.AddMilliseconds(210), ["/etc/mysql/my.cnf", "/var/lib/mysql/auto.cnf", "/var/lib/mysql/mysql.ibd", "/var/lib/mysql/ibdata1", "/var/lib/mysql/#innodb_redo/#ib_redo12"]);
            ReadConfig(w, d, mysqld, t);
        }
    }

    public override Proc Server(ClusterWorld w, Deployed d, CorpusPod pod) => ClusterWorld.Thread(pod.Main, 30 + w.R.Next(0, 20));

    public override DateTimeOffset Handle(ClusterWorld w, Deployed d, CorpusPod pod, Proc app, long request, DateTimeOffset t, int depth)
    {
        if (w.R.NextDouble() < 0.15)
        {
            w.File(app, t.AddMilliseconds(1), $"/var/lib/mysql/app/{w.Pick(Tables)}.ibd", false);
        }

        return t.AddTicks(5_000 + w.R.Next(0, 40_000));
    }

    public override long Response(ClusterWorld w) => 200 + w.R.Next(0, 5_000);

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
        var load = w.Load(t);
        if (w.R.NextDouble() < 0.3 * load)
        {
            // Commits: the redo log and the binary log.
            var at = w.Jitter(t);
            w.File(ClusterWorld.Thread(pod.Main, 2), at, "/var/lib/mysql/#innodb_redo/#ib_redo12", true);
            w.File(ClusterWorld.Thread(pod.Main, 3), at.AddMilliseconds(1), "/var/lib/mysql/binlog.000042", true);
        }

        if (Every(pod, s, 20, 5))
        {
            // The page cleaner flushes dirty pages.
            w.File(ClusterWorld.Thread(pod.Main, 4), w.Jitter(t), $"/var/lib/mysql/app/{w.Pick(Tables)}.ibd", true);
        }
    }
}
