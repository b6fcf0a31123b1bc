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
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Kafka.Tests;

/// <summary>
/// The Kafka alert sink renders the schema <c>Alerting:Schemas:Kafka</c> (else <c>Alerting:Schema</c>) chooses and says
/// which in the <c>sentinel-alert-schema</c> header, produced to the mock cluster and read back.
/// </summary>
public sealed class KafkaAlertSchemaTests : IDisposable
{
    private const string Alerts = "alerts";
    private readonly MockKafkaCluster _cluster = new();

    public KafkaAlertSchemaTests() => _cluster.CreateTopic(Alerts, 1);

    public void Dispose() => _cluster.Dispose();

    private static Incident Incident()
    {
        var e = Some.Exec("/bin/sh", "/usr/sbin/nginx");
        var key = WorkloadResolver.Compute(e.Workload, "prod");
        var alert = new Alert
        {
            Id = Guid.NewGuid().ToString(),
            Time = Some.Time,
            Workload = key,
            Identity = e.Workload,
            Node = e.Node,
            Detector = "baseline",
            Category = AlertCategories.UnexpectedProcess,
            Severity = Severity.High,
            Score = 12.5,
            Threshold = 11.5,
            Summary = "shop/ReplicaSet/cart: /bin/sh started",
            Explanation = new Explanation("exec", "/bin/sh", 0, 3000, "shell"),
            Baseline = new BaselineState(BaselinePhase.Active, TimeSpan.FromMinutes(31), 3000, Some.Time.AddMinutes(-1)),
            Evidence = [e],
            Fingerprint = "0123456789abcdef",
            Mitre = MitreMapping.For(AlertCategories.UnexpectedProcess, "/bin/sh"),
        };
        return new Incident(alert, alert.Time) { Status = IncidentStatus.Firing, Version = 1 };
    }

    private async Task<(ConsumeResult<byte[]?, byte[]> Record, Incident Incident)> ProduceAsync(Dictionary<string, string?> extra)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var config = new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = _cluster.BootstrapServers,
            ["Kafka:Topics:0"] = "events",
            ["Kafka:AlertsTopic"] = Alerts,
            ["Kafka:FeedbackTopic"] = "",
            ["Alerting:Console"] = "false",
        };
        foreach (var (k, v) in extra)
        {
            config[k] = v;
        }

        builder.Configuration.AddInMemoryCollection(config);
        builder.Logging.AddFilter(_ => false);
        builder.Services.AddSingleton<IMetricFactory>(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()));
        builder.Services.AddSentinelAlerting(builder.Configuration);
        builder.Services.AddSentinelKafka(builder.Configuration);
        using var host = builder.Build();
        var sink = host.Services.GetServices<IAlertSink>().Single(s => s.Name == "kafka");
        var incident = Incident();
        await sink.SendAsync([sink.Render(incident)], CancellationToken.None);
        return (Assert.Single(KafkaTestKit.ReadToEnd(_cluster, Alerts, KafkaTestKit.Patience)), incident);
    }

    private static string Header(ConsumeResult<byte[]?, byte[]> r) => Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes("sentinel-alert-schema"));

    [Fact]
    public async Task Send_NoSchemaConfigured_ProducesTheSentinelDocumentAsBefore()
    {
        var (record, incident) = await ProduceAsync([]);
        Assert.Equal("sentinel.alert/v2", Header(record));
        Assert.Equal(IncidentJsonWriter.ToUtf8(incident, null), record.Message.Value);
        Assert.Equal(incident.Workload.Value, Encoding.UTF8.GetString(record.Message.Key!));
    }

    [Theory]
    [InlineData("ocsf", null, "ocsf/1.9.0-dev/detection_finding", "class_uid")]
    [InlineData("sentinel", "ecs", "ecs/9.4.0", "ecs")]
    [InlineData("ecs", "ocsf", "ocsf/1.9.0-dev/detection_finding", "class_uid")]
    public async Task Send_SchemaOrKafkaOverride_ProducesThatSchemaAndNamesItInTheHeader(string schema, string? kafka, string header, string property)
    {
        var (record, incident) = await ProduceAsync(new() { ["Alerting:Schema"] = schema, ["Alerting:Schemas:Kafka"] = kafka });
        Assert.Equal(header, Header(record));
        using var doc = JsonDocument.Parse(record.Message.Value);
        Assert.True(doc.RootElement.TryGetProperty(property, out _), Encoding.UTF8.GetString(record.Message.Value));
        Assert.Equal(incident.Workload.Value, Encoding.UTF8.GetString(record.Message.Key!));
    }

    [Theory]
    [InlineData("xml", null, "Alerting:Schema 'xml' is not a schema: use sentinel, ocsf, ecs.")]
    [InlineData("ocsf", "splunk", "Alerting:Schemas:Kafka 'splunk' is not a schema: use sentinel, ocsf, ecs.")]
    public void ReadSchema_UnknownValue_RefusedNamingTheOption(string schema, string? kafka, string message)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Alerting:Schema"] = schema, ["Alerting:Schemas:Kafka"] = kafka }).Build();
        Assert.Equal(message, Assert.Throws<InvalidOperationException>(() => KafkaAlertSink.ReadSchema(config)).Message);
    }
}
