using System.Globalization;
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
using RuntimeSentinel.Core.Health;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Formats;
using RuntimeSentinel.TestCommon;
using Xunit.Abstractions;

namespace RuntimeSentinel.Kafka.Tests;

/// <summary>
/// Hundreds of poison messages interleaved with valid events on the event topic, and with verdicts on the feedback
/// topic, over the embedded Kafka on TCP: the pipeline stays up, healthy and ready; every valid event is processed;
/// every poison message is dead-lettered (events) or audited as rejected (verdicts); committed offsets reach the end.
/// </summary>
public sealed class PoisonMessagesIntegrationTests : IDisposable
{
    private const string Events = "events";
    private const string Feedback = "feedback";
    private const string Audit = "feedback.audit";
    private readonly MockKafkaCluster _cluster = new();
    private readonly TempFolder _temp = new("poison-");
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly byte[] _aliceKey = "alice-verdict-key-0123456789"u8.ToArray();

    private readonly ITestOutputHelper _output;

    public PoisonMessagesIntegrationTests(ITestOutputHelper output)
    {
        _output = output;
        _cluster.CreateTopic(Events, 3);
        _cluster.CreateTopic(Events + ".dlq", 1);
        _cluster.CreateTopic("alerts", 1);
        _cluster.CreateTopic(Feedback, 1);
        _cluster.CreateTopic(Audit, 1);
        Directory.CreateDirectory(Path.Combine(_temp.Path, "keys"));
        File.WriteAllBytes(Path.Combine(_temp.Path, "keys", "alice"), _aliceKey);
    }

    public void Dispose()
    {
        _cluster.Dispose();
        _temp.Dispose();
    }

    private IHost BuildHost(string group, Dictionary<string, string?>? extra = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var config = new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = _cluster.BootstrapServers,
            ["Kafka:Topics:0"] = Events,
            ["Kafka:GroupId"] = group,
            ["Kafka:AlertsTopic"] = "alerts",
            ["Kafka:FeedbackTopic"] = Feedback,
            ["Kafka:FeedbackAuditTopic"] = Audit,
            ["Kafka:FeedbackKeysDirectory"] = Path.Combine(_temp.Path, "keys"),
            ["Kafka:SessionTimeoutMs"] = "2000",
            ["Kafka:HeartbeatIntervalMs"] = "300",
            ["Kafka:DeadLetterMaxBytes"] = "65536",
            ["Detection:LearningDuration"] = "00:00:00",
            ["Detection:MinLearningEvents"] = "100",
            ["Detection:Shards"] = "2",
            ["Detection:CheckpointInterval"] = "00:00:01",
            ["Alerting:Console"] = "false",
            ["Alerting:SpillDirectory"] = Path.Combine(_temp.Path, "spill"),
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

    /// <summary>Valid native and Tetragon events, and poison that the auto decoder provably rejects, interleaved.</summary>
    private static (List<byte[]?> Messages, int Valid, int Poison) EventStream(int poisonWanted)
    {
        var valid = new List<byte[]>();
        var workloads = new[] { Some.Workload(), Some.Workload(owner: "db", pod: "db-0", container: "db"), Some.Workload(owner: "web", pod: "web-1", container: "nginx") };
        for (var i = 0; i < 200; i++)
        {
            var w = workloads[i % 3];
            valid.Add(Some.Json(Some.Syscall(i % 2 == 0 ? "read" : "write", w)));
            valid.Add(Some.Json(Some.FileOpen($"/app/data/{i % 7}.json", workload: w)));
        }

        var tetragon = Datasets.Require(Path.Combine("tool-samples", "tetragon", "docs_current_format_events.jsonl"), "tool-samples/tetragon");
        var decoder = EventFormats.Create("auto");
        var seeds = File.ReadLines(tetragon).Select(Encoding.UTF8.GetBytes).ToList();
        valid.AddRange(seeds.Where(s => decoder.Decode(s, out _, out _, out _) == DecodeStatus.Event));

        // The message from the report first: invalid UTF-8 in a property name.
        byte[] reported = [(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}'];
        var poison = new List<byte[]?> { reported, null };
        var inputs = new HostileInputs(99);
        var all = seeds.Concat(valid.Take(50)).ToList();
        for (var i = 0; poison.Count < poisonWanted - 1; i++)
        {
            var (_, m) = inputs.Mutate(all[i % all.Count], i, all);
            if (m.Length > 0 && decoder.Decode(m, out _, out _, out _) == DecodeStatus.Rejected)
            {
                poison.Add(m);
            }
        }

        poison.Add(inputs.Huge(seeds[0], 3)); // over the 1 MiB limit; its dead letter is truncated to 64 KiB

        // Interleave: every valid event keeps its place, poison lands between them.
        var messages = new List<byte[]?>();
        var p = 0;
        for (var i = 0; i < valid.Count; i++)
        {
            messages.Add(valid[i]);
            while (p < poison.Count && p * valid.Count <= i * poison.Count)
            {
                messages.Add(poison[p++]);
            }
        }

        messages.AddRange(poison.Skip(p));
        return (messages, valid.Count, poison.Count);
    }

    private static IProducer<byte[]?, byte[]> BigProducer(MockKafkaCluster cluster) =>
        new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, Acks = Acks.All, LingerMs = 2, MessageMaxBytes = 8 * 1024 * 1024, CompressionType = CompressionType.Lz4 }).Build();

