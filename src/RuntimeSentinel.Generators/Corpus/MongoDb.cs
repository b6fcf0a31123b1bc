namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// MongoDB (StatefulSet): mongod writes its journal while writes come in, a WiredTiger checkpoint every minute, and
/// full-time diagnostic data (FTDC) files; the chart's exec probe runs <c>mongosh --eval ping</c>, a Node.js process
/// connecting to mongod over loopback every 30 s.
/// </summary>
internal sealed class MongoDb : Archetype
{
    public override string Key => "mongodb";

    public override string Summary => "MongoDB StatefulSet (journal with load, WiredTiger checkpoint each minute, FTDC files, exec probe mongosh connecting over loopback)";

    public override string Kind => "StatefulSet";

    public override IReadOnlyList<string> Names => ["mongodb", "mongo", "catalog-db"];

    public override IReadOnlyList<string> Namespaces => ["data", "databases"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => "docker.io/library/mongo:7.0.15";

    public override string Container(string name, int variant) => "mongod";

    public override int Port => 27017;

    public override IReadOnlyList<string> Offers => ["doc"];

    public override bool Meshable => false;

    public override (int Min, int Max) Replicas => (1, 1);

    public override ProbeSpec Probe => ProbeSpec.Exec(30, 27017, "/bin/sh -c mongosh --quiet --eval \"db.adminCommand('ping')\"", "/usr/bin/mongosh --quiet --eval db.adminCommand('ping')");

    public override int ProbeUid => 999;

    public override string ConfigMount(string name) => "/etc/mongo";

    public override string ConfigFile => "mongod.conf";

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var entry = w.Spawn(pod, "/usr/local/bin/docker-entrypoint.sh", "mongod --config /etc/mongo/mongod.conf", at, null, 0, "/");
        var mongod = w.Replace(entry, "/usr/bin/mongod", "--config /etc/mongo/mongod.conf --bind_ip_all", at.AddMilliseconds(120), 999, "/data/db");
        pod.Processes.Add(mongod);
        if (seen)
        {
            w.Exec(entry);
            w.Exec(mongod);
            var t = ReadAll(w, mongod, at.AddMilliseconds(130), ["/data/db/WiredTiger", "/data/db/WiredTiger.turtle", "/data/db/WiredTiger.wt", "/data/db/_mdb_catalog.wt", "/data/db/sizeStorer.wt"]);
            ReadConfig(w, d, mongod, t);
        }
    }

    public override Proc Server(ClusterWorld w, Deployed d, CorpusPod pod) => ClusterWorld.Thread(pod.Main, 40 + w.R.Next(0, 16));

    public override DateTimeOffset Handle(ClusterWorld w, Deployed d, CorpusPod pod, Proc app, long request, DateTimeOffset t, int depth) => t.AddTicks(4_000 + w.R.Next(0, 30_000));

    public override long Response(ClusterWorld w) => 300 + w.R.Next(0, 12_000);

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
        if (w.R.NextDouble() < 0.25 * w.Load(t))
        {
            w.File(ClusterWorld.Thread(pod.Main, 5), w.Jitter(t), "/data/db/journal/WiredTigerLog.0000000031", true);
        }

        if (Every(pod, s, 10, 1))
        {
            w.File(ClusterWorld.Thread(pod.Main, 6), w.Jitter(t), "/data/db/diagnostic.data/metrics.interim", true);
        }

        if (Every(pod, s, 60, 30))
        {
            var at = w.Jitter(t);
            var checkpoint = ClusterWorld.Thread(pod.Main, 7);
            w.File(checkpoint, at, $"/data/db/collection-{2 + (s % 5) * 2}-{(SensorJson.StableHash(d.W.Name) % 9000) + 1000}.wt", true);
            w.File(checkpoint, at.AddMilliseconds(20), "/data/db/WiredTigerHS.wt", true);
            w.File(checkpoint, at.AddMilliseconds(40), "/data/db/WiredTiger.wt", true);
        }
    }
}
