using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using RuntimeSentinel.Alerting;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Kafka.Tests;

/// <summary>A suppression rule and an analyst's verdict each silence one chosen behaviour and nothing else.</summary>
public sealed class FeedbackAndSuppressionTests : IDisposable
{
    private readonly MockKafkaCluster _cluster = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("sentinel-fb-").FullName;

    public void Dispose()
    {
        _cluster.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private sealed class Incidents : IIncidentObserver
    {
        public List<Incident> All { get; } = [];

        public void OnIncident(Incident incident)
        {
            lock (All)
            {
                All.Add(incident);
            }
        }
    }

    [Fact]
    public async Task FeedbackVerdictAndSuppressionRule_SilenceOnlyTheirBehaviour()
    {
        foreach (var t in new[] { "events", "events.dlq", "alerts", "feedback" })
        {
            _cluster.CreateTopic(t, 1);
        }

        var rules = Path.Combine(_dir, "rules.json");
        await File.WriteAllTextAsync(rules, """
            {"rules": [{"id": "wget-ok", "executable": "/usr/bin/wget", "category": "unexpected_process",
                        "expires": "2099-01-01T00:00:00Z", "reason": "nightly mirror job downloads with wget", "created_by": "bob"}]}
            """);
        var audit = Path.Combine(_dir, "audit.jsonl");
        var registry = Metrics.NewCustomRegistry();
        var observer = new Incidents();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = _cluster.BootstrapServers,
            ["Kafka:Topics:0"] = "events",
            ["Kafka:AlertsTopic"] = "alerts",
            ["Kafka:FeedbackTopic"] = "feedback",
            ["Kafka:FeedbackAuditFile"] = audit,
            ["Kafka:SessionTimeoutMs"] = "2000",
            ["Kafka:HeartbeatIntervalMs"] = "300",
            ["Detection:LearningDuration"] = "00:00:00",
            ["Detection:MinLearningEvents"] = "50",
            ["Detection:AlertCooldown"] = "00:00:00",
            ["Alerting:Console"] = "false",
            ["Alerting:SuppressionFile"] = rules,
            ["Alerting:IncidentGroupWait"] = "00:00:00",
            ["Alerting:SpillDirectory"] = Path.Combine(_dir, "spill"),
        });
        builder.Logging.AddFilter(_ => false);
        builder.Services.AddSingleton<IMetricFactory>(Metrics.WithCustomRegistry(registry));
        builder.Services.AddSingleton<IIncidentObserver>(observer);
        builder.Services.AddSentinelAlerting(builder.Configuration);
        builder.Services.AddSentinelDetection(builder.Configuration);
        builder.Services.AddSentinelKafka(builder.Configuration);
        using var host = builder.Build();
        await host.StartAsync();
        var ingest = host.Services.GetRequiredService<KafkaIngestService>();
        using var producer = KafkaTestKit.Producer(_cluster);
        var pid = 1000;
        void Exec(string exe) => producer.Produce("events", new Message<byte[]?, byte[]> { Key = "cart"u8.ToArray(), Value = Some.Json(Some.Exec(exe) with { Process = new ProcessInfo(++pid, 1, 0, exe, null, "/usr/bin/node") }) });

        for (var i = 0; i < 50; i++)
        {
            producer.Produce("events", new Message<byte[]?, byte[]> { Key = "cart"u8.ToArray(), Value = Some.Json(Some.Syscall("read")) });
        }

        Exec("/bin/bash");
        Exec("/usr/bin/wget");
        producer.Flush(TimeSpan.FromSeconds(10));
        await KafkaTestKit.EventuallyAsync(() => ingest.EventsIngested == 52, TimeSpan.FromSeconds(30), "learning and first attacks ingested");

        // The analyst says: bash in this workload is fine (from the alert's explanation.item).
        var verdict = """
            {"verdict":"false_positive","scope":"item","workload":"prod/shop/Deployment/cart/cart","feature":"exec",
             "item":{"a":"/bin/bash","b":"/usr/bin/node"},"analyst":"alice","reason":"ops use bash for debugging"}
            """;
        producer.Produce("feedback", new Message<byte[]?, byte[]> { Value = Encoding.UTF8.GetBytes(verdict) });
        producer.Flush(TimeSpan.FromSeconds(10));
        await KafkaTestKit.EventuallyAsync(() => File.Exists(audit) && File.ReadAllText(audit).Contains("\"applied\"", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "verdict applied and audited");

        Exec("/bin/bash");
        Exec("/usr/bin/wget");
        Exec("/usr/bin/curl");
        producer.Flush(TimeSpan.FromSeconds(10));
        await KafkaTestKit.EventuallyAsync(() => ingest.EventsIngested == 55, TimeSpan.FromSeconds(30), "second round ingested");
        await host.StopAsync();

        var text = Exposition.Export(registry);
        Assert.Equal(4, Exposition.Sum(text, "sentinel_alerts_total")); // bash, wget, wget, curl: the second bash is not raised
        Assert.Equal(2, Exposition.Sum(text, "sentinel_alerts_suppressed_total")); // both wget alerts, by rule wget-ok
        var exes = observer.All.Where(i => i.Version == 1).Select(i => i.Primary.Evidence[0].Process.Exe).Order().ToList();
        Assert.Equal(["/bin/bash", "/usr/bin/curl"], exes);
        var auditLine = (await File.ReadAllLinesAsync(audit)).Single();
        Assert.Contains("\"analyst\":\"alice\"", auditLine, StringComparison.Ordinal);
        Assert.Contains("\"reason\":\"ops use bash for debugging\"", auditLine, StringComparison.Ordinal);
        Assert.Contains("\"time\":", auditLine, StringComparison.Ordinal);
    }

