namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// Kafka in KRaft mode (Bitnami image, StatefulSet): the JVM started by the image's shell scripts, produced batches
/// appended to the partitions' segment files, consumer offsets committed to <c>__consumer_offsets</c>, the metadata
/// log written by the controller; a TCP probe on 9092.
/// </summary>
internal sealed class KafkaBroker : Archetype
{
    private static readonly string[] Topics = ["orders-0", "orders-1", "events-0", "events-1", "audit-0"];

    public override string Key => "kafka";

    public override string Summary => "Kafka broker StatefulSet in KRaft mode (Bitnami scripts exec the JVM, segment appends per produce, offsets commits, TCP probe)";

    public override string Kind => "StatefulSet";

    public override IReadOnlyList<string> Names => ["kafka", "events-kafka"];

    public override IReadOnlyList<string> Namespaces => ["data", "streaming", "kafka"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => "docker.io/bitnami/kafka:3.8.1-debian-12-r0";

    public override string Container(string name, int variant) => "kafka";

    public override int Port => 9092;

    public override IReadOnlyList<string> Offers => ["stream", "broker"];

    public override bool Meshable => false;

    public override int DnsCacheSeconds => 30;

    public override (int Min, int Max) Replicas => (1, 1);

    public override ProbeSpec Probe => ProbeSpec.Tcp(9092, 20);

    public override string ConfigMount(string name) => "/opt/bitnami/kafka/config/server.d";

    public override string ConfigFile => "server.properties";

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var entry = w.Spawn(pod, "/bin/bash", "/opt/bitnami/scripts/kafka/entrypoint.sh /opt/bitnami/scripts/kafka/run.sh", at, null, 1001, "/");
        var run = w.Replace(entry, "/bin/bash", "/opt/bitnami/scripts/kafka/run.sh", at.AddMilliseconds(900));
        var java = w.Replace(run, "/opt/bitnami/java/bin/java", "-Xmx1024m -Xms1024m -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true -Dlog4j.configuration=file:/opt/bitnami/kafka/bin/../config/log4j.properties -cp /opt/bitnami/kafka/bin/../libs/* kafka.Kafka /opt/bitnami/kafka/config/server.properties", at.AddMilliseconds(1_300));
        pod.Processes.Add(java);
        if (seen)
        {
            w.Exec(entry);
            w.Exec(run);
            w.Exec(java);
            var t = ReadAll(w, java, at.AddMilliseconds(1_400), ["/opt/bitnami/kafka/config/server.properties", "/opt/bitnami/kafka/libs/kafka_2.13-3.8.1.jar", "/opt/bitnami/kafka/libs/kafka-clients-3.8.1.jar", "/opt/bitnami/kafka/libs/kafka-raft-3.8.1.jar", "/bitnami/kafka/data/meta.properties", "/bitnami/kafka/data/__cluster_metadata-0/quorum-state"]);
            ReadConfig(w, d, java, t);
        }
    }

    public override Proc Server(ClusterWorld w, Deployed d, CorpusPod pod) => ClusterWorld.Thread(pod.Main, 50 + w.R.Next(0, 8));

    public override DateTimeOffset Handle(ClusterWorld w, Deployed d, CorpusPod pod, Proc app, long request, DateTimeOffset t, int depth)
    {
        var io = ClusterWorld.Thread(pod.Main, 60 + w.R.Next(0, 4));
        if (request > 300)
        {
            var topic = w.Pick(Topics);
            w.File(io, t.AddMilliseconds(1), $"/bitnami/kafka/data/{topic}/00000000000000{(t - w.Start).Hours:000000}000.log", true);
        }
        else if (w.R.NextDouble() < 0.2)
        {
            w.File(io, t.AddMilliseconds(1), $"/bitnami/kafka/data/__consumer_offsets-{w.R.Next(0, 50)}/00000000000000000000.log", true);
        }

        return t.AddTicks(2_000 + w.R.Next(0, 10_000));
    }

    public override long Response(ClusterWorld w) => 90 + w.R.Next(0, 4_000);

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
        if (Every(pod, s, 5))
        {
            // The KRaft controller appends to the metadata log even when idle (NoOp records).
            w.File(ClusterWorld.Thread(pod.Main, 70), w.Jitter(t), "/bitnami/kafka/data/__cluster_metadata-0/00000000000000000000.log", true);
        }
    }
}
