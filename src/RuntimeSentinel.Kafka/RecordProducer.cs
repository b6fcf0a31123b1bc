using Confluent.Kafka;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// Keyed bytes to a topic, for the CLI verbs and the demo, so that Confluent's types stay inside this project.
/// Either the process's own producer (<see cref="KafkaProducer.Records"/>) or one of its own against given servers.
/// </summary>
public sealed class RecordProducer : IDisposable
{
    private readonly IProducer<byte[]?, byte[]> _producer;
    private readonly bool _owned;

    internal RecordProducer(IProducer<byte[]?, byte[]> producer, bool owned)
    {
        _producer = producer;
        _owned = owned;
    }

    /// <summary>A producer of its own (idempotent, acks=all), closed with this object.</summary>
    public static RecordProducer Connect(string bootstrapServers, int lingerMs = 5) =>
        new(new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = bootstrapServers, Acks = Acks.All, EnableIdempotence = true, LingerMs = lingerMs }).Build(), owned: true);

    /// <summary>Queues a record; when the local queue is full, lets librdkafka deliver and retries (backpressure, not loss).</summary>
    public void Produce(string topic, byte[]? key, byte[] value)
    {
        while (true)
        {
            try
            {
                _producer.Produce(topic, new Message<byte[]?, byte[]> { Key = key, Value = value });
                return;
            }
            catch (ProduceException<byte[]?, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                _producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    /// <summary>Sends one record with headers and waits for the broker's acknowledgement; returns where it was written.</summary>
    public async Task<string> SendAsync(string topic, byte[]? key, byte[] value, IEnumerable<KeyValuePair<string, byte[]>>? headers, CancellationToken cancellationToken)
    {
        var message = new Message<byte[]?, byte[]> { Key = key, Value = value };
        if (headers is not null)
        {
            message.Headers = [];
            foreach (var (name, bytes) in headers)
            {
                message.Headers.Add(name, bytes);
            }
        }

        var result = await _producer.ProduceAsync(topic, message, cancellationToken).ConfigureAwait(false);
        return result.TopicPartitionOffset.ToString();
    }

    public void Flush(CancellationToken cancellationToken) => _producer.Flush(cancellationToken);

    public void Flush(TimeSpan timeout) => _producer.Flush(timeout);

    public void Dispose()
    {
        if (_owned)
        {
            _producer.Flush(TimeSpan.FromSeconds(10));
            _producer.Dispose();
        }
    }
}
