using Prometheus;

namespace RuntimeSentinel.Alerting;

public sealed class AlertingMetrics
{
    public AlertingMetrics(IMetricFactory factory)
    {
        Alerts = factory.CreateCounter("sentinel_alerts_total", "Alerts raised, by detector, category and severity.", ["detector", "category", "severity"]);
        Dropped = factory.CreateCounter("sentinel_alerts_dropped_total", "Alerts dropped before delivery, by reason.", ["reason"]);
        Suppressed = factory.CreateCounter("sentinel_alerts_suppressed_total", "Alerts silenced by a suppression rule, by rule id.", ["rule"]);
        Incidents = factory.CreateCounter("sentinel_incidents_total", "Incidents opened, by category and severity.", ["category", "severity"]);
        Folded = factory.CreateCounter("sentinel_alerts_deduplicated_total", "Alerts folded into an already open incident.");
        OpenIncidents = factory.CreateGauge("sentinel_incidents_open", "Incidents currently open (within their window).");
        HeldBack = factory.CreateCounter("sentinel_incidents_held_total", "Incident emissions held back by a budget (then summarised), by scope.", ["scope"]);
        SuppressionRules = factory.CreateGauge("sentinel_suppression_rules", "Active (unexpired) suppression rules.");
        SuppressionReloads = factory.CreateCounter("sentinel_suppression_reloads_total", "Suppression file loads, by result.", ["result"]);
        SinkSent = factory.CreateCounter("sentinel_alert_sink_sent_total", "Incidents delivered, by sink.", ["sink"]);
        SinkFailures = factory.CreateCounter("sentinel_alert_sink_failures_total", "Failed delivery attempts, by sink.", ["sink"]);
        SinkRetries = factory.CreateCounter("sentinel_alert_sink_retries_total", "Delivery retries, by sink.", ["sink"]);
        SinkSpilled = factory.CreateCounter("sentinel_alert_sink_spilled_total", "Incidents spilled to disk while a sink was down, by sink.", ["sink"]);
        SinkSpillDropped = factory.CreateCounter("sentinel_alert_sink_spill_dropped_total", "Spilled incidents dropped because the spill bound was reached, by sink.", ["sink"]);
        SinkQueue = factory.CreateGauge("sentinel_alert_sink_queue_depth", "Incidents waiting for a sink, in memory and spilled, by sink and place.", ["sink", "place"]);
        QueueDepth = factory.CreateGauge("sentinel_alert_queue_depth", "Alerts waiting for correlation.");
        Dropped.WithLabels("queue_full");
        HeldBack.WithLabels("workload");
        HeldBack.WithLabels("global");
        SuppressionReloads.WithLabels("ok");
        SuppressionReloads.WithLabels("failed");
    }

    public Counter Alerts { get; }

    public Counter Dropped { get; }

    public Counter Suppressed { get; }

    public Counter Incidents { get; }

    public Counter Folded { get; }

    public Gauge OpenIncidents { get; }

    public Counter HeldBack { get; }

    public Gauge SuppressionRules { get; }

    public Counter SuppressionReloads { get; }

    public Counter SinkSent { get; }

    public Counter SinkFailures { get; }

    public Counter SinkRetries { get; }

    public Counter SinkSpilled { get; }

    public Counter SinkSpillDropped { get; }

    public Gauge SinkQueue { get; }

    public Gauge QueueDepth { get; }

    public void RegisterSink(string name)
    {
        // Series exist from the start, so rate() and alert rules work before the first failure.
        SinkSent.WithLabels(name);
        SinkFailures.WithLabels(name);
        SinkRetries.WithLabels(name);
        SinkSpilled.WithLabels(name);
        SinkSpillDropped.WithLabels(name);
        SinkQueue.WithLabels(name, "memory");
        SinkQueue.WithLabels(name, "disk");
    }
}
