using Confluent.Kafka;
using RuntimeSentinel.Kafka;

namespace RuntimeSentinel.TestCommon;

/// <summary>Real producers and consumers against a mock cluster, with the short timeouts it needs to rebalance quickly.</summary>
public static class KafkaTestKit
{
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

    /// <summary>Reads until <paramref name="until"/> holds for what was read, or the timeout passes.</summary>
    public static List<ConsumeResult<byte[]?, byte[]>> ReadAll(MockKafkaCluster cluster, string topic, Func<List<ConsumeResult<byte[]?, byte[]>>, bool> until, TimeSpan timeout)
    {
        using var consumer = Consumer(cluster, "test-reader-" + Guid.NewGuid().ToString("N"));
        consumer.Subscribe(topic);
        var results = new List<ConsumeResult<byte[]?, byte[]>>();
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !until(results))
        {
            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is not null)
            {
                results.Add(r);
            }
        }

        consumer.Close();
        return results;
    }

    /// <summary>Waits until <paramref name="condition"/> is true or fails the test after the timeout.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s waiting for: {what}");
            }

            await Task.Delay(50);
        }
    }
}
