using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// Publishes incidents (JSON, schema sentinel.alert/v2) to the alerts topic, keyed by workload so one workload's
/// incidents stay ordered. Rendered items are <c>key\n json</c>; the delivery pipeline stores them as they are.
/// </summary>
internal sealed class KafkaAlertSink(KafkaProducer producer, IOptions<KafkaOptions> options, KafkaMetrics metrics, IConfiguration configuration) : IAlertSink
{
    private readonly string _topic = options.Value.AlertsTopic ?? throw new InvalidOperationException("Kafka:AlertsTopic is not set");
    private readonly string? _runbook = configuration["Alerting:RunbookUrlTemplate"];

    public string Name => "kafka";

    public byte[] Render(Incident incident) =>
        [.. Encoding.UTF8.GetBytes(incident.Workload.Value), (byte)'\n', .. IncidentJsonWriter.ToUtf8(incident, _runbook)];

    public async ValueTask SendAsync(IReadOnlyList<byte[]> items, CancellationToken cancellationToken)
    {
        var pending = new Task<DeliveryResult<byte[]?, byte[]>>[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var split = Array.IndexOf(item, (byte)'\n');
            pending[i] = producer.Producer.ProduceAsync(
                _topic,
                new Message<byte[]?, byte[]>
                {
                    Key = item[..split],
                    Value = item[(split + 1)..],
                    Headers = new Headers { { "sentinel-alert-schema", Encoding.UTF8.GetBytes(Incident.SchemaId) } },
                },
                cancellationToken);
        }

        // Throws if any delivery failed, so the pipeline retries (or spills) the batch.
        await Task.WhenAll(pending).ConfigureAwait(false);
        metrics.AlertsProduced.Inc(items.Count);
    }
}
