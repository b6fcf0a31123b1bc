using System.Text;
using Confluent.Kafka;
using RuntimeSentinel.Kafka;

namespace RuntimeSentinel.TestCommon;

/// <summary>Real producers and consumers against a mock cluster, with the short timeouts it needs to rebalance quickly.</summary>
public static class KafkaTestKit
{
    /// <summary>
    /// The ceiling for a wait on a signal (a metric, a record, a committed offset). Far beyond what any of them takes on a
    /// loaded 2-core machine: it is reached only when the awaited thing never happens, so it costs nothing when tests pass
    /// and only bounds how long a broken build takes to fail.
    /// </summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    /// <summary>
    /// The daemon's default topics, created before it starts (the mock cluster would auto-create them with one partition):
    /// events and state with the given partitions, the rest with one.
    /// </summary>
    public static void CreateSentinelTopics(MockKafkaCluster cluster, int eventPartitions, int statePartitions)
    {
        cluster.CreateTopic("sentinel.events", eventPartitions);
        cluster.CreateTopic("sentinel.events.dlq", 1);
        cluster.CreateTopic("sentinel.alerts", 1);
        cluster.CreateTopic("sentinel.feedback", 1);
        cluster.CreateTopic("sentinel.feedback.audit", 1);
        cluster.CreateTopic("sentinel.state", statePartitions);
    }

