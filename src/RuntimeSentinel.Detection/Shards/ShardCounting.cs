using Microsoft.Extensions.Logging;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Shards;

/// <summary>
/// What each event changed in a workload's state, counted and logged for one shard: items learned and refused (and the
/// node's memory running out), phase changes and what they set off (the owner's active container, the models' phase),
/// model windows, shadow exceedances, findings held back, the score margin and drift evaluations. Its own collaborator
/// so the shard's event path reads as the path; runs on the shard thread.
/// </summary>
internal sealed partial class ShardCounting(ShardContext context, OwnerRegistry owners, ShardModels models)
{
    private readonly DetectionOptions _options = context.Options;
    private readonly DetectionMetrics _metrics = context.Metrics;
    private readonly ILogger _logger = context.Logger;
    private readonly ShardShared _shared = context.Shared;
    private readonly Prometheus.Histogram.Child _scoreMargin = context.Metrics.ScoreMargin.WithLabels(AlertFactory.BaselineDetector);

    /// <summary>Counts and logs what an event changed in a workload's state, and acts on a phase change.</summary>
    public void Count(WorkloadKey key, WorkloadState state, in WorkloadObservation o, DateTimeOffset now)
    {
        var changes = o.Baseline;
        if (changes.Any)
        {
            // Learning events come here often: no Enum.GetValues array per call.
            for (var i = 0; i < FeatureNames.All.Count; i++)
            {
                var f = (Feature)i;
                if (changes.Learned(f) > 0)
                {
                    _metrics.ItemsLearned.WithLabels(f.ToWire()).Inc(changes.Learned(f));
                }

                if (changes.Exceeded(f) > 0)
                {
                    CapacityExceeded(key, state.Baseline, f, changes.Exceeded(f));
                }
            }
        }

        if (changes.PhaseChanged)
        {
            _metrics.Workloads.WithLabels(changes.From.ToWire()).Dec();
            _metrics.Workloads.WithLabels(changes.To.ToWire()).Inc();
            if (changes.From is BaselinePhase.Learning or BaselinePhase.Stale && changes.To is BaselinePhase.Active or BaselinePhase.Shadow)
            {
                owners.Active(key);
                var b = state.Baseline;
                _metrics.LearningDuration.Observe(((b.ActiveSince ?? b.LastSeen) - b.FirstSeen).TotalSeconds);
                LogActive(_logger, key.Value, b.EventsLearned);
            }

            models.PhaseChanged(key, state, changes.From, now);
        }

        if (o.ModelWindows > 0)
        {
            _metrics.ModelWindows.Inc(o.ModelWindows);
        }

        if (o.ShadowExceedances > 0)
        {
            _metrics.ShadowExceedances.Inc(o.ShadowExceedances);
        }

        if (o.CooldownSuppressed > 0)
        {
            _metrics.Findings.WithLabels("cooldown").Inc(o.CooldownSuppressed);
        }

        if (o.Adapted > 0)
        {
            _metrics.Findings.WithLabels("adapted").Inc(o.Adapted);
        }

        if (o.WarmupHeld > 0)
        {
            _metrics.Findings.WithLabels("warmup").Inc(o.WarmupHeld);
        }

        if (!double.IsNaN(o.ScoreMargin))
        {
            _scoreMargin.Observe(o.ScoreMargin);
        }

        if (o.Drift is { } drift)
        {
            Drifted(key, drift);
        }
    }

    /// <summary>A drift evaluation: one observation of the drift histogram, and a log line when it first suggests a retrain.</summary>
    private void Drifted(WorkloadKey key, DriftSummary drift)
    {
        if (drift.Psi is not { } psi)
        {
            return;
        }

        _metrics.DriftPsi.Observe(psi);
        if (drift.RetrainSuggested && drift.RetrainSuggestedSince == drift.EvaluatedAt)
        {
            LogRetrainSuggested(_logger, key.Value, drift.ModelVersion ?? "?", psi, string.Join(", ", drift.TopFeatures.Select(f => $"{f.Feature} {f.Psi:0.##}")), drift.ConsecutiveAbove);
        }
    }

    private void CapacityExceeded(WorkloadKey key, WorkloadBaseline b, Feature feature, int refused)
    {
        var counter = _metrics.CapacityExceeded.WithLabels(feature.ToWire());
        var c = b.Counter(feature);
        if (c.MemoryRefused > 0 && _shared.FirstMemoryRefusal())
        {
            // Once per process: the node's budget is spent, every workload learns no more items until memory is freed.
            LogMemorySpent(_logger, key.Value, feature.ToWire(), _shared.NodeMemory.Used, _shared.NodeMemory.Limit);
        }
        else if (c.MemoryRefused == 0 && (counter.Value == 0 || c.Overflow == 1))
        {
            LogCapacity(_logger, key.Value, feature.ToWire(), _options.MaxItemsPerFeature);
        }

        counter.Inc(refused);
    }
}
