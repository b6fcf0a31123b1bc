using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using RuntimeSentinel.Alerting;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Kafka.Tests;

/// <summary>
/// The whole pipeline over librdkafka's mock cluster on TCP: real producer, consumer group, commits, dead letters
/// and alerts topic. No mocks of our own code.
/// </summary>
public sealed class IngestionIntegrationTests : IDisposable
{
    private const string Events = "events";
    private const string Alerts = "alerts";
    private const string State = "sentinel.state";
    private readonly MockKafkaCluster _cluster = new();
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();

    public IngestionIntegrationTests()
    {
        _cluster.CreateTopic(Events, 3);
        _cluster.CreateTopic(Events + ".dlq", 1);
        _cluster.CreateTopic(Alerts, 1);
        _cluster.CreateTopic(State, 3);
    }

    public void Dispose() => _cluster.Dispose();

    private IHost BuildHost(string group, int minLearningEvents, Dictionary<string, string?>? extra = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var config = new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = _cluster.BootstrapServers,
            ["Kafka:Topics:0"] = Events,
            ["Kafka:GroupId"] = group,
            ["Kafka:AlertsTopic"] = Alerts,
            ["Kafka:FeedbackTopic"] = "",
            ["Kafka:SessionTimeoutMs"] = "2000",
            ["Kafka:HeartbeatIntervalMs"] = "300",
            ["Kafka:StatisticsIntervalMs"] = "500",
            ["Detection:LearningDuration"] = "00:00:00",
            ["Detection:MinLearningEvents"] = minLearningEvents.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Detection:Shards"] = "2",
            ["Alerting:Console"] = "false",
        };
        foreach (var (k, v) in extra ?? [])
        {
            config[k] = v;
        }

