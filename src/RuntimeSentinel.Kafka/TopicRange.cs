using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;

namespace RuntimeSentinel.Kafka;

/// <summary>Reads a range of offsets of every partition of a topic once (training data), without joining a group or committing.</summary>
public static class TopicRange
{
    /// <summary>
    /// Hands each message value in [<paramref name="fromOffset"/>, <paramref name="toOffset"/>] (null: up to the end
    /// now) of every partition to <paramref name="each"/>, partitions interleaved as fetched. Says on
    /// <paramref name="warnings"/> when retention already removed part of the range. Returns the messages read.
    /// </summary>
    /// <param name="progress">Called every 5,000 messages with (read, total).</param>
    public static long Read(string bootstrapServers, string topic, long fromOffset, long? toOffset, TextWriter warnings, Action<byte[]> each, Action<long, long>? progress, CancellationToken ct)
    {
        var kafka = new KafkaOptions { BootstrapServers = bootstrapServers };
        using var connection = new KafkaConnection(Microsoft.Extensions.Options.Options.Create(kafka), NullLogger<KafkaConnection>.Instance);
        var config = connection.Configure(new ConsumerConfig { GroupId = "sentinel-train-" + Guid.NewGuid().ToString("N"), EnableAutoCommit = false, EnableAutoOffsetStore = false, AutoOffsetReset = AutoOffsetReset.Earliest, EnablePartitionEof = true });
        using var admin = new AdminClientBuilder(connection.Configure(new AdminClientConfig())).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).ToList();
        using var consumer = new ConsumerBuilder<byte[]?, byte[]>(config).Build();
        var ends = new Dictionary<int, long>();
        var starts = new Dictionary<int, long>();
        foreach (var tp in partitions)
        {
            var marks = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10));
            ends[tp.Partition.Value] = toOffset is { } to ? Math.Min(to + 1, marks.High.Value) : marks.High.Value;
            starts[tp.Partition.Value] = Math.Max(fromOffset, marks.Low.Value);
            if (marks.Low.Value > fromOffset)
            {
                // Say so: a model trained on less data than asked for must not look like the full range.
                warnings.WriteLine($"{topic} [{tp.Partition.Value}]: offsets below {marks.Low.Value} are no longer on the broker (retention); reading from there");
            }
        }

        var active = partitions.Where(tp => ends[tp.Partition.Value] > starts[tp.Partition.Value]).ToList();
        consumer.Assign(active.Select(tp => new TopicPartitionOffset(tp, starts[tp.Partition.Value])));
        var total = active.Sum(tp => ends[tp.Partition.Value] - starts[tp.Partition.Value]);
        long read = 0;
        var remaining = active.Select(tp => tp.Partition.Value).ToHashSet();
        while (remaining.Count > 0 && !ct.IsCancellationRequested)
        {
            var result = consumer.Consume(TimeSpan.FromSeconds(10)) ?? throw new TimeoutException($"no message from {topic} for 10 s with {remaining.Count} partitions unfinished");
            var p = result.Partition.Value;
            if (result.IsPartitionEOF || result.Offset.Value >= ends[p])
            {
                if (result.Offset.Value >= ends[p])
                {
                    remaining.Remove(p);
                }

                continue;
            }

            each(result.Message.Value);
            if (result.Offset.Value + 1 >= ends[p])
            {
                remaining.Remove(p);
            }

            if (++read % 5000 == 0)
            {
                progress?.Invoke(read, total);
            }
        }

        return read;
    }
}