    public static IProducer<byte[]?, byte[]> Producer(MockKafkaCluster cluster) =>
        new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, Acks = Acks.All, LingerMs = 2 }).Build();

    /// <summary>Waits until everything <paramref name="producer"/> was given is acknowledged; fails if some is not within <see cref="Patience"/>.</summary>
    public static void Flush(IProducer<byte[]?, byte[]> producer)
    {
        // Flush returns when the queue is empty or the time is up; a producer disposed with messages left loses them,
        // and the test would then wait for events that never come.
        var left = producer.Flush(Patience);
        if (left > 0)
        {
            throw new TimeoutException($"{left} messages not acknowledged within {Patience.TotalSeconds:0} s");
        }
    }

    public static IConsumer<byte[]?, byte[]> Consumer(MockKafkaCluster cluster, string group) =>
        new ConsumerBuilder<byte[]?, byte[]>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = group,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            SessionTimeoutMs = 2000,
            HeartbeatIntervalMs = 300,
        }).Build();

    /// <summary>
    /// Reads <paramref name="topic"/> until <paramref name="until"/> holds for what was read; fails after
    /// <paramref name="timeout"/>, saying what was awaited (<paramref name="what"/>) and what had been read.
    /// </summary>
    public static List<ConsumeResult<byte[]?, byte[]>> ReadAll(MockKafkaCluster cluster, string topic, Func<List<ConsumeResult<byte[]?, byte[]>>, bool> until, TimeSpan timeout, string what = "the records the test expects")
    {
        using var consumer = Consumer(cluster, "test-reader-" + Guid.NewGuid().ToString("N"));
        consumer.Subscribe(topic);
        var results = new List<ConsumeResult<byte[]?, byte[]>>();
        var deadline = DateTime.UtcNow + timeout;
        while (!until(results))
        {
            if (DateTime.UtcNow > deadline)
            {
                consumer.Close();
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s reading {topic}, waiting for: {what}; read {results.Count} records{Last(results)}");
            }

            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is not null)
            {
                results.Add(r);
            }
        }

        consumer.Close();
        return results;
    }

    /// <summary>
    /// Every record <paramref name="topic"/> holds now: reads each partition up to the end it has when called. For topics
    /// whose writers are known to be done (stopped, flushed), so "nothing more" is exact rather than a quiet spell.
    /// </summary>
    public static List<ConsumeResult<byte[]?, byte[]>> ReadToEnd(MockKafkaCluster cluster, string topic, TimeSpan timeout)
    {
        using var consumer = Consumer(cluster, "test-reader-" + Guid.NewGuid().ToString("N"));
        var remaining = new Dictionary<TopicPartition, long>();
        foreach (var tp in Partitions(cluster, topic, timeout))
        {
            var end = consumer.QueryWatermarkOffsets(tp, timeout).High.Value;
            if (end > 0)
            {
                remaining[tp] = end;
            }
        }

        consumer.Assign(remaining.Keys.Select(tp => new TopicPartitionOffset(tp, Offset.Beginning)));
        var results = new List<ConsumeResult<byte[]?, byte[]>>();
        var deadline = DateTime.UtcNow + timeout;
        while (remaining.Count > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s reading {topic} to its end; still to read: {string.Join(", ", remaining.Select(r => $"[{r.Key.Partition.Value}] up to {r.Value}"))}; read {results.Count} records{Last(results)}");
            }

            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is null || r.IsPartitionEOF)
            {
                continue;
            }

            results.Add(r);
            if (remaining.TryGetValue(r.TopicPartition, out var end) && r.Offset.Value >= end - 1)
            {
                remaining.Remove(r.TopicPartition);
            }
        }

        return results;
    }

    /// <summary>The end (next offset to be written) of each of <paramref name="topic"/>'s partitions, by partition.</summary>
    public static Dictionary<int, long> Ends(MockKafkaCluster cluster, string topic, TimeSpan timeout)
    {
        using var consumer = Consumer(cluster, "test-reader-" + Guid.NewGuid().ToString("N"));
        return Partitions(cluster, topic, timeout).ToDictionary(tp => tp.Partition.Value, tp => consumer.QueryWatermarkOffsets(tp, timeout).High.Value);
    }

    /// <summary>What <paramref name="group"/> has committed on each of <paramref name="topic"/>'s partitions (0 where nothing is).</summary>
    public static Dictionary<int, long> Committed(MockKafkaCluster cluster, string group, string topic, TimeSpan timeout)
    {
        // Asked of the group coordinator without joining the group: the members are not disturbed.
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = group, EnableAutoCommit = false }).Build();
        return consumer.Committed(Partitions(cluster, topic, timeout), timeout).ToDictionary(tpo => tpo.Partition.Value, tpo => Math.Max(0, tpo.Offset.Value));
    }

    private static List<TopicPartition> Partitions(MockKafkaCluster cluster, string topic, TimeSpan timeout)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        var metadata = admin.GetMetadata(topic, timeout).Topics.Single();
        if (metadata.Error.IsError)
        {
            throw new InvalidOperationException($"no metadata for {topic}: {metadata.Error.Reason}");
        }

        return metadata.Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).OrderBy(tp => tp.Partition.Value).ToList();
    }

    private static string Last(List<ConsumeResult<byte[]?, byte[]>> results)
    {
        if (results.Count == 0)
        {
            return "";
        }

        var last = results[^1];
        var value = Encoding.UTF8.GetString(last.Message.Value ?? [], 0, Math.Min(last.Message.Value?.Length ?? 0, 300));
        return $", the last at {last.TopicPartitionOffset}: {value}";
    }

    /// <summary>Waits until <paramref name="condition"/> is true or fails the test after the timeout.</summary>
    /// <param name="lastSeen">What to report, on a timeout, as the state last seen (the condition alone says only "false").</param>
    public static async Task EventuallyAsync(Func<bool> condition, TimeSpan timeout, string what, Func<string>? lastSeen = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        var polls = 0;
        while (!condition())
        {
            polls++;
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s ({polls} checks) waiting for: {what}" + (lastSeen is null ? "" : "; last seen: " + lastSeen()));
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Observes until <paramref name="until"/> holds for what <paramref name="observe"/> returns, and returns that; fails
    /// after the timeout with what was awaited and the last observation (<paramref name="describe"/>, or its text).
    /// </summary>
    public static async Task<T> EventuallyAsync<T>(Func<T> observe, Func<T, bool> until, TimeSpan timeout, string what, Func<T, string>? describe = null)
    {
        return await EventuallyAsync(_ => Task.FromResult(observe()), until, timeout, what, describe, TimeSpan.FromMilliseconds(50));
    }

    /// <summary>
    /// The same for an observation that is awaited (a scrape of a daemon's /metrics, a query to the cluster): observed
    /// every <paramref name="interval"/> (200 ms by default).
    /// </summary>
    public static async Task<T> EventuallyAsync<T>(Func<CancellationToken, Task<T>> observe, Func<T, bool> until, TimeSpan timeout, string what, Func<T, string>? describe = null, TimeSpan? interval = null)
    {
        using var ceiling = new CancellationTokenSource(timeout);
        var polls = 0;
        while (true)
        {
            var seen = await observe(ceiling.Token);
            polls++;
            if (until(seen))
            {
                return seen;
            }

            if (ceiling.IsCancellationRequested)
            {
                var text = describe is null ? seen?.ToString() : describe(seen);
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s ({polls} observations) waiting for: {what}; last seen: {text}");
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(200), CancellationToken.None);
        }
    }
}