    [SkippableFact]
    public async Task Daemon_PoisonInterleavedOnEventAndFeedbackTopics_StaysHealthyProcessesEveryValidEventAndCommitsToTheEnd()
    {
        var (messages, validCount, poisonCount) = EventStream(300);
        using (var producer = BigProducer(_cluster))
        {
            var n = 0;
            foreach (var m in messages)
            {
                // A null value is a tombstone; the key spreads messages over the three partitions.
                producer.Produce(Events, new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes("k" + (n++ % 7)), Value = m! });
            }

            KafkaTestKit.Flush(producer);
        }

        // Verdicts: 100 poison (mutated and unsigned, forged signatures, signed garbage) around 2 valid signed ones.
        var verdict = Encoding.UTF8.GetBytes("""{"verdict":"false_positive","scope":"item","workload":"prod/shop/Deployment/cart/cart","feature":"file","item":{"a":"/app/data/x.json"},"reason":"fine"}""");
        var inputs = new HostileInputs(5);
        var feedback = new List<Message<byte[]?, byte[]>>();
        for (var i = 0; i < 100; i++)
        {
            var (_, m) = inputs.Mutate(verdict, i, [verdict]);
            var headers = (i % 3) switch
            {
                0 => null,
                1 => FeedbackSignature.Headers("alice", "mallory-key-0123456789"u8.ToArray(), m),
                _ => FeedbackSignature.Headers("alice", _aliceKey, [.. m.Take(Math.Max(0, m.Length - 3))]), // signed, then tampered
            };
            feedback.Add(new Message<byte[]?, byte[]> { Value = m, Headers = headers });
            if (i is 30 or 70)
            {
                feedback.Add(new Message<byte[]?, byte[]> { Value = verdict, Headers = FeedbackSignature.Headers("alice", _aliceKey, verdict) });
            }
        }

        using (var producer = KafkaTestKit.Producer(_cluster))
        {
            foreach (var m in feedback)
            {
                producer.Produce(Feedback, m);
            }

            KafkaTestKit.Flush(producer);
        }

        using var host = BuildHost("poison-group");
        await host.StartAsync();
        var ingest = host.Services.GetRequiredService<KafkaIngestService>();
        var health = host.Services.GetRequiredService<IngestionHealth>();
        var stages = host.Services.GetRequiredService<HealthRegistry>();
        var sawUnhealthy = false;
        await KafkaTestKit.EventuallyAsync(
            () =>
            {
                sawUnhealthy |= !health.IsLive || stages.Faulted.Any();
                return (Ingested: ingest.EventsIngested, Rejected: ingest.MessagesRejected);
            },
            n => n.Ingested + n.Rejected == messages.Count,
            KafkaTestKit.Patience,
            $"{messages.Count} messages handled");
        var audit = KafkaTestKit.ReadAll(_cluster, Audit, r => r.Count >= feedback.Count, KafkaTestKit.Patience, $"{feedback.Count} verdicts audited");
        var dlq = KafkaTestKit.ReadAll(_cluster, Events + ".dlq", r => r.Count >= poisonCount, KafkaTestKit.Patience, $"{poisonCount} dead letters");
        await KafkaTestKit.EventuallyAsync(() => CommittedToEnd(), KafkaTestKit.Patience, "offsets committed to the end of every partition");

