using Prometheus;

namespace RuntimeSentinel.Kafka;

/// <summary>Metrics owned by ingestion. Topic and partition labels are bounded by configuration.</summary>
public sealed class KafkaMetrics
{
    public KafkaMetrics(IMetricFactory factory)
    {
        Consumed = factory.CreateCounter("sentinel_events_consumed_total", "Events decoded and handed to detection, by topic and kind.", ["topic", "kind"]);
        Bytes = factory.CreateCounter("sentinel_consumed_bytes_total", "Message bytes consumed, by topic.", ["topic"]);
        DecodeFailures = factory.CreateCounter("sentinel_decode_failures_total", "Messages that could not be decoded, by reason.", ["reason"]);
        Ignored = factory.CreateCounter("sentinel_events_ignored_total", "Valid messages that carry no container behaviour (sensor metrics, API audit), by topic and reason.", ["topic", "reason"]);
        DeadLettered = factory.CreateCounter("sentinel_dead_lettered_total", "Messages written to a dead-letter topic, by source topic.", ["topic"]);
        DeadLetterFailures = factory.CreateCounter("sentinel_dead_letter_failures_total", "Dead-letter write attempts that failed (each is retried; the source offset waits).", ["topic"]);
        DeadLetterBlocked = factory.CreateGauge("sentinel_dead_letter_blocked_partitions", "Source partitions paused because their dead-letter topic cannot be written.");
        OffsetResets = factory.CreateCounter("sentinel_offset_resets_total", "Times a partition's consume position was outside the retained log and was reset (auto.offset.reset): the messages in between were never read. Retention overtook the consumer.", ["topic"]);
        ConsumeErrors = factory.CreateCounter("sentinel_consume_errors_total", "Errors returned by the consume call that did not stop ingestion, by code.", ["code"]);
        Lag = factory.CreateGauge("sentinel_consumer_lag", "Messages between what detection finished and the partition end, by topic and partition.", ["topic", "partition"]);
        Assigned = factory.CreateGauge("sentinel_assigned_partitions", "Partitions assigned to this consumer.");
        Rebalances = factory.CreateCounter("sentinel_rebalances_total", "Partition assignment changes, by type.", ["type"]);
        KafkaErrors = factory.CreateCounter("sentinel_kafka_errors_total", "Errors reported by the Kafka client, by code.", ["code"]);
        Commits = factory.CreateCounter("sentinel_offset_commits_total", "Explicit offset commits, by result.", ["result"]);
        Ready = factory.CreateGauge("sentinel_ready", "1 when ingestion has joined its consumer group and is not faulted (what /readyz reports).");
        LastLoop = factory.CreateGauge("sentinel_consume_loop_last_run_timestamp_seconds", "Unix time the consume loop last went round; a stale value means a stuck pipeline.");
        foreach (var code in Core.Events.DecodeError.AllCodeNames)
        {
            DecodeFailures.WithLabels(code);
        }

        Feedback = factory.CreateCounter("sentinel_feedback_total", "Analyst verdicts read from the feedback topic, by verdict and result.", ["verdict", "result"]);
        AlertsProduced = factory.CreateCounter("sentinel_kafka_alerts_produced_total", "Alerts written to the alerts topic.");
    }

    public Counter Consumed { get; }

    public Counter Bytes { get; }

    public Counter DecodeFailures { get; }

    public Counter DeadLettered { get; }

    public Counter Ignored { get; }

    public Counter DeadLetterFailures { get; }

    public Gauge DeadLetterBlocked { get; }

    public Counter OffsetResets { get; }

    public Counter ConsumeErrors { get; }

    public Gauge Lag { get; }

    public Gauge Assigned { get; }

    public Counter Rebalances { get; }

    public Counter KafkaErrors { get; }

    public Counter Commits { get; }

    public Counter AlertsProduced { get; }

    public Counter Feedback { get; }

    public Gauge Ready { get; }

    public Gauge LastLoop { get; }
}