        builder.Configuration.AddInMemoryCollection(config);
        builder.Logging.AddFilter(_ => false);
        builder.Services.AddSingleton<IMetricFactory>(Metrics.WithCustomRegistry(_registry));
        builder.Services.AddSentinelAlerting(builder.Configuration);
        builder.Services.AddSentinelDetection(builder.Configuration);
        builder.Services.AddSentinelKafka(builder.Configuration);
        return builder.Build();
    }

    private static Message<byte[]?, byte[]> Msg(string key, byte[] value) => new() { Key = Encoding.UTF8.GetBytes(key), Value = value };

    [Fact]
    public async Task Pipeline_LearningThenAttacksAndMalformed_AlertsDeadLettersAndCommits()
    {
        var cart = Some.Workload();
        var db = Some.Workload(owner: "db", pod: "db-7d9f8b6c5b-q9w4z", container: "db");
        var messages = new List<Message<byte[]?, byte[]>>();
        for (var i = 0; i < 60; i++)
        {
            foreach (var w in new[] { cart, db })
            {
                var key = w.OwnerName!;
                messages.Add(Msg(key, Some.Json(Some.Exec("/usr/bin/node", "/usr/bin/tini", w))));
                messages.Add(Msg(key, Some.Json(Some.FileOpen($"/app/data/{i % 5}.json", workload: w))));
                messages.Add(Msg(key, Some.Json(Some.Syscall(i % 2 == 0 ? "read" : "write", w))));
                messages.Add(Msg(key, Some.Json(Some.Connect("10.96.0.5", 5432, w))));
                messages.Add(Msg(key, Some.Json(Some.Dns("db.shop.svc.cluster.local", w))));
            }
        }

        // 600 learning events (300 per workload). Then a malformed message amid the attacks, and normal events after.
        var malformed = "{\"kind\":\"process_exec\",\"ts\":\"2026-11-29T00:00:00Z\",\"workload\":{\"pod\":\"x\"},\"process\":{\"pid\":\"12\"}}"u8.ToArray();
        var key0 = cart.OwnerName!;
        messages.Add(Msg(key0, Some.Json(Some.Exec("/bin/sh", "/usr/bin/node", cart, "attack:reverse_shell"))));
        messages.Add(Msg(key0, malformed));
        messages.Add(Msg(key0, Some.Json(Some.Connect("203.0.113.66", 4444, cart, "attack:reverse_shell"))));
        messages.Add(Msg(db.OwnerName!, Some.Json(Some.FileOpen("/etc/shadow", workload: db, scenario: "attack:shadow_read"))));
        for (var i = 0; i < 20; i++)
        {
            messages.Add(Msg(key0, Some.Json(Some.Syscall("read", cart))));
        }

        using (var producer = KafkaTestKit.Producer(_cluster))
        {
            foreach (var m in messages)
            {
                producer.Produce(Events, m);
            }

            KafkaTestKit.Flush(producer);
        }

        // Learning and grouping follow the events' time, not the machine's (this test is not about wall time): the reverse
        // shell's two alerts share their events' timestamp, so they are one incident however far apart a busy machine
        // raises them, and the incidents are emitted when the host stops and flushes them.
        using var host = BuildHost("it-group", minLearningEvents: 300, new() { ["Detection:Clock"] = "event", ["Alerting:Clock"] = "event" });
        await host.StartAsync();
        var ingest = host.Services.GetRequiredService<KafkaIngestService>();
        var good = messages.Count - 1;
        await KafkaTestKit.EventuallyAsync(() => (ingest.EventsIngested, ingest.MessagesRejected), n => n == (good, 1), KafkaTestKit.Patience, $"{good} events ingested and 1 rejected");
        var deadLetters = host.Services.GetRequiredService<DeadLetterPublisher>();
        await KafkaTestKit.EventuallyAsync(() => deadLetters.Pending, n => n == 0, KafkaTestKit.Patience, "the dead letter acknowledged");
        await KafkaTestKit.EventuallyAsync(() => Metric("sentinel_consumer_lag"), lag => lag is not null, KafkaTestKit.Patience, "consumer lag reported");
        await host.StopAsync();

        // Stopped: the alerts and dead-letter topics hold all they ever will, so they are read to their end.
        var alerts = KafkaTestKit.ReadToEnd(_cluster, Alerts, KafkaTestKit.Patience);
        var dlq = KafkaTestKit.ReadToEnd(_cluster, Events + ".dlq", KafkaTestKit.Patience);

        // Incidents: the reverse shell (its exec and its connection: one process, one incident) and the shadow read.
        Assert.Equal(2, alerts.Count);
        var parsed = alerts.Select(a => JsonDocument.Parse(a.Message.Value).RootElement).ToList();
        Assert.All(parsed, i =>
        {
            Assert.Equal("sentinel.alert/v2", i.GetProperty("schema").GetString());
            Assert.Equal("firing", i.GetProperty("status").GetString());
            Assert.Equal("shadow", i.GetProperty("baseline").GetProperty("phase").GetString()); // item novelty alerts while the models are in shadow
            Assert.True(i.GetProperty("score").GetDouble() > i.GetProperty("threshold").GetDouble());
            Assert.Equal("node-a", i.GetProperty("workload").GetProperty("nodes")[0].GetString());
            Assert.False(string.IsNullOrWhiteSpace(i.GetProperty("summary").GetString()));
            foreach (var a in i.GetProperty("alerts").EnumerateArray())
            {
                Assert.StartsWith("attack:", a.GetProperty("evidence")[0].GetProperty("labels").GetProperty("scenario").GetString(), StringComparison.Ordinal);
            }
        });
        var shell = parsed.Single(i => i.GetProperty("workload").GetProperty("key").GetString() == "prod/shop/Deployment/cart/cart");
        Assert.Equal(2, shell.GetProperty("count").GetInt64());
        Assert.Equal(["unexpected_network", "unexpected_process"], shell.GetProperty("categories").EnumerateArray().Select(c => c.GetString()!).Order());
        Assert.Equal("high", shell.GetProperty("severity").GetString());
        Assert.Equal("T1059.004", shell.GetProperty("mitre").GetProperty("technique").GetString());
        var shadow = parsed.Single(i => i.GetProperty("workload").GetProperty("key").GetString() == "prod/shop/Deployment/db/db");
        Assert.Equal("unexpected_file", shadow.GetProperty("category").GetString());
        Assert.Equal("T1003.008", shadow.GetProperty("mitre").GetProperty("technique").GetString());
        Assert.Equal("/etc/shadow", shadow.GetProperty("alerts")[0].GetProperty("evidence")[0].GetProperty("file").GetProperty("path").GetString());
        Assert.Contains(alerts, a => Encoding.UTF8.GetString(a.Message.Key!) == "prod/shop/Deployment/cart/cart");

        // Dead letter: original bytes, reason and source in headers.
        var dead = Assert.Single(dlq);
        Assert.Equal(malformed, dead.Message.Value);
        string Header(string name) => Encoding.UTF8.GetString(dead.Message.Headers.GetLastBytes(name));
        Assert.Equal("wrong_type: process.pid: expected integer, got string", Header(DeadLetterPublisher.ReasonHeader));
        Assert.Equal("wrong_type", Header(DeadLetterPublisher.CodeHeader));
        Assert.Equal("process.pid", Header(DeadLetterPublisher.FieldHeader));
        Assert.Equal(Events, Header(DeadLetterPublisher.SourceTopicHeader));

        // Metrics counted every stage.
        Assert.Equal(1, Metric("sentinel_decode_failures_total", "wrong_type"));
        Assert.Equal(1, Metric("sentinel_dead_lettered_total", Events));
        Assert.Equal(3, Metric("sentinel_alerts_total"));
        Assert.Equal(2, Metric("sentinel_incidents_total"));
        Assert.Equal(good, Metric("sentinel_events_consumed_total"));

        // Offsets: everything (the dead-lettered message included) is committed up to the end of each partition.
        using var check = KafkaTestKit.Consumer(_cluster, "it-group");
        var partitions = Enumerable.Range(0, 3).Select(p => new TopicPartition(Events, p)).ToList();
        var committed = check.Committed(partitions, TimeSpan.FromSeconds(10));
        long total = 0;
        foreach (var c in committed)
        {
            var high = check.QueryWatermarkOffsets(c.TopicPartition, TimeSpan.FromSeconds(10)).High;
            Assert.Equal(high.Value == 0 ? Offset.Unset : high, c.Offset); // an empty partition has nothing to commit
            total += high.Value;
        }

        Assert.Equal(messages.Count, total);
    }

    [Fact]
    public async Task Pipeline_Restarted_WorkloadsComeBackFromTheStateTopicActiveAndAlertAtOnce()
    {
        using (var producer = KafkaTestKit.Producer(_cluster))
        {
            for (var w = 0; w < 4; w++)
            {
                var wl = Some.Workload(owner: "svc" + w, pod: $"svc{w}-7d9f8b6c5b-x2k4p");
                for (var i = 0; i < 30; i++)
                {
                    producer.Produce(Events, Msg("svc" + w, Some.Json(Some.Exec("/usr/bin/node", "/usr/bin/tini", wl))));
                }
            }

            KafkaTestKit.Flush(producer);
        }

        IReadOnlyList<WorkloadSnapshot> before;
        using (var first = BuildHost("state-group", 10))
        {
            await first.StartAsync();
            var ingest = first.Services.GetRequiredService<KafkaIngestService>();
            await KafkaTestKit.EventuallyAsync(() => ingest.EventsIngested, n => n == 120, KafkaTestKit.Patience, "first run ingests 120");
            await first.StopAsync();
            before = await first.Services.GetRequiredService<DetectionPipeline>().SnapshotAsync();
        }

        Assert.Equal(4, before.Count);
        Assert.All(before, s => Assert.True(s.Phase is Core.Alerts.BaselinePhase.Shadow or Core.Alerts.BaselinePhase.Active, $"{s.Key}: {s.Phase}"));

        // A new process: nothing in memory; the state topic is all it has.
        using var second = BuildHost("state-group", 10);
        await second.StartAsync();
        var store = second.Services.GetRequiredService<KafkaStateStore>();
        Assert.Equal(4, store.Count);
        using (var producer = KafkaTestKit.Producer(_cluster))
        {
            for (var w = 0; w < 4; w++)
            {
                var wl = Some.Workload(owner: "svc" + w, pod: $"svc{w}-7d9f8b6c5b-x2k4p");
                producer.Produce(Events, Msg("svc" + w, Some.Json(Some.Exec("/usr/bin/node", "/usr/bin/tini", wl))));
                producer.Produce(Events, Msg("svc" + w, Some.Json(Some.Exec("/usr/bin/nc", "/bin/sh", wl))));
            }

            KafkaTestKit.Flush(producer);
        }

        var ingest2 = second.Services.GetRequiredService<KafkaIngestService>();
        await KafkaTestKit.EventuallyAsync(() => ingest2.EventsIngested, n => n == 8, KafkaTestKit.Patience, "second run ingests the 8 new events");
        await second.StopAsync();

        // Taken once drained: "ingested" means handed to detection, and a snapshot may run between two queued events.
        var after = await second.Services.GetRequiredService<DetectionPipeline>().SnapshotAsync();

        Assert.Equal(4, after.Count);
        foreach (var s in after)
        {
            var was = before.Single(b => b.Key.Value == s.Key.Value);
            Assert.Equal(was.Phase, s.Phase); // item novelty alerts in shadow already
            Assert.Equal(was.EventsLearned, s.EventsLearned);
            Assert.Equal(was.FirstSeen, s.FirstSeen);
            Assert.Equal(1, s.AlertsRaised - was.AlertsRaised); // /usr/bin/nc, at once, per workload
        }

        Assert.Equal(4, Metric("sentinel_state_restores_total", "restored"));
    }

    [Fact]
    public async Task Pipeline_PartitionsMoveToANewMember_ItRestoresTheirWorkloadsInsteadOfLearningAgain()
    {
        const int Workloads = 12;
        using var producer = KafkaTestKit.Producer(_cluster);
        WorkloadRef Wl(int w) => Some.Workload(owner: "svc" + w, pod: $"svc{w}-7d9f8b6c5b-x2k4p");
        for (var w = 0; w < Workloads; w++)
        {
            for (var i = 0; i < 30; i++)
            {
                producer.Produce(Events, Msg("svc" + w, Some.Json(Some.Exec("/usr/bin/node", "/usr/bin/tini", Wl(w)))));
            }
        }

        KafkaTestKit.Flush(producer);
        using var a = BuildHost("moving-group", 10);
        await a.StartAsync();
        var ingestA = a.Services.GetRequiredService<KafkaIngestService>();
        await KafkaTestKit.EventuallyAsync(() => ingestA.EventsIngested, n => n == Workloads * 30, KafkaTestKit.Patience, "first member learns every workload");

        using var b = BuildHost("moving-group", 10);
        await b.StartAsync();
        var healthB = b.Services.GetRequiredService<IngestionHealth>();
        var healthA = a.Services.GetRequiredService<IngestionHealth>();
        await KafkaTestKit.EventuallyAsync(() => (A: healthA.AssignedPartitions, B: healthB.AssignedPartitions), n => n.B > 0 && n.A + n.B == 3, KafkaTestKit.Patience, "partitions shared after rebalance");

        // After the move: one known program and one new one per workload, wherever its partition now is.
        for (var w = 0; w < Workloads; w++)
        {
            producer.Produce(Events, Msg("svc" + w, Some.Json(Some.Exec("/usr/bin/node", "/usr/bin/tini", Wl(w)))));
            producer.Produce(Events, Msg("svc" + w, Some.Json(Some.Exec("/usr/bin/nc", "/bin/sh", Wl(w)))));
        }

        KafkaTestKit.Flush(producer);
        var ingestB = b.Services.GetRequiredService<KafkaIngestService>();
        await KafkaTestKit.EventuallyAsync(() => (A: ingestA.EventsIngested, B: ingestB.EventsIngested), n => n.A + n.B >= (Workloads * 30) + (Workloads * 2), KafkaTestKit.Patience, "the new events processed");
        await b.StopAsync();
        var onB = await b.Services.GetRequiredService<DetectionPipeline>().SnapshotAsync(); // drained: every event is in it

        // Let the group settle before the last member leaves: librdkafka 2.16 can abort the process (an assertion in
        // rd_kafka_cgrp_terminated) when a consumer closes while a cooperative assignment is still in progress.
        await KafkaTestKit.EventuallyAsync(() => healthA.AssignedPartitions, n => n == 3, KafkaTestKit.Patience, "first member owns all partitions again");
        await a.StopAsync();

        // Every workload the new member saw came from its checkpoint: none learns again, each alerted on nc.
        Assert.NotEmpty(onB);
        Assert.All(onB, s =>
        {
            Assert.NotEqual(Core.Alerts.BaselinePhase.Learning, s.Phase);
            Assert.Equal(10, s.EventsLearned);
            Assert.Equal(1, s.AlertsRaised);
        });
        Assert.Equal(onB.Count, Metric("sentinel_state_restores_total", "restored"));
    }

    [Fact]
    public async Task Pipeline_RestartAfterCommit_DoesNotReprocess()
    {
        using (var producer = KafkaTestKit.Producer(_cluster))
        {
            for (var i = 0; i < 50; i++)
            {
                producer.Produce(Events, Msg("k" + (i % 7), Some.Json(Some.Syscall("read"))));
            }

            KafkaTestKit.Flush(producer);
        }

        // Checkpoints (and so commits) every second rather than every minute: the second run's commit is the signal below.
        var checkpoints = new Dictionary<string, string?> { ["Detection:CheckpointInterval"] = "00:00:01" };
        using (var first = BuildHost("restart-group", 10, checkpoints))
        {
            await first.StartAsync();
            var ingest = first.Services.GetRequiredService<KafkaIngestService>();
            await KafkaTestKit.EventuallyAsync(() => ingest.EventsIngested, n => n == 50, KafkaTestKit.Patience, "first run ingests 50");
            await first.StopAsync();
        }

        using (var producer = KafkaTestKit.Producer(_cluster))
        {
            for (var i = 0; i < 5; i++)
            {
                producer.Produce(Events, Msg("k", Some.Json(Some.Syscall("read"))));
            }

            KafkaTestKit.Flush(producer);
        }

        using var second = BuildHost("restart-group", 10, checkpoints);
        await second.StartAsync();
        var again = second.Services.GetRequiredService<KafkaIngestService>();

        // Done when the group's commits reach the end of every partition: commits only advance over events this run
        // processed, so by then it has handled every event it was going to, old ones included had it re-read any.
        var ends = KafkaTestKit.Ends(_cluster, Events, TimeSpan.FromSeconds(10));
        await KafkaTestKit.EventuallyAsync(
            _ => Task.FromResult(KafkaTestKit.Committed(_cluster, "restart-group", Events, TimeSpan.FromSeconds(10))),
            c => ends.All(e => c[e.Key] == e.Value),
            KafkaTestKit.Patience,
            $"the second run's commits at the end of every partition ({string.Join(", ", ends.Select(e => $"[{e.Key}] {e.Value}"))})",
            c => string.Join(", ", c.Select(e => $"[{e.Key}] {e.Value}")) + $"; ingested {again.EventsIngested}");
        await second.StopAsync();
        Assert.Equal(5, again.EventsIngested);
    }

    [Fact]
    public async Task Pipeline_SecondMemberJoinsGroup_PartitionsAreSharedAndAllEventsProcessed()
    {
        using var producer = KafkaTestKit.Producer(_cluster);
        using var a = BuildHost("rebalance-group", 1000);
        await a.StartAsync();
        var ingestA = a.Services.GetRequiredService<KafkaIngestService>();
        var healthA = a.Services.GetRequiredService<IngestionHealth>();
        await KafkaTestKit.EventuallyAsync(() => healthA.AssignedPartitions, n => n == 3, KafkaTestKit.Patience, "first member owns all 3 partitions");

        using var b = BuildHost("rebalance-group", 1000);
        await b.StartAsync();
        var ingestB = b.Services.GetRequiredService<KafkaIngestService>();
        var healthB = b.Services.GetRequiredService<IngestionHealth>();
        await KafkaTestKit.EventuallyAsync(() => (A: healthA.AssignedPartitions, B: healthB.AssignedPartitions), n => n.A + n.B == 3 && n.B > 0, KafkaTestKit.Patience, "partitions shared after rebalance");

        for (var i = 0; i < 300; i++)
        {
            producer.Produce(Events, Msg("w" + (i % 30), Some.Json(Some.Syscall("read"))));
        }

        KafkaTestKit.Flush(producer);
        await KafkaTestKit.EventuallyAsync(() => (A: ingestA.EventsIngested, B: ingestB.EventsIngested), n => n.A + n.B >= 300, KafkaTestKit.Patience, "all events processed by the two members");
        Assert.True(ingestA.EventsIngested > 0 && ingestB.EventsIngested > 0, $"both members consumed (a={ingestA.EventsIngested}, b={ingestB.EventsIngested})");
        await b.StopAsync();
        await KafkaTestKit.EventuallyAsync(() => healthA.AssignedPartitions, n => n == 3, KafkaTestKit.Patience, "first member owns all partitions again");
        await a.StopAsync();
    }

    /// <summary>
    /// The mock cluster keeps 5 MiB per partition and drops older data, as a real one does past its retention. A group
    /// whose committed position was dropped is reset to the log's start by the client: the messages in between are never
    /// read. That loss is counted (metric and <see cref="KafkaIngestService.OffsetResets"/>), not left to a raw log line.
    /// </summary>
    [Fact]
    public async Task Consume_CommittedPositionNoLongerRetained_CountsTheOffsetReset()
    {
        const string topic = "retained";
        _cluster.CreateTopic(topic, 1);
        _cluster.CreateTopic(topic + ".dlq", 1);
        var random = new Random(5);
        using (var producer = KafkaTestKit.Producer(_cluster))
        {
            // 8 MiB of incompressible messages: more than the partition keeps.
            for (var i = 0; i < 8 * 1024; i++)
            {
                var value = new byte[1024];
                random.NextBytes(value);
                producer.Produce(topic, Msg("k", value));
            }

            KafkaTestKit.Flush(producer);
        }

        // The group's position: offset 0, which the log no longer holds.
        using (var committer = KafkaTestKit.Consumer(_cluster, "it-retention"))
        {
            committer.Commit([new TopicPartitionOffset(topic, 0, 0)]);
        }

        using var host = BuildHost("it-retention", minLearningEvents: 10, new() { ["Kafka:Topics:0"] = topic });
        await host.StartAsync();
        var ingest = host.Services.GetRequiredService<KafkaIngestService>();
        await KafkaTestKit.EventuallyAsync(() => (Resets: ingest.OffsetResets, Read: ingest.MessagesRead), n => n.Resets >= 1 && n.Read > 0, KafkaTestKit.Patience, "the offset reset counted and reading going on");
        await host.StopAsync();

        Assert.True(Metric("sentinel_offset_resets_total", topic) >= 1, "the reset is in the metric, labelled with its topic");
        Assert.True(ingest.MessagesRead > 0, "reading went on from the log's start");
        Assert.True(ingest.MessagesRead < 8 * 1024, $"{ingest.MessagesRead} read: the dropped head was never read");
    }

    private double? Metric(string name, string? label = null)
    {
        using var stream = new MemoryStream();
        _registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        var lines = Encoding.UTF8.GetString(stream.ToArray()).Split('\n')
            .Where(l => l.StartsWith(name, StringComparison.Ordinal) && !l.StartsWith('#') && (l.Length > name.Length && (l[name.Length] == '{' || l[name.Length] == ' ')))
            .Where(l => label is null || l.Contains($"\"{label}\"", StringComparison.Ordinal))
            .ToList();
        return lines.Count == 0 ? null : lines.Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }
}
