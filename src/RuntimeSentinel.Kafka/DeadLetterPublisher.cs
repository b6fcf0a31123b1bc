using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// Writes rejected messages to <c>&lt;topic&gt;.dlq</c>: the original bytes unchanged, the reason and source
/// coordinates in headers. The source offset is reported complete only once the dead-letter write is acknowledged,
/// so a crash in between re-reads (and re-dead-letters) the message rather than losing it.
/// </summary>
public sealed partial class DeadLetterPublisher(KafkaProducer producer, IOptions<KafkaOptions> options, KafkaMetrics metrics, TimeProvider time, ILogger<DeadLetterPublisher> logger)
{
    public const string ReasonHeader = "sentinel-dlq-reason";
    public const string CodeHeader = "sentinel-dlq-code";
    public const string FieldHeader = "sentinel-dlq-field";
    public const string SourceTopicHeader = "sentinel-source-topic";
    public const string SourcePartitionHeader = "sentinel-source-partition";
    public const string SourceOffsetHeader = "sentinel-source-offset";
    public const string TimeHeader = "sentinel-dlq-time";

    private readonly string _suffix = options.Value.DeadLetterSuffix;

    public void Publish(TopicPartitionOffset source, DecodeError error, byte[] raw, PartitionTracker? tracker)
    {
        var headers = new Headers
        {
            { ReasonHeader, Encoding.UTF8.GetBytes(error.ToString()) },
            { CodeHeader, Encoding.UTF8.GetBytes(error.CodeName) },
            { FieldHeader, Encoding.UTF8.GetBytes(error.Field) },
            { SourceTopicHeader, Encoding.UTF8.GetBytes(source.Topic) },
            { SourcePartitionHeader, Encoding.UTF8.GetBytes(source.Partition.Value.ToString(CultureInfo.InvariantCulture)) },
            { SourceOffsetHeader, Encoding.UTF8.GetBytes(source.Offset.Value.ToString(CultureInfo.InvariantCulture)) },
            { TimeHeader, Encoding.UTF8.GetBytes(time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture)) },
        };
        var dlq = source.Topic + _suffix;
        var offset = source.Offset.Value;
        try
        {
            producer.Producer.Produce(dlq, new Message<byte[]?, byte[]> { Value = raw, Headers = headers }, report =>
            {
                if (report.Error.IsError)
                {
                    // Retries are exhausted (message.timeout.ms). Skipping the message is the lesser harm: holding
                    // its offset would stop every later commit on the partition forever.
                    metrics.DeadLetterFailures.WithLabels(source.Topic).Inc();
                    LogDeadLetterFailed(logger, dlq, source.ToString(), report.Error.Reason);
                }
                else
                {
                    metrics.DeadLettered.WithLabels(source.Topic).Inc();
                }

                tracker?.Complete(offset);
            });
        }
        catch (ProduceException<byte[]?, byte[]> ex)
        {
            metrics.DeadLetterFailures.WithLabels(source.Topic).Inc();
            LogDeadLetterFailed(logger, dlq, source.ToString(), ex.Error.Reason);
            tracker?.Complete(offset);
        }
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Error, Message = "Could not dead-letter {Source} to {Topic}: {Reason}; the message is skipped")]
    private static partial void LogDeadLetterFailed(ILogger logger, string topic, string source, string reason);
}