        // Up, live and ready throughout and at the end; no supervised loop stopped.
        Assert.False(sawUnhealthy);
        Assert.True(health.IsLive && health.IsReady);
        Assert.Empty(stages.Faulted);
        Assert.All(stages.Stages, s => Assert.Equal(StageState.Running, s.State));

        // Exact counts: every valid event processed, every poison message dead-lettered with its reason.
        Assert.Equal(validCount, ingest.EventsIngested);
        Assert.Equal(poisonCount, ingest.MessagesRejected);
        Assert.Equal(poisonCount, dlq.Count);
        var codes = DecodeError.AllCodeNames.ToHashSet();
        Assert.All(dlq, d =>
        {
            Assert.Contains(Encoding.UTF8.GetString(d.Message.Headers.GetLastBytes(DeadLetterPublisher.CodeHeader)), codes);
            Assert.False(string.IsNullOrWhiteSpace(Encoding.UTF8.GetString(d.Message.Headers.GetLastBytes(DeadLetterPublisher.ReasonHeader))));
            Assert.True(d.Message.Value.Length <= 65536);
        });
        var huge = Assert.Single(dlq, d => d.Message.Headers.TryGetLastBytes(DeadLetterPublisher.TruncatedHeader, out _));
        Assert.Equal("message_too_large", Encoding.UTF8.GetString(huge.Message.Headers.GetLastBytes(DeadLetterPublisher.CodeHeader)));
        Assert.True(int.Parse(Encoding.UTF8.GetString(huge.Message.Headers.GetLastBytes(DeadLetterPublisher.OriginalSizeHeader)), CultureInfo.InvariantCulture) > 3 * 1024 * 1024);
        var first = dlq.Single(d => d.Message.Value.Length == 8);
        Assert.Equal("invalid_utf8", Encoding.UTF8.GetString(first.Message.Headers.GetLastBytes(DeadLetterPublisher.CodeHeader)));
        Assert.Equal(1, dlq.Count(d => Encoding.UTF8.GetString(d.Message.Headers.GetLastBytes(DeadLetterPublisher.CodeHeader)) == "empty"));