    /// <summary>A feedback consumer over a running one-shard pipeline, auditing to <paramref name="audit"/>; verdicts are handed to it directly.</summary>
    private static (FeedbackConsumer Consumer, DetectionPipeline Detection, KafkaConnection Connection) AuditedConsumer(string audit)
    {
        var options = Microsoft.Extensions.Options.Options.Create(new KafkaOptions { Topics = ["e"], FeedbackAuditFile = audit });
        var metrics = new KafkaMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()));
        var detection = new DetectionPipeline(Microsoft.Extensions.Options.Options.Create(new DetectionOptions { Shards = 1 }), new NoAlerts(), new DetectionMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry())), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<DetectionPipeline>.Instance);
        detection.Start();
        var connection = new KafkaConnection(options, Microsoft.Extensions.Logging.Abstractions.NullLogger<KafkaConnection>.Instance);
        return (new FeedbackConsumer(connection, options, detection, metrics, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<FeedbackConsumer>.Instance), detection, connection);
    }

    [Fact]
    public async Task HandleAsync_InvalidVerdict_IsRejectedAndAuditedWithReasons()
    {
        var audit = Path.Combine(_dir, "audit2.jsonl");
        var (consumer, detection, connection) = AuditedConsumer(audit);
        using var _ = connection;
        Assert.Equal("rejected", await consumer.HandleAsync("""{"verdict":"maybe","workload":"w","feature":"colour"}"""u8.ToArray()));
        Assert.Equal("rejected", await consumer.HandleAsync("not json"u8.ToArray()));
        Assert.Equal("pending", await consumer.HandleAsync("""{"verdict":"false_positive","scope":"feature","workload":"later/x/Deployment/y/z","feature":"dns","analyst":"a","reason":"r"}"""u8.ToArray()));
        var lines = await File.ReadAllLinesAsync(audit);
        Assert.Equal(3, lines.Length);
        Assert.Contains("verdict must be false_positive or true_positive", lines[0], StringComparison.Ordinal);
        Assert.Contains("analyst and reason are required", lines[0], StringComparison.Ordinal);
        Assert.Contains("feature must be one of", lines[0], StringComparison.Ordinal);
        await detection.CompleteAsync();
    }

    [Fact]
    public async Task HandleAsync_DetectorVerdict_CheckedThenKeptForTheWorkload()
    {
        var audit = Path.Combine(_dir, "audit3.jsonl");
        var (consumer, detection, connection) = AuditedConsumer(audit);
        using var _ = connection;
        Assert.Equal("rejected", await consumer.HandleAsync("""{"verdict":"false_positive","scope":"detector","workload":"w","detector":"spike:colour","score":7,"analyst":"a","reason":"r"}"""u8.ToArray()));
        Assert.Equal("rejected", await consumer.HandleAsync("""{"verdict":"false_positive","scope":"detector","workload":"w","detector":"spike:cpu_cores","score":"high","analyst":"a","reason":"r"}"""u8.ToArray()));
        Assert.Equal("pending", await consumer.HandleAsync("""{"verdict":"false_positive","scope":"detector","workload":"later/x/Deployment/y/z","detector":"spike:cpu_cores","score":7.5,"analyst":"a","reason":"nightly batch"}"""u8.ToArray()));
        var lines = await File.ReadAllLinesAsync(audit);
        Assert.Contains("scope detector needs detector", lines[0], StringComparison.Ordinal);
        Assert.Contains("scope detector needs the positive score", lines[1], StringComparison.Ordinal);
        Assert.Contains("\"feature\":\"spike:cpu_cores\"", lines[2], StringComparison.Ordinal);
        Assert.Contains("\"item\":\"7.5\"", lines[2], StringComparison.Ordinal);
        await detection.CompleteAsync();
    }

    private sealed class NoAlerts : IAlertPublisher
    {
        public void Publish(Alert alert)
        {
        }
    }

}
