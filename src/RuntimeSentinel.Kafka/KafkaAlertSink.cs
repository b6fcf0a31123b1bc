using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// Publishes incidents (JSON, schema <c>Alerting:Schemas:Kafka</c> or <c>Alerting:Schema</c>: sentinel.alert/v2 by
/// default, or an OCSF Detection Finding, or an ECS document) to the alerts topic, keyed by workload so one workload's
/// incidents stay ordered; the header <c>sentinel-alert-schema</c> names the schema. Rendered items are
/// <c>key\n json</c>; the delivery pipeline stores them as they are.
/// </summary>
internal sealed class KafkaAlertSink(KafkaProducer producer, IOptions<KafkaOptions> options, KafkaMetrics metrics, IConfiguration configuration) : IAlertSink
{
    private readonly string _topic = options.Value.AlertsTopic ?? throw new InvalidOperationException("Kafka:AlertsTopic is not set");
    private readonly string? _runbook = configuration["Alerting:RunbookUrlTemplate"];
    private readonly IncidentSchema _schema = ReadSchema(configuration);
    private readonly byte[] _schemaHeader = Encoding.UTF8.GetBytes(ReadSchema(configuration).WireId());

    /// <summary>
    /// The alerting options validate both keys at start-up; this project does not depend on the alerting one, so it
    /// reads them itself and refuses an invalid value with the same message rather than fall back silently.
    /// </summary>
    internal static IncidentSchema ReadSchema(IConfiguration configuration)
    {
        var own = configuration["Alerting:Schemas:Kafka"];
        var (key, value) = !string.IsNullOrWhiteSpace(own) ? ("Alerting:Schemas:Kafka", own) : ("Alerting:Schema", configuration["Alerting:Schema"]);
        if (value is null)
        {
            return IncidentSchema.Sentinel;
        }

        return IncidentSchemas.TryParse(value, out var schema) ? schema
            : throw new InvalidOperationException($"{key} '{value}' is not a schema: use {string.Join(", ", IncidentSchemas.Names)}.");
    }

    public string Name => "kafka";

    public byte[] Render(Incident incident) =>
        [.. Encoding.UTF8.GetBytes(incident.Workload.Value), (byte)'\n', .. IncidentSchemas.ToUtf8(incident, _schema, _runbook)];

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
                    Headers = new Headers { { "sentinel-alert-schema", _schemaHeader } },
                },
                cancellationToken);
        }

        // Throws if any delivery failed, so the pipeline retries (or spills) the batch.
        await Task.WhenAll(pending).ConfigureAwait(false);
        metrics.AlertsProduced.Inc(items.Count);
    }
}
