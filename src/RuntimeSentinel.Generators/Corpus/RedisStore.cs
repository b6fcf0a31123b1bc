namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// Redis as cache and simple queue (StatefulSet): the official entrypoint drops to the redis user with gosu (a setuid
/// call), the AOF is appended once a second while there are writes, BGSAVE forks a child that writes a temporary RDB,
/// and the exec probe runs <c>redis-cli ping</c> against itself over loopback.
/// </summary>
internal sealed class RedisStore : Archetype
{
    public override string Key => "redis";

    public override string Summary => "Redis cache/queue StatefulSet (gosu setuid at start, AOF every second, BGSAVE fork, exec probe redis-cli ping over loopback)";

    public override string Kind => "StatefulSet";

    public override IReadOnlyList<string> Names => ["redis", "cache", "sessions"];

    public override IReadOnlyList<string> Namespaces => ["data", "cache"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => "docker.io/library/redis:7.4.1";

    public override string Container(string name, int variant) => "redis";

    public override int Port => 6379;

    public override IReadOnlyList<string> Offers => ["cache", "broker"];

    public override bool Meshable => false;

    public override (int Min, int Max) Replicas => (1, 1);

    public override ProbeSpec Probe => ProbeSpec.Exec(15, 6379, "/bin/sh -c redis-cli -h localhost -p 6379 ping", "/usr/local/bin/redis-cli -h localhost -p 6379 ping");

    public override int ProbeUid => 999;

    public override string ConfigMount(string name) => "/etc/redis";

    public override string ConfigFile => "redis.conf";

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var entry = w.Spawn(pod, "/usr/local/bin/docker-entrypoint.sh", $"redis-server {d.ConfigMount}/{d.ConfigFile}", at, null, 0, "/data");
        var gosu = w.Replace(entry, "/usr/local/bin/gosu", $"redis /usr/local/bin/docker-entrypoint.sh redis-server {d.ConfigMount}/{d.ConfigFile}", at.AddMilliseconds(30));
        var redis = w.Replace(gosu, "/usr/local/bin/redis-server", "*:6379", at.AddMilliseconds(40), 999);
        pod.Processes.Add(redis);
        if (seen)
        {
            w.Exec(entry);
            var find = w.Spawn(pod, "/usr/bin/find", ". ! -user redis -exec chown redis {} +", at.AddMilliseconds(10), entry, 0, "/data");
            w.Exec(find);
            w.Exit(find, at.AddMilliseconds(18));
            w.Exec(gosu);
            w.Call(gosu, at.AddMilliseconds(35), "__x64_sys_setuid", "privileges", 999);
            w.Exec(redis);
            ReadConfig(w, d, redis, at.AddMilliseconds(42));
            w.File(redis, at.AddMilliseconds(60), "/data/dump.rdb", false);
            w.File(redis, at.AddMilliseconds(90), "/data/appendonlydir/appendonly.aof.manifest", false);
        }
    }

    public override DateTimeOffset Handle(ClusterWorld w, Deployed d, CorpusPod pod, Proc app, long request, DateTimeOffset t, int depth) => t.AddTicks(1_000 + w.R.Next(0, 3_000));

    public override long Response(ClusterWorld w) => 40 + w.R.Next(0, 900);

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
        var redis = pod.Main;
        if (w.R.NextDouble() < 0.3)
        {
            // appendfsync everysec: the incremental AOF file is written once a second while writes come in.
            w.File(redis, w.Jitter(t), "/data/appendonlydir/appendonly.aof.3.incr.aof", true);
        }

        if (Every(pod, s, 900, 120))
        {
            // BGSAVE: a forked child writes a temporary RDB and renames it over dump.rdb.
            var child = w.Spawn(pod, "/usr/local/bin/redis-server", "*:6379", t, redis, 999, "/data", "clone");
            w.File(child, t.AddMilliseconds(2), $"/data/temp-{child.ContainerPid}.rdb", true);
            w.Exit(child, t.AddMilliseconds(260 + w.R.Next(0, 300)));
        }
    }
}
