using Prometheus;
using RuntimeSentinel.Core.Health;

namespace RuntimeSentinel.Daemon;

/// <summary>
/// Exports each supervised loop's state and failures: <c>sentinel_stage_up{stage}</c> (1 running or degraded, 0
/// otherwise), <c>sentinel_stage_degraded{stage}</c> and <c>sentinel_stage_item_failures_total{stage}</c>. Stage
/// names are a fixed set (ingest, detect-shard-N, alert-dispatcher, sink-NAME, feedback, model-watcher).
/// </summary>
internal sealed class HealthMetrics
{
    private readonly Gauge _up;
    private readonly Gauge _degraded;
    private readonly Counter _failures;

    public HealthMetrics(HealthRegistry registry, IMetricFactory factory)
    {
        _up = factory.CreateGauge("sentinel_stage_up", "1 while a supervised loop runs; 0 once it stopped or faulted (then /healthz fails).", ["stage"]);
        _degraded = factory.CreateGauge("sentinel_stage_degraded", "1 while a loop runs without doing all of its job (a paused partition).", ["stage"]);
        _failures = factory.CreateCounter("sentinel_stage_item_failures_total", "Items a supervised loop failed on, skipped or retried, and went on.", ["stage"]);
        registry.Changed += Update;
        foreach (var stage in registry.Stages)
        {
            Update(stage);
        }
    }

    private void Update(StageHealth stage)
    {
        _up.WithLabels(stage.Name).Set(stage.State is StageState.Running or StageState.Degraded or StageState.Starting ? 1 : 0);
        _degraded.WithLabels(stage.Name).Set(stage.State == StageState.Degraded ? 1 : 0);
        _failures.WithLabels(stage.Name).IncTo(stage.Failures);
    }
}
