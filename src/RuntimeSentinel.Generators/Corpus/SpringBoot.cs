namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// A Spring Boot service on the JVM, packaged by Jib (classes and dozens of dependency jars under /app): a shell that
/// execs java as PID 1, the JVM reading its modules and jars at start and more jars as new code paths are first hit,
/// Tomcat's worker threads, HikariCP's pooled JDBC connections, the JVM's 30 s DNS cache, events to a broker.
/// </summary>
internal sealed class SpringBoot : Archetype
{
    private static readonly string[] Jars =
    [
        "spring-boot-3.3.5.jar", "spring-boot-autoconfigure-3.3.5.jar", "spring-core-6.1.14.jar", "spring-context-6.1.14.jar", "spring-beans-6.1.14.jar",
        "spring-web-6.1.14.jar", "spring-webmvc-6.1.14.jar", "spring-jdbc-6.1.14.jar", "spring-tx-6.1.14.jar", "spring-aop-6.1.14.jar",
        "spring-expression-6.1.14.jar", "spring-data-jpa-3.3.5.jar", "spring-data-commons-3.3.5.jar", "spring-data-redis-3.3.5.jar",
        "spring-kafka-3.2.4.jar", "spring-rabbit-3.1.7.jar", "tomcat-embed-core-10.1.31.jar", "tomcat-embed-el-10.1.31.jar",
        "tomcat-embed-websocket-10.1.31.jar", "hibernate-core-6.5.3.Final.jar", "jakarta.persistence-api-3.1.0.jar", "HikariCP-5.1.0.jar",
        "mysql-connector-j-8.4.0.jar", "postgresql-42.7.4.jar", "jackson-databind-2.17.2.jar", "jackson-core-2.17.2.jar",
        "jackson-annotations-2.17.2.jar", "logback-classic-1.5.11.jar", "logback-core-1.5.11.jar", "slf4j-api-2.0.16.jar",
        "micrometer-core-1.13.6.jar", "micrometer-registry-prometheus-1.13.6.jar", "lettuce-core-6.3.2.RELEASE.jar", "netty-handler-4.1.114.Final.jar",
        "netty-transport-4.1.114.Final.jar", "netty-buffer-4.1.114.Final.jar", "kafka-clients-3.7.1.jar", "snakeyaml-2.2.jar", "byte-buddy-1.14.19.jar",
        "aspectjweaver-1.9.22.1.jar", "HdrHistogram-2.2.2.jar", "LatencyUtils-2.0.3.jar",
    ];

    public override string Key => "spring-boot";

    public override string Summary => "Java/Spring Boot service (sh exec java, JVM threads, ~40 jars read at start and on first use, HikariCP, JVM DNS cache, events to a broker)";

    public override string Kind => "Deployment";

    public override IReadOnlyList<string> Names => ["orders", "billing", "accounts", "ledger", "customer", "claims", "booking"];

    public override IReadOnlyList<string> Namespaces => ["shop", "payments", "platform", "apps", "backend"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => $"{flavor.Registry}/{name}-service:{Version(name, 2)}";

    public override int Port => 8080;

    public override int ServicePort => 80;

    public override IReadOnlyList<string> Offers => ["http"];

    public override IReadOnlyList<string> Needs => ["sql", "cache?", "broker|stream", "saas", "http?"];

    public override int DnsCacheSeconds => 30;

    public override (int Min, int Max) Replicas => (2, 3);

    public override ProbeSpec Probe => ProbeSpec.Http(8080, 20);

    public override string ConfigMount(string name) => "/config";

    public override string ConfigFile => "application.yaml";

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var sh = w.Spawn(pod, "/bin/sh", "-c exec java $JAVA_OPTS -cp @/app/jib-classpath-file com.acme.Application", at, null, 1000, "/app");
        var java = w.Replace(sh, "/opt/java/openjdk/bin/java", "-XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError -Djava.security.egd=file:/dev/./urandom -cp @/app/jib-classpath-file com.acme.Application", at.AddMilliseconds(4));
        pod.Processes.Add(java);
        if (seen)
        {
            w.Exec(sh);
            w.Exec(java);
            var t = ReadAll(w, java, at.AddMilliseconds(20), ["/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/memory.max", "/opt/java/openjdk/lib/modules", "/opt/java/openjdk/conf/security/java.security", "/app/jib-classpath-file"]);
            t = ReadAll(w, java, t, Jars.Select(j => "/app/libs/" + j));
            t = ReadAll(w, java, t.AddMilliseconds(300), ["/app/classes/application.yaml", "/app/resources/logback-spring.xml"]);
            ReadConfig(w, d, java, t.AddMilliseconds(5));
            w.File(java, t.AddMilliseconds(40), $"/tmp/hsperfdata_app/{java.ContainerPid}", true);
        }
    }

    public override Proc Server(ClusterWorld w, Deployed d, CorpusPod pod) => ClusterWorld.Thread(pod.Main, 20 + w.R.Next(0, 10));

    public override Proc Worker(ClusterWorld w, Deployed d, CorpusPod pod) => ClusterWorld.Thread(pod.Main, 20 + w.R.Next(0, 10));

    public override DateTimeOffset Handle(ClusterWorld w, Deployed d, CorpusPod pod, Proc app, long request, DateTimeOffset t, int depth)
    {
        var uptime = (t - pod.ContainerStart).TotalMinutes;
        if (w.R.NextDouble() < 0.2 / (1 + uptime))
        {
            // A code path used for the first time: the class loader reads another jar.
            w.File(app, t, "/app/libs/" + w.Pick(Jars), false);
        }

        return Downstream(w, d, pod, app, t, depth, ("sql", 0.9, 520, 3_400), ("cache?", 0.35, 90, 900), ("broker|stream", 0.15, 900, 60), ("http?", 0.25, 700, 2_200), ("saas", 0.03, 1_800, 1_100));
    }

    public override long Response(ClusterWorld w) => 600 + w.R.Next(0, 9_000);

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
        if (Every(pod, s, 60, 13) && Use(d, "sql") is { } db)
        {
            // A @Scheduled job: the outbox poller.
            Ask(w, d, pod, ClusterWorld.Thread(pod.Main, 3), db, w.Jitter(t), 380, 200 + w.R.Next(0, 2_000));
        }
    }
}
