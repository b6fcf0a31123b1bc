using Prometheus;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Detection.Baseline;

namespace RuntimeSentinel.Detection;

/// <summary>Metrics owned by the detection stage. Label values come from enums, so cardinality is fixed.</summary>
public sealed class DetectionMetrics
{
    public DetectionMetrics(IMetricFactory factory)
    {
        Workloads = factory.CreateGauge("sentinel_workloads", "Workloads tracked, by baseline phase.", ["phase"]);
        ItemsLearned = factory.CreateGauge("sentinel_baseline_items", "Distinct items held in baselines, by feature.", ["feature"]);
        CapacityExceeded = factory.CreateCounter("sentinel_baseline_capacity_exceeded_total", "Items not learned because a per-workload bound was full, by feature.", ["feature"]);
        WorkloadsEvicted = factory.CreateCounter("sentinel_workloads_evicted_total", "Workload baselines evicted because MaxWorkloads was reached.");
        Latency = factory.CreateHistogram(
            "sentinel_processing_latency_seconds",
            "Time from an event leaving the consumer to its baseline update being done (queueing included).",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.00005, 2, 16) });
        Findings = factory.CreateCounter("sentinel_findings_suppressed_total", "Findings not raised as alerts, by reason.", ["reason"]);
        EventsProcessed = factory.CreateCounter("sentinel_events_processed_total", "Events processed by the baselines, by phase.", ["phase"]);
        QueueDepth = factory.CreateGauge("sentinel_shard_queue_depth", "Events waiting in detection shard queues.");
        foreach (var f in FeatureNames.All)
        {
            ItemsLearned.WithLabels(f);
            CapacityExceeded.WithLabels(f);
        }

        Workloads.WithLabels(BaselinePhase.Learning.ToWire());
        Workloads.WithLabels(BaselinePhase.Active.ToWire());
    }

    public Gauge Workloads { get; }

    public Gauge ItemsLearned { get; }

    public Counter CapacityExceeded { get; }

    public Counter WorkloadsEvicted { get; }

    public Histogram Latency { get; }

    public Counter Findings { get; }

    public Counter EventsProcessed { get; }

    public Gauge QueueDepth { get; }
}
