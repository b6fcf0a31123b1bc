using Prometheus;

namespace RuntimeSentinel.Alerting;

public sealed class AlertingMetrics
{
    public AlertingMetrics(IMetricFactory factory)
    {
        Alerts = factory.CreateCounter("sentinel_alerts_total", "Alerts raised, by detector, category and severity.", ["detector", "category", "severity"]);
        Dropped = factory.CreateCounter("sentinel_alerts_dropped_total", "Alerts dropped before delivery, by reason.", ["reason"]);
        SinkSent = factory.CreateCounter("sentinel_alert_sink_sent_total", "Alerts delivered, by sink.", ["sink"]);
        SinkFailures = factory.CreateCounter("sentinel_alert_sink_failures_total", "Alert batches a sink failed to deliver, by sink.", ["sink"]);
        QueueDepth = factory.CreateGauge("sentinel_alert_queue_depth", "Alerts waiting for delivery.");
        Dropped.WithLabels("queue_full");
    }

    public Counter Alerts { get; }

    public Counter Dropped { get; }

    public Counter SinkSent { get; }

    public Counter SinkFailures { get; }

    public Gauge QueueDepth { get; }
}
