using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace RuntimeSentinel.Kafka;

/// <summary>The process's one Kafka producer (dead letters, alerts, demo events): idempotent, acks=all, lz4.</summary>
public sealed partial class KafkaProducer : IDisposable
{
    private readonly ILogger<KafkaProducer> _logger;
    private readonly Lazy<IProducer<byte[]?, byte[]>> _producer;

    public KafkaProducer(KafkaConnection connection, KafkaMetrics metrics, ILogger<KafkaProducer> logger, Microsoft.Extensions.Options.IOptions<KafkaOptions>? options = null)
    {
        // A dead letter (at most DeadLetterMaxBytes plus headers) must always fit what this producer may send.
        var maxMessage = Math.Max(1_000_000, (options?.Value.DeadLetterMaxBytes ?? KafkaOptions.DefaultDeadLetterMaxBytes) + 64 * 1024);
        _logger = logger;
        _producer = new Lazy<IProducer<byte[]?, byte[]>>(() =>
            new ProducerBuilder<byte[]?, byte[]>(connection.Configure(new ProducerConfig
            {
                Acks = Acks.All,
                EnableIdempotence = true,
                LingerMs = 5,
                CompressionType = CompressionType.Lz4,
                MessageMaxBytes = maxMessage,
            }))
            .SetErrorHandler((_, e) =>
            {
                metrics.KafkaErrors.WithLabels(e.Code.ToString()).Inc();
                LogProducerError(_logger, e.Code.ToString(), e.Reason);
            })
            .Build());
    }

    public IProducer<byte[]?, byte[]> Producer => _producer.Value;

    /// <summary>This producer for code outside the Kafka project (demo, replay): keyed bytes, no Confluent types.</summary>
    public RecordProducer Records => _records ??= new RecordProducer(_producer.Value, owned: false);

    private RecordProducer? _records;

    public void Dispose()
    {
        if (_producer.IsValueCreated)
        {
            // Deliver what is queued (dead letters, last alerts) before the connection goes away.
            _producer.Value.Flush(TimeSpan.FromSeconds(10));
            _producer.Value.Dispose();
        }
    }

    [LoggerMessage(EventId = 1200, Level = LogLevel.Warning, Message = "Kafka producer error {Code}: {Reason}")]
    private static partial void LogProducerError(ILogger logger, string code, string reason);
}
