using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Kafka;

/// <summary>Publishes alerts (JSON, schema sentinel.alert/v1) to the alerts topic, keyed by workload so one workload's alerts stay ordered.</summary>
public sealed class KafkaAlertSink(KafkaProducer producer, IOptions<KafkaOptions> options, KafkaMetrics metrics) : IAlertSink
{
    private readonly string _topic = options.Value.AlertsTopic ?? throw new InvalidOperationException("Kafka:AlertsTopic is not set");

    public string Name => "kafka";

    public async ValueTask WriteAsync(IReadOnlyList<Alert> batch, CancellationToken cancellationToken)
    {
        var pending = new Task<DeliveryResult<byte[]?, byte[]>>[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var a = batch[i];
            pending[i] = producer.Producer.ProduceAsync(
                _topic,
                new Message<byte[]?, byte[]>
                {
                    Key = Encoding.UTF8.GetBytes(a.Workload.Value),
                    Value = AlertJsonWriter.ToUtf8(a),
                    Headers = new Headers { { "sentinel-alert-schema", Encoding.UTF8.GetBytes(Alert.SchemaId) } },
                },
                cancellationToken);
        }

        // Throws if any delivery failed, so the dispatcher counts the batch as failed.
        await Task.WhenAll(pending).ConfigureAwait(false);
        metrics.AlertsProduced.Inc(batch.Count);
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        producer.Producer.Flush(TimeSpan.FromSeconds(10));
        return ValueTask.CompletedTask;
    }
}