        // Verdicts: every one audited; the two signed ones applied, every poison one rejected with a reason.
        Assert.Equal(feedback.Count, audit.Count);
        var results = audit.Select(a => JsonDocument.Parse(a.Message.Value).RootElement).ToList();
        // Applied, or pending when it was read before the workload's first event reached its shard.
        Assert.Equal(2, results.Count(r => r.GetProperty("result").GetString() is "applied" or "pending" && r.GetProperty("signed").GetBoolean() && r.GetProperty("analyst").GetString() == "alice"));
        Assert.Equal(100, results.Count(r => r.GetProperty("result").GetString() == "rejected" && r.GetProperty("detail").GetString()!.Length > 0));
        _output.WriteLine($"valid {validCount}, poison events {poisonCount} dead-lettered, verdicts {feedback.Count} audited (2 applied, 100 rejected)");
        _output.WriteLine(string.Join(", ", dlq.GroupBy(d => Encoding.UTF8.GetString(d.Message.Headers.GetLastBytes(DeadLetterPublisher.CodeHeader))).OrderBy(g => g.Key).Select(g => $"{g.Key}={g.Count()}")));
        await host.StopAsync();
    }

    [SkippableFact]
    public async Task DeadLetterTopic_Unwritable_PausesThePartitionReportsItAndResumesWithoutSkipping()
    {
        var poison = Enumerable.Range(0, 5).Select(i => Encoding.UTF8.GetBytes($"{{\"kind\":\"process_exec\",\"ts\":{i}")).ToList();
        var valid = Enumerable.Range(0, 60).Select(i => Some.Json(Some.Syscall("read"))).ToList();
        using (var producer = KafkaTestKit.Producer(_cluster))
        {
            for (var i = 0; i < valid.Count; i++)
            {
                producer.Produce(Events, new Message<byte[]?, byte[]> { Key = "one"u8.ToArray(), Value = valid[i] });
                if (i % 12 == 5)
                {
                    producer.Produce(Events, new Message<byte[]?, byte[]> { Key = "one"u8.ToArray(), Value = poison[i / 12] });
                }
            }

            KafkaTestKit.Flush(producer);
        }

        // Every produce request fails, as if the daemon lacked the right to write the dead-letter topic, until the test has
        // seen the partition paused and reported: the fault lasts exactly as long as it takes to observe its effect,
        // instead of a guessed number of failures whose effect a sampling loop might miss.
        _cluster.FailNextRequests(0, Enumerable.Repeat(29 /* TOPIC_AUTHORIZATION_FAILED */, 100_000).ToArray());
        using var host = BuildHost("dlq-fail-group", new()
        {
            ["Kafka:DeadLetterRetries"] = "2",
            ["Kafka:DeadLetterRetryDelay"] = "00:00:00.2",
            ["Kafka:DeadLetterMaxBackoff"] = "00:00:00.5",
            ["Kafka:FeedbackTopic"] = "",
            ["Kafka:AlertsTopic"] = "",
        });
        await host.StartAsync();
        var ingest = host.Services.GetRequiredService<KafkaIngestService>();
        var health = host.Services.GetRequiredService<IngestionHealth>();
        var deadLetters = host.Services.GetRequiredService<DeadLetterPublisher>();
        await KafkaTestKit.EventuallyAsync(
            () => (Blocked: string.Join(",", health.BlockedPartitions), health.IsReady, health.BlockedReason, ingest.EventsIngested, ingest.MessagesRejected),
            s => s.Blocked.Length > 0 && !s.IsReady,
            KafkaTestKit.Patience,
            "the partition paused and reported (not ready) while its dead letter cannot be written");

        // The topic becomes writable again: the retries go through, the partition resumes where it stopped.
        _cluster.ClearRequestErrors(0);
        await KafkaTestKit.EventuallyAsync(
            () => (ingest.MessagesRejected, deadLetters.Pending, ingest.EventsIngested),
            s => s.MessagesRejected == poison.Count && s.Pending == 0,
            KafkaTestKit.Patience,
            $"every poison message ({poison.Count}) dead-lettered in the end");
        var dlq = KafkaTestKit.ReadAll(_cluster, Events + ".dlq", r => r.Count >= poison.Count, KafkaTestKit.Patience, $"{poison.Count} dead letters");
        await KafkaTestKit.EventuallyAsync(() => CommittedToEnd(), KafkaTestKit.Patience, "offsets committed to the end once the dead letters were written");
        await KafkaTestKit.EventuallyAsync(() => (health.IsReady, Blocked: string.Join(",", health.BlockedPartitions)), s => s.IsReady, KafkaTestKit.Patience, "ready again");
        await host.StopAsync();

        Assert.Equal(poison.Count, dlq.Select(d => Encoding.UTF8.GetString(d.Message.Headers.GetLastBytes(DeadLetterPublisher.SourceOffsetHeader))).Distinct().Count());
        Assert.Equal(valid.Count, ingest.EventsIngested);
        Assert.True(Exposition.Sum(Exposition.Export(_registry), "sentinel_dead_letter_failures_total") >= 2);
    }

    private bool CommittedToEnd()
    {
        using var check = KafkaTestKit.Consumer(_cluster, "probe-" + Guid.NewGuid().ToString("N"));
        var groups = new[] { "poison-group", "dlq-fail-group" };
        foreach (var group in groups)
        {
            using var c = KafkaTestKit.Consumer(_cluster, group);
            var committed = c.Committed(Enumerable.Range(0, 3).Select(p => new TopicPartition(Events, p)), TimeSpan.FromSeconds(5));
            if (committed.All(x => x.Offset == Offset.Unset))
            {
                continue; // the other test's group
            }

            foreach (var tpo in committed)
            {
                var high = check.QueryWatermarkOffsets(tpo.TopicPartition, TimeSpan.FromSeconds(5)).High;
                if (high.Value > 0 && tpo.Offset != high)
                {
                    return false;
                }
            }

            return true;
        }

        return false;
    }
}
