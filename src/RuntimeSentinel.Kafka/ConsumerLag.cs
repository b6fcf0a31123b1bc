using System.Text.Json;
using Confluent.Kafka;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// The lag gauge, from librdkafka's statistics report: per partition, what detection has still to do (the partition's
/// end minus what it finished). Commits wait for checkpoints, so the stored position trails by up to a checkpoint
/// interval and is no measure of it; librdkafka's own figure is used only for partitions not tracked here.
/// Called on the consume thread (statistics are delivered inside <c>Consume</c>), once per statistics interval.
/// </summary>
internal sealed class ConsumerLag(KafkaMetrics metrics, PartitionAssignments assignments)
{
    public void Report(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (!doc.RootElement.TryGetProperty("topics", out var topics))
            {
                return;
            }

            foreach (var topic in topics.EnumerateObject())
            {
                if (!topic.Value.TryGetProperty("partitions", out var partitions))
                {
                    continue;
                }

                foreach (var p in partitions.EnumerateObject())
                {
                    // librdkafka reports an internal "-1" partition, and -1 lag before the first fetch; skip both.
                    if (p.Name == "-1" || !p.Value.TryGetProperty("consumer_lag_stored", out var lagEl) || !lagEl.TryGetInt64(out var lag))
                    {
                        continue;
                    }

                    if (int.TryParse(p.Name, System.Globalization.CultureInfo.InvariantCulture, out var partition)
                        && assignments.TryGetCompleted(new TopicPartition(topic.Name, partition), out var completed)
                        && p.Value.TryGetProperty("ls_offset", out var endEl) && endEl.TryGetInt64(out var end) && end >= 0)
                    {
                        lag = Math.Max(0, end - completed);
                    }

                    if (lag < 0)
                    {
                        continue;
                    }

                    metrics.Lag.WithLabels(topic.Name, p.Name).Set(lag);
                }
            }
        }
        catch (JsonException)
        {
            // Statistics are best-effort; a malformed report only delays the lag gauge.
        }
    }
}
