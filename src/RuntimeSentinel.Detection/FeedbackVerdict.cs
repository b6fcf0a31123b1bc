using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;

namespace RuntimeSentinel.Detection;

/// <summary>An analyst's verdict that a finding is normal for this workload.</summary>
/// <param name="Item">The exact item (scope "item"), or null to accept every new item of the feature (scope "feature").</param>
/// <param name="Detector">Scope "detector": the model detector whose alert was fine (then Feature and Item are unused).</param>
/// <param name="Score">Scope "detector": the score the analyst marked as fine.</param>
/// <param name="AcceptUntil">Scope "feature": when the acceptance of every new item ends (always set: verdicts expire).</param>
/// <param name="PendingUntil">For a workload not on this node yet: the verdict is dropped if it has not appeared by then.</param>
public sealed record FeedbackVerdict(string Workload, Feature Feature, FeatureKey? Item, string? Detector = null, double Score = double.NaN, DateTimeOffset AcceptUntil = default, DateTimeOffset PendingUntil = default)
{
    /// <summary>The workload's key, parsed once; null when the verdict names none (it can only wait and expire).</summary>
    public WorkloadKey? Key { get; } = WorkloadKey.TryParse(Workload, out var key) ? key : null;

    /// <summary>Applies the verdict to a workload's baseline or models; false when it cannot apply (no such detector).</summary>
    internal bool ApplyTo(Workloads.WorkloadState state)
    {
        if (Detector is null)
        {
            state.Baseline.Absorb(Feature, Item, AcceptUntil);
            return true;
        }

        return state.RaiseThreshold(Detector, Score);
    }
}

public enum FeedbackResult
{
    Applied,
    Pending,
    Rejected,

    /// <summary>For a workload not on this node, and too old to wait for it any longer.</summary>
    Expired,
}
