using Prometheus;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Detection.Baseline;

namespace RuntimeSentinel.Detection;

/// <summary>Metrics owned by the detection stage. Label values come from enums, so cardinality is fixed.</summary>
public sealed class DetectionMetrics
{
    /// <summary>Per-workload series carry the key's parts, so dashboards can filter by cluster and namespace.</summary>
    public static readonly string[] WorkloadLabels = ["cluster", "namespace", "workload", "container"];

    public Counter SnapshotTimeouts { get; }

    public DetectionMetrics(IMetricFactory factory)
    {
        Workloads = factory.CreateGauge("sentinel_workloads", "Workloads tracked, by baseline phase.", ["phase"]);
        ItemsLearned = factory.CreateGauge("sentinel_baseline_items", "Distinct items held in baselines, by feature.", ["feature"]);
        CapacityExceeded = factory.CreateCounter("sentinel_baseline_capacity_exceeded_total", "Items not learned because a per-workload bound was full, by feature.", ["feature"]);
        SnapshotTimeouts = factory.CreateCounter("sentinel_workload_snapshot_timeouts_total", "Workload snapshots (/workloads, metrics refresh) that left out a shard busy for over 10 s.");
        MemoryBudget = factory.CreateGauge("sentinel_memory_budget_bytes", "The node's memory budget for detection state: baselines' items and models (Detection:MemoryBudgetMiB).");
        MemoryUsed = factory.CreateGauge("sentinel_memory_used_bytes", "Memory reserved from that budget by baselines' items and models.");
        Checkpoints = factory.CreateCounter("sentinel_checkpoints_total", "Workload checkpoints handed to the state store, by result (written, without_model: too large with it, failed).", ["result"]);
        CheckpointBytes = factory.CreateCounter("sentinel_checkpoint_bytes_total", "Bytes of workload checkpoints handed to the state store.");
        Restores = factory.CreateCounter("sentinel_state_restores_total", "Workloads that appeared with a checkpoint in the state store, by result (restored, refused: unreadable or for another workload).", ["result"]);
        WorkloadsEvicted = factory.CreateCounter("sentinel_workloads_evicted_total", "Workload baselines evicted because MaxWorkloads was reached.");
        Latency = factory.CreateHistogram(
            "sentinel_processing_latency_seconds",
            "Time from an event leaving the consumer to its baseline update being done (queueing included).",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.00005, 2, 16) });
        Findings = factory.CreateCounter("sentinel_findings_suppressed_total", "Findings not raised as alerts, by reason.", ["reason"]);
        ClockJumps = factory.CreateCounter("sentinel_event_clock_jumps_total", "Confirmed jumps of a shard's event clock over a gap (learning clocks of learning workloads restarted).");
        EventsProcessed = factory.CreateCounter("sentinel_events_processed_total", "Events processed by the baselines, by phase.", ["phase"]);
        QueueDepth = factory.CreateGauge("sentinel_shard_queue_depth", "Events waiting in detection shard queues (refreshed every Detection:MetricsInterval).");
        LearningDuration = factory.CreateHistogram(
            "sentinel_learning_duration_seconds",
            "How long workloads learned before their baseline turned active (the model's training time).",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 16) });
        ScoreMargin = factory.CreateHistogram(
            "sentinel_detector_score_margin",
            "Score minus threshold of every scored event, by detector (above 0 raises a finding); its drift shows calibration drift.",
            new HistogramConfiguration { LabelNames = ["detector"], Buckets = [-16, -8, -4, -2, -1, -0.5, 0, 0.5, 1, 2, 4, 8, 16] });
        Threshold = factory.CreateGauge("sentinel_detector_threshold", "Configured detector thresholds: rarity bits below never-seen for item novelty, z-score for resource anomalies.", ["detector", "kind"]);
        AlertsPerWorkloadDay = factory.CreateGauge("sentinel_alerts_per_workload_day", "Alerts per active workload per day over the last 24 h (or since start), to compare with the target.");
        AlertsPerWorkloadDayTarget = factory.CreateGauge("sentinel_alerts_per_workload_day_target", "Configured target for alerts per workload per day (Detection:TargetAlertsPerWorkloadDay).");
        BaselineMemory = factory.CreateGauge("sentinel_baseline_memory_bytes", "Estimated memory held by baseline structures, by feature (entries x entry size; interned strings are shared and not counted).", ["feature"]);
        OldestActiveBaseline = factory.CreateGauge("sentinel_baseline_oldest_active_age_seconds", "Age of the oldest active baseline (how stale the oldest model may be).");

        ModelsTrained = factory.CreateCounter("sentinel_models_trained_total", "Workload models trained when learning ended, by result (trained, insufficient_data, failed).", ["result"]);
        ModelSwaps = factory.CreateCounter("sentinel_model_swaps_total", "Promoted model versions put in service without a restart, by result (applied, pending, rejected).", ["result"]);
        ModelWindows = factory.CreateCounter("sentinel_model_windows_scored_total", "Behaviour windows scored by workload models.");
        ShadowExceedances = factory.CreateCounter("sentinel_model_shadow_exceedances_total", "Scores above threshold while a workload was in shadow (would have alerted).");
        ThresholdsRecalibrated = factory.CreateCounter("sentinel_model_thresholds_recalibrated_total", "Detector thresholds raised at the end of shadow because live normal data exceeded them too often.");
        ModelMemory = factory.CreateGauge("sentinel_model_memory_bytes", "Estimated memory reserved by workload models, their learning data and process streams (refreshed every Detection:MetricsInterval).");
        ModelMemoryBudget = factory.CreateGauge("sentinel_model_memory_budget_bytes", "Memory the models of all workloads may reserve (Detection:Models:MemoryBudgetMiB).");
        DriftPsi = factory.CreateHistogram(
            "sentinel_workload_drift_psi",
            "Drift of each workload at each evaluation: the largest population stability index of a behaviour feature between the last hour's windows and the model's training windows (0.25 and above: significant).",
            new HistogramConfiguration { Buckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        RetrainSuggested = factory.CreateGauge("sentinel_workloads_retrain_suggested", "Workloads whose drift stayed above Detection:Models:Drift:Threshold long enough to suggest retraining (refreshed every Detection:MetricsInterval).");
        DriftTop = factory.CreateGauge("sentinel_workload_drift_top", "Drift (largest feature PSI) of the most drifting workloads, Detection:Models:Drift:MetricTopWorkloads of them; a workload's series is removed when it leaves the top.", WorkloadLabels);
        ModelMemoryRefusals = factory.CreateCounter("sentinel_model_memory_refusals_total", "What the model memory budget refused, by what (training data, executable_sequences, sequences, model, process_streams).", ["what"]);
        foreach (var r in Enum.GetValues<Models.MemoryRefusal>())
        {
            ModelMemoryRefusals.WithLabels(Models.MemoryRefusalNames.ToWire(r));
        }

        foreach (var r in new[] { "trained", "insufficient_data", "failed" })
        {
            ModelsTrained.WithLabels(r);
        }

        foreach (var r in new[] { "applied", "pending", "rejected" })
        {
            ModelSwaps.WithLabels(r);
        }

        // Per-workload series: capped (Detection:MaxWorkloadSeries) and expired when a workload stops being exported.
        var managed = factory.WithManagedLifetime(TimeSpan.FromMinutes(5));
        WorkloadEvents = managed.CreateCounter("sentinel_workload_events_total", "Events processed per workload (top workloads by activity, capped).", WorkloadLabels).WithExtendLifetimeOnUse();
        WorkloadAlerts = managed.CreateCounter("sentinel_workload_alerts_total", "Alerts raised per workload (top workloads by activity, capped).", WorkloadLabels).WithExtendLifetimeOnUse();
        WorkloadAge = managed.CreateGauge("sentinel_workload_baseline_age_seconds", "Age of each workload's baseline, by phase (top workloads by activity, capped).", [.. WorkloadLabels, "phase"]).WithExtendLifetimeOnUse();
        WorkloadSeriesLimit = factory.CreateGauge("sentinel_workload_series_limit", "Most workloads exported with per-workload series (Detection:MaxWorkloadSeries).");
        WorkloadSeriesOverflow = factory.CreateGauge("sentinel_workload_series_overflow", "Tracked workloads not exported per workload because the series cap is reached.");
        foreach (var f in FeatureNames.All)
        {
            ItemsLearned.WithLabels(f);
            CapacityExceeded.WithLabels(f);
        }

        Workloads.WithLabels(BaselinePhase.Learning.ToWire());
        Workloads.WithLabels(BaselinePhase.Active.ToWire());
        Workloads.WithLabels(BaselinePhase.Shadow.ToWire());
        Workloads.WithLabels(BaselinePhase.Stale.ToWire());
    }

    public Gauge Workloads { get; }

    public Counter ModelsTrained { get; }

    public Counter ModelSwaps { get; }

    public Counter ModelWindows { get; }

    public Counter ShadowExceedances { get; }

    public Counter ThresholdsRecalibrated { get; }

    public Gauge ModelMemory { get; }

    public Gauge ModelMemoryBudget { get; }

    public Counter ModelMemoryRefusals { get; }

    public Histogram DriftPsi { get; }

    public Gauge RetrainSuggested { get; }

    /// <summary>Per workload, but only the top K (not the managed lifetime of the other per-workload series): see <see cref="DriftSeries"/>.</summary>
    public Gauge DriftTop { get; }

    public Gauge ItemsLearned { get; }

    public Counter CapacityExceeded { get; }

    public Counter WorkloadsEvicted { get; }

    public Counter Checkpoints { get; }

    public Gauge MemoryBudget { get; }

    public Gauge MemoryUsed { get; }

    public Counter CheckpointBytes { get; }

    public Counter Restores { get; }

    public Histogram Latency { get; }

    public Counter Findings { get; }

    public Counter ClockJumps { get; }

    public Counter EventsProcessed { get; }

    public Gauge QueueDepth { get; }

    public Histogram LearningDuration { get; }

    public Histogram ScoreMargin { get; }

    public Gauge Threshold { get; }

    public Gauge AlertsPerWorkloadDay { get; }

    public Gauge AlertsPerWorkloadDayTarget { get; }

    public Gauge BaselineMemory { get; }

    public Gauge OldestActiveBaseline { get; }

    public ICollector<ICounter> WorkloadEvents { get; }

    public ICollector<ICounter> WorkloadAlerts { get; }

    public ICollector<IGauge> WorkloadAge { get; }

    public Gauge WorkloadSeriesLimit { get; }

    public Gauge WorkloadSeriesOverflow { get; }
}
