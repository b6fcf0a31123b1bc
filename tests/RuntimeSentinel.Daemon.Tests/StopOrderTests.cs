using System.Text;
using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RuntimeSentinel.Alerting;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Kafka;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Daemon.Tests;

/// <summary>
/// The host starts services in registration order and stops them in reverse. The daemon's must stop as the pipeline
/// flows: ingestion first (it stops sending, completes detection and commits), then detection, then alert delivery.
/// </summary>
[Collection(TimingSensitiveCollection.Name)]
public sealed class StopOrderTests : IDisposable
{
    private readonly MockKafkaCluster _cluster = new();

    public StopOrderTests()
    {
        KafkaTestKit.CreateSentinelTopics(_cluster, 2, 2);
    }

    public void Dispose() => _cluster.Dispose();

    private WebApplication Build(string groupWait) => SentinelHost.Build(
        null,
        new Cli.HostProfile
        {
            BootstrapServers = _cluster.BootstrapServers,
            GroupId = "stop-order",
            Listen = "127.0.0.1:0",
            LearningDuration = TimeSpan.Zero,
            MinLearningEvents = 20,
            ConsoleAlerts = false,
        },
        configure: c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kafka:StateDirectory"] = "",
            ["Alerting:IncidentGroupWait"] = groupWait,
            ["Alerting:SpillDirectory"] = Path.Combine(Path.GetTempPath(), "sentinel-stop-order-" + Guid.NewGuid().ToString("N")),
        }));

    [Fact]
    public async Task Build_HostedServices_RegisteredAlertingThenDetectionThenIngestion()
    {
        await using var app = Build("00:00:01");
        var services = app.Services.GetServices<IHostedService>().ToList();
        int IndexOf<T>() => services.FindIndex(s => s is T);

        Assert.True(IndexOf<AlertDispatcher>() >= 0 && IndexOf<DetectionService>() >= 0 && IndexOf<KafkaIngestService>() >= 0);
        Assert.True(IndexOf<AlertDispatcher>() < IndexOf<DetectionService>(), "alert delivery must start before and stop after detection");
        Assert.True(IndexOf<DetectionService>() < IndexOf<KafkaIngestService>(), "detection must start before and stop after ingestion");
    }

    [Fact]
    public async Task Stop_AlertStillWaitingForGrouping_IsDetectedDeliveredAndItsOffsetCommitted()
    {
        // The incident would wait ten minutes for related alerts: far beyond anything here, so only the stop can emit it.
        var app = Build("00:10:00");
        await app.StartAsync();
        using var producer = KafkaTestKit.Producer(_cluster);
        var workload = Some.Workload(owner: "stopper", pod: "stopper-7d9f8b6c5b-x2k4p");
        for (var i = 0; i < 30; i++)
        {
            producer.Produce("sentinel.events", new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes("stopper"), Value = Some.Json(Some.Exec("/usr/bin/node", "/usr/bin/tini", workload)) });
        }

        producer.Produce("sentinel.events", new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes("stopper"), Value = Some.Json(Some.Exec("/usr/bin/nc", "/bin/sh", workload)) });
        KafkaTestKit.Flush(producer);
        var ingest = app.Services.GetRequiredService<KafkaIngestService>();
        await KafkaTestKit.EventuallyAsync(() => ingest.EventsIngested, n => n >= 31, KafkaTestKit.Patience, "every event handed to detection");

        // Stopping must not wait for the grouping, nor lose the incident.
        await app.StopAsync();
        await app.DisposeAsync();

        // Stopped and disposed, so the alerts topic holds all it ever will: read to its end, not for a while.
        var alerts = KafkaTestKit.ReadToEnd(_cluster, "sentinel.alerts", KafkaTestKit.Patience);
        Assert.Contains(alerts, r => Encoding.UTF8.GetString(r.Message.Value).Contains("/usr/bin/nc", StringComparison.Ordinal));
        using var c = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = _cluster.BootstrapServers, GroupId = "stop-order", EnableAutoCommit = false }).Build();
        long committed = 0;
        foreach (var tpo in c.Committed([new TopicPartition("sentinel.events", 0), new TopicPartition("sentinel.events", 1)], TimeSpan.FromSeconds(10)))
        {
            committed += Math.Max(0, tpo.Offset.Value);
        }

        Assert.Equal(31, committed);
    }
}
