using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using RuntimeSentinel.Alerting;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Lab.Recordings;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Kafka.Tests;

/// <summary>One daemon consuming four topics side by side, one per sensor format, over the mock cluster.</summary>
public sealed class SensorTopicsIntegrationTests : IDisposable
{
    private static readonly (string Topic, string Format, string[] Files)[] Sensors =
    [
        ("tetragon.events", "tetragon", ["tetragon/testdata_events.jsonl", "tetragon/docs_current_format_events.jsonl"]),
        ("falco.alerts", "falco", ["falco/falco_alerts_from_docs.jsonl", "falco/falco_test_output_single_rule_with_cat_write.jsonl"]),
        ("tracee.events", "tracee", ["tracee/tracee_events_from_docs.jsonl"]),
        ("hubble.flows", "hubble", ["hubble/basic-sample-330-dns-flows.jsonl", "hubble/basic-sample-400-tcp-flows.jsonl"]),
    ];

    private readonly MockKafkaCluster _cluster = new();

    public void Dispose() => _cluster.Dispose();

    [SkippableFact]
    public async Task Pipeline_FourSensorTopics_ConsumesEachWithItsFormatSideBySide()
    {
        var samples = Datasets.Require("tool-samples", "tool-samples");
        var config = new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = _cluster.BootstrapServers,
            ["Kafka:GroupId"] = "sensors",
            ["Kafka:AlertsTopic"] = "",
            ["Kafka:FeedbackTopic"] = "",
            ["Kafka:SessionTimeoutMs"] = "2000",
            ["Kafka:HeartbeatIntervalMs"] = "300",
            ["Detection:Shards"] = "2",
            ["Alerting:Console"] = "false",
        };
        var expectedEvents = 0;
        var expectedIgnored = 0;
        using var producer = KafkaTestKit.Producer(_cluster);
        for (var i = 0; i < Sensors.Length; i++)
        {
            var (topic, format, files) = Sensors[i];
            _cluster.CreateTopic(topic, 2);
            _cluster.CreateTopic(topic + ".dlq", 1);
            config[$"Kafka:Topics:{i}"] = topic;
            config[$"Kafka:TopicFormats:{topic}"] = format;
            foreach (var file in files)
            {
                // Raw sensor bytes, exactly as the sensor (or falcosidekick) would publish them.
                foreach (var r in EventSources.Read(Path.Combine(samples, file), format))
                {
                    producer.Produce(topic, new Confluent.Kafka.Message<byte[]?, byte[]> { Key = null, Value = r.Raw! });
                    expectedEvents += r.Status == DecodeStatus.Event ? 1 : 0;
                    expectedIgnored += r.Status == DecodeStatus.Ignored ? 1 : 0;
                }
            }
        }

        // A Tetragon event on the Falco topic: the topic's format rejects it (strict per-topic decoding).
        producer.Produce("falco.alerts", new Confluent.Kafka.Message<byte[]?, byte[]> { Value = File.ReadAllBytes(Path.Combine(samples, "tetragon/testdata_events.jsonl")).TakeWhile(b => b != '\n').ToArray() });
        KafkaTestKit.Flush(producer);

        var registry = Metrics.NewCustomRegistry();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(config);
        builder.Logging.AddFilter(_ => false);
        builder.Services.AddSingleton<IMetricFactory>(Metrics.WithCustomRegistry(registry));
        builder.Services.AddSentinelAlerting(builder.Configuration);
        builder.Services.AddSentinelDetection(builder.Configuration);
        builder.Services.AddSentinelKafka(builder.Configuration);
        using var host = builder.Build();
        await host.StartAsync();
        var ingest = host.Services.GetRequiredService<KafkaIngestService>();
        await KafkaTestKit.EventuallyAsync(() => (ingest.EventsIngested, ingest.MessagesRejected), n => n == (expectedEvents, 1), KafkaTestKit.Patience, $"{expectedEvents} events from four topics and 1 rejected");
        var deadLetters = host.Services.GetRequiredService<DeadLetterPublisher>();
        await KafkaTestKit.EventuallyAsync(() => deadLetters.Pending, n => n == 0, KafkaTestKit.Patience, "the dead letter acknowledged");
        await host.StopAsync();

        // Every dead letter acknowledged and the daemon stopped: the dead-letter topic holds all it ever will.
        var dlq = KafkaTestKit.ReadToEnd(_cluster, "falco.alerts.dlq", KafkaTestKit.Patience);

        var text = Exposition.Export(registry);
        foreach (var (topic, _, _) in Sensors)
        {
            Assert.True(Exposition.Sum(text, "sentinel_events_consumed_total", topic) > 0, $"events consumed from {topic}");
        }

        Assert.Equal(expectedIgnored, Exposition.Sum(text, "sentinel_events_ignored_total"));
        var dead = Assert.Single(dlq);
        Assert.Equal("missing_field: output_fields: a Falco alert carries its fields in output_fields", Encoding.UTF8.GetString(dead.Message.Headers.GetLastBytes(DeadLetterPublisher.ReasonHeader)));
        var snapshot = await host.Services.GetRequiredService<DetectionPipeline>().SnapshotAsync();
        Assert.Contains(snapshot, s => s.Key.Value.Contains("/default/Deployment/deathstar/", StringComparison.Ordinal));
        Assert.Contains(snapshot, s => s.Key.Value.Contains("/kube-system/", StringComparison.Ordinal));
    }

}
