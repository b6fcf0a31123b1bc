using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
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
        foreach (var t in new[] { "events", "events.dlq", "alerts", "feedback", "feedback.audit" })
        {
            _cluster.CreateTopic(t, 1);
        }

        // Alice's verdict key, as a mounted Secret would hold it: one file per analyst.
        var keys = Directory.CreateDirectory(Path.Combine(_dir, "keys")).FullName;
        var aliceKey = "alice-0123456789-secret"u8.ToArray();
        await File.WriteAllBytesAsync(Path.Combine(keys, "alice"), aliceKey);

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
            ["Kafka:FeedbackAuditTopic"] = "feedback.audit",
            ["Kafka:FeedbackKeysDirectory"] = keys,
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
        KafkaTestKit.Flush(producer);
        await KafkaTestKit.EventuallyAsync(() => ingest.EventsIngested, n => n == 52, KafkaTestKit.Patience, "learning and first attacks ingested");

        // The analyst says: bash in this workload is fine (from the alert's explanation.item).
        var verdict = """
            {"verdict":"false_positive","scope":"item","workload":"prod/shop/Deployment/cart/cart","feature":"exec",
             "item":{"a":"/bin/bash","b":"/usr/bin/node"},"analyst":"alice","reason":"ops use bash for debugging"}
            """;
        // Someone who can write to the topic but holds no key tries to silence curl for good: refused, audited.
        var forged = """
            {"verdict":"false_positive","scope":"item","workload":"prod/shop/Deployment/cart/cart","feature":"exec",
             "item":{"a":"/usr/bin/curl","b":"/usr/bin/node"},"analyst":"alice","reason":"trust me"}
            """u8.ToArray();
        producer.Produce("feedback", new Message<byte[]?, byte[]> { Value = forged, Headers = FeedbackSignature.Headers("alice", "not-alices-key-at-all"u8.ToArray(), forged) });
        var body = Encoding.UTF8.GetBytes(verdict);
        producer.Produce("feedback", new Message<byte[]?, byte[]> { Value = body, Headers = FeedbackSignature.Headers("alice", aliceKey, body) });
        KafkaTestKit.Flush(producer);
        await KafkaTestKit.EventuallyAsync(() => File.Exists(audit) ? File.ReadAllText(audit) : "(no audit file yet)", text => text.Contains("\"applied\"", StringComparison.Ordinal), KafkaTestKit.Patience, "verdict applied and audited");

        Exec("/bin/bash");
        Exec("/usr/bin/wget");
        Exec("/usr/bin/curl");
        KafkaTestKit.Flush(producer);
        await KafkaTestKit.EventuallyAsync(() => ingest.EventsIngested, n => n == 55, KafkaTestKit.Patience, "second round ingested");
        await host.StopAsync();

        var text = Exposition.Export(registry);
        Assert.Equal(4, Exposition.Sum(text, "sentinel_alerts_total")); // bash, wget, wget, curl: the second bash is not raised
        Assert.Equal(2, Exposition.Sum(text, "sentinel_alerts_suppressed_total")); // both wget alerts, by rule wget-ok
        var exes = observer.All.Where(i => i.Version == 1).Select(i => i.Primary.Evidence[0].Process.Exe).Order().ToList();
        Assert.Equal(["/bin/bash", "/usr/bin/curl"], exes);
        var auditLines = await File.ReadAllLinesAsync(audit);
        Assert.Equal(2, auditLines.Length);
        Assert.Contains("signature does not verify with the key of 'alice'", auditLines[0], StringComparison.Ordinal);
        Assert.Contains("\"result\":\"rejected\"", auditLines[0], StringComparison.Ordinal);
        var auditLine = auditLines[1];
        Assert.Contains("\"analyst\":\"alice\"", auditLine, StringComparison.Ordinal);
        Assert.Contains("\"signed\":true", auditLine, StringComparison.Ordinal);
        Assert.Contains("\"reason\":\"ops use bash for debugging\"", auditLine, StringComparison.Ordinal);
        Assert.Contains("\"time\":", auditLine, StringComparison.Ordinal);

        // The audit also went to Kafka, one record per verdict, keyed by workload (stopped: read to the topic's end).
        var audited = KafkaTestKit.ReadToEnd(_cluster, "feedback.audit", KafkaTestKit.Patience);
        Assert.Equal(["rejected", "applied"], audited.Select(r => JsonDocument.Parse(r.Message.Value).RootElement.GetProperty("result").GetString()!));
    }

    [Fact]
    public async Task HandleAsync_SignatureOfTheDocumentedFormOrTampered_AcceptedOnlyWhenItVerifies()
    {
        var keys = Directory.CreateDirectory(Path.Combine(_dir, "keys-verify")).FullName;
        await File.WriteAllTextAsync(Path.Combine(keys, "alice"), "alice-key-0123456789abcdef\n");
        var audit = Path.Combine(_dir, "audit-verify.jsonl");
        var (consumer, detection, connection) = FeedbackTestKit.Consumer(audit, keysDirectory: keys);
        using var _ = connection;
        var body = """{"verdict":"false_positive","scope":"item","workload":"prod/shop/Deployment/cart/cart","feature":"exec","item":{"a":"/bin/bash"},"analyst":"alice","reason":"ops shell"}"""u8.ToArray();

        // The signature as docs/alerts.md (Feedback) defines it, computed here rather than by the product's signer: the
        // daemon must accept exactly that form, and nothing else for the same body.
        var signature = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData("alice-key-0123456789abcdef"u8, body));
        var tampered = signature[..^1] + (signature[^1] == '0' ? '1' : '0');
        static Headers Signed(string analyst, string signature) => new()
        {
            { FeedbackSignature.KeyHeader, Encoding.UTF8.GetBytes(analyst) },
            { FeedbackSignature.SignatureHeader, Encoding.UTF8.GetBytes(signature) },
        };

        // Accepted, and kept until the workload shows up (no event of it has been seen).
        Assert.Equal("pending", await consumer.HandleAsync(body, Signed("alice", signature)));
        Assert.Equal("rejected", await consumer.HandleAsync(body, Signed("alice", tampered)));
        Assert.Equal("rejected", await consumer.HandleAsync(body, Signed("alice", "sha256=" + Convert.ToHexStringLower(SHA256.HashData(body)))));
        await detection.CompleteAsync();

        var lines = await File.ReadAllLinesAsync(audit);
        Assert.Equal(3, lines.Length);
        Assert.Contains("\"signed\":true", lines[0], StringComparison.Ordinal);
        Assert.All(lines[1..], l => Assert.Contains("signature does not verify with the key of 'alice'", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task HandleAsync_InvalidVerdict_IsRejectedAndAuditedWithReasons()
    {
        var audit = Path.Combine(_dir, "audit2.jsonl");
        var (consumer, detection, connection) = FeedbackTestKit.Consumer(audit, allowUnsigned: true);
        using var _ = connection;
        Assert.Equal("rejected", await consumer.HandleAsync("""{"verdict":"maybe","workload":"w","feature":"colour"}"""u8.ToArray()));
        Assert.Equal("rejected", await consumer.HandleAsync("not json"u8.ToArray()));
        Assert.Equal("pending", await consumer.HandleAsync("""{"verdict":"false_positive","scope":"feature","workload":"later/x/Deployment/y/z","feature":"dns","expires":"2099-01-01T00:00:00Z","analyst":"a","reason":"r"}"""u8.ToArray(), timestamp: new DateTimeOffset(2098, 12, 31, 0, 0, 0, TimeSpan.Zero)));

        // The shapes that used to end the process: a root that is not an object, an item number held as a string.
        Assert.Equal("rejected", await consumer.HandleAsync("[]"u8.ToArray()));
        Assert.Equal("rejected", await consumer.HandleAsync("""{"verdict":"false_positive","scope":"item","workload":"w","feature":"file","item":{"a":"/x","n":"3"},"analyst":"a","reason":"r"}"""u8.ToArray()));
        var lines = await File.ReadAllLinesAsync(audit);
        Assert.Equal(5, lines.Length);
        Assert.Contains("a verdict is a JSON object, not Array", lines[3], StringComparison.Ordinal);
        Assert.Contains("item.n must be an integer", lines[4], StringComparison.Ordinal);
        Assert.Contains("verdict must be false_positive or true_positive", lines[0], StringComparison.Ordinal);
        Assert.Contains("analyst and reason are required", lines[0], StringComparison.Ordinal);
        Assert.Contains("feature must be one of", lines[0], StringComparison.Ordinal);
        await detection.CompleteAsync();
    }

    [Fact]
    public async Task HandleAsync_DetectorVerdict_CheckedThenKeptForTheWorkload()
    {
        var audit = Path.Combine(_dir, "audit3.jsonl");
        var (consumer, detection, connection) = FeedbackTestKit.Consumer(audit, allowUnsigned: true);
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
}
